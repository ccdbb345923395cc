"""SIGKILL a real `prbench` process midway, resume it: same per-user table, no item judged twice."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd

TIMING = ["seconds", "fit_seconds"]  # wall-clock columns legitimately differ between runs


def prbench(tmp_path, *args):
    cmd = [sys.executable, "-m", "benchmark.runner.main", "backend=mock", "backend.latency_s=0.03",
           "logger=none", "cache.mode=off", "split.max_users=10", f"results_dir={tmp_path}", *args]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HYDRA_FULL_ERROR": "1"})


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_sigkill_then_resume(tmp_path):
    items = tmp_path / "runs" / "killed" / "items.jsonl"
    victim = prbench(tmp_path, "run_name=killed")
    deadline = time.time() + 120
    while len(lines(items)) < 24 and victim.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    done_before = len(lines(items))
    assert 0 < done_before < 86, "the run should have been killed midway"
    assert not (tmp_path / "runs" / "killed" / "summary.json").exists()

    resumed = prbench(tmp_path, "run_name=killed", "resume=true")
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read()
    full = prbench(tmp_path, "run_name=full")
    assert full.wait(timeout=120) == 0, full.stderr.read()

    keys = [tuple(__import__("json").loads(line)[k] for k in ("pair_id", "order")) for line in lines(items)]
    assert len(keys) == len(set(keys)) == 86
    table = lambda name: pd.read_csv(tmp_path / "runs" / name / "per_user.csv").drop(columns=TIMING)
    pd.testing.assert_frame_equal(table("killed"), table("full"))
