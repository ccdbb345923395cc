"""Regression gate: did this run's accuracy drop against a committed baseline, beyond the noise?

    prbench-regress --baseline results/baselines/demo.json --run results/runs/demo/reward_model
    prbench-regress --baseline results/baselines/demo.json --run DIR [DIR ...] --write   # (re)record

The baseline keeps each method's per-user accuracies and a digest of the judged items. The gate takes the
per-user differences d_u (run − baseline) and fails only when mean(d) < −tolerance, where
tolerance = max(min_tolerance, t_{1−α, U−1} · sd(d) / √U): a one-sided paired test over users. Reruns
of a method of the same quality trip it with probability ≤ α; deterministic methods (d = 0) only trip on
a real change. `min_tolerance` (half a point by default) absorbs cross-platform float jitter.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

from benchmark.compare import Run
from benchmark.errors import PrbenchError


def items_digest(run: Run) -> str:
    return hashlib.sha256("\n".join(f"{p}\t{o}" for p, o in sorted(run.items)).encode()).hexdigest()[:16]


def baseline_entry(run: Run) -> dict:
    return {"data": run.summary["data"], "model": run.summary["model"], "items_digest": items_digest(run),
            "n_items": len(run.items), "macro_accuracy": run.summary["macro_accuracy"],
            "per_user": dict(zip(run.per_user["user_id"], run.per_user["accuracy"].round(6)))}


@dataclass(frozen=True)
class Verdict:
    difference: float
    tolerance: float
    n_users: int

    @property
    def regressed(self) -> bool:
        return self.difference < -self.tolerance


def gate(current: dict[str, float], baseline: dict[str, float], alpha: float = 0.025,
         min_tolerance: float = 0.005) -> Verdict:
    """One-sided paired test over users of per-user accuracies (dicts user → accuracy)."""
    if set(current) != set(baseline):
        raise PrbenchError("run and baseline cover different users")
    users = sorted(baseline)
    d = np.array([current[u] - baseline[u] for u in users])
    se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else 0.0
    tolerance = max(min_tolerance, float(scipy_stats.t.ppf(1 - alpha, max(len(d) - 1, 1))) * se)
    return Verdict(float(d.mean()), tolerance, len(d))


def check(run: Run, entry: dict, alpha: float, min_tolerance: float) -> Verdict:
    if entry["items_digest"] != items_digest(run):
        raise PrbenchError(f"{run.folder} judged other items than the baseline ({entry['n_items']} items, digest "
                           f"{entry['items_digest']}); rerun with the baseline's data and split, or re-record it")
    current = dict(zip(run.per_user["user_id"], run.per_user["accuracy"]))
    return gate(current, entry["per_user"], alpha, min_tolerance)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="baseline JSON (one entry per method)")
    parser.add_argument("--run", type=Path, nargs="+", required=True, help="finished run folder(s)")
    parser.add_argument("--write", action="store_true", help="record these runs as the baseline instead")
    parser.add_argument("--alpha", type=float, default=0.025, help="one-sided false-alarm rate")
    parser.add_argument("--min-tolerance", type=float, default=0.005, help="smallest drop that can trip it")
    args = parser.parse_args()
    try:
        runs = [Run.load(folder) for folder in args.run]
        if args.write:
            book = json.loads(args.baseline.read_text()) if args.baseline.exists() else {}
            book.update({run.summary["method"]: baseline_entry(run) for run in runs})
            args.baseline.parent.mkdir(parents=True, exist_ok=True)
            args.baseline.write_text(json.dumps(book, indent=1, sort_keys=True) + "\n")
            print(f"recorded {', '.join(r.summary['method'] for r in runs)} in {args.baseline}")
            return
        book = json.loads(args.baseline.read_text())
        failed = []
        for run in runs:
            method = run.summary["method"]
            if method not in book:
                raise PrbenchError(f"baseline {args.baseline} has no entry for method {method!r}")
            v = check(run, book[method], args.alpha, args.min_tolerance)
            status = "REGRESSION" if v.regressed else "ok"
            print(f"{status:>10}  {method}: {100 * run.summary['macro_accuracy']:.2f} vs baseline "
                  f"{100 * book[method]['macro_accuracy']:.2f} (change {100 * v.difference:+.2f}, "
                  f"tolerance {100 * v.tolerance:.2f}, {v.n_users} users)")
            if v.regressed:
                failed.append(method)
    except (PrbenchError, FileNotFoundError) as error:
        print(f"prbench-regress: error: {error}")
        raise SystemExit(2) from None
    if failed:
        raise SystemExit(1)
