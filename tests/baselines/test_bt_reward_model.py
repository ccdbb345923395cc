"""The fine-tuned Bradley-Terry RM: SmolLM2 + LoRA trained on the demo benchmark on CPU."""

import json

import pytest

from benchmark.data.loaders import demo_dir
from benchmark.errors import ConfigError
from benchmark.methods import build_method
from benchmark.models import Models
from benchmark.models.reward_models import TransformersReward
from benchmark.runner.run import run
from tests.conftest import make_config


def test_training_needs_the_transformers_backend():
    cfg = make_config("method=bt_reward_model", "backend=mock")
    _, method = build_method(cfg.method, Models(cfg.backend, cfg.model))
    with pytest.raises(ConfigError, match="trains with transformers"):
        method.setup([])


@pytest.mark.slow
def test_beats_chance_on_held_out_pairs(trained_rm):
    """A global RM cannot know whose taste a style pair follows (users disagree by design), but every user
    prefers the helpful answer of an agreed-quality pair: there it must be right far above chance."""
    from scipy.stats import binomtest

    s = trained_rm.summary
    assert s["n_users"] == 60 and s["n_judgments"] == 750 and s["failures"] == 0
    kind = {p["pair_id"]: p["kind"] for p in map(json.loads, (demo_dir() / "pairs.jsonl").read_text().splitlines())}
    items = [json.loads(line) for line in (trained_rm.folder / "items.jsonl").read_text().splitlines()]
    agreed = [i["correct"] for i in items if kind[i["pair_id"]] == "agreed"]
    assert len(agreed) >= 100 and binomtest(sum(agreed), len(agreed), 0.5, "greater").pvalue < 1e-4, \
        (sum(agreed), len(agreed))
    assert s["order_consistency"] == 1.0  # a reward model scores each response on its own
    shared = json.loads((trained_rm.folder / "fit" / "_shared.json").read_text())["state"]
    assert shared["train_pairs"] == 1490 and shared["dropped_too_long"] == 0
    assert (trained_rm.folder / "method" / "adapter" / "adapter_model.safetensors").exists()
    assert (trained_rm.folder / "method" / "merged" / "config.json").exists()


@pytest.mark.slow
def test_saved_adapter_reloads_to_identical_scores(trained_rm):
    shared = json.loads((trained_rm.folder / "fit" / "_shared.json").read_text())["state"]
    reloaded = TransformersReward.load(str(trained_rm.folder / "method" / "adapter"))
    assert reloaded.score_ids(shared["probe_ids"]) == shared["probe_rewards"]


@pytest.mark.slow
def test_resumed_run_judges_with_the_saved_adapter_without_retraining(trained_rm, tmp_path):
    """Drop the last 80 judgments; resuming reloads the adapter (no training) and gives them back unchanged."""
    folder = trained_rm.folder
    items = folder / "items.jsonl"
    lines = items.read_text().splitlines(keepends=True)
    shared_mtime = (folder / "fit" / "_shared.json").stat().st_mtime
    items.rename(tmp_path / "items.jsonl")
    items.write_text("".join(lines[:-80]))
    try:
        cfg = make_config("logger=none", "method=bt_reward_model", "method.params.merged=true", "cache.mode=off",
                          f"results_dir={folder.parent.parent}", "resume=true")
        again = run(cfg, folder)
        redone = [json.loads(line) for line in items.read_text().splitlines()[-80:]]
    finally:
        (tmp_path / "items.jsonl").replace(items)
    before = {(r["pair_id"], r["order"]): r["margin"] for r in map(json.loads, lines)}
    assert all(before[(r["pair_id"], r["order"])] == r["margin"] for r in redone)
    assert (folder / "fit" / "_shared.json").stat().st_mtime == shared_mtime
    assert again.summary["macro_accuracy"] == trained_rm.summary["macro_accuracy"]
