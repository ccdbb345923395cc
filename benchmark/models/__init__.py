"""Model backends behind one interface, built from the `backend`, `model` and `cache` config sections.

A backend is one module that declares its config and registers a `Backend` (see `registry.py`); this
module only wraps whatever the registry builds.

Every chat model a method gets is wrapped in `ModelLayer` (cache + usage meter), every reward model in
`RewardLayer`; network backends also share the retry policy and bounded concurrency.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal

from benchmark.config import Section, parse_section
from benchmark.models.base import ChatModel, ChoiceResult, Generation, GenerationParams
from benchmark.models.embeddings import HIDDEN_POOLING, Embedder, HiddenStateEmbedder
from benchmark.models.layer import ModelLayer, RequestCache, RewardLayer
from benchmark.models.packaged import cache_dir
from benchmark.models.registry import Backend, backend_class, parse_backend, register_backend
from benchmark.models.reward_models import RewardModel, Score
from benchmark.records import sum_usage


class ModelConfig(Section):
    name: str  # a packaged short name (smollm2), a local folder, or a hub id
    revision: str | None = None
    embedder: str = "minilm"


class CacheConfig(Section):
    all_operational: ClassVar[bool] = True  # a cached answer is the answer the same request got
    mode: Literal["off", "read", "write"] = "write"
    path: str | None = None  # default: <prbench cache>/requests.sqlite


def identity(backend: Any, model: ModelConfig) -> dict[str, Any]:
    """What makes two models' answers differ: part of every cache key."""
    ident = {"backend": backend.kind, "model": model.name, "revision": model.revision}
    if Path(model.name).is_dir():  # a local folder: retrained weights at the same path are another model
        ident["files"] = folder_digest(Path(model.name))
    return {**ident, **backend_class(backend.kind)(backend).identity()}


def folder_digest(folder: Path) -> str:
    """Names, sizes and modification times of a model folder's files: changes when its weights do."""
    stats = sorted((str(f.relative_to(folder)), f.stat().st_size, f.stat().st_mtime_ns)
                   for f in folder.rglob("*") if f.is_file())
    return RequestCache.key({"files": stats})


_LAYERS: dict[tuple, Any] = {}  # loaded models stay loaded for later runs in the process
_LOADING = threading.RLock()  # users in flight ask for a model at once: load it once


def _layer(kind: str, backend: Any, model: ModelConfig, cache_cfg: CacheConfig) -> Any:
    key = (kind, backend, model, cache_cfg)
    with _LOADING:
        if key not in _LAYERS:
            path = Path(cache_cfg.path) if cache_cfg.path else cache_dir() / "requests.sqlite"
            cache = RequestCache(path, cache_cfg.mode)
            built = backend_class(backend.kind)(backend)
            ident = identity(backend, model)
            _LAYERS[key] = ModelLayer(built.chat(model), ident, cache) if kind == "chat" else \
                RewardLayer(built.reward(model), ident, cache)
        return _LAYERS[key]


def _embedder(name: str, cache_cfg: CacheConfig) -> Embedder:
    with _LOADING:
        return _load_embedder(name, cache_cfg)


def _hidden_embedder(model: ModelConfig, device: str, cache_cfg: CacheConfig,
                     max_chat_tokens: int = 2048) -> HiddenStateEmbedder:
    with _LOADING:
        return _load_hidden_embedder(model, device, cache_cfg, max_chat_tokens)


def unload_models(backend_kind: str | None = None) -> None:
    """Forget the loaded models (of one backend kind): the next use builds new ones (tests isolate with it)."""
    for key in [k for k in _LAYERS if backend_kind in (None, k[1].kind)]:
        del _LAYERS[key]


def _embedding_store(cache_cfg: CacheConfig) -> RequestCache | None:
    path = Path(cache_cfg.path) if cache_cfg.path else cache_dir() / "requests.sqlite"
    return RequestCache(path, cache_cfg.mode) if cache_cfg.mode != "off" else None


@cache
def _load_embedder(name: str, cache_cfg: CacheConfig) -> Embedder:
    return Embedder(name, cache=_embedding_store(cache_cfg))


@cache
def _load_hidden_embedder(model: ModelConfig, device: str, cache_cfg: CacheConfig,
                          max_chat_tokens: int = 2048) -> HiddenStateEmbedder:
    """The chat model's own hidden states (e.g. model=llama31_8b model.embedder=hidden_last on a GPU)."""
    return HiddenStateEmbedder(model.name, HIDDEN_POOLING[model.embedder], device=device, revision=model.revision,
                               cache=_embedding_store(cache_cfg), max_chat_tokens=max_chat_tokens)


class Models:
    """What a method may call. Models load on first use and stay loaded for later runs in the process."""

    def __init__(self, backend: Any, model: Any, cache_cfg: Any = None):
        self.backend = parse_backend(backend)
        self.model = parse_section(ModelConfig, model, "model")
        self.cache = parse_section(CacheConfig, cache_cfg or {}, "cache")

    def with_model(self, name: str) -> Models:
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
        chat model's last hidden layer, mean- or last-token-pooled (whole conversations up to the backend's
        `max_prompt_tokens`). Vectors are cached like answers."""
        if self.model.embedder in HIDDEN_POOLING:
            return _hidden_embedder(self.model, getattr(self.backend, "device", "cpu"), self.cache,
                                    getattr(self.backend, "max_prompt_tokens", 2048))
        return _embedder(self.model.embedder, self.cache)

    def usage(self) -> dict[str, float]:
        """Calls, tokens, seconds, failures, retries and cache hits so far (chat and reward models together);
        {} if no model was used."""
        layers = [_LAYERS[k] for k in (("chat", self.backend, self.model, self.cache),
                                       ("reward", self.backend, self.model, self.cache)) if k in _LAYERS]
        return sum_usage(*({**layer.usage.snapshot(), "retries": getattr(layer.inner, "retries", 0),
                            "cache_hits": layer.cache.hits, "cache_misses": layer.cache.misses} for layer in layers))


__all__ = ["Backend", "ChatModel", "ChoiceResult", "Embedder", "Generation", "GenerationParams", "Models",
           "RewardModel", "Score", "register_backend", "unload_models"]
