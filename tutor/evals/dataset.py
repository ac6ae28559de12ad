"""Eval datasets: JSONL, one case a line, in the format other tools write too.

    {"id": "ans-01", "kind": "answerable",
     "question": "What does leadership cope with?",
     "support": ["In contrast, leadership copes with change."],
     "must_include": ["change"], "must_not_include": ["copes with complexity"]}

Fields: `id`, `kind` (one of `KINDS`), `question` (or `turns` for `followup`:
the learner's messages in order, the last reply is scored), `support` (verbatim
quotes from the article), `must_include` ("a|b" accepts either),
`must_not_include`, and optional `reference`, `doc` (a doc_id) and `mode`
(`socratic` cases default to socratic mode, all others to explain).

Validation happens in two steps, each failing with one line that names the file,
the line and the case: `load_dataset` checks the shape of every line;
`check_against_corpus` checks that every `support` quote occurs in the ingested
corpus (whitespace and typographic quotes normalised) and that `doc` exists.

Deliberate leniency, so that datasets written elsewhere run unchanged: a single
string is accepted where a list is expected, and unknown fields are ignored,
unless they look like a misspelt known field ("must_includes"), which is an error.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tutor.config import MAX_MESSAGE_CHARS, data_dir
from tutor.errors import DatasetError

KINDS = ("answerable", "out_of_scope", "false_premise", "injection", "socratic", "followup")
MODES = ("explain", "socratic")
CLAIMS_FILE = "claims.jsonl"  # the support scorer's labeled claims, not an eval dataset
FIELDS = (
    "id", "kind", "question", "turns", "support", "must_include", "must_not_include",
    "reference", "doc", "mode",
)


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    turns: tuple[str, ...]  # a single-question case has one turn
    support: tuple[str, ...] = ()
    must_include: tuple[str, ...] = ()
    must_not_include: tuple[str, ...] = ()
    reference: str | None = None
    doc: str | None = None
    mode: str = "explain"
    dataset: str = ""  # file stem, e.g. "seed"
    line: int = 0
    extra: Mapping = field(default_factory=dict)  # unknown fields, kept as written

    @property
    def question(self) -> str:
        """The message whose reply is scored (the last turn)."""
        return self.turns[-1]

    @property
    def key(self) -> str:
        """Unique across datasets: 'seed:ans-01'."""
        return f"{self.dataset}:{self.id}"

    def to_json(self) -> dict:
        out = {"id": self.id, "kind": self.kind}
        if self.kind == "followup":
            out["turns"] = list(self.turns)
        else:
            out["question"] = self.question
        out |= {
            "support": list(self.support),
            "must_include": list(self.must_include),
            "must_not_include": list(self.must_not_include),
            "mode": self.mode,
            "dataset": self.dataset,
        }
        if self.reference is not None:
            out["reference"] = self.reference
        if self.doc is not None:
            out["doc"] = self.doc
        return out


@dataclass(frozen=True)
class Dataset:
    name: str
    path: Path
    cases: tuple[Case, ...]


# ---- locating datasets ------------------------------------------------------


def default_dataset_paths() -> list[Path]:
    """`evals/*.jsonl` of the packaged evals folder, except the scorer's claims."""
    folder = data_dir("evals")
    paths = sorted(p for p in folder.glob("*.jsonl") if p.name != CLAIMS_FILE)
    if not paths:
        raise DatasetError(f"no eval datasets (*.jsonl) in {folder}")
    return paths


def default_claims_path() -> Path:
    return data_dir("evals") / CLAIMS_FILE


# ---- loading ------------------------------------------------------------------


def load_datasets(paths: Iterable[Path | str] | None = None) -> list[Dataset]:
    """Load and shape-check datasets (the default ones when `paths` is empty)."""
    chosen = [Path(p) for p in paths] if paths else default_dataset_paths()
    datasets = [load_dataset(p) for p in chosen]
    names = [d.name for d in datasets]
    for d in datasets:
        if names.count(d.name) > 1:  # two files called seed.jsonl in different folders
            raise DatasetError(f"{d.path}: two datasets are named '{d.name}'; rename one file")
    return datasets


