"""The plain judge: what it shows the model, and a real run with SmolLM2."""

import json

import pytest

from benchmark.models.base import ChoiceResult
from benchmark.records import JudgeItem, Message
from benchmark.runner.run import run
from benchmark.toolkit.judging import clip, judge_chat, judgment_from_choice
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
    cfg = make_config("logger=none", "split.max_users=3", "cache.mode=off", f"results_dir={tmp_path}")
    result = run(cfg, tmp_path / "run")
    s = result.summary
    assert s["n_judgments"] == 52 and s["failures"] == 0 and s["model"] == "smollm2"
    assert s["cost"]["calls"] == 52 and s["cost"]["prompt_tokens"] > 52 * 100
    items = [json.loads(line) for line in (tmp_path / "run" / "items.jsonl").read_text().splitlines()]
    users = {i["user_id"] for i in items}
    per_user = [sum(i["correct"] for i in items if i["user_id"] == u) / sum(i["user_id"] == u for i in items)
                for u in users]
    assert s["macro_accuracy"] == pytest.approx(sum(per_user) / len(per_user))
    if all(i["preferred"] == "first" for i in items):  # position bias: one right and one wrong per pair
        assert s["macro_accuracy"] == 0.5 and s["order_consistency"] == 0


@pytest.mark.parametrize("text,answer", [
    ("Response A is concise.\nAnswer: B", "second"), ("answer: (A)", "first"), ("**Answer:** Response B", "second"),
    ("The answer is A.", "first"), ("B", "second"), (" a. ", "first"), ("I like both.", None),
    ("Answer: A ... wait, Answer: B", "second"), ("Apples and Bananas", None),
    ("I would recommend Response A.", "first"), ("Response A is short; Response B is long.", None),
])
def test_parse_answer(text, answer):
    from benchmark.toolkit.judging import parse_answer

    assert parse_answer(text) == answer


def test_reasoning_follow_up_is_a_changed_request_and_failures_are_counted():
    from benchmark.models.mock import MockChat
    from benchmark.toolkit.judging import FOLLOW_UP, judge_by_reasoning

    def reply(chat):
        if chat[-1].content == FOLLOW_UP:
            return "B" if "second chance" in chat[0].content else "no idea"
        return "I cannot decide."

    model = MockChat(reply=reply)
    chats = [[Message("system", "second chance"), Message("user", "q")], [Message("system", "x"), Message("user", "q")]]
    rescued, failed = judge_by_reasoning(model, chats, max_new_tokens=32, retries=1)
    assert rescued.preferred == "second" and "[follow-up 1] B" in rescued.raw and rescued.cost.calls == 2
    assert failed.preferred == "fail" and "I cannot decide." in failed.raw
    assert len(model.seen) == 4 and model.seen[2] != model.seen[0]  # never the same request twice
    none = judge_by_reasoning(MockChat(reply=lambda chat: "hmm"), chats[:1], retries=0)[0]
    assert none.preferred == "fail" and len(none.raw) > 0


@pytest.mark.slow
def test_reasoning_mode_with_smollm2_finishes_with_counted_failures(tmp_path):
    cfg = make_config("logger=none", "method=plain_reasoning", "method.params.max_reasoning_tokens=48",
                      "split.max_users=1", "split.seed=3", "cache.mode=off", f"results_dir={tmp_path}")
    result = run(cfg, tmp_path / "run")
    s = result.summary
    assert s["n_judgments"] == 6 and s["model_usage"]["calls"] >= 6
    assert s["cost"]["completion_tokens"] <= s["n_judgments"] * (48 + 8)  # every generation bounded
    items = [__import__("json").loads(line) for line in (tmp_path / "run" / "items.jsonl").read_text().splitlines()]
    assert all(i["raw"] for i in items) and s["failures"] == sum(i["preferred"] == "fail" for i in items)
