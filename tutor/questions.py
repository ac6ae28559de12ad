"""Question banks: authored Socratic questions per article, checked against it.

A bank lives next to its article as `corpus/<stem>.questions.yaml`:

    doc_id: bees
    objectives:
      - id: honey
        title: "Explain how bees make honey"
        questions:
          - id: q-honey-from
            question: "What do bees make honey from?"
            answer: "Bees make honey from nectar."
            quotes: ["Bees make honey from the nectar of flowers."]
            keywords: ["nectar"]          # "a|b" = either; stems are fine
            hint: "..."                   # optional; else the tutor builds a cloze

Holds the pydantic models, `load_bank`/`parse_bank` (YAML -> validated bank),
`check_bank` (quotes verbatim in the article, ids unique, keywords present in
the answer or quotes), `cloze` and `matches_keyword`, and `draft_bank`, a
deterministic first draft for a person to review.

>>> cloze("Bees, the keeper says, make honey from nectar.", ["nectar"])
'Bees, the keeper says, make honey from _____.'
>>> matches_keyword("structure|resources", "They focus on structural problems.")
True

Deliberate simplifications:
- Quotes are compared after whitespace normalisation only: no fuzzy matching,
  so curly and straight quotation marks must match the article.
- A keyword matches a word that starts with it or shares its Snowball stem; a
  multi-word keyword matches when all its content stems occur (any order).
- `draft_bank` is a first draft from the article's parse (`tutor.question_drafts`);
  no LLM.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tutor.corpus import squash_whitespace
from tutor.errors import QuestionBankError
from tutor.language import stem, words
from tutor.language import terms as content_terms

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 10x faster

BLANK = "_____"
_QUOTE_PREVIEW = 60


class _HasText(Protocol):
    """What a bank is checked against: a corpus Document or a stored one."""

    doc_id: str
    text: str


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    quotes: list[str] = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)
    hint: str | None = None
    objective_id: str = ""


class Objective(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _tag_questions(self) -> Objective:
        for question in self.questions:
            question.objective_id = self.id
        return self


class QuestionBank(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_id: str = Field(min_length=1)
    objectives: list[Objective] = Field(min_length=1)

    @property
    def questions(self) -> list[Question]:
        """Every question, objective by objective, in file order."""
        return [q for objective in self.objectives for q in objective.questions]

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)


# ---- loading and checking ---------------------------------------------------


def bank_path_for(doc_path: Path) -> Path:
    """`corpus/<stem>.md` -> `corpus/<stem>.questions.yaml` (or an existing `.yml`)."""
    doc_path = Path(doc_path)
    yml = doc_path.with_name(f"{doc_path.stem}.questions.yml")
    yaml_path = doc_path.with_name(f"{doc_path.stem}.questions.yaml")
    return yml if yml.exists() and not yaml_path.exists() else yaml_path


def load_bank(path: Path, document: _HasText) -> QuestionBank:
    """Read, parse and check the bank at `path` against `document`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise QuestionBankError(f"{path}: no such question bank") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionBankError(f"{path}: cannot be read as UTF-8 text") from exc
    return parse_bank(text, document, source=str(path))


def parse_bank(text: str, document: _HasText, source: str = "question bank", *,
               keywords_checked: bool = False) -> QuestionBank:
    """Parse YAML text into a bank and check it; errors name `source`.
    `keywords_checked`: the keywords were checked against the answers when the
    bank was stored (an index's banks), so only the cheap checks run again."""
    data = _parse_yaml(text, source)
    bank = _validate(data, source)
    check_bank(bank, document, source, keywords=not keywords_checked)
    return bank


def _parse_yaml(text: str, source: str) -> dict:
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = _one_line(getattr(exc, "problem", None) or type(exc).__name__)
        raise QuestionBankError(f"{source}: not valid YAML{where}: {problem}") from exc
    if not isinstance(data, dict):
        raise QuestionBankError(f"{source}: expected a mapping with 'doc_id' and 'objectives'")
    return data


def _validate(data: dict, source: str) -> QuestionBank:
    try:
        return QuestionBank.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        where = _describe_location(data, first["loc"])
        raise QuestionBankError(f"{source}: {where}{_one_line(first['msg'])}{more}") from exc


def _describe_location(data: dict, loc: tuple) -> str:
    """('objectives', 0, 'questions', 2, 'answer') -> "question 'q-x': field 'answer': "."""
    node, owner, field = data, "", ""
    for key in loc:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(node, dict) and node.get("id"):
            kind = "question" if "question" in node or "answer" in node else "objective"
            owner = f"{kind} '{node['id']}': "
        field = str(key)
    return f"{owner}field '{field}': " if field else owner


def check_bank(bank: QuestionBank, document: _HasText, source: str = "question bank", *,
               keywords: bool = True) -> None:
    """Raise QuestionBankError unless the bank fits its article (`keywords`:
    also that each keyword occurs in its answer or quotes, which parses them)."""
    if bank.doc_id != document.doc_id:
        raise QuestionBankError(
            f"{source}: doc_id '{bank.doc_id}' does not match the article '{document.doc_id}'"
        )
    _check_unique([o.id for o in bank.objectives], "objective", source)
    _check_unique([q.id for q in bank.questions], "question", source)
    article = squash_whitespace(document.text)
    for q in bank.questions:
        _check_question(q, article, source, keywords)


