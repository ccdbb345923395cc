"""The regression gate: false alarms at most α on reruns of equal quality; a 5-point drop trips it."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmark.regress import gate
from benchmark.runner.run import run


def simulate(rng, n_users, judgments_per_user, drop):
    """Per-judgment success probabilities q ~ Beta(0.3, 0.3) (most items are easy or hard for a model, as
    for real judges), drawn once; each run draws outcomes from them; `drop` removes that much accuracy."""
    q = rng.beta(0.3, 0.3, (n_users, judgments_per_user))
    base = rng.random(q.shape) < q
    rerun = rng.random(q.shape) < q
    if drop:
        rerun &= rng.random(q.shape) >= drop / q.mean()
    users = [f"u{i}" for i in range(n_users)]
    return dict(zip(users, rerun.mean(axis=1))), dict(zip(users, base.mean(axis=1)))


def trip_rate(n_users, judgments_per_user, drop, n_sims=400):
    rng = np.random.default_rng(12345)
    return np.mean([gate(*simulate(rng, n_users, judgments_per_user, drop)).regressed for _ in range(n_sims)])


def test_false_alarms_at_most_five_percent():
    for n_users, per_user in ((60, 8), (131, 12), (723, 10)):  # demo, PRB Chatbot Arena, PRB PRISM sizes
        assert trip_rate(n_users, per_user, drop=0.0) <= 0.05


def test_a_real_five_point_drop_trips_it():
    assert trip_rate(131, 12, drop=0.05) >= 0.95
    assert trip_rate(723, 10, drop=0.05) >= 0.99


def test_deterministic_reruns_pass_broad_drops_trip_one_user_does_not():
    same = {f"u{i}": 0.5 + 0.01 * i for i in range(20)}
    assert not gate(same, same).regressed
    assert gate({u: a - 0.125 for u, a in same.items()}, same).regressed  # every user lost one judgment of 8
    lone = dict(same, u0=same["u0"] - 0.25)  # one user lost two: within the noise of 20 users
    verdict = gate(lone, same)
    assert not verdict.regressed and verdict.difference == -0.0125


def test_cli_records_then_passes(quick, tmp_path):
    cfg = quick("method=longer")
    folder = run(cfg, Path(cfg.results_dir) / "runs" / cfg.run_name).folder
    baseline = tmp_path / "baseline.json"
    cli = [sys.executable, "-c", "from benchmark.regress import main; main()", "--baseline", str(baseline),
           "--run", str(folder)]
    assert subprocess.run(cli + ["--write"], capture_output=True).returncode == 0
    assert json.loads(baseline.read_text())["longer"]["n_items"] == 66
    ok = subprocess.run(cli, capture_output=True, text=True)
    assert ok.returncode == 0 and "ok" in ok.stdout
    book = json.loads(baseline.read_text())
    book["longer"]["per_user"] = {u: min(1.0, a + 0.3) for u, a in book["longer"]["per_user"].items()}
    baseline.write_text(json.dumps(book))
    bad = subprocess.run(cli, capture_output=True, text=True)
    assert bad.returncode == 1 and "REGRESSION" in bad.stdout
