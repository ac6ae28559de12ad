"""Parses and sentence vectors made at ingest round-trip through the index."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.parsed import ParsedDocument


def test_record_round_trip_keeps_sentences_parse_and_vectors():
    text = "A first idea here. A second one follows.\n\nA new paragraph starts, with a clause."
    p = ParsedDocument.parse("d", "h", text)
    p.vectors = np.eye(len(p.sentences), 8, dtype=np.float32)
    (rid, doc, meta), = p.to_records()
    assert rid == "d" and meta["parts"] == 1
    q = ParsedDocument.from_records([(doc, meta)], text)
    assert [s.text for s in q.sentences] == [s.text for s in p.sentences]
    assert all(text[s.start : s.end] == s.text for s in q.sentences)
    assert np.allclose(q.vectors, p.vectors, atol=1e-3)
    assert q.span(2).text == "A new paragraph starts, with a clause."
    assert [t.lemma_ for t in q.span(0)] == [t.lemma_ for t in p.span(0)]


def test_a_long_document_is_stored_in_parts_of_whole_paragraphs():
    text = "\n\n".join(f"Paragraph {k} opens here. It goes on a little. Then it ends." for k in range(7))
    p = ParsedDocument.parse("d", "h", text)
    p.vectors = np.random.default_rng(0).normal(size=(len(p.sentences), 8)).astype(np.float32)
    p.instructions = frozenset({1, 19})
    records = list(p.to_records(part_sentences=5))
    assert [r[0] for r in records] == ["d", "d#1", "d#2", "d#3"]  # 6 sentences a part (2 paragraphs), then 3
    assert [len(m["sentences"]) > 0 for _, _, m in records] == [True] * 4
    q = ParsedDocument.from_records([(d, m) for _, d, m in reversed(records)], text)  # any order
    assert q.docs == [None] * 7  # nothing decoded until a parse is needed
    assert q.span(20).text == "Then it ends." and q.docs[:6] == [None] * 6  # only the last part
    assert [(s.start, s.end) for s in q.sentences] == [(s.start, s.end) for s in p.sentences]
    assert q.offsets == p.offsets and len(q.paragraphs) == 7
    assert np.allclose(q.vectors, p.vectors, atol=1e-2) and q.instructions == {1, 19}
    assert q.span(20).doc is q.paragraphs[6] and None not in q.docs
    with pytest.raises(ValueError, match="incomplete parse: 3 of 4 parts"):
        ParsedDocument.from_records([(d, m) for _, d, m in records[:3]], text)


def test_sentences_in_a_range_and_at_an_offset():
    text = "One. Two is here.\n\nThree comes last."
    p = ParsedDocument.parse("d", "h", text)
    assert p.sentences_in(0, 17) == [0, 1]
    assert p.at(p.sentences[2].start) == 2 and p.at(1) is None
    assert p.containing(p.sentences[1].start + 2) == 1


def test_the_index_stores_a_parse_for_every_document(fresh_home, embedder):
    from tutor.config import Settings
    from tutor.index import Index

    snap = Index(Settings(home=fresh_home), embedder=embedder).snapshot()
    for doc_id, stored in snap.documents.items():
        parsed = snap.parsed(doc_id)
        assert parsed.vectors is not None and parsed.vectors.shape == (len(parsed.sentences), 384)
        assert all(stored.text[s.start : s.end] == s.text for s in parsed.sentences)
    assert all(c.terms for c in snap.chunks)


def test_the_index_stores_long_parses_in_parts_and_reuses_them(tmp_path, embedder, monkeypatch):
    """Parts are written, joined on read, copied when the article is unchanged,
    and a document missing a part is parsed again rather than half read."""
    import tutor.index as index_module
    import tutor.parsed as parsed_module
    from tutor.config import Settings
    from tutor.index import Index

    monkeypatch.setattr(parsed_module, "PART_SENTENCES", 4)
    folder = tmp_path / "articles"
    folder.mkdir()
    text = "\n\n".join(f"Topic {k} is introduced here. Its details follow. A closing remark ends it." for k in range(6))
    (folder / "long.md").write_text(f"# Long\n\n{text}\n", encoding="utf-8")
    index = Index(Settings(home=tmp_path / "home"), embedder=embedder)
    index.ingest([folder])
    snap = index.snapshot()
    assert snap.parses.count() > 2  # several parts of one document
    whole = snap.parsed("long")
    expected = ParsedDocument.parse("long", "h", snap.documents["long"].text)
    assert [(s.start, s.end) for s in whole.sentences] == [(s.start, s.end) for s in expected.sentences]
    assert whole.vectors.shape == (len(expected.sentences), 384)

    parsed_again = []
    real = index_module.parse_documents
    monkeypatch.setattr(index_module, "parse_documents", lambda items: parsed_again.extend(i[0] for i in items) or real(items))
    (folder / "other.md").write_text("# Other\n\nA short second article.\n", encoding="utf-8")
    index.ingest([folder])
    snap = index.snapshot(max_age=0)
    assert set(snap.documents) == {"long", "other"}
    assert parsed_again == ["other"]  # the long one's parts were copied, not re-parsed
    assert np.allclose(snap.parsed("long").vectors, whole.vectors)

    snap.parses.delete(ids=["long#1"])
    snap = Index(Settings(home=tmp_path / "home"), embedder=embedder).snapshot()  # a reader that starts now
    assert [(s.start, s.end) for s in snap.parsed("long").sentences] == [(s.start, s.end) for s in expected.sentences]
    assert parsed_again[-1] == "long"  # parsed now, not read with a part missing
