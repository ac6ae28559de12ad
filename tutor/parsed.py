"""A document parsed once at ingest: its paragraphs' spaCy parses, its
sentences with character offsets, and one embedding per sentence.

Ingest parses every paragraph of a new or changed article once (one pass of
the pipeline over all of them), marks the sentences that address the tutor
instead of the reader (`tutor.injection`: they are never evidence), embeds
every sentence, and stores the result
with the index version (`to_records`/`from_records`). A document is stored in
parts of whole paragraphs, about `PART_SENTENCES` sentences each, so that no
record grows with the article: a 50 MB file is a few hundred records of a few
MB, each written, copied and indexed by Chroma on its own, instead of one
string of hundreds of MB. A part holds a spaCy `DocBin` of its paragraphs and
float16 vectors of their sentences, both base64 text so that embedded and
server Chroma store them alike; the first part's id is the document's id, the
others' `<doc_id>#<k>` (ids are slugs, which never hold "#"). Retrieval,
evidence selection and the responders read sentences, vectors and parses from
here, so a warm question parses and embeds only the question.

>>> p = ParsedDocument.parse("d", "h", "One idea here. Another one.\\n\\nA new paragraph.")
>>> [s.text for s in p.sentences]
['One idea here.', 'Another one.', 'A new paragraph.']
>>> p.span(2).text, p.sentences_in(0, 27)
('A new paragraph.', [0, 1])
"""

from __future__ import annotations

import base64
import bisect
import re
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from spacy.tokens import Doc, DocBin, Span

from tutor import language as L

