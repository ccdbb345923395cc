"""The run's config, typed: Hydra's config validated once into its sections (`RootConfig.from_hydra`), then
passed to the runner as one object.

Which keys a resume may change (`operational_keys`) is read from the sections' own fields
(`benchmark.config.operational`): adding a field to a section classifies it, and no list is kept by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel

from benchmark.config import (
    DataConfig,
    LoggerConfig,
    RunConfig,
    Section,
    ShardConfig,
    SplitConfig,
    operational_fields,
    parse_section,
)
from benchmark.methods import Method, MethodConfig, method_class, parse_method
from benchmark.models import CacheConfig, ModelConfig, Models
from benchmark.models.registry import backend_class, parse_backend

# the config groups and the typed section of each ("" for the top-level keys); the backend's section is the
# config class of its kind, the method's params the Params of its kind
SECTIONS: dict[str, type[BaseModel]] = {"": RunConfig, "data": DataConfig, "split": SplitConfig,
                                        "logger": LoggerConfig, "shard": ShardConfig, "cache": CacheConfig,
                                        "model": ModelConfig}
GROUPS = (*(name for name in SECTIONS if name), "backend", "method")


def operational_keys(backend_kind: str | None) -> tuple[str, ...]:
    """The dotted keys that may differ between a run and its resumption, for a run on `backend_kind`."""
    backend = {"backend": backend_class(backend_kind).Config} if backend_kind else {}
    return tuple(operational_fields({**SECTIONS, **backend}))


def is_operational(key: str, keys: tuple[str, ...]) -> bool:
    """Whether the dotted config key `key` is (or lies under) one of `keys`."""
    return any(key == k or key.startswith(f"{k}.") for k in keys)


@dataclass(frozen=True)
class RootConfig:
    run: RunConfig  # the top-level keys
    data: DataConfig
    split: SplitConfig
    logger: LoggerConfig
    shard: ShardConfig
    cache: CacheConfig
    model: ModelConfig
    backend: Section  # the config class of backend.kind
    method: MethodConfig
    method_params: Section  # the Params of method.kind
    resolved: dict[str, Any]  # the same config as plain data, interpolations resolved, Hydra's own keys left out

    @classmethod
    def from_hydra(cls, cfg: DictConfig | dict[str, Any]) -> RootConfig:
        """Validate every section; a wrong type or an unknown key raises ConfigError naming it."""
        resolved = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
        resolved = {k: v for k, v in resolved.items() if k != "hydra"}
        top = {k: v for k, v in resolved.items() if k not in GROUPS and k != "experiment"}
        sections = {name: parse_section(model, resolved.get(name) if name else top, name)
                    for name, model in SECTIONS.items()}
        backend = parse_backend(resolved.get("backend"))
        method, params = parse_method(resolved.get("method"))
        return cls(sections[""], sections["data"], sections["split"], sections["logger"], sections["shard"],
                   sections["cache"], sections["model"], backend, method, params, resolved)

    def build(self) -> tuple[Models, Method]:
        """The run's models and its method."""
        models = Models(self.backend, self.model, self.cache)
        return models, method_class(self.method.kind)(self.method_params, models)
