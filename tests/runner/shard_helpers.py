"""Shared by the shard tests: running prbench, and comparing a merged run with an unsharded one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

TIMING = ["seconds", "fit_seconds"]  # per_user.csv columns that are wall-clock times
SUMMARY_TIMING = {"run_name", "setup_seconds", "fit_seconds", "seconds_per_judgment", "model_usage",
                  # how full one process kept its engine: a merged run has no single process to report
                  "users_in_flight", "wall_seconds", "requests_in_flight_mean", "requests_in_flight_max",
                  "prompt_tokens_per_s"}
# Means of float32 model outputs: an embedding's last bits depend on what else was in its batch (the
# embedder caches by text, and a shard batches other texts than the whole run), so these agree to ~1e-6,
# not bit for bit. Every decision, accuracy, count and CI is compared exactly.
FLOAT_NOISE = ["soft_accuracy", "mean_margin_chosen"]


def prbench(results_dir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    flags = [a for a in args if a.startswith("-")]  # Hydra's flags (-m) go before the overrides
    cmd = [sys.executable, "-m", "benchmark.runner.main", *flags, "logger=none", "cache.mode=off",
           f"results_dir={results_dir}", *(a for a in args if not a.startswith("-"))]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "HYDRA_FULL_ERROR": "1"})


def comparable_summary(run_dir: Path) -> tuple[dict, list]:
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["cost"].pop("seconds")
    exact = {k: v for k, v in summary.items() if k not in SUMMARY_TIMING and k not in FLOAT_NOISE}
    return exact, [summary.get(k) for k in FLOAT_NOISE]


def assert_same_run(merged: Path, unsharded: Path) -> None:
    """Accuracies, counts and CIs of the merged run are those of the unsharded run, to the last digit."""
    table = lambda run: pd.read_csv(run / "per_user.csv").drop(columns=TIMING)
    ours, theirs = table(merged), table(unsharded)
    pd.testing.assert_frame_equal(ours.drop(columns=FLOAT_NOISE), theirs.drop(columns=FLOAT_NOISE), check_exact=True)
    pd.testing.assert_frame_equal(ours[FLOAT_NOISE], theirs[FLOAT_NOISE], check_exact=False, rtol=1e-4)
    (exact, noisy), (exact_ref, noisy_ref) = comparable_summary(merged), comparable_summary(unsharded)
    assert exact == exact_ref
    assert [v is None for v in noisy] == [v is None for v in noisy_ref]  # n/a in both, or in neither
    present = lambda values: [v for v in values if v is not None]
    assert present(noisy) == pytest.approx(present(noisy_ref), rel=1e-4, abs=1e-9)
    keys = lambda run: sorted((r["pair_id"], r["order"], r["preferred"]) for r in
                              map(json.loads, (run / "items.jsonl").read_text().splitlines()))
    assert keys(merged) == keys(unsharded)
