"""Reward-model plumbing: verdicts from rewards, the cache in front of a reward model, bad checkpoints."""

import math

import pytest

from benchmark.errors import ConfigError
from benchmark.models.layer import RequestCache, RewardLayer
from benchmark.models.mock import MockReward
from benchmark.models.reward_models import Score
from benchmark.records import Cost, JudgeItem, Message
from benchmark.toolkit.verdicts import judge_by_rewards, verdict


def item(first="long answer", second="short") -> JudgeItem:
    return JudgeItem("p1", "u1", (Message("user", "q"),), first, second)


def test_verdict_margin_tie_and_failure():
    win = verdict(Score(2.0), Score(0.5))
    assert win.preferred == "first" and win.margin == 1.5 and win.p_first == pytest.approx(1 / (1 + math.exp(-1.5)))
    assert verdict(Score(0.5), Score(2.0)).preferred == "second"
    assert verdict(Score(1.0), Score(1.0)).preferred == "tie"
    failed = verdict(Score(1.0, Cost(1)), Score(error="prompt has 9 tokens, over max_prompt_tokens=8", cost=Cost(1)))
    assert failed.preferred == "fail" and failed.margin is None and "max_prompt_tokens" in failed.raw
    assert failed.cost.calls == 2


def test_judge_scores_both_responses_with_the_user_in_context():
    scorer = MockReward(reward=lambda chat: len(chat[-1].content))
    (j,) = judge_by_rewards(scorer, [item()], "Likes long answers.", "system")
    assert j.preferred == "first" and j.margin == len("long answer") - len("short")
    assert [c[0] for c in scorer.seen] == [Message("system", "About this user:\nLikes long answers.")] * 2
    assert [c[-1] for c in scorer.seen] == [Message("assistant", "long answer"), Message("assistant", "short")]


def test_reward_layer_caches_successes_only(tmp_path):
    class Flaky(MockReward):
        def score(self, conversations):
            self.seen.extend(conversations)
            return [Score(error="boom", cost=Cost(1)) if "fail" in c[-1].content else Score(1.0, Cost(1))
                    for c in conversations]

    inner = Flaky()
    layer = RewardLayer(inner, {"model": "m"}, RequestCache(tmp_path / "c.sqlite"))
    chats = [(Message("user", "q"), Message("assistant", a)) for a in ("ok", "fail")]
    assert [s.error for s in layer.score(chats)] == [None, "boom"]
    again = layer.score(chats)
    assert again[0].value == 1.0 and again[1].error == "boom"
    assert len(inner.seen) == 3  # the success came from the cache; failures are never stored
    assert layer.usage.failures == 2


@pytest.mark.slow
def test_a_model_without_a_reward_head_is_refused():
    from benchmark.models.reward_models import TransformersReward

    with pytest.raises(ConfigError, match="no trained reward head"):
        TransformersReward.load("smollm2")
