"""The reference methods' parts: persona program by model size, flips, the dspy LM over the model layer, a
weak model ending in counted failures, refused users, the real pairs shipped in the package (with SmolLM2)."""

from __future__ import annotations

import json
import threading
import tomllib

import pandas as pd
import pytest
from synthesizeme.utils.utils import convert_df_to_dspy

import benchmark.models.dspy_lm  # noqa: F401, I001  (first: it sets LiteLLM's offline switches before dspy loads)
from baselines.reference.data import flip_of, reference_rows, shipped_users, train_examples
from baselines.reference.programs import persona_program
from benchmark.environment import locked_versions
from benchmark.errors import ConfigError
from benchmark.models.base import ChatModel, Generation
from benchmark.models.dspy_lm import LMCallFailed, PrbenchLM, dspy
from benchmark.models.layer import ModelLayer, RequestCache, metered
from benchmark.records import Cost, Message, PreferencePair
from benchmark.runner.run import run
from tests.conftest import ROOT, make_config, write_jsonl


@pytest.mark.parametrize("name,program", [("meta-llama/Llama-3.2-3B-Instruct", "llama3b"),
                                          ("meta-llama/Llama-3.1-8B-Instruct", "llama8b"),
                                          ("meta-llama/Llama-3.3-70B-Instruct", "llama70b"),
                                          ("/models/llama-3.1-70b", "llama70b")])
def test_persona_program_follows_the_judge_size(name, program):
    assert persona_program("auto", name).endswith(f"prompts/{program}.json")


def test_persona_program_of_another_size_must_be_named():
    with pytest.raises(ConfigError, match="persona_program=llama3b"):
        persona_program("auto", "smollm2")
    assert persona_program("llama8b", "smollm2").endswith("prompts/llama8b.json")
    assert persona_program("/tmp/mine.json", "smollm2") == "/tmp/mine.json"


def pair(i: int, **meta) -> PreferencePair:
    return PreferencePair(f"p{i}", "u", (Message("user", f"q{i}"),), f"good {i}", f"bad {i}", "train", "prism", meta)


def test_flip_is_the_stored_one_else_a_seeded_coin():
    assert [flip_of(pair(1, flip=True), 0), flip_of(pair(1, flip="false"), 0)] == [True, False]
    coins = [flip_of(pair(i), 0) for i in range(40)]
    assert coins == [flip_of(pair(i), 0) for i in range(40)] and 10 < sum(coins) < 30
    assert coins != [flip_of(pair(i), 1) for i in range(40)]
    examples = train_examples(reference_rows([pair(1, flip=True), pair(2, flip=False)], 0, "auto"), "u")
    assert [(e.completion_one, e.chosen) for e in examples] == [("[model]: good 1", "First"),
                                                                ("[model]: bad 2", "Second")]


def test_the_references_converter_without_flip_puts_every_chosen_response_second():
    """The 0.0.1 default prbench works around: without a `flip` column every example's answer is "Second"."""
    rows = [{k: v for k, v in r.items() if k != "flip"} for r in reference_rows([pair(i) for i in range(6)], 0, "auto")]
    assert {e.chosen for e in convert_df_to_dspy(pd.DataFrame(rows))} == {"Second"}


class Scripted(ChatModel):
    name = "scripted"

    def __init__(self, text: str = "", error: str | None = None):
        self.text, self.error, self.seen = text, error, []

    def choice_logprobs(self, chats, choices):
        raise NotImplementedError

    def generate(self, chats, params):
        self.seen.append((chats, params))
        return [Generation(self.text, Cost(1, 10, 2, 0.0), self.error) for _ in chats]