PARSER_ID = "en_core_web_sm-3.8.0"  # stored with each record: another pipeline means re-parsing
_PARAGRAPH_RE = re.compile(r"\S(?:.|\n(?!\s*\n))*")


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each blank-line separated block of `text`."""
    return [(m.start(), m.end()) for m in _PARAGRAPH_RE.finditer(text)]


@dataclass
class ParsedDocument:
    doc_id: str
    content_hash: str
    offsets: list[int]  # start of each paragraph in the document text
    docs: list[Doc | None]  # each paragraph's parse; None: still in `_encoded` (read lazily)
    sentences: list[L.Sentence]  # document offsets
    vectors: np.ndarray | None = None  # (len(sentences), dim), unit length
    instructions: frozenset[int] = frozenset()  # sentences that address the tutor (`tutor.injection`)
    _encoded: dict[int, tuple[int, str]] = field(default_factory=dict)  # first paragraph -> (end, DocBin)
    _code: dict[int, bool] = field(default_factory=dict, repr=False, compare=False)
    _sent_para: list[int] = field(default_factory=list)
    _starts: list[int] = field(default_factory=list)
    _decoding: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self):
        self._starts = [s.start for s in self.sentences]
        self._sent_para = [bisect.bisect_right(self.offsets, s.start) - 1 for s in self.sentences]

    @property
    def paragraphs(self) -> list[Doc]:
        """Every paragraph's parse (decoding the parts not read yet)."""
        return [self.paragraph(p) for p in range(len(self.offsets))]

    def paragraph(self, p: int) -> Doc:
        """Paragraph p's parse. A stored part is decoded the first time one of
        its paragraphs is needed: a question reads the sentence vectors of
        every document it retrieves from but the parse of only a few."""
        doc = self.docs[p]
        if doc is not None:
            return doc
        with self._decoding:
            if self.docs[p] is not None:  # another thread decoded it meanwhile
                return self.docs[p]
            first = max(k for k in self._encoded if k <= p)
            end, encoded = self._encoded[first]
            decoded = list(DocBin().from_bytes(base64.b64decode(encoded)).get_docs(L.nlp().vocab))
            if len(decoded) != end - first:
                raise ValueError(f"parse part of {self.doc_id} holds {len(decoded)} paragraphs, not {end - first}")
            self.docs[first:end] = decoded
            del self._encoded[first]
            return self.docs[p]

    # ---- building -------------------------------------------------------------
    @classmethod
    def parse(cls, doc_id: str, content_hash: str, text: str) -> ParsedDocument:
        return parse_documents([(doc_id, content_hash, text)])[0]

    # ---- reading ----------------------------------------------------------------
    def sentences_in(self, start: int, end: int) -> list[int]:
        """Indexes of the sentences that lie (mostly) inside [start, end)."""
        lo = bisect.bisect_left(self._starts, start - 400)
        out = []
        for i in range(lo, len(self.sentences)):
            s = self.sentences[i]
            if s.start >= end:
                break
            inside = min(s.end, end) - max(s.start, start)
            if inside > 0 and inside >= 0.5 * (s.end - s.start):
                out.append(i)
        return out

    def span(self, i: int) -> Span:
        """The parsed span of sentence i (tokens, lemmas, dependencies)."""
        s = self.sentences[i]
        p = self._sent_para[i]
        doc, base = self.paragraph(p), self.offsets[p]
        span = doc.char_span(s.start - base, s.end - base, alignment_mode="expand")
        return span if span is not None else doc[:]

    def is_code(self, i: int) -> bool:
        """Sentence i is code, a command, a URL or a table row, not prose
        (`language.is_code`, read from its text and kept); False past either end."""
        if not 0 <= i < len(self.sentences):
            return False
        flag = self._code.get(i)
        if flag is None:
            flag = self._code[i] = L.is_code(self.sentences[i].text)
        return flag

    def at(self, start: int) -> int | None:
        """The sentence that starts at document offset `start`, if any."""
        i = bisect.bisect_left(self._starts, start)
        return i if i < len(self._starts) and self._starts[i] == start else None

    def evidence_text(self, text: str, start: int, end: int) -> str:
        """`text` (the document's [start, end)) without the sentences that
        address the tutor: what judges and models may take as evidence."""
        drop = [self.sentences[i] for i in self.sentences_in(start, end) if i in self.instructions]
        if not drop:
            return text
        out, at = [], start
        for s in drop:
            out.append(text[max(0, at - start) : max(0, s.start - start)])
            at = s.end
        out.append(text[max(0, at - start) :])
        return " ".join(" ".join(out).split())

    def containing(self, offset: int) -> int | None:
        i = bisect.bisect_right(self._starts, offset) - 1
        if 0 <= i < len(self.sentences) and self.sentences[i].start <= offset < self.sentences[i].end:
            return i
        return None

    # ---- storing ------------------------------------------------------------------
    def to_records(self, part_sentences: int = 0) -> Iterator[tuple[str, str, dict]]:
        """(id, document, metadata) of each part, made one at a time."""
        bounds = self._parts(part_sentences or PART_SENTENCES)
        dim = 0
        vec = None
        if self.vectors is not None:
            vec = np.asarray(self.vectors, dtype=np.float16)
            dim = int(vec.shape[1]) if vec.ndim == 2 else 0
        for k, (plo, phi, slo, shi) in enumerate(bounds):
            bin_ = DocBin(attrs=_ATTRS, store_user_data=False)
            for p in range(plo, phi):
                bin_.add(self.paragraph(p))
            meta = {
                "doc_id": self.doc_id,
                "content_hash": self.content_hash,
                "parser": PARSER_ID,
                "part": k,
                "parts": len(bounds),
                "offsets": _pack_ints(self.offsets[plo:phi]),
                "sentences": _pack_ints([x for s in self.sentences[slo:shi] for x in (s.start, s.end)]),
                "instructions": _pack_ints(sorted(i for i in self.instructions if slo <= i < shi)),
            }
            if vec is not None:
                meta["dim"] = dim
                meta["vectors"] = base64.b64encode(zlib.compress(vec[slo:shi].tobytes(), 1)).decode()
            yield part_id(self.doc_id, k), base64.b64encode(bin_.to_bytes()).decode(), meta

    def _parts(self, most: int) -> list[tuple[int, int, int, int]]:
        """(first paragraph, end paragraph, first sentence, end sentence) of
        each part: whole paragraphs, cut once a part holds `most` sentences."""
        out, plo, slo = [], 0, 0
        n = len(self.offsets)
        for p in range(n):
            shi = bisect.bisect_left(self._sent_para, p + 1)  # sentences of paragraphs < p + 1
            if shi - slo >= most and p + 1 < n:
                out.append((plo, p + 1, slo, shi))
                plo, slo = p + 1, shi
        out.append((plo, n, slo, len(self.sentences)))
        return out

    @classmethod
    def from_records(cls, records: Sequence[tuple[str, dict]], text: str) -> ParsedDocument:
        """Join a document's parts (document, metadata), in any order. A record
        from before parts were stored is a document's only part."""
        parts = sorted(records, key=lambda r: int(r[1].get("part", 0)))
        want = int(parts[0][1].get("parts", 1)) if parts else 0
        if not parts or [int(m.get("part", 0)) for _, m in parts] != list(range(want)):
            raise ValueError(f"incomplete parse: {len(parts)} of {want} parts")
        encoded, offsets, sents, vectors, flagged = {}, [], [], [], set()
        for document, meta in parts:
            here_offsets = _unpack_ints(meta["offsets"])
            encoded[len(offsets)] = (len(offsets) + len(here_offsets), document)
            offsets += here_offsets
            flat = _unpack_ints(meta["sentences"])
            here = [L.Sentence(a, b, text[a:b]) for a, b in zip(flat[::2], flat[1::2], strict=True)]
            if meta.get("vectors"):
                raw = np.frombuffer(zlib.decompress(base64.b64decode(meta["vectors"])), dtype=np.float16)
                vectors.append(raw.reshape(len(here), int(meta["dim"])))
            flagged.update(_unpack_ints(meta.get("instructions") or ""))
            sents += here
        joined = np.concatenate(vectors).astype(np.float32) if len(vectors) == len(parts) else None
        meta = parts[0][1]
        return cls(meta["doc_id"], meta["content_hash"], offsets, [None] * len(offsets), sents, joined,
                   frozenset(flagged), encoded)


