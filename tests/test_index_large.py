"""An index version larger than one read can fetch from embedded Chroma: more
than 32,766 records (SQLite's limit on SQL variables, one per record), i.e. a
library of some 800 articles. Written with tiny vectors so no embedding is
needed; read back through the same paged read `Index` uses for a snapshot."""

from __future__ import annotations

import numpy as np
import pytest

from tutor.config import Settings
from tutor.index import _get_all, make_client

pytestmark = pytest.mark.slow


def test_a_version_of_more_than_32766_chunks_is_read_whole(tmp_path):
    client = make_client(Settings(home=tmp_path))
    col = client.create_collection("chunks_vbig", embedding_function=None)
    n, step = 33_000, client.get_max_batch_size()
    vectors = np.random.default_rng(0).random((n, 4), dtype=np.float32)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        col.add(ids=[f"c{i}" for i in range(lo, hi)], documents=[f"text {i}" for i in range(lo, hi)],
                metadatas=[{"i": i} for i in range(lo, hi)], embeddings=vectors[lo:hi])
    got = _get_all(col, ["documents", "metadatas", "embeddings"])
    assert len(got["ids"]) == len(set(got["ids"])) == n
    by_id = {i: (d, m["i"], e) for i, d, m, e in zip(got["ids"], got["documents"], got["metadatas"],
                                                      got["embeddings"], strict=True)}
    doc, i, emb = by_id["c32999"]
    assert (doc, i) == ("text 32999", 32999) and np.allclose(emb, vectors[32999])
