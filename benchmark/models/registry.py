"""The backend registry. Each backend's own module declares its config section and a `Backend` subclass
registered with `@register_backend(kind)`; `BACKEND_MODULES` says which module to import for a kind, so
only the chosen backend's module is ever imported."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from benchmark.config import Section, parse_section
from benchmark.errors import ConfigError

if TYPE_CHECKING:
    from benchmark.models import ModelConfig
    from benchmark.models.base import ChatModel
    from benchmark.models.reward_models import RewardModel

BACKEND_MODULES: dict[str, str] = {  # kind -> the module that registers it (imported on first use)
    "transformers": "benchmark.models.transformers_backend",
    "vllm": "benchmark.models.vllm_backend",
    "openai": "benchmark.models.openai_backend",
    "mock": "benchmark.models.mock",
}


class Backend(ABC):
    """Builds the raw models of one backend from its config section; the model layer wraps them."""

    Config: ClassVar[type[Section]]  # its `kind` field is the registered name

    def __init__(self, cfg: Section):
        self.cfg = cfg

    @abstractmethod
    def chat(self, model: ModelConfig) -> ChatModel:
        """The chat model `model` names."""

    def reward(self, model: ModelConfig) -> RewardModel:
        """`model` as a sequence-classification reward model."""
        raise ConfigError(f"config backend.kind: reward models run locally (transformers or vllm), "
                          f"not {self.cfg.kind!r}")

    def identity(self) -> dict[str, Any]:
        """Backend settings that change the answers (beyond kind and model): part of every cache key."""
        return {}


BACKENDS: dict[str, type[Backend]] = {}


def register_backend(kind: str) -> Callable[[type[Backend]], type[Backend]]:
    def register(cls: type[Backend]) -> type[Backend]:
        BACKENDS[kind] = cls
        return cls
    return register


def backend_class(kind: Any) -> type[Backend]:
    if kind not in BACKENDS and kind in BACKEND_MODULES:
        importlib.import_module(BACKEND_MODULES[kind])
    if kind not in BACKENDS:
        raise ConfigError(f"config backend.kind: unknown backend {kind!r} "
                          f"(known: {', '.join(sorted(set(BACKEND_MODULES) | set(BACKENDS)))})")
    return BACKENDS[kind]


def parse_backend(node: Any) -> Section:
    """The `backend` config section, validated by the config class of its `kind`."""
    kind = (node or {}).get("kind")
    if kind is None:
        raise ConfigError("config backend.kind: missing (one of " + ", ".join(sorted(BACKEND_MODULES)) + ")")
    return parse_section(backend_class(kind).Config, node, "backend")
