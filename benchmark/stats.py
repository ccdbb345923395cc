"""Inference over users (clusters): paired differences, sign-flip permutation p-values, Holm correction."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

EXACT_LIMIT = 16  # up to this many users with a non-zero difference, enumerate every sign flip


def percentile_ci(samples: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(low), float(high)


def sign_flip_pvalue(diff: np.ndarray, n_perm: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value of mean(diff) under H0 'the two methods are exchangeable within each user'.

    Exact over all 2^n sign flips for small n; Monte Carlo (with the observed statistic counted) otherwise.
    """
    diff = np.asarray(diff, dtype=float)
    observed = abs(diff.mean())
    nonzero = diff[diff != 0]
    if len(nonzero) == 0:
        return 1.0
    if len(nonzero) <= EXACT_LIMIT:
        signs = np.array(list(itertools.product([1.0, -1.0], repeat=len(nonzero))))
        stats = np.abs((signs * nonzero).sum(axis=1) / len(diff))
        return float(np.mean(stats >= observed - 1e-12))
    rng = np.random.default_rng(seed)
    signs = rng.choice([1.0, -1.0], size=(n_perm, len(nonzero)))
    stats = np.abs((signs * nonzero).sum(axis=1) / len(diff))
    return float((1 + np.sum(stats >= observed - 1e-12)) / (n_perm + 1))


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order."""
    m = len(pvalues)
    order = np.argsort(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted.tolist()


def per_user_differences(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """accuracy_a − accuracy_b per user, for per-user tables of two runs on the same users."""
    joined = a.set_index("user_id")["accuracy"].to_frame("a").join(
        b.set_index("user_id")["accuracy"].to_frame("b"), how="outer")
    if joined.isna().any().any():
        raise ValueError("the two runs cover different users; compare runs on the same item set")
    return (joined["a"] - joined["b"]).to_numpy()


def paired_user_difference(a: pd.DataFrame, b: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Macro accuracy of `a` minus `b`: a CI resampling users for both runs at once, a sign-flip p-value,
    and per-user wins / losses / ties."""
    diff = per_user_differences(a, b)
    rng = np.random.default_rng(seed)
    draws = diff[rng.integers(0, len(diff), (n_boot, len(diff)))].mean(axis=1)
    return {"difference": float(diff.mean()), "ci": list(percentile_ci(draws)),
            "p_value": sign_flip_pvalue(diff, seed=seed),
            "wins": int((diff > 0).sum()), "losses": int((diff < 0).sum()), "ties": int((diff == 0).sum())}
