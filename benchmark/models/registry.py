"""Backends, found through the `prbench.backends` entry-point group (benchmark/plugins.py: name = backend
kind, value = `module:BackendClass`). Each backend's module declares its config section and a `Backend`
subclass; only the chosen backend's module is ever imported."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from benchmark import plugins
from benchmark.config import Section, parse_section
from benchmark.errors import ConfigError

if TYPE_CHECKING:
    from benchmark.models import ModelConfig
    from benchmark.models.base import ChatModel
    from benchmark.models.reward_models import RewardModel

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


def register_backend(kind: str) -> Callable[[type[Backend]], type[Backend]]:
    """Class decorator for a backend defined in this process (a notebook, a test); a package declares a
    `prbench.backends` entry point instead."""
    return lambda cls: plugins.register("backend", kind, cls)


def backend_class(kind: Any) -> type[Backend]:
    return plugins.load("backend", kind, "backend.kind", lambda cls: isinstance(cls, type) and issubclass(cls, Backend),
                        "a benchmark.models.registry.Backend subclass")


def parse_backend(node: Any) -> Section:
    """The `backend` config section, validated by the config class of its `kind` (one already validated as it
    is)."""
    if isinstance(node, Section):
        return node
    kind = (node or {}).get("kind")
    if kind is None:
        raise ConfigError("config backend.kind: missing (one of " + ", ".join(sorted(plugins.names("backend"))) + ")")
    return parse_section(backend_class(kind).Config, node, "backend")
