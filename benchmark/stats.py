"""Inference over users (clusters): paired differences, sign-flip permutation p-values, Holm correction."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

EXACT_LIMIT = 16  # up to this many users with a non-zero difference, enumerate every sign flip


def percentile_ci(samples: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(low), float(high)


def clopper_pearson(successes: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial CI; `successes` may be fractional (a pair judged right in one order of two counts ½),
    which only makes it more conservative. Never zero-width: 4 of 4 gives [0.40, 1]."""
    if n == 0:
        return 0.0, 1.0
    a = (1 - level) / 2
    low = scipy_stats.beta.ppf(a, successes, n - successes + 1) if successes > 0 else 0.0
    high = scipy_stats.beta.ppf(1 - a, successes + 1, n - successes) if successes < n else 1.0
    return float(low), float(high)


def small_sample_widen(estimate: float, ci: tuple[float, float], n_users: int) -> tuple[float, float]:
    """Widen a percentile bootstrap CI over few users: it acts like a z interval with a variance biased by
    (U-1)/U; scale each side by t_{U-1}/z · sqrt(U/(U-1)), clipped to [0, 1]."""
    if n_users < 2:
        return 0.0, 1.0
    factor = scipy_stats.t.ppf(0.975, n_users - 1) / scipy_stats.norm.ppf(0.975) * np.sqrt(n_users / (n_users - 1))
    return (float(max(0.0, estimate - factor * (estimate - ci[0]))),
            float(min(1.0, estimate + factor * (ci[1] - estimate))))


def sign_matrix(n: int, n_perm: int = 10_000, seed: int = 0) -> tuple[np.ndarray, bool]:
    """Every one of the 2^n sign flips when there are at most EXACT_LIMIT users, else `n_perm` seeded ones."""
    if n <= EXACT_LIMIT:
        return np.array(list(itertools.product([1.0, -1.0], repeat=n))), True
    return np.random.default_rng(seed).choice([1.0, -1.0], size=(n_perm, n)), False


def _flip_pvalue(diff: np.ndarray, signs: np.ndarray, exact: bool) -> float:
    observed = abs(diff.sum())
    if observed == 0:
        return 1.0
    hits = np.sum(np.abs(signs @ diff) >= observed - 1e-12 * max(1.0, observed))
    return float(hits / len(signs)) if exact else float((1 + hits) / (len(signs) + 1))


def sign_flip_pvalue(diff: np.ndarray, n_perm: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value of mean(diff) under H0 'the two methods are exchangeable within each user'.

    Exact over all 2^n sign flips of the users with a non-zero difference for small n; Monte Carlo (with
    the observed statistic counted) otherwise. Written out rather than scipy.stats.permutation_test because
    sign_flip_ci inverts it with the very same sign flips, so the CI and the p-value always agree."""
    diff = np.asarray(diff, dtype=float)
    nonzero = diff[diff != 0]
    if len(nonzero) == 0:
        return 1.0
    signs, exact = sign_matrix(len(nonzero), n_perm, seed)
    return _flip_pvalue(nonzero, signs, exact)


def sign_flip_ci(diff: np.ndarray, level: float = 0.95, n_perm: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """CI for the mean difference by inverting the sign-flip test: the shifts δ for which the test of
    diff − δ does not reject at 1 − level. Excludes 0 exactly when sign_flip_pvalue(diff) < 1 − level
    (edges otherwise to within 1e-7), which a bootstrap CI does not guarantee."""
    diff = np.asarray(diff, dtype=float)
    signs, exact = sign_matrix(len(diff), n_perm, seed)
    return _invert(diff, signs, exact, level)


def _invert(diff: np.ndarray, signs: np.ndarray, exact: bool, level: float) -> tuple[float, float]:
    alpha, center = 1 - level, float(diff.mean())
    flipped, flips = signs @ diff, signs.sum(axis=1)  # signs @ (diff − δ) = flipped − δ · flips

    def accepted(delta: float) -> bool:
        observed = abs(diff.sum() - delta * len(diff))
        if observed == 0:
            return True
        hits = np.sum(np.abs(flipped - delta * flips) >= observed - 1e-12 * max(1.0, observed))
        return (hits / len(signs) if exact else (1 + hits) / (len(signs) + 1)) >= alpha  # p < α rejects

    def edge(outside: float) -> float:
        inside = center  # p = 1 at the mean; bisect towards the first shift the test rejects
        if accepted(outside):
            return outside
        for _ in range(60):
            middle = (inside + outside) / 2
            inside, outside = (middle, outside) if accepted(middle) else (inside, middle)
            if abs(outside - inside) < 1e-7:
                break
        if min(inside, outside) <= 0 <= max(inside, outside):  # the edge is 0 (p jumps at ties): decide it exactly
            return 0.0 if accepted(0.0) else outside
        return inside

    spread = float(np.ptp(diff)) + 1e-9
    return edge(float(diff.min()) - spread), edge(float(diff.max()) + spread)


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


def paired_user_difference(a: pd.DataFrame, b: pd.DataFrame, n_boot: int | None = None, seed: int = 0,
                           level: float = 0.95) -> dict[str, Any]:
    """Macro accuracy of `a` minus `b` over the same users: a two-sided sign-flip p-value and the CI that
    inverts the same test (the same sign flips, so they agree) at `level` (lower it, e.g. Bonferroni, for
    simultaneous CIs); per-user wins / losses / ties. `n_boot`: random sign flips beyond EXACT_LIMIT users."""
    diff = per_user_differences(a, b)
    signs, exact = sign_matrix(len(diff), n_boot or 10_000, seed)
    return {"difference": float(diff.mean()), "ci": list(_invert(diff, signs, exact, level)),
            "p_value": _flip_pvalue(diff, signs, exact), "ci_level": level,
            "wins": int((diff > 0).sum()), "losses": int((diff < 0).sum()), "ties": int((diff == 0).sum())}
