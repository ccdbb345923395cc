"""Typed views of the Hydra config: each section is validated once, with errors that name the key."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, TypeVar

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from benchmark.errors import ConfigError

T = TypeVar("T", bound=BaseModel)
# "token" but not token counts (max_prompt_tokens: scrubbed, a change of it would go unseen) nor "tokenizer"
SECRET_KEY = re.compile(r"(api[_-]?key|token(?!s|izer)|secret|password|authorization)", re.IGNORECASE)
SECRET_VALUE = re.compile(r"^(sk-|sk_|hf_|ghp_|gho_|github_pat_|xox[abp]-|AKIA|eyJ)[A-Za-z0-9_\-.]{6,}")  # key-shaped


def holds_secret(value: Any) -> bool:
    """Whether a value is, or holds in a list or dict, a key-shaped string or a secret-looking key's value."""
    if isinstance(value, dict):
        return any(SECRET_KEY.search(str(k)) or holds_secret(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(holds_secret(v) for v in value)
    return isinstance(value, str) and bool(SECRET_VALUE.match(value))


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # true: every key of the section is operational (see `operational`)
    all_operational: ClassVar[bool] = False


def operational(default: Any, **constraints: Any) -> Any:
    """A field that cannot change what a model is asked, how its answer is read, or what a fit computes
    (where the run is written, how fast and how robustly the same requests are sent, what is logged): a
    resume, and the shards of one run, may differ in it. Every other key binds a run folder
    (runner/folder.py); `root_config.operational_keys` reads these marks, so no list of keys is kept by hand."""
    return Field(default, json_schema_extra={"operational": True}, **constraints)


def operational_fields(sections: dict[str, type[BaseModel]]) -> list[str]:
    """The dotted keys marked operational in `sections` (name -> model; "" for the top-level keys): a whole
    section (`all_operational`), or one field (`operational`)."""
    keys = []
    for name, model in sections.items():
        if getattr(model, "all_operational", False):
            keys.append(name)
            continue
        keys += [f"{name}.{field}" if name else field for field, info in model.model_fields.items()
                 if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("operational")]
    return keys


def config_changes(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, old value, new value) for each leaf that differs between two nested configs, sorted by key."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [change for k in sorted(set(old) | set(new), key=str)
                for change in config_changes(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else str(k))]
    return [] if old == new else [(prefix, old, new)]


def parse_section(model: Any, node: Any, key: str) -> Any:
    """Validate one config section (a model, or a union of them); a wrong type or unknown key raises
    ConfigError naming `key.field`."""
    data = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node or {})
    try:
        return TypeAdapter(model).validate_python(data)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            loc = problem["loc"]
            if loc and loc[0] == data.get("kind"):  # a union picked by `kind` names the member first
                loc = loc[1:]
            dotted = ".".join(part for part in [key, *(str(p) for p in loc)] if part)
            shown = "input" in problem and not isinstance(problem["input"], dict) and not SECRET_KEY.search(dotted) \
                and not holds_secret(problem["input"])
            got = f" (got {problem['input']!r})" if shown else ""
            lines.append(f"config {dotted}: {problem['msg']}{got}")
        raise ConfigError("\n".join(lines)) from None


class DataConfig(Section):
    name: str
    loader: str
    path: str | None = None
    hub_id: str | None = None
    revision: str | None = None
    options: dict[str, Any] = {}   # loader-specific (raw builders), validated by the loader
    curation: dict[str, Any] = {}  # raw builders: see benchmark/builders/curate.py


class SplitConfig(Section):
    """`column` uses the dataset's own split column, `resplit` draws a seeded per-user split, `auto`
    uses the column when every pair has one and re-splits otherwise."""

    strategy: Literal["auto", "column", "resplit"] = "auto"
    min_pairs: int = Field(5, ge=1)
    val: float = Field(0.2, ge=0)
    test: float = Field(0.2, gt=0)
    seed: int = 0
    max_users: int | None = Field(None, ge=1)
    drop_users_without_test: bool = False

    @model_validator(mode="after")
    def _fractions(self) -> SplitConfig:
        if self.val < 1 and self.test < 1 and self.val + self.test >= 1:
            raise ValueError("val + test fractions must leave room for train (sum < 1)")
        return self


class LoggerConfig(Section):
    all_operational: ClassVar[bool] = True  # what is logged
    kind: Literal["none", "wandb"] = "none"
    project: str = "prbench"
    entity: str | None = None
    mode: Literal["auto", "online", "offline", "disabled"] = "auto"
    tags: list[str] = []


class ShardConfig(Section):
    """`count` jobs share one run; this job judges the users whose id hashes to `index` (runner/shards.py)."""

    all_operational: ClassVar[bool] = True  # a shard judges its users as the whole run would
    count: int = Field(1, ge=1)
    index: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _index_in_range(self) -> ShardConfig:
        if self.index >= self.count:
            raise ValueError(f"shard.index must be below shard.count ({self.index} >= {self.count})")
        return self


class RunConfig(Section):
    """Top-level keys of a run (the rest are the config groups)."""

    run_name: str = operational(...)  # where the run goes
    results_dir: str = operational("results")
    resume: bool = operational(False)
    seed: int = 0
    batch_size: int = Field(8, ge=1)
    users_in_flight: int | None = operational(None, ge=1)  # None: as many as the backend can use
    bootstrap: int = operational(1000, ge=100)  # CIs are recomputed
    # failed requests (server or connection, not the model's answers) allowed per item to judge; one more
    # stops the run without tables (exit 1), and so does a run in which every request failed
    max_failure_rate: float = operational(0.05, ge=0, le=1)
