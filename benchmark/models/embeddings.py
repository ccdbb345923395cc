"""Text embeddings: all-MiniLM-L6-v2 by default, or a chat model's pooled hidden states.

Each distinct text is encoded once per process, and with a request cache once ever: vectors are stored
like other model answers, keyed by the embedder (name, pooling) and the text.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmark.models.packaged import resolve_model

HIDDEN_POOLING = {"hidden_mean": "mean", "hidden_last": "last"}  # model.embedder values for hidden states


class Embedder:
    def __init__(self, model: str = "minilm", batch_size: int = 64, device: str = "cpu", cache: Any = None):
        from sentence_transformers import SentenceTransformer

        self.name = model
        self.model = SentenceTransformer(resolve_model(model), device=device)
        self.batch_size = batch_size
        self.request_cache = cache  # a RequestCache, or None
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()  # users in flight share one encoder

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    def _compute(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 show_progress_bar=False, convert_to_numpy=True)

    def _key(self, text: str) -> str:
        return self.request_cache.key({"kind": "embedding", "embedder": self.name, "text": text})

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised embeddings, one row per text; each distinct text is encoded once."""
        with self._lock:
            todo = sorted({t for t in texts if t not in self._cache})
            if todo and self.request_cache is not None:
                for text in todo:
                    hit = self.request_cache.get(self._key(text))
                    if hit is not None:
                        self._cache[text] = np.asarray(hit["vector"], np.float32)
                todo = [t for t in todo if t not in self._cache]
            if todo:
                vectors = self._compute(todo).astype(np.float32)
                self._cache.update(zip(todo, vectors))
                if self.request_cache is not None:
                    self.request_cache.put({self._key(t): {"vector": v.tolist()} for t, v in zip(todo, vectors)})
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


class HiddenStateEmbedder(Embedder):
    """A chat model's last hidden layer, mean-pooled over the text's tokens or taken at its last token
    (what VPL / PAL / GPO used: the reward LLM's own representations), unit-normalised. Texts longer than
    `max_tokens` are cut (the paragraph mean of `encode_paragraphs` keeps long answers whole)."""

    def __init__(self, model: str, pooling: str, batch_size: int = 8, device: str = "cpu", dtype: str = "float32",
                 max_tokens: int = 512, revision: str | None = None, cache: Any = None):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.name = f"{model}@{revision or 'main'}:{pooling}"
        self.pooling, self.batch_size, self.max_tokens, self.device = pooling, batch_size, max_tokens, device
        path = resolve_model(model)
        self.tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
        self.tokenizer.padding_side = "right"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModel.from_pretrained(path, revision=revision, torch_dtype=getattr(torch, dtype)).to(device)
        self.model.eval()
        self.request_cache = cache
        self._cache = {}
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def _compute(self, texts: list[str]) -> np.ndarray:
        import torch

        out = []
        for start in range(0, len(texts), self.batch_size):
            batch = self.tokenizer(texts[start:start + self.batch_size], padding=True, truncation=True,
                                   max_length=self.max_tokens, return_tensors="pt").to(self.device)
            with torch.no_grad():
                hidden = self.model(**batch).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).float()
            if self.pooling == "mean":
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            else:  # right padding: the last real token
                pooled = hidden[torch.arange(len(hidden)), batch["attention_mask"].sum(1) - 1]
            out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
        return np.vstack(out)
