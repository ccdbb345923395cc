"""Paired inference over users: p-values checked against a brute-force permutation test, Holm by hand."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from benchmark.stats import holm, paired_user_difference, sign_flip_ci, sign_flip_pvalue


def brute_force_permutation_p(a, b):
    """Swap the two methods' labels within any subset of users; count means at least as extreme."""
    a, b = np.asarray(a), np.asarray(b)
    observed = abs((a - b).mean())
    hits = 0
    subsets = list(itertools.product([False, True], repeat=len(a)))
    for swap in subsets:
        swap = np.array(swap)
        x, y = np.where(swap, b, a), np.where(swap, a, b)
        hits += abs((x - y).mean()) >= observed - 1e-12
    return hits / len(subsets)


def test_pvalue_matches_permutation_test_on_small_example():
    a = [0.75, 0.5, 1.0, 0.625, 0.875, 0.5, 0.75]
    b = [0.5, 0.5, 0.75, 0.5, 0.5, 0.625, 0.5]
    table = lambda acc: pd.DataFrame({"user_id": [f"u{i}" for i in range(len(acc))], "accuracy": acc})
    d = paired_user_difference(table(a), table(b), n_boot=500)
    assert d["p_value"] == pytest.approx(brute_force_permutation_p(a, b))
    assert (d["wins"], d["losses"], d["ties"]) == (5, 1, 1)
    assert d["ci"][0] < d["difference"] < d["ci"][1]


def test_monte_carlo_pvalue_for_many_users():
    rng = np.random.default_rng(0)
    null = rng.normal(0, 0.1, 200)
    assert sign_flip_pvalue(null) > 0.05 or sign_flip_pvalue(null, seed=1) > 0.01
    assert sign_flip_pvalue(null + 0.05) < 0.001
    assert sign_flip_pvalue(np.zeros(30)) == 1.0


def test_holm_by_hand():
    # sorted p: 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.04 (x1 = 0.04, monotone)
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def per_user(accuracies):
    return pd.DataFrame({"user_id": [f"u{i}" for i in range(len(accuracies))], "accuracy": accuracies})


@pytest.mark.parametrize("n_users", [12, 60])
def test_null_false_positives_at_most_five_percent_and_ci_agrees_with_p(n_users):
    """Two methods of equal quality (per-user accuracies in eighths, exchangeable within each user). The
    false-positive rate must not be shown above 5% (one-sided binomial test of the simulated rate)."""
    rng = np.random.default_rng(n_users)
    rejections = []
    for _ in range(600):
        skill = rng.uniform(0.3, 0.9, n_users)
        a, b = (rng.binomial(8, skill) / 8 for _ in range(2))
        d = paired_user_difference(per_user(a), per_user(b), n_boot=1000, seed=int(rng.integers(1 << 30)))
        excludes_zero = not d["ci"][0] <= 0 <= d["ci"][1]
        assert excludes_zero == (d["p_value"] < 0.05), d
        rejections.append(d["p_value"] < 0.05)
    assert binomtest(sum(rejections), len(rejections), 0.05, alternative="greater").pvalue > 0.01, np.mean(rejections)


def test_ci_inverts_the_test_exactly_for_few_users():
    diff = np.array([0.25, 0.125, 0.5, -0.125, 0.375, 0.0, 0.25])
    low, high = sign_flip_ci(diff)
    for delta, inside in ((low + 1e-6, True), (high - 1e-6, True), (low - 1e-5, False), (high + 1e-5, False)):
        assert (sign_flip_pvalue(diff - delta) > 0.05) == inside, delta
    assert sign_flip_ci(diff, level=0.99)[0] < low  # a simultaneous (Bonferroni) CI is wider
