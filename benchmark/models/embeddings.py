"""Text embeddings: all-MiniLM-L6-v2 by default, or a chat model's pooled hidden states.

Each distinct text is encoded once per process, and with a request cache once ever: vectors are stored
like other model answers, keyed by the embedder (name, pooling) and the text. A chat model's embedder also
encodes whole conversations (`encode_conversations`): the conversation and the response, formatted by the
model's own chat template, as ONE sequence, the representation the learned personalized RMs' papers use
(the LLM's final hidden state of the formatted prompt + response).
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
        self._memos: dict[str, dict[str, np.ndarray]] = {}  # other kinds of input (chat-formatted conversations)
        self._lock = threading.Lock()  # users in flight share one encoder

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    def _compute(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 show_progress_bar=False, convert_to_numpy=True)

    def _key(self, text: str, field: str = "text") -> str:
        return self.request_cache.key({"kind": "embedding", "embedder": self.name, field: text})

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised embeddings, one row per text; each distinct text is encoded once."""
        return self._encode(texts, "text", self._compute)

    def _encode(self, texts: Sequence[str], field: str, compute) -> np.ndarray:
        """Rows for `texts` through the process cache, then the request cache (keys name `field`: plain
        texts and chat-formatted conversations never share a vector), then `compute` for the rest."""
        memo = self._cache if field == "text" else self._memo(field)
        with self._lock:
            todo = sorted({t for t in texts if t not in memo})
            if todo and self.request_cache is not None:
                for text in todo:
                    hit = self.request_cache.get(self._key(text, field))
                    if hit is not None:
                        memo[text] = np.asarray(hit["vector"], np.float32)
                todo = [t for t in todo if t not in memo]
            if todo:
                vectors = compute(todo).astype(np.float32)
                memo.update(zip(todo, vectors))
                if self.request_cache is not None:
                    self.request_cache.put({self._key(t, field): {"vector": v.tolist()} for t, v in zip(todo, vectors)})
        return np.stack([memo[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def _memo(self, field: str) -> dict[str, np.ndarray]:
        return self._memos.setdefault(field, {})

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
    (what VPL / PAL / GPO used: the reward LLM's own representations), unit-normalised.

    `encode(texts)`: plain texts, cut at `max_tokens` from the right. `encode_conversations(chats)`: each
    conversation (ending with the assistant response) through the model's chat template as one sequence, as
    the reward models read it (benchmark/models/tokens.py `encode_conversation`); one longer than
    `max_chat_tokens` (the backend's `max_prompt_tokens`) keeps its last `max_chat_tokens` tokens, so the
    response and the turns nearest it stay. Batches are length-sorted (the least padding); pooling ignores
    padding, so a text's vector does not depend on the batch it was computed in (to float rounding)."""

    def __init__(self, model: str, pooling: str, batch_size: int = 8, device: str = "cpu", dtype: str = "float32",
                 max_tokens: int = 512, revision: str | None = None, cache: Any = None, max_chat_tokens: int = 2048):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.name = f"{model}@{revision or 'main'}:{pooling}"
        self.pooling, self.batch_size, self.max_tokens, self.device = pooling, batch_size, max_tokens, device
        self.max_chat_tokens = max_chat_tokens
        path = resolve_model(model)
        self.tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
        self.tokenizer.padding_side = "right"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModel.from_pretrained(path, revision=revision, torch_dtype=getattr(torch, dtype)).to(device)
        self.model.eval()
        self.request_cache = cache
        self._cache, self._memos = {}, {}
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def chat_text(self, chat: Sequence[Any]) -> str:
        """The conversation (messages with .role / .content, ending with the assistant turn) as the model's
        chat template writes it: the exact text whose tokens `encode_conversations` reads."""
        from benchmark.models.tokens import chat_dicts

        return self.tokenizer.apply_chat_template(chat_dicts(chat), tokenize=False)

    def encode_conversations(self, chats: Sequence[Sequence[Any]]) -> np.ndarray:
        """One row per conversation + response, read as one chat-formatted sequence (cached by its text)."""
        return self._encode([self.chat_text(c) for c in chats], f"chat{self.max_chat_tokens}", self._compute_chats)

    def _compute(self, texts: list[str]) -> np.ndarray:
        ids = [self.tokenizer(t, truncation=True, max_length=self.max_tokens)["input_ids"] for t in texts]
        return self._forward(ids)

    def _compute_chats(self, texts: list[str]) -> np.ndarray:
        # the template text already holds its special tokens; keep the last tokens (the response's end)
        ids = [self.tokenizer(t, add_special_tokens=False)["input_ids"][-self.max_chat_tokens:] for t in texts]
        return self._forward(ids)

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        """Pooled, unit-normalised last hidden states of token id lists, in length-sorted batches."""
        import torch

        out = np.zeros((len(ids), self.dim), np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            batch = self.tokenizer.pad({"input_ids": [ids[i] for i in rows]}, padding=True,
                                       return_tensors="pt").to(self.device)
            with torch.no_grad():
                hidden = self.model(**batch).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).float()
            if self.pooling == "mean":
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            else:  # right padding: the last real token
                pooled = hidden[torch.arange(len(hidden)), batch["attention_mask"].sum(1) - 1]
            out[rows] = torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()
        return out
