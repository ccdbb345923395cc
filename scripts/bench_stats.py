"""Measure the statistics by simulation: the regression gate's false alarms given one recorded baseline and
its power; the paired comparison's false positives under the null and its CI's agreement with its p-value.

    python scripts/bench_stats.py [--out results/bench/stats.json]

A stochastic method is modelled by per-judgment success probabilities q ~ Beta(0.3, 0.3) (most items are
easy or hard for a model, a few are coin flips), drawn once per benchmark. Recording draws R reruns from q
(benchmark.regress.RerunBaseline); a rerun of equal quality draws again from q, a worse one from
q · (1 − drop / mean q), which lowers expected accuracy by `drop`. Every number comes from the gate's own
functions (tolerance, changes). tests/test_regress.py and tests/test_stats.py run smaller versions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.regress import RerunBaseline
from benchmark.stats import paired_user_difference

# users × judgments per user (test pairs × 2 orders): the demo (60 × 4 × 2), PersonalRewardBench's Chatbot
# Arena (131 users) and PRISM (723 users) at their typical test pairs per user
SIZES = {"demo": (60, 8), "chatbot_arena": (131, 12), "prism": (723, 10)}


def trip_rates(n_users: int, per_user: int, reruns: int, drop: float, n_baselines: int, n_new: int,
               seed: int = 0) -> np.ndarray:
    """For each of `n_baselines` recorded baselines, the share of `n_new` reruns the gate fails."""
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n_users), per_user).astype(str).tolist()
    rates = []
    for _ in range(n_baselines):
        q = rng.beta(0.3, 0.3, n_users * per_user)
        baseline = RerunBaseline.from_runs(users, rng.random((reruns, len(q))) < q)
        worse = q * (1 - drop / q.mean())
        new = rng.random((n_new, len(q))) < worse
        rates.append(np.mean(baseline.changes(new) < -baseline.tolerance()))
    return np.array(rates)


def measure(reruns: int, n_baselines: int, n_new: int) -> dict:
    out = {}
    for name, (users, per_user) in SIZES.items():
        null = trip_rates(users, per_user, reruns, 0.0, n_baselines, n_new)
        out[name] = {"users": users, "judgments_per_user": per_user, "reruns": reruns,
                     "false_alarm_q95": float(np.quantile(null, 0.95)),
                     "baselines_with_false_alarms_le_5pct": float(np.mean(null <= 0.05)),
                     "false_alarm_mean": float(null.mean()),
                     **{f"power_{int(100 * d)}pt": float(trip_rates(users, per_user, reruns, d, n_baselines // 2,
                                                                    n_new, seed=1).mean()) for d in (0.03, 0.05)}}
    return out


def comparison_null(n_users: int, n_sims: int, seed: int = 0) -> dict:
    """Two methods of equal quality (per-user accuracies in eighths, exchangeable within each user)."""
    rng = np.random.default_rng(seed)
    table = lambda acc: pd.DataFrame({"user_id": [f"u{i}" for i in range(n_users)], "accuracy": acc})
    rejected, agree = [], []
    for _ in range(n_sims):
        skill = rng.uniform(0.3, 0.9, n_users)
        a, b = (rng.binomial(8, skill) / 8 for _ in range(2))
        d = paired_user_difference(table(a), table(b), n_boot=1000, seed=int(rng.integers(1 << 30)))
        rejected.append(d["p_value"] < 0.05)
        agree.append((not d["ci"][0] <= 0 <= d["ci"][1]) == rejected[-1])
    return {"users": n_users, "simulations": n_sims, "false_positive_rate": float(np.mean(rejected)),
            "ci_agrees_with_p_value": float(np.mean(agree))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("results/bench/stats.json"))
    parser.add_argument("--baselines", type=int, default=200)
    parser.add_argument("--reruns-per-baseline", type=int, default=1000)
    args = parser.parse_args()
    gate = {f"reruns_{r}": measure(r, args.baselines, args.reruns_per_baseline) for r in (3, 5)}
    compare = {f"users_{n}": comparison_null(n, 2000, seed=n) for n in (12, 60)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"regression_gate": gate, "comparison_null": compare}, indent=2) + "\n")
    for row in compare.values():
        print(f"compare, {row['users']} users: null false positives {100 * row['false_positive_rate']:.2f}%, "
              f"CI agrees with p in {100 * row['ci_agrees_with_p_value']:.1f}% of {row['simulations']}")
    for key, sizes in gate.items():
        for name, row in sizes.items():
            print(f"{key} {name}: false alarms ≤ 5% for {100 * row['baselines_with_false_alarms_le_5pct']:.0f}% of "
                  f"baselines (95th pct {100 * row['false_alarm_q95']:.1f}%); power 3 pt "
                  f"{100 * row['power_3pt']:.0f}%, 5 pt {100 * row['power_5pt']:.0f}%")


if __name__ == "__main__":
    main()
