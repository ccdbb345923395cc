"""Judging with a reward model: score each response in its conversation, prefer the higher reward."""

from __future__ import annotations

from collections.abc import Sequence

from scipy.special import expit

from benchmark.models.reward_models import Score
from benchmark.records import JudgeItem, Judgment, Message
from benchmark.toolkit.user_context import with_about


def conversations(item: JudgeItem, about: str | None, placement: str) -> list[tuple[Message, ...]]:
    """The item's context (with the user's description, if any) ending in each response."""
    context = with_about(item.context, about, placement)
    return [(*context, Message("assistant", item.first)), (*context, Message("assistant", item.second))]


def verdict(first: Score, second: Score) -> Judgment:
    """The higher reward wins; equal rewards tie; a missing reward is a counted failure."""
    cost = first.cost + second.cost
    if first.error or second.error:
        return Judgment("fail", raw=first.error or second.error, cost=cost)
    margin = first.value - second.value
    preferred = "first" if margin > 0 else "second" if margin < 0 else "tie"
    return Judgment(preferred, float(expit(margin)), f"rewards {first.value:.4f} / {second.value:.4f}", cost,
                    margin=margin)


def judge_by_rewards(scorer, items: Sequence[JudgeItem], about: str | None, placement: str) -> list[Judgment]:
    """One batched `scorer.score` call for both responses of every item."""
    scores = scorer.score([c for item in items for c in conversations(item, about, placement)])
    return [verdict(scores[2 * i], scores[2 * i + 1]) for i in range(len(items))]


