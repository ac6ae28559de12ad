"""Split a cleaned Document into retrieval chunks that remember where they came from.

Chunks follow the article's structure: a section is the run of paragraphs under
one heading path; LangChain's RecursiveCharacterTextSplitter cuts each section at
paragraph, line and sentence boundaries with a small overlap. Every chunk keeps
its heading path, the number of its first paragraph and its character offsets
into `Document.text`, so `doc.text[c.start:c.end] == c.text` always holds and a
citation can highlight the exact span.

LangChain's splitter only overlaps pieces smaller than the overlap, and article
sentences are often longer, so paragraph-sized chunks would not overlap at all.
We therefore add the overlap ourselves at sentence granularity: a chunk that
does not already overlap its predecessor in the same section starts with the
predecessor's last sentence when that sentence fits in `overlap` characters.

Chunking is linear in the text's length: paragraph numbers come from a
bisect into the sorted paragraph starts, headings from one set built once.

Deliberate simplification: chunk size is counted in characters (about 4.5 per
token for English prose), not model tokens; it keeps chunking independent of the
embedder.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from tutor.corpus import Document

CHUNK_CHARS = 420
CHUNK_OVERLAP = 160
_SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    paragraph: int  # 1-based number of the chunk's first body paragraph
    start: int
    end: int
    text: str
    terms: tuple[str, ...] = ()  # content lemmas (text and heading path), for BM25

    def metadata(self) -> dict:
        """Flat metadata for the vector store (scalars only)."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "heading_path": json.dumps(list(self.heading_path)),
            "paragraph": self.paragraph,
            "start": self.start,
            "end": self.end,
            "terms": " ".join(self.terms),
        }

    @classmethod
    def from_record(cls, chunk_id: str, text: str, meta: dict) -> Chunk:
        return cls(
            chunk_id=chunk_id,
            doc_id=meta["doc_id"],
            title=meta["title"],
            heading_path=tuple(json.loads(meta.get("heading_path") or "[]")),
            paragraph=int(meta["paragraph"]),
            start=int(meta["start"]),
            end=int(meta["end"]),
            text=text,
            terms=tuple((meta.get("terms") or "").split()),
        )

    @property
    def heading(self) -> str:
        return " › ".join(self.heading_path)

    @property
    def back_matter(self) -> bool:
        """Under a reference list, a bibliography or a list of links
        (`BACK_MATTER`): what the article cites, not what it says."""
        return is_back_matter(self.heading_path, self.title)


# headings of the lists that close an article: entries cite works, they state nothing
BACK_MATTER = frozenset(
    {"references", "bibliography", "works cited", "literature cited", "citations", "sources",
     "external links", "further reading", "see also"}
)


def is_back_matter(heading_path, title: str = "") -> bool:
    """Is a section with these headings (outermost first) a reference list, a
    bibliography or a list of links? The article's own title does not count."""
    return any(h.strip().rstrip(":").lower() in BACK_MATTER for h in heading_path if h != title)


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each blank-line separated block of `text`."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S(?:.|\n(?!\s*\n))*", text)]


def _sections(doc: Document) -> list[tuple[tuple[str, ...], list[tuple[int, int]]]]:
    """Group body paragraphs by the heading path they sit under."""
    heading_at = {h.start: h for h in doc.headings}
    stack: list[tuple[int, str]] = []
    sections: list[tuple[tuple[str, ...], list[tuple[int, int]]]] = []
    for start, end in paragraphs(doc.text):
        heading = heading_at.get(start)
        if heading is not None:
            while stack and stack[-1][0] >= heading.level:
                stack.pop()
            stack.append((heading.level, heading.text))
            continue
        path = tuple(t for _, t in stack)
        if sections and sections[-1][0] == path:
            sections[-1][1].append((start, end))
        else:
            sections.append((path, [(start, end)]))
    return sections


def chunk_document(
    doc: Document,
    chunk_chars: int = CHUNK_CHARS,
    overlap: int = CHUNK_OVERLAP,
    sentences: Sequence[tuple[int, int]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Chunk]:
    """The document's chunks in text order. `sentences` are (start, end) of its
    sentences, from the parse (ingest has them), used for the one-sentence
    overlap; `progress(done_chars, total_chars)` is called per section."""
    if sentences is None:
        from tutor.language import sentences as split

        sentences = [(s.start, s.end) for s in split(doc.text, attributions=True)]
    sentence_starts = [a for a, _ in sentences]
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_chars,
        chunk_overlap=overlap,
        separators=_SEPARATORS,
        keep_separator="end",
        add_start_index=True,
    )
    heading_starts = {h.start for h in doc.headings}
    para_starts = [s for s, _ in paragraphs(doc.text) if s not in heading_starts]  # sorted
    chunks: list[Chunk] = []
    for path, paras in _sections(doc):
        sec_start, sec_end = paras[0][0], paras[-1][1]
        section = doc.text[sec_start:sec_end]
        previous: tuple[int, int] | None = None
        for piece in splitter.create_documents([section]):
            start = sec_start + piece.metadata["start_index"]
            end = start + len(piece.page_content)
            if previous is not None and start >= previous[1]:
                start = _overlap_start(sentences, sentence_starts, previous, start, overlap)
            previous = (start, end)
            text = doc.text[start:end]
            assert doc.text[start:end] == text, "chunk offsets must map back to the text"
            paragraph = bisect.bisect_right(para_starts, start)  # paragraphs starting at or before it
            chunks.append(
                Chunk(
                    chunk_id=_chunk_id(doc.doc_id, start, end, text),
                    doc_id=doc.doc_id,
                    title=doc.title,
                    heading_path=path,
                    paragraph=max(paragraph, 1),
                    start=start,
                    end=end,
                    text=text,
                )
            )
        if progress:
            progress(sec_end, len(doc.text))
    return chunks


def _overlap_start(sentences, starts: list[int], previous: tuple[int, int], start: int, overlap: int) -> int:
    """Start of the previous chunk's last sentence if it is short enough to repeat."""
    first = bisect.bisect_left(starts, previous[0])
    last = bisect.bisect_right(starts, previous[1] - 1) - 1
    if last - first < 1:  # fewer than two sentences in the previous chunk
        return start
    s, e = sentences[last]
    if e > previous[1] + 1:
        return start
    return s if e - s <= overlap else start


def _chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    digest = hashlib.sha256(f"{doc_id}\0{start}\0{end}\0{text}".encode()).hexdigest()[:16]
    return f"{doc_id}:{start}:{digest}"
