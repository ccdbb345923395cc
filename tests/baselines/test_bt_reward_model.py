"""The fine-tuned Bradley-Terry RM: SmolLM2 + LoRA trained on the demo benchmark on CPU."""

import json

import pytest

from benchmark.errors import ConfigError
from benchmark.methods import build_method
from benchmark.models import Models
from benchmark.models.reward_models import TransformersReward
from benchmark.runner.run import run
from tests.conftest import make_config, trained_rm_overrides


def test_training_needs_the_transformers_backend():
    cfg = make_config("method=bt_reward_model", "backend=mock")
    _, method = build_method(cfg.method, Models(cfg.backend, cfg.model))
    with pytest.raises(ConfigError, match="trains with transformers"):
        method.setup([])


@pytest.mark.slow
def test_beats_chance_on_held_out_pairs(trained_rm):
    """Trained on agreed-quality pairs (every user prefers the helpful answer), the RM must pick the helpful
    answer of held-out pairs far above chance."""
    from scipy.stats import binomtest

    s = trained_rm.summary
    assert s["n_users"] == 42 and s["n_judgments"] == 134 and s["failures"] == 0
    correct = [json.loads(line)["correct"] for line in (trained_rm.folder / "items.jsonl").read_text().splitlines()]
    # measured: 114 of 134 right after 0.3 epoch (11 steps); at chance this fails 99 times in 100
    assert binomtest(sum(correct), len(correct), 0.5, "greater").pvalue < 0.01, (sum(correct), len(correct))
    # a reward model scores each response on its own, so only near-zero margins could flip with the order
    assert s["order_consistency"] >= 0.9  # measured: 100%
    shared = json.loads((trained_rm.folder / "fit" / "_shared.json").read_text())["state"]
    assert shared["train_pairs"] == 267 and shared["dropped_too_long"] == 0 and shared["steps"] == 11
    assert (trained_rm.folder / "method" / "adapter" / "adapter_model.safetensors").exists()
    assert (trained_rm.folder / "method" / "merged" / "config.json").exists()


@pytest.mark.slow
def test_saved_adapter_reloads_to_identical_scores(trained_rm):
    shared = json.loads((trained_rm.folder / "fit" / "_shared.json").read_text())["state"]
    reloaded = TransformersReward.load(str(trained_rm.folder / "method" / "adapter"), "float32")
    assert reloaded.score_ids(shared["probe_ids"]) == shared["probe_rewards"]


@pytest.mark.slow
def test_resumed_run_judges_with_the_saved_adapter_without_retraining(trained_rm, tmp_path):
    """Drop the last 60 judgments; resuming reloads the adapter (no training) and gives them back (up to batch
    noise)."""
    folder = trained_rm.folder
    items = folder / "items.jsonl"
    lines = items.read_text().splitlines(keepends=True)
    shared_mtime = (folder / "fit" / "_shared.json").stat().st_mtime
    items.rename(tmp_path / "items.jsonl")
    items.write_text("".join(lines[:-60]))
    try:
        cfg = make_config(*trained_rm_overrides(folder), "resume=true")
        again = run(cfg, folder)
        redone = [json.loads(line) for line in items.read_text().splitlines()[-60:]]
    finally:
        (tmp_path / "items.jsonl").replace(items)
    before = {(r["pair_id"], r["order"]): r for r in map(json.loads, lines)}
    assert len(redone) == 60 and (folder / "fit" / "_shared.json").stat().st_mtime == shared_mtime
    # the same adapter: margins equal up to batch noise (other requests share the batches now), verdicts equal
    # wherever the margin is clear
    assert all(abs(before[(r["pair_id"], r["order"])]["margin"] - r["margin"]) < 0.15 for r in redone)
    assert all(before[(r["pair_id"], r["order"])]["preferred"] == r["preferred"]
               for r in redone if abs(r["margin"]) > 0.2)
    assert again.summary["n_judgments"] == trained_rm.summary["n_judgments"]
