"""Embedding reward model with the real MiniLM on the demo benchmark."""

import pytest

from benchmark.runner.run import run
from benchmark.stats import paired_user_difference
from tests.conftest import make_config

pytestmark = pytest.mark.slow


def test_personal_beats_global_with_a_supported_margin(tmp_path):
    """The demo's users disagree by design: adapting to each user must pay, by more than the noise."""
    results = {}
    for method in ("reward_model", "reward_model_personal"):
        cfg = make_config("logger=none", f"method={method}", f"results_dir={tmp_path}")
        results[method] = run(cfg, tmp_path / method)
    personal, global_ = results["reward_model_personal"], results["reward_model"]
    assert global_.summary["macro_accuracy"] > 0.55  # it learns what everyone agrees on
    diff = paired_user_difference(personal.per_user, global_.per_user, n_boot=2000)
    assert diff["difference"] > 0.03
    assert diff["ci"][0] > 0, diff
    assert personal.summary["failures"] == 0 and personal.summary["order_consistency"] == 1.0


def test_fit_states_reload_to_identical_judgments(tmp_path):
    cfg = make_config("logger=none", "method=reward_model_personal", "split.max_users=5", f"results_dir={tmp_path}")
    first = run(cfg, tmp_path / "a")
    (tmp_path / "a" / "items.jsonl").unlink()
    again = run(make_config("logger=none", "method=reward_model_personal", "split.max_users=5", "resume=true",
                            f"results_dir={tmp_path}"), tmp_path / "a")
    assert again.per_user["accuracy"].tolist() == first.per_user["accuracy"].tolist()


def test_user_embedding_features_beat_the_global_model(tmp_path):
    """One global fit whose features carry the user's own preference direction adapts to every user."""
    results = {}
    for method in ("reward_model", "reward_model_user_features"):
        cfg = make_config("logger=none", f"method={method}", f"results_dir={tmp_path}")
        results[method] = run(cfg, tmp_path / method).summary
    assert results["reward_model_user_features"]["macro_accuracy"] > results["reward_model"]["macro_accuracy"] + 0.02
    assert results["reward_model_user_features"]["mean_margin_chosen"] > results["reward_model"]["mean_margin_chosen"]
