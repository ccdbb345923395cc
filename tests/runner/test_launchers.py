"""The shards of a run on real launchers: submitit's local executor (SLURM's code path, separate processes) and
a local Ray cluster; a shard killed mid-run and relaunched with resume=true finishes without recomputing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import ray

from benchmark.runner.merge import main as merge_main
from benchmark.runner.run import run
from tests.conftest import make_config
from tests.runner.shard_helpers import assert_same_run, prbench

FAST = ("method=longer", "backend=mock", "split.max_users=9")  # no model: the launchers are what is tested


def unsharded(tmp_path, *overrides):
    cfg = make_config(*FAST, "logger=none", "cache.mode=off", f"results_dir={tmp_path}", "run_name=full", *overrides)
    return run(cfg, tmp_path / "runs" / "full").folder


def test_submitit_local_sweep_over_shards(tmp_path):
    sweep = prbench(tmp_path, "-m", "hydra/launcher=submitit_local", *FAST, "shard.count=3", "shard.index=0,1,2",
                    "run_name=sharded")
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    jobs = {p.name for p in (tmp_path / "runs" / ".submitit").iterdir() if p.name.isdigit()}  # local job id = pid
    assert len(jobs) == 3 and str(os.getpid()) not in jobs  # three submitit jobs, each its own process
    assert_same_run(tmp_path / "runs" / "sharded", unsharded(tmp_path))


def test_ray_cluster_runs_the_shards_as_tasks(tmp_path):
    cluster = ray.init(address="local", num_cpus=2, include_dashboard=False)  # a cluster on this machine
    address = cluster.address_info["gcs_address"]
    try:
        sweep = prbench(tmp_path, "-m", "hydra/launcher=ray", f"hydra.launcher.init.address={address}",
                        "hydra.launcher.remote.num_gpus=0", "hydra.launcher.remote.num_cpus=1", *FAST,
                        "shard.count=3", "shard.index=0,1,2", "run_name=sharded")
    finally:
        ray.shutdown()
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    assert "Connected to Ray cluster" in sweep.stderr and "(_job pid=" in sweep.stdout + sweep.stderr
    assert_same_run(tmp_path / "runs" / "sharded", unsharded(tmp_path))


def test_killed_shard_resumes_without_recomputing(tmp_path):
    slow = ("method=plain", "backend=mock", "backend.latency_s=0.2", "users_in_flight=1", "split.max_users=10",
            "logger=none",
            "cache.mode=off", f"results_dir={tmp_path}", "run_name=sharded", "shard.count=2")
    shard0 = tmp_path / "runs" / "sharded" / "shards" / "0-of-2"
    cmd = [sys.executable, "-m", "benchmark.runner.main", *slow, "shard.index=0"]
    victim = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    items = shard0 / "items.jsonl"
    deadline = time.time() + 120
    while (not items.exists() or len(items.read_text().splitlines()) < 16) and victim.poll() is None \
            and time.time() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    before = items.read_bytes()
    fits = {p.name: p.stat().st_mtime_ns for p in (shard0 / "fit").iterdir()}
    assert before and not (shard0 / "part.json").exists(), "the shard should have been killed midway"

    for index in (0, 1):
        done = subprocess.run([*cmd[:-1], f"shard.index={index}", "resume=true"], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    after = items.read_bytes()
    assert after.startswith(before[:before.rfind(b"\n") + 1])  # nothing judged before the kill was redone
    keys = [(r["pair_id"], r["order"]) for r in map(json.loads, after.decode().splitlines())]
    assert len(keys) == len(set(keys))
    assert all((shard0 / "fit" / name).stat().st_mtime_ns == mtime for name, mtime in fits.items())  # no refit

    merge_main([str(tmp_path / "runs" / "sharded")])
    full = run(make_config(*(o for o in slow if not o.startswith(("run_name", "shard"))), "run_name=full"),
               tmp_path / "runs" / "full")
    assert_same_run(tmp_path / "runs" / "sharded", full.folder)