PART_SENTENCES = 2000  # sentences per stored part: a few MB of parse and vectors


def part_id(doc_id: str, k: int) -> str:
    """The id of part `k` of a document's parse record."""
    return doc_id if k == 0 else f"{doc_id}#{k}"


_ATTRS = ["ORTH", "TAG", "HEAD", "DEP", "ENT_IOB", "ENT_TYPE", "LEMMA", "MORPH", "POS", "SPACY", "SENT_START"]


def _pack_ints(values: Sequence[int]) -> str:
    arr = np.asarray(values, dtype=np.int64)
    return base64.b64encode(zlib.compress(arr.tobytes(), 1)).decode()


def _unpack_ints(packed: str) -> list[int]:
    if not packed:
        return []
    return np.frombuffer(zlib.decompress(base64.b64decode(packed)), dtype=np.int64).tolist()


def parse_documents(items: Sequence[tuple[str, str, str]], batch_size: int = 64) -> list[ParsedDocument]:
    """Parse the paragraphs of many documents in one pass of the pipeline.

    `items` are (doc_id, content_hash, text). Sentences are read from the
    parse; a quotation keeps its "~ Name" attribution (article text), and a
    code block is one unit (`_sentences`)."""
    jobs: list[tuple[int, int, str]] = []  # (document index, paragraph start, paragraph text)
    for k, (_, _, text) in enumerate(items):
        for start, end in paragraph_spans(text):
            jobs.append((k, start, text[start:end]))
    docs = L.parse_many([j[2] for j in jobs], batch_size=batch_size) if jobs else []
    grouped: list[list[tuple[int, Doc]]] = [[] for _ in items]
    for (k, start, _), d in zip(jobs, docs, strict=True):
        grouped[k].append((start, d))
    from tutor.injection import is_instruction

    out = []
    for (doc_id, content_hash, _text), paras in zip(items, grouped, strict=True):
        offsets = [s for s, _ in paras]
        sents = [s for start, d in paras for s in _sentences(d, start)]
        p = ParsedDocument(doc_id, content_hash, offsets, [d for _, d in paras], sents)
        p.instructions = frozenset(i for i in range(len(sents)) if is_instruction(p.span(i)))
        out.append(p)
    return out


def _sentences(doc: Doc, start: int) -> list[L.Sentence]:
    """A paragraph's sentences; a code block is one unit, whatever its '!' and '.'
    ("#![allow(unused)]" is not a sentence and "fn main() {" is not another)."""
    if L.is_code(doc.text):
        text = doc.text.strip()
        lead = len(doc.text) - len(doc.text.lstrip())
        return [L.Sentence(start + lead, start + lead + len(text), text)] if text else []
    return L.doc_sentences(doc, start, attributions=True)
