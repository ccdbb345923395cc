"""The persistent request cache: keys separate models and parameters; modes; a cached re-run is free."""

from pathlib import Path

from benchmark.models.base import GenerationParams
from benchmark.models.layer import ModelLayer, RequestCache
from benchmark.models.mock import MockChat
from benchmark.records import Message
from benchmark.runner.run import run

CHAT = [Message("user", "Which is better?")]


def layer(tmp_path, name, score, mode="write", backend="mock"):
    inner = MockChat(name, score=lambda chat, choice: score[choice], reply=lambda chat: f"{name} says hi")
    return ModelLayer(inner, {"backend": backend, "model": name}, RequestCache(tmp_path / "c.sqlite", mode))


def test_two_models_never_share_an_entry(tmp_path):
    a = layer(tmp_path, "model-a", {"A": -0.1, "B": -3.0})
    b = layer(tmp_path, "model-b", {"A": -3.0, "B": -0.1})
    assert a.choice_logprobs([CHAT], "AB")[0].logprobs == {"A": -0.1, "B": -3.0}
    assert b.choice_logprobs([CHAT], "AB")[0].logprobs == {"A": -3.0, "B": -0.1}
    assert (b.cache.hits, b.cache.misses) == (0, 1)
    same_name_other_backend = layer(tmp_path, "model-a", {"A": -9.0, "B": -0.1}, backend="openai")
    assert same_name_other_backend.choice_logprobs([CHAT], "AB")[0].logprobs["A"] == -9.0


def test_hits_cost_nothing_and_read_mode_stores_nothing(tmp_path):
    a = layer(tmp_path, "m", {"A": -1.0, "B": -2.0})
    a.choice_logprobs([CHAT], "AB")
    again = layer(tmp_path, "m", {"A": 5.0, "B": 5.0})  # a different answer would show a miss
    result = again.choice_logprobs([CHAT], "AB")[0]
    assert result.logprobs == {"A": -1.0, "B": -2.0} and result.cost.calls == 0 and again.usage.calls == 0
    reader = layer(tmp_path, "m", {"A": -1.0, "B": -2.0}, mode="read")
    reader.choice_logprobs([[Message("user", "new prompt")]], "AB")
    assert layer(tmp_path, "m", {"A": 0, "B": 0}).choice_logprobs([[Message("user", "new prompt")]], "AB")[0] \
        .logprobs == {"A": 0, "B": 0}


def test_generation_keys_include_parameters_and_seed(tmp_path):
    a = layer(tmp_path, "m", {"A": 0, "B": 0})
    greedy = GenerationParams(max_new_tokens=8)
    a.generate([CHAT], greedy)
    a.generate([CHAT], greedy)
    assert (a.cache.hits, a.cache.misses) == (1, 1)
    a.generate([CHAT], GenerationParams(max_new_tokens=9))
    a.generate([CHAT], GenerationParams(max_new_tokens=8, temperature=0.7, seed=1))
    a.generate([CHAT], GenerationParams(max_new_tokens=8, temperature=0.7, seed=2))
    assert a.cache.misses == 4
    assert layer(tmp_path, "m", {}, mode="off").cache.get(RequestCache.key({"x": 1})) is None


def test_failures_are_not_cached(tmp_path):
    a = layer(tmp_path, "m", {"A": float("nan"), "B": 0})
    from benchmark.models.base import ChoiceResult

    a.inner.choice_logprobs = lambda chats, choices: [ChoiceResult(error="boom") for _ in chats]
    assert a.choice_logprobs([CHAT], "AB")[0].error == "boom" and a.usage.failures == 1
    assert a.choice_logprobs([CHAT], "AB")[0].error == "boom" and a.cache.hits == 0


def test_cached_rerun_of_a_finished_run_makes_no_request(quick, tmp_path):
    cache = f"cache.path={tmp_path / 'requests.sqlite'}"
    cold = run(quick("backend=mock", "cache.mode=write", cache, "run_name=cold"),
               Path(quick().results_dir) / "runs" / "cold")
    warm = run(quick("backend=mock", "cache.mode=write", cache, "run_name=warm"),
               Path(quick().results_dir) / "runs" / "warm")
    assert cold.summary["model_usage"]["calls"] == 66
    assert warm.summary["model_usage"]["calls"] == 0 and warm.summary["model_usage"]["cache_hits"] == 66
    assert warm.summary["micro_accuracy"] == cold.summary["micro_accuracy"]


def test_a_local_model_folder_with_new_weights_is_another_model(tmp_path):
    from benchmark.models import MockConfig, ModelConfig, identity

    folder = tmp_path / "rm"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"old")
    model = ModelConfig(name=str(folder))
    before = identity(MockConfig(kind="mock"), model)
    (folder / "model.safetensors").write_bytes(b"retrained")
    assert identity(MockConfig(kind="mock"), model) != before