def test_prbench_lm_sends_dspys_messages_and_meters_its_worker_threads(tmp_path):
    chat = Scripted("[[ ## answer ## ]]\nfour\n\n[[ ## completed ## ]]")
    layer = ModelLayer(chat, {"backend": "scripted"}, RequestCache(tmp_path / "c.sqlite", "off"))
    with metered() as meter:
        lm = PrbenchLM(layer, max_tokens=64)
    answers = []
    worker = threading.Thread(target=lambda: answers.append(
        lm(messages=[{"role": "system", "content": "s"}, {"role": "user", "content": "2+2?"}], temperature=0.0)))
    worker.start()
    worker.join()
    assert answers == [[chat.text]] and meter.calls == 1  # counted where the LM was made, not where it ran
    (chats, params), = chat.seen
    assert chats == [[Message("system", "s"), Message("user", "2+2?")]] and params.max_new_tokens == 64
    with dspy.context(lm=lm):
        assert dspy.Predict("question -> answer")(question="2+2?").answer == "four"


def test_prbench_lm_raises_what_litellm_would():
    from litellm import ContextWindowExceededError

    with pytest.raises(ContextWindowExceededError):
        PrbenchLM(Scripted(error="prompt has 30000 tokens, over max_prompt_tokens=2048"))(prompt="x")
    with pytest.raises(LMCallFailed, match="HTTP 500"):
        PrbenchLM(Scripted(error="HTTP 500"))(prompt="x")
    assert PrbenchLM(Scripted()).copy(temperature=0.7).kwargs["temperature"] == 0.7


@pytest.mark.parametrize("value", ["plain", "", "ünïcödé «»", "line\nbreak", "\ud800 lone surrogate", "x" * 100_000,
                                   3, 2.5, None, ["a", 1], {"k": "v"}, ("t",)])
def test_fast_formatting_gives_dspys_text(value):
    from benchmark.models.dspy_lm import FAST, _fast_serialize_for_json, _serialize_for_json

    with dspy.context(**{FAST: True}):
        assert _fast_serialize_for_json(value) == _serialize_for_json(value)


def run_mock(tmp_path, method: str, *overrides: str, name: str | None = None):
    cfg = make_config(f"method={method}", "backend=mock", "logger=none", "split.max_users=2", "cache.mode=off",
                      f"results_dir={tmp_path}", "method.params.persona_program=llama3b",
                      "method.params.num_search_candidates=1", *overrides)
    return run(cfg, tmp_path / "runs" / (name or method))


def fits(tmp_path, method: str) -> list[dict]:
    return [json.loads(p.read_text())["state"] for p in (tmp_path / "runs" / method / "fit").glob("demo_user_*.json")]


def test_a_model_that_never_answers_in_format_ends_with_counted_failures(tmp_path):
    """The mock answers "A" to everything: no answer parses, every judgment is a counted failure, the persona
    call fails and the search goes on with an empty persona; nothing hangs."""
    result = run_mock(tmp_path, "synthesizeme_reference")
    s = result.summary
    assert s["n_judgments"] > 0 and s["failures"] == s["n_judgments"]
    states = fits(tmp_path, "synthesizeme_reference")
    assert len(states) == 2 and all(f["status"] == "fitted" and f["persona"] is None for f in states)
    assert all(f["persona_status"].startswith("failed: ") for f in states)
    items = [json.loads(line) for line in (tmp_path / "runs" / "synthesizeme_reference" / "items.jsonl").open()]
    assert all(i["preferred"] == "fail" and i["raw"].endswith("last answer: 'A'") for i in items)
    stopped = run_mock(tmp_path, "synthesizeme_reference", "method.params.on_persona_failure=fail_user",
                       name="stopped")
    assert stopped.summary["failures"] == stopped.summary["n_judgments"] == s["n_judgments"]
    assert {f["status"] for f in fits(tmp_path, "stopped")} == {f"persona {states[0]['persona_status']}"}


def test_a_user_without_val_pairs_is_refused_as_the_reference_refuses(tmp_path):
    result = run_mock(tmp_path, "synthesizeme_reference", "split.val=0")
    assert result.summary["failures"] == result.summary["n_judgments"] > 0
    assert {f["status"] for f in fits(tmp_path, "synthesizeme_reference")} == {
        "refused by the reference: Not enough preferences for validation."}


