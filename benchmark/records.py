"""The canonical records every loader produces and every method consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]
Split = Literal["train", "val", "test"]
Order = Literal["AB", "BA"]
Preferred = Literal["first", "second", "tie", "fail"]

ROLES: tuple[str, ...] = ("system", "user", "assistant")
SPLITS: tuple[str, ...] = ("train", "val", "test")
ORDERS: tuple[str, ...] = ("AB", "BA")


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class PreferencePair:
    """One user's choice between two responses to the same conversation."""

    pair_id: str
    user_id: str
    context: tuple[Message, ...]  # ends with the user turn both responses answer
    chosen: str
    rejected: str
    split: Split | None = None
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def with_split(self, split: Split) -> PreferencePair:
        return PreferencePair(self.pair_id, self.user_id, self.context, self.chosen,
                              self.rejected, split, self.source, self.meta)


@dataclass(frozen=True)
class UserProfile:
    """What a persona-prompted method may read about a user.

    `persona_truth` is the demo benchmark's ground truth: only an explicitly named oracle
    variant may read it (the runner hides it from every other method).
    """

    user_id: str
    demographics: dict[str, Any] = field(default_factory=dict)
    stated: str | None = None
    persona_truth: str | None = None


@dataclass(frozen=True)
class Benchmark:
    """A loaded dataset: pairs plus the profiles of the users who made them."""

    name: str
    pairs: tuple[PreferencePair, ...]
    profiles: dict[str, UserProfile] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # how it was built: stages and drop counts

    @property
    def user_ids(self) -> list[str]:
        return sorted({p.user_id for p in self.pairs})

    def by_user(self) -> dict[str, list[PreferencePair]]:
        out: dict[str, list[PreferencePair]] = {}
        for pair in self.pairs:
            out.setdefault(pair.user_id, []).append(pair)
        return out


@dataclass(frozen=True)
class JudgeItem:
    """A test pair as a method sees it: the two responses in display order, and nothing that tells which
    one was chosen (the runner also shuffles the order in which a user's items arrive)."""

    pair_id: str
    user_id: str
    context: tuple[Message, ...]
    first: str
    second: str
    extras: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # label-free meta only

    @staticmethod
    def from_pair(pair: PreferencePair, order: Order, extra_keys: tuple[str, ...] = ()) -> JudgeItem:
        """`AB` shows the chosen response first, `BA` second."""
        first, second = (pair.chosen, pair.rejected) if order == "AB" else (pair.rejected, pair.chosen)
        extras = {k: pair.meta[k] for k in extra_keys if k in pair.meta}
        return JudgeItem(pair.pair_id, pair.user_id, pair.context, first, second, extras)


@dataclass
class Cost:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.calls + other.calls, self.prompt_tokens + other.prompt_tokens,
                    self.completion_tokens + other.completion_tokens, self.seconds + other.seconds)


def sum_usage(*usages: dict[str, float]) -> dict[str, float]:
    """Model-usage counters (calls, tokens, cache hits, ...) added key by key; a key one lacks counts 0."""
    total: dict[str, float] = {}
    for usage in usages:
        for key, value in usage.items():
            total[key] = total.get(key, 0) + value
    return total


@dataclass
class Judgment:
    """A method's verdict on one JudgeItem. `p_first` is P(first preferred) when known; reward models
    also give `margin`, reward(first) - reward(second)."""

    preferred: Preferred
    p_first: float | None = None
    raw: str | None = None
    cost: Cost = field(default_factory=Cost)
    margin: float | None = None
