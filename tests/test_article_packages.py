"""Every article package under evals/articles/ is complete and self-consistent.

A package is a folder holding the article as published (`article.html`, `.htm`,
`.md`, `.markdown`, `.txt` or `.pdf`), `SOURCE.md`, `eval.jsonl`,
`claims.jsonl` and `replies.jsonl` (see the packages' README in shared/articles).
These tests check, for any package dropped into that folder:

- the files are there, parse, and have the fields, kinds and labels the eval
  suite expects (the eval and claims files also go through the tutor's own
  loaders, so a package that passes here loads in `tutor eval`);
- the mix of cases is the agreed one (all six kinds, the two metadata
  questions with empty support, about 40% supported claims, every reply
  question with a correct, a partial and an incorrect reply);
- the answers key agrees with itself (a reference answer contains one
  alternative of each `must_include` entry and none of `must_not_include`);
- every `support`, `passage` and `quotes` string occurs in the article's
  visible text, whitespace collapsed, typographic quotes exactly as written;
- when SOURCE.md records the article's sha256 or git blob id, the file still has it.

"Visible text" is read with the standard library for HTML (tags stripped;
script, style, template, noscript, everything in <head> and elements hidden with
`hidden` or an inline `display: none` skipped) and with pypdf for PDF.
For Markdown a quote may match the raw file or the file with inline markup
(links, images, code spans, emphasis, tags) removed, because a sentence that
holds a link only reads as a sentence once the markup is gone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from tutor.evals.dataset import KINDS as TUTOR_KINDS
from tutor.evals.dataset import load_dataset
from tutor.evals.scorer_eval import load_claims

ARTICLES = Path(__file__).resolve().parent.parent / "evals" / "articles"
ARTICLE_SUFFIXES = (".html", ".htm", ".md", ".markdown", ".txt", ".pdf")
REQUIRED = ("SOURCE.md", "eval.jsonl", "claims.jsonl", "replies.jsonl")
KINDS = ("answerable", "out_of_scope", "false_premise", "followup", "injection", "socratic")
# The agreed mix is 18 / 5 / 3 / 3 / 2 / 2 of about 33; a package may differ a little.
MIN_PER_KIND = {
    "answerable": 15,
    "out_of_scope": 4,
    "false_premise": 2,
    "followup": 2,
    "injection": 2,
    "socratic": 2,
}
META_QUESTIONS = ("Who wrote this article?", "What is this article mainly about?")
LABELS = ("correct", "partial", "incorrect")
SOURCE_FIELDS = ("Title", "Author", "Licence", "Kind")


def _packages() -> list[Path]:
    if not ARTICLES.is_dir():
        return []
    return sorted(p for p in ARTICLES.iterdir() if p.is_dir() and not p.name.startswith("."))


PACKAGES = _packages()


def _ids(paths):
    return [p.name for p in paths]


def collapse(text: str) -> str:
    return " ".join(text.split())


def article_file(package: Path) -> Path:
    found = [
        p for p in package.iterdir() if p.stem == "article" and p.suffix.lower() in ARTICLE_SUFFIXES
    ]
    assert len(found) == 1, (
        f"{package.name}: expected one article.* file ({', '.join(ARTICLE_SUFFIXES)}), found {found}"
    )
    return found[0]


class _VisibleText(HTMLParser):
    """Text a browser would show: no script/style/template, nothing from <head>,
    nothing hidden with the `hidden` attribute or an inline `display: none`;
    block-level elements break words, inline ones (links, emphasis) do not."""

    SKIP = {"script", "style", "template", "head", "noscript"}
    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
    BLOCK = {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "option",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
    HIDDEN_STYLE = re.compile(r"display\s*:\s*none", re.I)

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden from here down)

    @property
    def hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCK:
            self.parts.append(" ")
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        hides = (
            tag in self.SKIP
            or "hidden" in attrs
            or bool(self.HIDDEN_STYLE.search(attrs.get("style") or ""))
        )
        self.stack.append((tag, self.hidden or hides))

    def handle_startendtag(self, tag, attrs):
        if tag in self.BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if any(t == tag for t, _ in self.stack):
            while self.stack and self.stack.pop()[0] != tag:
                pass
        if tag in self.BLOCK:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def html_visible_text(raw: str) -> str:
    parser = _VisibleText()
    parser.feed(raw)
    parser.close()
    return collapse("".join(parser.parts))


_MD_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # image -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # [text](url) -> text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [text][ref] -> text
    (re.compile(r"`([^`]*)`"), r"\1"),  # code span
    (re.compile(r"<[^>\n]+>"), " "),  # inline HTML tags
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"\1"),  # *emphasis*
    (re.compile(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])"), r"\1"),  # _emphasis_
]


def markdown_without_inline_markup(raw: str) -> str:
    text = raw
    for pattern, repl in _MD_INLINE:
        text = pattern.sub(repl, text)
    return collapse(text)


def pdf_text(path: Path) -> str:
    return collapse("\n".join(page.extract_text() or "" for page in PdfReader(path).pages))


def visible_texts(path: Path) -> list[str]:
    """The readings of the article a quote may be found in (at least one)."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return [pdf_text(path)]
    raw = path.read_bytes().decode("utf-8-sig")
    if suffix in (".html", ".htm"):
        return [html_visible_text(raw)]
    if suffix in (".md", ".markdown"):
        return [collapse(raw), markdown_without_inline_markup(raw)]
    return [collapse(raw)]


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            pytest.fail(f"{path}:{number}: not valid JSON ({exc.msg})")
        assert isinstance(obj, dict), f"{path}:{number}: each line must be a JSON object"
        rows.append(obj)
    assert rows, f"{path}: empty"
    return rows