def _check_unique(ids: list[str], kind: str, source: str) -> None:
    repeated = [i for i, n in Counter(ids).items() if n > 1]
    if repeated:
        raise QuestionBankError(f"{source}: {kind} id '{repeated[0]}' is used more than once")


def _check_question(q: Question, article: str, source: str, keywords: bool = True) -> None:
    for quote in q.quotes:
        if not squash_whitespace(quote) or squash_whitespace(quote) not in article:
            preview = _one_line(quote)[:_QUOTE_PREVIEW]
            raise QuestionBankError(
                f"{source}: question '{q.id}': quote not found verbatim in the article: '{preview}'"
            )
    support = " ".join([q.answer, *q.quotes])
    for keyword in q.keywords if keywords else ():
        if not matches_keyword(keyword, support):
            raise QuestionBankError(
                f"{source}: question '{q.id}': keyword '{keyword}' occurs in neither its answer "
                "nor its quotes"
            )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def dump_bank(bank: QuestionBank) -> str:
    """The bank as YAML in the authored layout (no derived `objective_id`, no null hints)."""
    exclude = {"objectives": {"__all__": {"questions": {"__all__": {"objective_id"}}}}}
    data = bank.model_dump(exclude=exclude, exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


# ---- keywords and cloze -------------------------------------------------------


def keyword_alternatives(keyword: str) -> list[str]:
    """'a|b' -> ['a', 'b'] (blank alternatives dropped)."""
    return [alt.strip() for alt in keyword.split("|") if alt.strip()]


def _literal_re(alternative: str) -> re.Pattern:
    """The alternative at a word start, extended to the end of its last word."""
    phrase = r"\s+".join(re.escape(part) for part in alternative.split())
    return re.compile(rf"(?<!\w){phrase}[\w'’-]*", re.IGNORECASE)


def _stems(text: str | Doc | Span) -> set[str]:
    """Stems of the content lemmas (and, for a text of function words only, of every word)."""
    return {stem(t) for t in (content_terms(text) or words(_plain(text)))}


def matches_keyword(keyword: str, text: str | Doc | Span) -> bool:
    """True when any alternative of `keyword` occurs in `text` (prefix or same
    stems). `text` may be a parsed span: its parse is used, none is made."""
    plain = _plain(text)
    have = _stems(text) | {stem(w) for w in words(plain)}
    for alternative in keyword_alternatives(keyword):
        if _literal_re(alternative).search(plain):
            return True
        wanted = _stems(alternative)
        if wanted and wanted <= have:
            return True
    return False


def _plain(text: str | Doc | Span) -> str:
    return text if isinstance(text, str) else text.text


def cloze(quote: str, keywords: list[str]) -> str:
    """`quote` with every occurrence of each keyword (any alternative) replaced by _____."""
    out = quote
    for keyword in keywords:
        for alternative in keyword_alternatives(keyword):
            out = _blank(out, alternative)
    return out


def gapped(sentence: str, question: str) -> str:
    """`sentence` with every content word and number the question does not
    already contain blanked (a run of them is one blank): what it says in
    answer to the question is withheld, what it is about stays readable.

    >>> gapped("The dough rests for 15 minutes in a warm place.", "How long does the dough rest?")
    'The dough rests for _____ in a _____.'
    """
    from tutor import language as L

    asked = {stem(t) for t in content_terms(question)}
    toks = list(L.parse(sentence))
    hide = [(L.is_content(t) or t.like_num) and stem(L.lemma(t)) not in asked for t in toks]
    out = []
    for i, tok in enumerate(toks):
        if not hide[i]:
            out.append(tok.text_with_ws)
        elif i + 1 == len(toks) or not hide[i + 1]:  # the last word of a run: one blank for the run
            out.append(BLANK + tok.whitespace_)
    return "".join(out)


def _blank(text: str, alternative: str) -> str:
    literal = _literal_re(alternative)
    if literal.search(text):
        return literal.sub(BLANK, text)
    if len(alternative.split()) != 1:
        return text
    target = stem(alternative)
    return re.sub(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?",
                  lambda m: BLANK if stem(m.group()) == target else m.group(), text)


# ---- drafting -------------------------------------------------------------------


def draft_bank(document, n: int | None = None) -> QuestionBank:
    """A first draft of a bank for `document`, for a person to review: wh-questions
    built from the article's parse, one objective per section, cloze questions
    only where no sentence of a section fits a question (`tutor.question_drafts`).
    `n` caps the number of questions (None: enough to cover every section)."""
    from tutor.parsed import ParsedDocument
    from tutor.question_drafts import draft_from_parse

    parsed = ParsedDocument.parse(document.doc_id, document.content_hash, document.text)
    bank = draft_from_parse(document, parsed, n=n)
    if bank is None:
        raise QuestionBankError(f"{document.doc_id}: no sentence in the article to draft a question from")
    return bank
