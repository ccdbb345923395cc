"""The method interface and its registry.

Methods are found through the `prbench.methods` entry-point group (name = method kind, value =
`module:MethodClass`): prbench's own, in `baselines/`, are declared in its pyproject.toml, and any installed
package can declare more. The core never imports `baselines`; a method's module is imported when a run
asks for its kind.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

from benchmark.config import Section, parse_section
from benchmark.errors import ConfigError
from benchmark.models import Models
from benchmark.records import JudgeItem, Judgment, PreferencePair, UserProfile

State = dict[str, Any]  # JSON-serialisable, persisted in the run folder so a resumed run does not refit


@dataclass(frozen=True)
class UserData:
    """Everything a method may learn a user from: never their test pairs."""

    user_id: str
    train: tuple[PreferencePair, ...]
    val: tuple[PreferencePair, ...]
    profile: UserProfile

    @property
    def known(self) -> tuple[PreferencePair, ...]:
        """Every pair the method may learn from: train, then val."""
        return self.train + self.val


class NoParams(Section):
    pass


class Method(ABC):
    """Fit per user on train/val, then judge test items in both orders.

    `setup` sees every user's train and val data (for global models such as a Bradley-Terry RM).
    Both `setup` and `fit` return JSON-able state that the runner persists and hands back. Files a method
    saves (e.g. a trained adapter) go under `workdir`, which the runner sets to a folder of the run.
    """

    Params: ClassVar[type[Section]] = NoParams
    reads_oracle: ClassVar[bool] = False  # only oracle variants may read UserProfile.persona_truth
    item_meta: ClassVar[tuple[str, ...]] = ()  # label-free pair meta keys copied into JudgeItem.extras

    def __init__(self, params: Section, models: Models):
        self.params, self.models = params, models
        self.shared: State = {}
        self.workdir = Path(tempfile.gettempdir()) / "prbench-method"

    @property
    def model_label(self) -> str:
        """The model whose numbers these are, for tables (`mock` for the mock backend's stand-in)."""
        return "mock" if self.models.backend.kind == "mock" else self.models.model.name

    def setup(self, users: Sequence[UserData]) -> State:
        return {}

    def restore(self, shared: State) -> None:
        self.shared = shared

    def fit(self, user: UserData) -> State:
        return {}

    @abstractmethod
    def judge(self, items: Sequence[JudgeItem], state: State) -> list[Judgment]:
        """One Judgment per item, in the same order."""


METHODS: dict[str, type[Method]] = {}  # kinds loaded so far in this process
ENTRY_POINT_GROUP = "prbench.methods"


def register_method(kind: str) -> Callable[[type[Method]], type[Method]]:
    def register(cls: type[Method]) -> type[Method]:
        METHODS[kind] = cls
        return cls
    return register


def method_class(kind: str) -> type[Method]:
    """The method registered as `kind`, loading its entry point on first use."""
    if kind not in METHODS:
        for point in entry_points(group=ENTRY_POINT_GROUP, name=kind):
            try:
                cls = point.load()
            except Exception as error:  # a broken plug-in: name it instead of a traceback
                raise ConfigError(f"config method.kind: entry point {kind!r} = {point.value!r} failed to load: "
                                  f"{type(error).__name__}: {error}") from error
            if not (isinstance(cls, type) and issubclass(cls, Method)):
                raise ConfigError(f"config method.kind: entry point {kind!r} = {point.value!r} is not a "
                                  f"benchmark.methods.Method subclass")
            METHODS[kind] = cls
            break
    if kind not in METHODS:
        declared = {point.name for point in entry_points(group=ENTRY_POINT_GROUP)}
        hint = "" if declared else "; none is installed: reinstall prbench (`pip install -e .`) to register its own"
        known = ", ".join(sorted({*METHODS, *declared}))
        raise ConfigError(f"config method.kind: unknown method {kind!r} (known: {known}; a method from another "
                          f"package needs an installed `{ENTRY_POINT_GROUP}` entry point{hint})")
    return METHODS[kind]


class MethodConfig(Section):
    kind: str
    name: str
    params: dict[str, Any] = {}


def build_method(cfg: Any, models: Models) -> tuple[MethodConfig, Method]:
    if (cfg or {}).get("kind") is None:
        raise ConfigError(f"config method.kind: missing (method=external needs method.kind=<the name of an "
                          f"installed `{ENTRY_POINT_GROUP}` entry point>)")
    method_cfg = parse_section(MethodConfig, cfg, "method")
    cls = method_class(method_cfg.kind)
    return method_cfg, cls(parse_section(cls.Params, method_cfg.params, "method.params"), models)


def visible_profile(method: Method, profile: UserProfile) -> UserProfile:
    """The profile as `method` may see it: the ground-truth persona only for oracle variants."""
    return profile if method.reads_oracle else replace(profile, persona_truth=None)