def _is_str_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _has_any(text: str, keyword: str) -> bool:
    low = text.lower()
    return any(alt.strip().lower() in low for alt in keyword.split("|"))


def recorded_digests(source_md: str) -> tuple[list[str], list[str]]:
    """The sha256 digests and git blob ids a SOURCE.md records for its article:
    a hex string in backticks after "sha256" or "Git blob" (a few words may come between)."""
    near = r"(?:\W+[a-z]+){0,3}\W+`"
    sha = re.findall(rf"sha256{near}([0-9a-f]{{64}})`", source_md)
    blobs = re.findall(rf"[Gg]it blob{near}([0-9a-f]{{40}})`", source_md)
    return sha, blobs


# ---- the folder itself ----------------------------------------------------------


def test_there_are_packages():
    assert PACKAGES, f"no article packages in {ARTICLES}"


def test_visible_text_reader_strips_markup_and_hidden_parts():
    page = (
        "<html><head><title>Site title</title><style>p {color: red}</style></head>"
        "<body><nav>Home</nav><p>One &amp; <em>two</em><br>three, <a href='#'>four</a>.</p>"
        "<span style='display: none'><math>x</math></span><p hidden>gone</p><img alt='pic'>"
        "<script>var x = 'hidden';</script><div>five</div></body></html>"
    )
    assert html_visible_text(page) == "Home One & two three, four. five"
    md = "See [the docs](https://example.org) and `code`, **bold** and *it*. ![alt](a.png)"
    assert markdown_without_inline_markup(md) == "See the docs and code, bold and it. alt"


def test_recorded_digests_are_found_however_the_sentence_runs():
    a, b = "a" * 64, "b" * 40
    assert recorded_digests(f"(sha256\n  `{a}`), Git blob `{b}`") == ([a], [b])
    assert recorded_digests(f"Its sha256 is `{a}`. Git blob id:\n`{b}`") == ([a], [b])
    assert recorded_digests("no digest here, sha256 of nothing") == ([], [])


# ---- per package -----------------------------------------------------------------


@pytest.mark.parametrize("package", PACKAGES, ids=_ids(PACKAGES))
def test_required_files(package):
    article_file(package)
    for name in REQUIRED:
        path = package / name
        assert path.is_file() and path.stat().st_size > 0, (
            f"{package.name}: missing or empty {name}"
        )


@pytest.mark.parametrize("package", PACKAGES, ids=_ids(PACKAGES))
def test_source_record(package):
    text = (package / "SOURCE.md").read_text(encoding="utf-8")
    for name in SOURCE_FIELDS:
        assert re.search(rf"\*\*{name}[a-z]*:\*\*", text), (
            f"{package.name}/SOURCE.md: no '**{name}:**' field"
        )
    assert re.search(r"https?://|repository", text), (
        f"{package.name}/SOURCE.md: does not say where the article came from"
    )
    data = article_file(package).read_bytes()
    sha256, blobs = recorded_digests(text)
    for digest in sha256:
        assert hashlib.sha256(data).hexdigest() == digest, (
            f"{package.name}: article does not match the recorded sha256"
        )
    for blob in blobs:
        computed = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        assert computed == blob, (
            f"{package.name}: article does not match the recorded git blob {blob}"
        )


@pytest.mark.parametrize("package", PACKAGES, ids=_ids(PACKAGES))
def test_article_length(package):
    words = max(len(t.split()) for t in visible_texts(article_file(package)))
    assert 1000 <= words <= 8000, f"{package.name}: {words} words of visible text"