def test_the_packages_shipped_users_are_real_pairs():
    users = shipped_users()
    assert len(users) == 18 and sum(map(len, users.values())) == 84
    for rows in users.values():
        for row in rows:
            assert row["chosen"]["content"] != row["rejected"]["content"] and row["chosen"]["role"] == "model"
            assert row["context"][0]["role"] == "user" and row["context"][-1]["role"] == "user"


def test_the_reference_extra_is_in_the_lock():
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["reference"]
    pins = locked_versions((ROOT / "requirements" / "lock.txt").read_text())
    assert {r.split("==")[0].lower(): r.split("==")[1] for r in extra} == {
        name: pins[name] for name in ("synthesizeme", "dspy", "litellm")}


@pytest.mark.slow
def test_shipped_users_through_synthesizeme_reference_with_smollm2(tmp_path):
    """Real pairs inside the package (one of its 18 PRISM users, seeded), end to end with SmolLM2 on CPU. Kept
    short with the options the reference itself exposes (one random candidate per search) and a 32-token bound
    per generation: ~20 generations with ~1k-token prompts. SmolLM2
    answers out of DSPy's format, so judgments are mostly counted failures, and its 2,048-token prompt limit
    makes the ~20k-token persona call a counted failure too: the run must still end, every failure counted."""
    rows = [{**r, "split": "test" if i == len(rs) - 1 else "val" if i == len(rs) - 2 else "train"}
            for rs in shipped_users().values() for i, r in enumerate(rs)]
    data = write_jsonl(tmp_path / "shipped.jsonl", rows)
    cfg = make_config("method=synthesizeme_reference", "data=prism", f"data.path={data}", "split=column",
                      "split.min_pairs=1", "split.max_users=1", "logger=none",
                      f"cache.path={tmp_path / 'cache.sqlite'}",
                      f"results_dir={tmp_path}", "method.params.persona_program=llama3b",
                      "method.params.num_search_candidates=1", "method.params.max_tokens=32")
    result = run(cfg, tmp_path / "run")
    s = result.summary
    assert s["n_users"] == 1 and s["n_judgments"] == 2 and s["model"] == "smollm2"
    usage = s["model_usage"]
    assert usage["calls"] > 4 and usage["failures"] >= 1  # at least the persona call
    assert s["failures"] + s["ties"] <= 2 and 0 <= s["micro_accuracy"] <= 1
    states = [json.loads(p.read_text())["state"] for p in (tmp_path / "run" / "fit").glob("llama*.json")]
    assert len(states) == 1 and {f["status"] for f in states} == {"fitted"}
    assert all("over max_prompt_tokens" in f["persona_status"] for f in states)


@pytest.mark.parametrize("data", ["chatbot_arena", "prism"])
@pytest.mark.parametrize("model,program", [("llama32_3b", "llama3b"), ("llama31_8b", "llama8b"),
                                           ("llama31_70b", "llama70b"), ("llama33_70b", "llama70b")])
def test_paper_experiments_run_the_reference_methods_with_room_for_their_prompts(data, model, program):
    from benchmark.methods import build_method
    from benchmark.models import Models

    experiment = f"experiment=paper_{data}_{model}"
    text = (ROOT / "configs" / "experiment" / f"paper_{data}_{model}.yaml").read_text()  # its sweep
    assert "method: plain_reference,synthesizeme_reference_demos,synthesizeme_reference_persona," \
           "synthesizeme_reference," in text
    cfg = make_config(experiment, "method=synthesizeme_reference")
    assert cfg.backend.max_prompt_tokens == cfg.method.params.max_prompt_tokens == 32768
    assert make_config(experiment, "method=plain").backend.max_prompt_tokens == 8192
    _, method = build_method(cfg.method, Models(cfg.backend, cfg.model))
    assert method.program_file.endswith(f"prompts/{program}.json")
