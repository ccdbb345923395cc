"""The method interface and its registry.

Methods are found through the `prbench.methods` entry-point group (benchmark/plugins.py: name = method
kind, value = `module:MethodClass`): prbench's own, in `baselines/`, are declared in its pyproject.toml, and
any installed package can declare more. The core never imports `baselines`; a method's module is imported
when a run asks for its kind.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from benchmark import plugins
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

    @classmethod
    def fitted_about_user(cls, state: State, user: UserData) -> str | None:
        """The text a fit of this method learned about `user`, from its saved fit state, for another method to
        show a model (`context.source=synthesizeme`: a reward model reading SynthesizeMe's persona prompt).
        Refuses a state fit on other pairs than `user`'s; a method that learns no such text refuses always."""
        raise ConfigError(f"method {cls.__name__} learns no text about a user that another method could read")


ENTRY_POINT_GROUP = plugins.GROUPS["method"]


def register_method(kind: str) -> Callable[[type[Method]], type[Method]]:
    """Class decorator for a method defined in this process (a notebook, a test); a package declares a
    `prbench.methods` entry point instead."""
    return lambda cls: plugins.register("method", kind, cls)


def method_class(kind: str) -> type[Method]:
    """The method installed (or registered) as `kind`."""
    return plugins.load("method", kind, "method.kind", lambda cls: isinstance(cls, type) and issubclass(cls, Method),
                        "a benchmark.methods.Method subclass")


class MethodConfig(Section):
    kind: str
    name: str
    params: dict[str, Any] = {}


def parse_method(cfg: Any) -> tuple[MethodConfig, Section]:
    """The `method` section, and its params validated by the Params of its kind."""
    if (cfg or {}).get("kind") is None:
        raise ConfigError(f"config method.kind: missing (method=external needs method.kind=<the name of an "
                          f"installed `{ENTRY_POINT_GROUP}` entry point>)")
    method_cfg = parse_section(MethodConfig, cfg, "method")
    return method_cfg, parse_section(method_class(method_cfg.kind).Params, method_cfg.params, "method.params")


def build_method(cfg: Any, models: Models) -> tuple[MethodConfig, Method]:
    method_cfg, params = parse_method(cfg)
    return method_cfg, method_class(method_cfg.kind)(params, models)


def visible_profile(method: Method, profile: UserProfile) -> UserProfile:
    """The profile as `method` may see it: the ground-truth persona only for oracle variants."""
    return profile if method.reads_oracle else replace(profile, persona_truth=None)