@pytest.mark.parametrize("package", PACKAGES, ids=_ids(PACKAGES))
def test_eval_cases(package):
    assert set(TUTOR_KINDS) == set(KINDS)
    load_dataset(package / "eval.jsonl")  # the tutor's own shape check
    cases = read_jsonl(package / "eval.jsonl")
    ids = [c.get("id") for c in cases]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids), (
        f"{package.name}: ids missing or repeated"
    )

    for c in cases:
        where = f"{package.name}/eval.jsonl '{c['id']}'"
        kind = c.get("kind")
        assert kind in KINDS, f"{where}: unknown kind {kind!r}"
        for key in ("support", "must_include", "must_not_include"):
            assert isinstance(c.get(key), list) and all(
                isinstance(v, str) and v.strip() for v in c[key]
            ), where + f": '{key}'"
        for key in ("must_include", "must_not_include"):
            assert all(alt.strip() for k in c[key] for alt in k.split("|")), (
                f"{where}: empty alternative in {key}"
            )
        assert isinstance(c.get("reference"), str) and c["reference"].strip(), (
            f"{where}: no reference answer"
        )
        if kind == "followup":
            assert "question" not in c and _is_str_list(c.get("turns")) and len(c["turns"]) >= 2, (
                f"{where}: turns"
            )
        else:
            assert (
                "turns" not in c and isinstance(c.get("question"), str) and c["question"].strip()
            ), f"{where}: question"

        meta = c.get("question") in META_QUESTIONS
        if kind == "out_of_scope":
            assert not c["support"] and not c["must_include"], (
                f"{where}: out_of_scope has no support and no must_include"
            )
        elif kind in ("answerable", "false_premise", "followup", "socratic") and not meta:
            assert c["support"], f"{where}: {kind} needs support quotes"
        if kind in ("answerable", "false_premise", "followup"):
            assert c["must_include"], f"{where}: {kind} needs must_include"
        if kind == "socratic":
            continue  # its reference says what the learner should reach, not what the tutor says
        # The reference answer is itself a passing answer.
        for k in c["must_include"]:
            assert _has_any(c["reference"], k), f"{where}: reference lacks must_include {k!r}"
        for k in c["must_not_include"]:
            assert not _has_any(c["reference"], k), (
                f"{where}: reference contains must_not_include {k!r}"
            )

    counts = Counter(c["kind"] for c in cases)
    for kind, least in MIN_PER_KIND.items():
        assert counts[kind] >= least, (
            f"{package.name}: {counts[kind]} {kind} cases, want at least {least}"
        )
    assert 28 <= len(cases) <= 40, f"{package.name}: {len(cases)} cases"
    assert 0.45 <= counts["answerable"] / len(cases) <= 0.65, (
        f"{package.name}: answerable share {counts}"
    )
    for question in META_QUESTIONS:
        meta = [c for c in cases if c.get("question") == question]
        assert len(meta) == 1, f"{package.name}: {question!r} appears {len(meta)} times"
        assert meta[0]["kind"] == "answerable" and meta[0]["support"] == [], (
            f"{package.name}: {question!r} shape"
        )


@pytest.mark.parametrize("package", PACKAGES, ids=_ids(PACKAGES))
def test_claims(package):
    load_claims(package / "claims.jsonl")
    rows = read_jsonl(package / "claims.jsonl")
    assert 25 <= len(rows) <= 40, f"{package.name}: {len(rows)} claims"
    for n, r in enumerate(rows, 1):
        assert set(r) == {"claim", "passage", "supported"}, (
            f"{package.name}/claims.jsonl:{n}: fields {sorted(r)}"
        )
        assert isinstance(r["supported"], bool)
        assert collapse(r["claim"]) not in collapse(r["passage"]), (
            f"{package.name}/claims.jsonl:{n}: claim copies its passage"
        )
    share = sum(r["supported"] for r in rows) / len(rows)
    assert 0.3 <= share <= 0.5, f"{package.name}: {share:.0%} of claims supported, want about 40%"


@pytest.mark.parametrize("package", PACKAGES, ids=_ids(PACKAGES))
def test_replies(package):
    rows = read_jsonl(package / "replies.jsonl")
    assert 20 <= len(rows) <= 40, f"{package.name}: {len(rows)} replies"
    by_question = defaultdict(set)
    for n, r in enumerate(rows, 1):
        where = f"{package.name}/replies.jsonl:{n}"
        assert set(r) == {"question", "reference", "quotes", "reply", "label"}, (
            f"{where}: fields {sorted(r)}"
        )
        for key in ("question", "reference", "reply"):
            assert isinstance(r[key], str) and r[key].strip(), f"{where}: '{key}'"
        assert _is_str_list(r["quotes"]) and r["quotes"], f"{where}: quotes"
        assert r["label"] in LABELS, f"{where}: label {r['label']!r}"
        by_question[r["question"]].add(r["label"])
    for question, labels in by_question.items():
        assert labels == set(LABELS), f"{package.name}: {question!r} has labels {sorted(labels)}"


@pytest.mark.parametrize("package", PACKAGES, ids=_ids(PACKAGES))
def test_quotes_occur_in_the_article(package):
    texts = visible_texts(article_file(package))
    quotes = []
    for c in read_jsonl(package / "eval.jsonl"):
        quotes += [("eval.jsonl", c["id"], q) for q in c["support"]]
    for n, r in enumerate(read_jsonl(package / "claims.jsonl"), 1):
        quotes.append(("claims.jsonl", n, r["passage"]))
    for n, r in enumerate(read_jsonl(package / "replies.jsonl"), 1):
        quotes += [("replies.jsonl", n, q) for q in r["quotes"]]
    missing = [(f, where, q) for f, where, q in quotes if not any(collapse(q) in t for t in texts)]
    assert not missing, (
        f"{package.name}: {len(missing)} quotes not in the article, e.g. {missing[:3]}"
    )