def read_jsonl(path: Path | str, what: str = "dataset") -> Iterator[tuple[str, int, object]]:
    """(where, line number, parsed value) for each non-blank line of a JSONL file;
    a missing, unreadable or malformed file is one DatasetError naming the line."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such {what} file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read the {what} ({exc})") from None
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"{path}:{number}"
        try:
            yield where, number, json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None


def load_dataset(path: Path | str) -> Dataset:
    path = Path(path)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for where, number, obj in read_jsonl(path):
        case = parse_case(obj, where=where, dataset=path.stem, line=number)
        if case.id in seen:
            raise DatasetError(f"{where}: case '{case.id}': duplicate id (first on line {seen[case.id]})")
        seen[case.id] = number
        cases.append(case)
    if not cases:
        raise DatasetError(f"{path}: the dataset holds no cases")
    return Dataset(path.stem, path, tuple(cases))


def parse_case(obj: object, *, where: str = "case", dataset: str = "", line: int = 0) -> Case:
    """One case from one parsed JSON line; raises DatasetError naming the case."""
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: each line must be a JSON object, not {type(obj).__name__}")
    cid = obj.get("id")
    if not isinstance(cid, str | int) or isinstance(cid, bool) or not str(cid).strip():
        raise DatasetError(f"{where}: a case needs an 'id' (a non-empty string)")
    cid = str(cid).strip()

    def fail(message: str) -> DatasetError:
        return DatasetError(f"{where}: case '{cid}': {message}")

    for key in obj:
        if key not in FIELDS:
            close = difflib.get_close_matches(key, FIELDS, n=1, cutoff=0.8)
            if close:
                raise fail(f"unknown field '{key}'; did you mean '{close[0]}'?")

    kind = obj.get("kind")
    if kind not in KINDS:
        shown = "missing" if kind is None else f"'{kind}'"
        raise fail(f"unknown kind {shown}; choose one of: {', '.join(KINDS)}")

    if kind == "followup":
        if "turns" not in obj:
            raise fail("a followup case needs 'turns' (the learner's messages in order)")
        turns = _strings(obj["turns"], "turns", fail, allow_empty=False)
    else:
        if "question" not in obj:
            raise fail(f"missing field 'question' (a {kind} case asks one question)")
        turns = _strings(obj["question"], "question", fail, allow_empty=False)
        if len(turns) != 1:
            raise fail("'question' must be one string; use kind 'followup' with 'turns' for a conversation")
    for t in turns:
        if len(t) > MAX_MESSAGE_CHARS:
            raise fail(f"a message is {len(t)} characters long; the tutor accepts at most {MAX_MESSAGE_CHARS}")

    mode = obj.get("mode") or ("socratic" if kind == "socratic" else "explain")
    if mode not in MODES:
        raise fail(f"unknown mode '{mode}'; choose one of: {', '.join(MODES)}")
    reference = obj.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise fail("'reference' must be a string")
    doc = obj.get("doc")
    if doc is not None and (not isinstance(doc, str) or not doc.strip()):
        raise fail("'doc' must be a doc_id (a non-empty string)")
    return Case(
        id=cid,
        kind=kind,
        turns=turns,
        support=_strings(obj.get("support", []), "support", fail),
        must_include=_keywords(obj.get("must_include", []), "must_include", fail),
        must_not_include=_keywords(obj.get("must_not_include", []), "must_not_include", fail),
        reference=reference,
        doc=doc.strip() if doc else None,
        mode=mode,
        dataset=dataset,
        line=line,
        extra={k: v for k, v in obj.items() if k not in FIELDS},
    )


def _strings(value, name: str, fail, allow_empty: bool = True) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f"'{name}' must be a list of strings")
    out = tuple(v.strip() for v in value)
    if any(not v for v in out):
        raise fail(f"'{name}' holds an empty string")
    if not out and not allow_empty:
        raise fail(f"'{name}' is empty")
    return out


def _keywords(value, name: str, fail) -> tuple[str, ...]:
    out = _strings(value, name, fail)
    for k in out:
        if any(not alt.strip() for alt in k.split("|")):
            raise fail(f"'{name}' entry '{k}' has an empty alternative around '|'")
    return out


# ---- checking against the corpus -------------------------------------------------


def normalise(text: str) -> str:
    """Whitespace collapsed and typographic quotes made plain, for matching."""
    text = text.translate(_QUOTES)
    return " ".join(text.split())


_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " "})


def check_against_corpus(datasets: Iterable[Dataset], documents: Mapping) -> None:
    """Every `support` quote occurs in the ingested corpus (or in `doc`, if given)."""
    texts = {doc_id: normalise(d.text) for doc_id, d in documents.items()}
    for ds in datasets:
        for case in ds.cases:
            where = f"{ds.path}:{case.line}: case '{case.id}'"
            if case.doc is not None and case.doc not in texts:
                known = ", ".join(sorted(texts)) or "none"
                raise DatasetError(f"{where}: doc '{case.doc}' is not in the index (ingested: {known})")
            pool = [texts[case.doc]] if case.doc else list(texts.values())
            for quote in case.support:
                if not any(normalise(quote) in t for t in pool):
                    scope = f"article '{case.doc}'" if case.doc else "ingested corpus"
                    raise DatasetError(f'{where}: support quote "{_short(quote)}" is not in the {scope}')


def find_quote(text: str, quote: str) -> list[tuple[int, int]]:
    """Offsets of `quote` in `text`, matching across any whitespace and quote style."""
    tokens = normalise(quote).split(" ")
    pattern = r"\s+".join(_token_pattern(t) for t in tokens if t)
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)] if pattern else []


def _token_pattern(token: str) -> str:
    out = []
    for ch in token:
        if ch == "'":
            out.append("['‘’]")
        elif ch == '"':
            out.append('["“”]')
        else:
            out.append(re.escape(ch))
    return "".join(out)


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
