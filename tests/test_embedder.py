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
