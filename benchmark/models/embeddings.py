"""Sentence embeddings (all-MiniLM-L6-v2 by default), with an in-process cache of encoded texts."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from benchmark.models.packaged import resolve_model


class Embedder:
    def __init__(self, model: str = "minilm", batch_size: int = 64, device: str = "cpu"):
        from sentence_transformers import SentenceTransformer

        self.name = model
        self.model = SentenceTransformer(resolve_model(model), device=device)
        self.batch_size = batch_size
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()  # users in flight share one encoder

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised embeddings, one row per text; each distinct text is encoded once."""
        with self._lock:
            todo = sorted({t for t in texts if t not in self._cache})
            if todo:
                vectors = self.model.encode(todo, batch_size=self.batch_size, normalize_embeddings=True,
                                            show_progress_bar=False, convert_to_numpy=True)
                self._cache.update(zip(todo, vectors.astype(np.float32)))
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_paragraphs(self, texts: Sequence[str]) -> np.ndarray:
        """Each text as the mean embedding of its paragraphs (blank-line separated).

        Style cues then carry the weight of a whole paragraph, and long texts are not cut at the
        encoder's token limit.
        """
        chunks = [[p for p in text.split("\n\n") if p.strip()] or [text] for text in texts]
        flat = self.encode([p for c in chunks for p in c])
        bounds = np.cumsum([0] + [len(c) for c in chunks])
        return np.stack([flat[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])]) if texts \
            else np.zeros((0, self.dim), np.float32)
