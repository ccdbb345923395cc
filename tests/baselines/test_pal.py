"""PAL (baselines/pal.py): learns a planted per-user taste, adapts to users never seen in training, the
mixture prior does what its docstring says, reloads to identical scores, resumes without retraining (the last
on the demo with real MiniLM embeddings)."""

import pytest
import torch

from tests.baselines.planted import (
    build,
    check_learns_planted_taste,
    check_learns_unseen_users_taste,
    check_real_run_resumes_without_retraining,
    check_reload_is_identical,
    planted_users,
)


def test_learns_a_planted_per_user_taste(tmp_path):
    """Half the users like the planted trait, half dislike it: a global model is at chance on those pairs."""
    assert check_learns_planted_taste("pal", tmp_path, steps=300) > 0.8


def test_adapts_to_users_never_seen_in_training_from_their_own_pairs(tmp_path):
    assert check_learns_unseen_users_taste("pal", tmp_path, steps=300) > 0.75


def test_the_mixture_prior_keeps_few_pair_users_near_the_population(tmp_path):
    """With the prior, a user's logits are pulled to the population's, the more so the fewer their pairs;
    without it (0) they go wherever their pairs say."""
    from dataclasses import replace

    users, _ = planted_users()
    method = build("pal", tmp_path, steps=200)
    shared = method.setup(users)
    distance = {}
    for prior in (0.0, 3.0):
        method = build("pal", tmp_path, steps=200, mixture_prior=prior)
        method.restore(shared)
        for n in (2, 12):
            user = replace(users[1], train=users[1].train[:n])
            logits = torch.tensor(method.fit(user)["logits"])
            distance[prior, n] = float((logits - method.population[0]).norm())
    assert distance[3.0, 2] < distance[0.0, 2] and distance[3.0, 12] < distance[0.0, 12]
    assert distance[3.0, 2] / distance[0.0, 2] < distance[3.0, 12] / distance[0.0, 12]


def test_a_fitted_model_reloads_to_identical_scores(tmp_path):
    check_reload_is_identical("pal", tmp_path, steps=50)


@pytest.mark.slow
def test_real_minilm_run_resumes_without_retraining(tmp_path, monkeypatch):
    check_real_run_resumes_without_retraining("pal", tmp_path, monkeypatch, "++method.params.steps=50",
                                              "++method.params.fit_iterations=20")
