"""VPL (baselines/vpl.py): the paper's decoder (an MLP on [x, z]) learns a planted per-user taste, for users
seen in training and for users kept out of it (adapting from their own pairs alone); reloads to identical
scores; resumes without retraining (the last on the demo with real MiniLM embeddings)."""

import math

import pytest
import torch

from tests.baselines.planted import (
    DIM,
    build,
    check_learns_planted_taste,
    check_learns_unseen_users_taste,
    check_real_run_resumes_without_retraining,
    check_reload_is_identical,
)


def test_learns_a_planted_per_user_taste(tmp_path):
    """Half the users like the planted trait, half dislike it: a global model is at chance on those pairs."""
    assert check_learns_planted_taste("vpl", tmp_path, steps=300, lr=1e-3) > 0.8


def test_adapts_to_users_never_seen_in_training_from_their_own_pairs(tmp_path):
    assert check_learns_unseen_users_taste("vpl", tmp_path, steps=300, lr=1e-3) > 0.75


def test_the_ideal_point_variant_learns_too(tmp_path):
    assert check_learns_planted_taste("vpl", tmp_path, steps=300, lr=3e-3, decoder="ideal_point") > 0.8


def test_the_decoder_is_an_mlp_on_response_and_normalised_latent(tmp_path):
    """The authors' architecture: the reward is an MLP of [x, z]; z has norm sqrt(latent); the KL weight is
    annealed by the authors' cyclical cosine schedule from 0.1."""
    from baselines.vpl import VPLNet, anneal

    net = VPLNet(DIM, hidden=16, latent=4)
    first = net.decoder[0]
    assert isinstance(first, torch.nn.Linear) and first.in_features == DIM + 4
    mean, log_var = torch.randn(3, 4).clamp(-1, 1), torch.zeros(3, 4)
    z = net.latent_z(mean, log_var, torch.randn(3, 4))
    assert torch.allclose(z.norm(dim=-1), torch.full((3,), math.sqrt(4)))
    x = torch.randn(1, 5, DIM)
    assert not torch.allclose(net.reward(x, z[:1]), net.reward(x, z[1:2]))  # the reward depends on the user
    assert anneal(0, 100) == pytest.approx(0.1) and anneal(99, 100) > 0.99 and anneal(100, 100) == pytest.approx(0.1)
    assert build("vpl", tmp_path).params.decoder == "mlp"  # the paper's decoder is the default


def test_a_fitted_model_reloads_to_identical_scores(tmp_path):
    check_reload_is_identical("vpl", tmp_path, steps=50)


@pytest.mark.slow
def test_real_minilm_run_resumes_without_retraining(tmp_path, monkeypatch):
    check_real_run_resumes_without_retraining("vpl", tmp_path, monkeypatch, "++method.params.steps=50")
