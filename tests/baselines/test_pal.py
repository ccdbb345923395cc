"""PAL (baselines/pal.py): learns a planted per-user taste, reloads to identical scores, resumes without
retraining (the last on the demo with real MiniLM embeddings)."""

import pytest

from tests.baselines.planted import (check_learns_planted_taste, check_real_run_resumes_without_retraining,
                                     check_reload_is_identical)


def test_learns_a_planted_per_user_taste(tmp_path):
    """Half the users like the planted trait, half dislike it: a global model is at chance on those pairs."""
    assert check_learns_planted_taste("pal", tmp_path, steps=300) > 0.8


def test_a_fitted_model_reloads_to_identical_scores(tmp_path):
    check_reload_is_identical("pal", tmp_path, steps=50)


@pytest.mark.slow
def test_real_minilm_run_resumes_without_retraining(tmp_path, monkeypatch):
    check_real_run_resumes_without_retraining("pal", tmp_path, monkeypatch, "+method.params.steps=50", "+method.params.fit_steps=50")
