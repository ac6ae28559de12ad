"""Parses and sentence vectors made at ingest round-trip through the index."""

from __future__ import annotations

import numpy as np

from tutor.parsed import ParsedDocument


def test_record_round_trip_keeps_sentences_parse_and_vectors():
    text = "A first idea here. A second one follows.\n\nA new paragraph starts, with a clause."
    p = ParsedDocument.parse("d", "h", text)
    p.vectors = np.eye(len(p.sentences), 8, dtype=np.float32)
    doc, meta = p.to_record()
    q = ParsedDocument.from_record(doc, meta, text)
    assert [s.text for s in q.sentences] == [s.text for s in p.sentences]
    assert all(text[s.start : s.end] == s.text for s in q.sentences)
    assert np.allclose(q.vectors, p.vectors, atol=1e-3)
    assert q.span(2).text == "A new paragraph starts, with a clause."
    assert [t.lemma_ for t in q.span(0)] == [t.lemma_ for t in p.span(0)]


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
