"""Model backends behind one interface, built from the `backend` and `model` config groups."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from benchmark.config import Section, parse_section
from benchmark.models.base import ChatModel, ChoiceResult, Generation, GenerationParams
from benchmark.models.embeddings import Embedder


class BackendConfig(Section):
    kind: Literal["transformers", "mock"] = "transformers"
    dtype: Literal["bfloat16", "float32", "float16"] = "bfloat16"
    batch_size: int = 8
    max_prompt_tokens: int = 2048
    device: str = "cpu"
    threads: int | None = None
    latency_s: float = 0.0  # mock only: simulated seconds per call


class ModelConfig(Section):
    name: str  # a packaged short name (smollm2), a local folder, or a hub id
    embedder: str = "minilm"


@cache
def _chat(backend: BackendConfig, model: ModelConfig) -> ChatModel:
    if backend.kind == "mock":
        from benchmark.models.mock import MockChat

        return MockChat(model.name, latency_s=backend.latency_s)
    from benchmark.models.transformers_backend import TransformersChat

    return TransformersChat(model.name, backend.dtype, backend.batch_size, backend.max_prompt_tokens,
                            backend.device, backend.threads)


@cache
def _embedder(name: str) -> Embedder:
    return Embedder(name)


class Models:
    """What a method may call. Models load on first use and stay loaded for later runs in the process."""

    def __init__(self, backend: Any, model: Any):
        self.backend = parse_section(BackendConfig, backend, "backend")
        self.model = parse_section(ModelConfig, model, "model")

    def chat(self) -> ChatModel:
        return _chat(self.backend, self.model)

    def embedder(self) -> Embedder:
        return _embedder(self.model.embedder)


__all__ = ["ChatModel", "ChoiceResult", "Embedder", "Generation", "GenerationParams", "Models"]
