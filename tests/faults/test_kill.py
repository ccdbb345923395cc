"""`kill -9` of `prbench-merge` once it has replaced the run's items.jsonl: the next merge finishes it. (It used
to refuse, saying the folder held "the results of an unsharded run".)"""

import json
import os
import subprocess
import sys

from tests.faults.servers import ENV, prbench

SHARDED = ("backend=mock", "split.max_users=4", "method=plain", "run_name=sharded", "shard.count=2")
KILLED_MERGE = """
import os, signal, sys
import benchmark.runner.merge as merge
merge.finish = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)  # dies once items.jsonl is written
merge.main(sys.argv[1:])
"""


def merge(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "benchmark.runner.merge", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=ENV)


def test_a_merge_killed_midway_is_merged_again(tmp_path):
    run_dir = tmp_path / "runs" / "sharded"
    for index in (0, 1):
        done = prbench(tmp_path, *SHARDED, f"shard.index={index}")
        assert done.returncode == 0, done.stderr[-3000:]
    killed = merge(str(run_dir), code=KILLED_MERGE)
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert (run_dir / "items.jsonl").exists() and not (run_dir / "summary.json").exists()

    again = merge(str(run_dir))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Traceback" not in again.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["n_judgments"] == len((run_dir / "items.jsonl").read_text().splitlines())
    assert json.loads((run_dir / "shards" / "merged.json").read_text())["shards"]
    assert not any(name.endswith(".tmp") for name in os.listdir(run_dir))
