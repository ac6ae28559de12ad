"""The embedder: length-bucketed batches, in order, unit length, with the real model."""

from __future__ import annotations

import numpy as np

from tutor.embedder import length_batches


def test_length_batches_cover_every_index_once_longest_first():
    lengths = [300, 40, 120, 410, 395, 90, 260, 405, 15, 220]
    batches = length_batches(lengths, size=3, fill=0.75, min_gap=50)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths, reverse=True)
    for b in batches:
        assert len(b) <= 3
        longest = lengths[b[0]]
        assert all(lengths[i] >= 0.75 * longest or longest - lengths[i] <= 50 for i in b)
    # 410, 405, 395 fill a batch; 300 and 260 share one; 220 is under 75% of 300
    assert [[lengths[i] for i in b] for b in batches][:3] == [[410, 405, 395], [300, 260], [220]]


def test_short_texts_stay_in_one_batch():
    # a question and its shorter focus: padding them is cheaper than a second call
    assert length_batches([52, 31]) == [[0, 1]]
    assert length_batches([]) == []


def test_bucketed_embeddings_match_one_at_a_time_in_order(embedder):
    texts = [
        "Management copes with complexity.",
        "Leadership, by contrast, is about coping with change: setting a direction, aligning "
        "people and motivating them to overcome the barriers that stand in the way. " * 3,
        "Planning and budgeting.",
        "Kotter argues that organizations need both strong leadership and strong management "
        "to be effective, and that few people excel at both.",
    ]
    together = embedder.embed(texts, batch_size=2)
    alone = np.stack([embedder.embed_one(t) for t in texts])
    assert together.shape == (4, embedder.dim)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, alone, atol=1e-4)


class _Counting:
    """A stand-in embedder that records what it is asked to embed."""

    dim = 4

    def __init__(self):
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(t), t.count("a"), 1.0, 0.0] for t in texts], dtype=np.float32)


def test_remembered_vectors_are_embedded_once_in_one_call(monkeypatch):
    import tutor.embedder as E

    fake = _Counting()
    first = E.embed_remembered(fake, ["bread", "dough", "bread"])
    assert fake.calls == [["bread", "dough"]]  # each new text once, in one call
    assert first.shape == (3, 4) and np.array_equal(first[0], first[2])
    again = E.embed_remembered(fake, ["dough", "banana"])
    assert fake.calls[-1] == ["banana"] and np.array_equal(again[0], first[1])
    assert E.embed_remembered(fake, []).shape == (0, 4)
    monkeypatch.setattr(E, "MEMO_SIZE", 3)  # full: start over rather than grow
    E.embed_remembered(fake, ["oven", "salt"])
    assert set(fake.__dict__["_memo"]) == {"oven", "salt"}


def test_a_new_question_embeds_its_words_in_few_calls(engine, monkeypatch):
    """The ranker, the coverage check and the support judge share one memo, so
    a question never asked before costs a few encode calls, not one per sentence."""
    embedder = engine.index.embedder
    calls = []
    real = embedder.embed
    monkeypatch.setattr(embedder, "embed", lambda texts, *a, **k: calls.append(len(texts)) or real(texts, *a, **k))
    engine.grounded.explain("Which responsibilities of managers does the theorist contrast with aligning people?")
    assert 1 <= len(calls) <= 6, calls
