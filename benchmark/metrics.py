"""Scoring under the reference protocol, with confidence intervals that resample users.

Each test pair is judged in both orders; a judgment is correct when it prefers the chosen response; ties
and failures count as wrong. A user's accuracy is the mean of their 2N judgments. Micro accuracy averages
all judgments, macro accuracy averages users. Run-level CIs are percentile bootstraps over users (clusters),
never over order-duplicated items, widened under SMALL_U users. A user's own CI is a Clopper-Pearson
interval over their N pairs (a pair scores 0, ½ or 1), since a bootstrap over 4-10 pairs under-covers.
What a method cannot give (soft accuracy without probabilities) is None, never 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from benchmark.stats import clopper_pearson, percentile_ci, small_sample_widen

SMALL_U = 20  # below this many users the percentile bootstrap under-covers: widened, and the summary says so

PER_USER_COLUMNS = ["user_id", "n_test", "n_judgments", "accuracy", "ci_low", "ci_high", "failures", "ties",
                    "order_consistency", "soft_accuracy", "mean_margin_chosen", "calls", "prompt_tokens",
                    "completion_tokens", "seconds"]


def items_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(list(records))
    cost = pd.json_normalize(df.pop("cost").tolist())
    df = pd.concat([df.reset_index(drop=True), cost], axis=1)
    return df.sort_values(["user_id", "pair_id", "order"], kind="stable").reset_index(drop=True)


def _pair_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per pair: correct count over both orders (0..2) and whether the orders agree."""
    wide = df.pivot(index=["user_id", "pair_id"], columns="order", values="preferred")
    consistent = ((wide["AB"] == "first") & (wide["BA"] == "second")) | \
                 ((wide["AB"] == "second") & (wide["BA"] == "first"))
    correct = df.groupby(["user_id", "pair_id"])["correct"].sum()
    return pd.DataFrame({"correct": correct, "consistent": consistent}).reset_index()


def soft_available(df: pd.DataFrame) -> bool:
    """Whether the method gave P(chosen) at all; where it did, a judgment without one (a failure) earns 0."""
    return bool(df["p_chosen"].notna().any())


def position_bias(df: pd.DataFrame) -> str | None:
    """'first' or 'second' when every answered judgment picked that position: a degenerate judge, whose
    accuracy is 50% by construction under the both-orders protocol and whose CI then looks spuriously tight."""
    picked = df.loc[df["preferred"].isin(["first", "second"]), "preferred"]
    return str(picked.iloc[0]) if len(picked) and picked.nunique() == 1 else None


def per_user_table(df: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Accuracy per user with an exact (Clopper-Pearson) CI over that user's pairs, both orders together.
    `n_boot` and `seed` are kept for callers; the per-user CI needs no resampling."""
    pairs = _pair_table(df)
    soft = soft_available(df)
    rows, pairs_of = [], dict(list(pairs.groupby("user_id", sort=False)))  # one pass: PRISM has 723 users
    for user_id, group in df.groupby("user_id", sort=True):
        user_pairs = pairs_of[user_id]
        low, high = clopper_pearson(user_pairs["correct"].sum() / 2.0, len(user_pairs))
        rows.append({
            "user_id": user_id, "n_test": len(user_pairs), "n_judgments": len(group),
            "accuracy": float(group["correct"].mean()), "ci_low": low, "ci_high": high,
            "failures": int((group["preferred"] == "fail").sum()), "ties": int((group["preferred"] == "tie").sum()),
            "order_consistency": float(user_pairs["consistent"].mean()),
            "soft_accuracy": float(group["p_chosen"].fillna(0.0).mean()) if soft else None,
            "mean_margin_chosen": float(group["margin_chosen"].mean()) if "margin_chosen" in group else None,
            "calls": int(group["calls"].sum()), "prompt_tokens": int(group["prompt_tokens"].sum()),
            "completion_tokens": int(group["completion_tokens"].sum()), "seconds": float(group["seconds"].sum()),
        })
    return pd.DataFrame(rows, columns=PER_USER_COLUMNS)


def user_bootstrap(correct: np.ndarray, count: np.ndarray, n_boot: int, seed: int) -> dict[str, tuple[float, float]]:
    """Micro and macro accuracy CIs from resampling users: `correct[u]` of `count[u]` judgments."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(correct), (n_boot, len(correct)))
    micro = correct[idx].sum(axis=1) / count[idx].sum(axis=1)
    macro = (correct / count)[idx].mean(axis=1)
    cis = {"micro": percentile_ci(micro), "macro": percentile_ci(macro)}
    if len(correct) < SMALL_U:
        estimates = {"micro": correct.sum() / count.sum(), "macro": (correct / count).mean()}
        cis = {k: small_sample_widen(estimates[k], ci, len(correct)) for k, ci in cis.items()}
    return cis


def summarize(df: pd.DataFrame, per_user: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    correct = df.groupby("user_id", sort=True)["correct"].sum().to_numpy(dtype=float)
    count = df.groupby("user_id", sort=True)["correct"].size().to_numpy(dtype=float)
    cis = user_bootstrap(correct, count, n_boot, seed)
    n = len(df)
    margins = df["margin_chosen"].dropna() if "margin_chosen" in df else pd.Series(dtype=float)
    return {
        "n_users": int(len(per_user)), "n_pairs": int(per_user["n_test"].sum()), "n_judgments": n,
        "micro_accuracy": float(df["correct"].mean()), "micro_ci": list(cis["micro"]),
        "macro_accuracy": float(per_user["accuracy"].mean()), "macro_ci": list(cis["macro"]),
        "failures": int((df["preferred"] == "fail").sum()), "failure_rate": float((df["preferred"] == "fail").mean()),
        "ties": int((df["preferred"] == "tie").sum()), "tie_rate": float((df["preferred"] == "tie").mean()),
        "order_consistency": float((per_user["order_consistency"] * per_user["n_test"]).sum()
                                   / per_user["n_test"].sum()),
        "soft_accuracy": float(df["p_chosen"].fillna(0.0).mean()) if soft_available(df) else None,
        "degenerate": position_bias(df),  # 'first' / 'second': always picks that position
        "ci_note": (f"only {len(per_user)} users: CIs widened for small samples (t with U-1 df), still rough"
                    if len(per_user) < SMALL_U else None),
        "mean_margin_chosen": float(margins.mean()) if len(margins) else None,  # reward models only
        "cost": {k: float(df[k].sum()) for k in ("calls", "prompt_tokens", "completion_tokens", "seconds")},
        "seconds_per_judgment": float(df["seconds"].sum() / n) if n else 0.0,
    }

