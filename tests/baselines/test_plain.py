"""The plain judge: what it shows the model, and a real run with SmolLM2."""

import pytest

from benchmark.judging import clip, judge_chat, judgment_from_choice
from benchmark.models.base import ChoiceResult
from benchmark.records import JudgeItem, Message
from benchmark.runner.run import run
from tests.conftest import make_config

ITEM = JudgeItem("p1", "u1", (Message("user", "Name a cat?"),), "Miso.", "Luna.")


def test_prompt_holds_conversation_and_both_responses_in_order():
    (system, user) = judge_chat(ITEM)
    assert system.role == "system" and user.role == "user"
    text = user.content
    assert text.index("Name a cat?") < text.index("## Response A\nMiso.") < text.index("## Response B\nLuna.")
    assert "About this user" not in text
    assert "## About this user\nlikes short names" in judge_chat(ITEM, "likes short names")[1].content


def test_clip_bounds_long_responses():
    long = "x" * 10_000
    clipped = clip(long, 100)
    assert len(clipped) < 200 and clipped.startswith("x" * 50) and "cut" in clipped


@pytest.mark.parametrize("logprobs,error,preferred", [
    ({"A": -0.1, "B": -2.0}, None, "first"), ({"A": -3.0, "B": -0.5}, None, "second"),
    ({"A": -1.0, "B": -1.0}, None, "tie"), ({}, "too long", "fail"), ({"A": float("nan"), "B": -1}, None, "fail"),
])
def test_judgment_from_logprobs(logprobs, error, preferred):
    j = judgment_from_choice(ChoiceResult(logprobs, error=error))
    assert j.preferred == preferred
    if preferred in ("first", "second", "tie"):
        assert 0 < j.p_first < 1


@pytest.mark.slow
def test_plain_judge_with_smollm2(tmp_path):
    cfg = make_config("logger=none", "split.max_users=3", f"results_dir={tmp_path}")
    result = run(cfg, tmp_path / "run")
    s = result.summary
    assert s["n_judgments"] == 24 and s["failures"] == 0 and s["model"] == "smollm2"
    assert s["cost"]["calls"] == 24 and s["cost"]["prompt_tokens"] > 24 * 100
    assert 0 <= s["macro_accuracy"] <= 1
