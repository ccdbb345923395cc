"""SIGKILL a real concurrent `prbench` process at random points, resume it: same tables as an uninterrupted
one-user-at-a-time run, no item lost or judged twice, no torn line left behind."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd

TIMING = ["seconds", "fit_seconds"]  # wall-clock columns legitimately differ between runs


def prbench(tmp_path, *args):
    cmd = [sys.executable, "-m", "benchmark.runner.main", "backend=mock", "backend.latency_s=0.01",
           "logger=none", "cache.mode=off", "split.max_users=10", "method=synthesizeme", f"results_dir={tmp_path}",
           *args]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HYDRA_FULL_ERROR": "1"})


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_sigkill_concurrent_run_then_resume(tmp_path):
    items = tmp_path / "runs" / "killed" / "items.jsonl"
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    for attempt in range(2):  # kill twice, each time once a random number of items is written
        target = len(lines(items)) + rng.randint(1, 24)
        victim = prbench(tmp_path, "run_name=killed", "users_in_flight=4", f"resume={'true' if attempt else 'false'}")
        deadline = time.time() + 120
        while len(lines(items)) < target and victim.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    done_before = len(lines(items))
    assert 0 < done_before < 142, f"the run should have been killed midway (seed {seed})"
    assert not (tmp_path / "runs" / "killed" / "summary.json").exists()

    resumed = prbench(tmp_path, "run_name=killed", "resume=true", "users_in_flight=4")
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read()
    full = prbench(tmp_path, "run_name=full", "users_in_flight=1")
    assert full.wait(timeout=120) == 0, full.stderr.read()

    raw = items.read_text()
    assert raw.endswith("\n")
    keys = [tuple(json.loads(line)[k] for k in ("pair_id", "order")) for line in raw.splitlines()]  # no torn line
    assert len(keys) == len(set(keys)) == 142, f"seed {seed}"
    table = lambda name: pd.read_csv(tmp_path / "runs" / name / "per_user.csv").drop(columns=TIMING)
    killed, full_table = table("killed"), table("full")
    # fit costs of users fitted before a kill are not re-metered on resume; everything judged must match
    pd.testing.assert_frame_equal(killed.drop(columns=["fit_calls", "fit_prompt_tokens"]),
                                  full_table.drop(columns=["fit_calls", "fit_prompt_tokens"]))
    fits = lambda name: {p.name: json.loads(p.read_text())["state"]
                         for p in (tmp_path / "runs" / name / "fit").glob("*.json")}
    assert fits("killed") == fits("full")


def test_sigkill_after_fitting_then_changed_config_is_refused(tmp_path):
    """Killed once fit/_shared.json exists (before or just after the first judgment), rerun with another C: the
    old fits are never reused; the same config resumes to the fresh run's numbers."""
    folder = tmp_path / "runs" / "rm"
    args = ("run_name=rm", "method=reward_model", "split.max_users=4")
    victim = prbench(tmp_path, *args, "method.params.C=1.0")
    deadline = time.time() + 240
    while not (folder / "fit" / "_shared.json").exists() and victim.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (folder / "summary.json").exists(), "the run should have been killed before it finished"

    for extra in ((), ("resume=true",)):
        changed = prbench(tmp_path, *args, "method.params.C=0.001", *extra)
        assert changed.wait(timeout=240) == 2
        assert "method.params.C" in changed.stderr.read() or not extra
    resumed = prbench(tmp_path, *args, "method.params.C=1.0", "resume=true")
    assert resumed.wait(timeout=240) == 0, resumed.stderr.read()
    fresh = prbench(tmp_path, "run_name=fresh", "method=reward_model", "split.max_users=4", "method.params.C=1.0")
    assert fresh.wait(timeout=240) == 0, fresh.stderr.read()
    table = lambda name: pd.read_csv(tmp_path / "runs" / name / "per_user.csv").drop(columns=TIMING)
    pd.testing.assert_frame_equal(table("rm"), table("fresh"))


def test_two_processes_on_one_run_folder(tmp_path):
    """The second writer fails at once (exit 2) while the first holds the folder; nothing is judged twice."""
    items = tmp_path / "runs" / "shared" / "items.jsonl"
    first = prbench(tmp_path, "run_name=shared", "resume=true", "backend.latency_s=0.4", "split.max_users=3",
                    "users_in_flight=1")  # ~30 s of judging, one user at a time
    deadline = time.time() + 120
    while len(lines(items)) < 8 and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    second = prbench(tmp_path, "run_name=shared", "resume=true", "split.max_users=3")
    assert second.wait(timeout=120) == 2
    assert "in use by another prbench process" in second.stderr.read()
    assert first.poll() is None, "the first run should still have been running"
    assert first.wait(timeout=120) == 0, first.stderr.read()
    keys = [tuple(json.loads(line)[k] for k in ("pair_id", "order")) for line in lines(items)]
    assert len(keys) == len(set(keys)) == 52
