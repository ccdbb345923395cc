"""One run split into shards (shard.count / shard.index), then merged: the unsharded run's tables exactly."""

from __future__ import annotations

import json
import multiprocessing
import os
import time

import pandas as pd
import pytest

from baselines.longer import PreferLonger
from benchmark.errors import RunError
from benchmark.methods import register_method
from benchmark.runner.merge import main as merge_main
from benchmark.runner.merge import merge_finished
from benchmark.runner.run import run
from benchmark.runner.shards import shard_of
from tests.conftest import make_config
from tests.runner.shard_helpers import assert_same_run, prbench

SETUP_COUNTER = "PRBENCH_TEST_SETUP_COUNTER"


@register_method("count_setup")
class CountingSetup(PreferLonger):
    """`longer`, with a slow global setup that leaves one line per call in $PRBENCH_TEST_SETUP_COUNTER."""

    def setup(self, users):
        time.sleep(1.0)  # long enough for the other shards to reach the lock meanwhile
        with open(os.environ[SETUP_COUNTER], "a") as counter:
            counter.write(f"{os.getpid()}\n")
        return {"trained_on": len(users)}

    def judge(self, items, state):
        if self.shared != {"trained_on": 9}:  # every shard must see the one setup, over every user
            raise RuntimeError(f"shared state not restored: {self.shared}")
        return super().judge(items, state)


def test_shard_assignment_is_stable_and_balanced():
    users = [f"user_{i}" for i in range(3000)]
    counts = pd.Series([shard_of(u, 4) for u in users]).value_counts()
    assert sorted(counts.index) == [0, 1, 2, 3] and counts.min() > 650  # ~750 each
    assert shard_of("user_7", 4) == 2 and shard_of("demo_user_00", 3) == 1  # sha256, not the salted hash()


def test_sharded_sweep_then_merge_equals_unsharded_run(tmp_path):
    common = ("method=reward_model", "split.max_users=9")
    runs = tmp_path / "runs"
    run(make_config(*common, "logger=none", "cache.mode=off", f"results_dir={tmp_path}", "run_name=full"),
        runs / "full")
    sweep = prbench(tmp_path, "-m", *common, "shard.count=3", "shard.index=0,1,2", "run_name=sharded")
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    parts = [json.loads((runs / "sharded" / "shards" / f"{i}-of-3" / "part.json").read_text()) for i in range(3)]
    assert sorted(u for p in parts for u in p["outcome"]["sizes"]) == pd.read_csv(runs / "full" / "per_user.csv")[
        "user_id"].tolist()
    assert_same_run(runs / "sharded", runs / "full")  # merged by the sweep's end

    board = pd.read_csv(tmp_path / "leaderboard.csv")
    assert sorted(board["run"]) == ["full", "sharded"]  # one row per run, none per shard

    merge_main([str(runs / "sharded")])  # prbench-merge merges the same again
    assert_same_run(runs / "sharded", runs / "full")


def test_merge_names_a_missing_changed_or_unfinished_shard(tmp_path, capsys):
    base = ("method=longer", "backend=mock", "logger=none", "cache.mode=off", "split.max_users=9",
            f"results_dir={tmp_path}", "shard.count=3")
    run_dir = tmp_path / "runs" / "x"
    shard = lambda i, *more: run(make_config(*base, f"shard.index={i}", *more), run_dir)

    def merge_error() -> str:
        with pytest.raises(SystemExit) as stop:
            merge_main([str(run_dir)])
        assert stop.value.code == 2
        return capsys.readouterr().err

    shard(0), shard(1)
    assert "shard 2-of-3 is missing" in merge_error()
    assert not (run_dir / "summary.json").exists()

    with pytest.raises(RunError, match=r"shard 2-of-3: .* another config \(batch_size changed\)"):
        shard(2, "batch_size=4")  # refused before it writes: the others' setup is not its own
    shard(2, "resume=true", "backend.latency_s=0.001")  # operational keys may differ between shards
    config = run_dir / "shards" / "2-of-3" / "config.yaml"
    config.write_text(config.read_text().replace("batch_size: 8", "batch_size: 4"))  # e.g. an older prbench's
    assert "shard 2-of-3 was run with a different config than shard 0-of-3: batch_size (8 != 4)" in merge_error()
    shard(2, "resume=true", "backend.latency_s=0.001")  # writes its config.yaml again

    part = run_dir / "shards" / "1-of-3" / "part.json"
    finished = part.read_text()
    part.write_text("{")  # a damaged file: named in one line, never a traceback
    assert f"prbench-merge: error: file {part}, row 1: not valid JSON" in merge_error()
    part.write_text(finished)
    marker = run_dir / "shards" / "merged.json"
    marker.write_text("{")  # the end of a sweep reports a run it cannot merge, and goes on
    assert merge_finished(tmp_path / "runs") == []
    assert f"prbench-merge: {run_dir} not merged: file {marker}, row 1: not valid JSON" in capsys.readouterr().err
    marker.unlink()

    part.unlink()  # as if killed before its end
    assert "shard 1-of-3 is unfinished" in merge_error()
    shard(1, "resume=true")

    merge_main([str(run_dir)])
    run(make_config(*base[:-1], "run_name=full"), tmp_path / "runs" / "full")
    assert_same_run(run_dir, tmp_path / "runs" / "full")


def _shard_process(cfg, run_dir) -> None:
    try:
        run(cfg, run_dir)
    except BaseException as error:  # noqa: BLE001  (reported through the exit code)
        print(f"shard failed: {error!r}", flush=True)
        os._exit(1)
    os._exit(0)


def test_concurrent_shards_run_the_global_setup_once(tmp_path, monkeypatch):
    counter = tmp_path / "setup_calls.txt"
    monkeypatch.setenv(SETUP_COUNTER, str(counter))
    base = ("method=longer", "method.kind=count_setup", "backend=mock", "logger=none", "cache.mode=off",
            "split.max_users=9", f"results_dir={tmp_path}", "shard.count=3")
    run_dir = tmp_path / "runs" / "x"
    configs = [make_config(*base, f"shard.index={i}") for i in range(3)]
    fork = multiprocessing.get_context("fork")  # real processes: the lock is a POSIX lock, per process
    shards = [fork.Process(target=_shard_process, args=(cfg, run_dir)) for cfg in configs]
    for process in shards:
        process.start()
    for process in shards:
        process.join(timeout=300)
    assert [p.exitcode for p in shards] == [0, 0, 0]
    assert len(counter.read_text().splitlines()) == 1  # trained once, not three times
    merge_main([str(run_dir)])
    assert json.loads((run_dir / "summary.json").read_text())["n_users"] == 9
