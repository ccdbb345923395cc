"""Local models through `transformers` (the CPU default; also runs on a GPU)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from benchmark.config import Section, operational
from benchmark.models.base import Chat, ChatModel, ChoiceResult, Generation, GenerationParams
from benchmark.models.packaged import resolve_model
from benchmark.models.registry import Backend
from benchmark.models.reward_models import TransformersReward
from benchmark.models.tokens import encode_chat, single_token_ids, too_long
from benchmark.records import Cost


class TransformersChat(ChatModel):
    coalesces = True  # the model layer merges concurrent callers' requests into one call (see Coalescer)

    def __init__(self, model: str, dtype: str = "float32", batch_size: int = 8,
                 max_prompt_tokens: int = 2048, device: str = "cpu", threads: int | None = None,
                 revision: str | None = None, max_batch_tokens: int | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.name = model
        path = resolve_model(model)
        self.tokenizer = AutoTokenizer.from_pretrained(path, revision=revision)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype),
                                                          revision=revision).to(device).eval()
        self.batch_size, self.max_prompt_tokens, self.device = batch_size, max_prompt_tokens, device
        self.max_batch_tokens = max_batch_tokens or batch_size * max_prompt_tokens
        self._torch = torch

    def _encode(self, chat: Chat) -> list[int]:
        return encode_chat(self.tokenizer, chat)

    def _batches(self, encoded: list[list[int]]):
        """Indices of prompts that fit, grouped into length-sorted batches (less padding) of at most
        `batch_size` rows and `max_batch_tokens` padded tokens."""
        fitting = [i for i, ids in enumerate(encoded) if len(ids) <= self.max_prompt_tokens]
        fitting.sort(key=lambda i: len(encoded[i]))
        batch: list[int] = []
        for i in fitting:  # sorted: the newest row is the widest
            if batch and (len(batch) == self.batch_size or (len(batch) + 1) * len(encoded[i]) > self.max_batch_tokens):
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def _pad(self, rows: list[list[int]]):
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = [[pad] * (width - len(r)) + r for r in rows]
        mask = [[0] * (width - len(r)) + [1] * len(r) for r in rows]
        t = self._torch
        return t.tensor(ids, device=self.device), t.tensor(mask, device=self.device)

    def _next_token_logprobs(self, rows: list[list[int]]):
        """Log-probabilities of the next token after each prompt in one batch (batch x vocabulary)."""
        ids, mask = self._pad(rows)
        with self._torch.inference_mode():
            logits = self.model(input_ids=ids, attention_mask=mask, logits_to_keep=1).logits[:, -1]
        return logits.float().log_softmax(-1)

    def choice_logprobs(self, chats: Sequence[Chat], choices: Sequence[str]) -> list[ChoiceResult]:
        choice_ids = single_token_ids(self.tokenizer, choices)
        encoded = [self._encode(c) for c in chats]
        results = [ChoiceResult(error=too_long(len(e), self.max_prompt_tokens)) for e in encoded]
        for batch in self._batches(encoded):
            start = time.perf_counter()
            logprobs = self._next_token_logprobs([encoded[i] for i in batch])[:, choice_ids].tolist()
            share = (time.perf_counter() - start) / len(batch)
            for row, i in enumerate(batch):
                results[i] = ChoiceResult(dict(zip(choices, logprobs[row])),
                                          Cost(1, len(encoded[i]), 0, share))
        return results

    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Generation]:
        encoded = [self._encode(c) for c in chats]
        results = [Generation(error=too_long(len(e), self.max_prompt_tokens)) for e in encoded]
        sample = params.temperature > 0
        for batch in self._batches(encoded):
            start = time.perf_counter()
            ids, mask = self._pad([encoded[i] for i in batch])
            if sample:
                self._torch.manual_seed(params.seed)
            with self._torch.inference_mode():
                out = self.model.generate(
                    input_ids=ids, attention_mask=mask, max_new_tokens=params.max_new_tokens,
                    do_sample=sample, temperature=params.temperature if sample else None,
                    top_p=None, top_k=None, stop_strings=list(params.stop) or None,
                    tokenizer=self.tokenizer, pad_token_id=self.tokenizer.pad_token_id)
            share = (time.perf_counter() - start) / len(batch)
            for row, i in enumerate(batch):
                new = out[row, ids.shape[1]:]
                new = new[new != self.tokenizer.pad_token_id]
                text = self.tokenizer.decode(new, skip_special_tokens=True)
                for stop in params.stop:
                    text = text.split(stop)[0]
                results[i] = Generation(text, Cost(1, len(encoded[i]), len(new), share))
        return results

    def top_logprobs(self, chats: Sequence[Chat], k: int) -> list[list[tuple[str, float]]]:
        """The k most likely next tokens after each chat's assistant prompt (for the OpenAI-style server)."""
        encoded = [self._encode(c) for c in chats]
        out: list[list[tuple[str, float]]] = [[] for _ in chats]
        for batch in self._batches(encoded):
            values, indices = self._next_token_logprobs([encoded[i] for i in batch]).topk(k)
            for row, i in enumerate(batch):
                out[i] = [(self.tokenizer.decode([t]), float(v)) for t, v in zip(indices[row].tolist(),
                                                                                 values[row].tolist())]
        return out


class TransformersConfig(Section):
    kind: Literal["transformers"]
    dtype: Literal["bfloat16", "float32", "float16"] = "float32"
    # batching and CPU threads are operational: a batch's padding can move a probability by float rounding,
    # never a request
    batch_size: int = operational(8, ge=1)
    max_batch_tokens: int | None = operational(None, ge=16)  # padded tokens per forward; None: batch x max_prompt
    max_prompt_tokens: int = Field(2048, ge=16)
    device: str = "cpu"
    threads: int | None = operational(None)


class TransformersBackend(Backend):
    Config = TransformersConfig

    def chat(self, model) -> TransformersChat:
        cfg = self.cfg
        return TransformersChat(model.name, cfg.dtype, cfg.batch_size, cfg.max_prompt_tokens, cfg.device,
                                cfg.threads, model.revision, cfg.max_batch_tokens)

    def reward(self, model) -> TransformersReward:
        cfg = self.cfg
        return TransformersReward.load(model.name, cfg.dtype, cfg.batch_size, cfg.max_prompt_tokens, cfg.device,
                                       model.revision)

    def identity(self) -> dict:
        return {"dtype": self.cfg.dtype}
