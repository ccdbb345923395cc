"""prbench-report names the run folders that hold results but no summary yet (a killed run, a sharded run not
merged) under the leaderboard and in the report, instead of leaving them out silently."""

from __future__ import annotations

import json
import shutil

from benchmark.runs import unfinished_runs
from tests.faults.helpers_data import dataset, run_on, tool

NOTE = ("3 run(s) have no summary yet: demo/fitted, demo/killed, demo/sharded (sharded: prbench-merge it) "
        "(finish them with resume=true)")
PAGES = ("leaderboard.md", "report/report.md")
VIEWER_INDEX = "report/data/index.js"  # report.html is prbench-view's export; its leaderboard reads this document


def report(results):
    result = tool("benchmark.report.main", "--runs", results / "runs", "--out", results)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_report_lists_runs_without_a_summary(tmp_path):
    results = tmp_path / "results"
    finished = run_on(results, dataset(tmp_path / "data.jsonl"), "demo/finished")
    (results / "runs" / "demo" / "empty").mkdir()  # no results: nothing to finish
    assert "no summary yet" not in report(results)
    assert not any("no summary yet" in (results / page).read_text(encoding="utf-8") for page in PAGES)
    assert '"unfinished":[]' in (results / VIEWER_INDEX).read_text(encoding="utf-8").replace(" ", "")

    killed = results / "runs" / "demo" / "killed"  # as a run killed before its summary: items and fits on disk
    shutil.copytree(finished, killed)
    for name in ("summary.json", "per_user.csv"):
        (killed / name).unlink()
    fitted_only = results / "runs" / "demo" / "fitted"  # killed while fitting: fits, no items yet
    (fitted_only / "fit").mkdir(parents=True)
    (fitted_only / "fit" / "u0.json").write_text(json.dumps({"name": "u0", "state": {}}))
    shard = results / "runs" / "demo" / "sharded" / "shards" / "0-of-2"  # its shards are part of it, not runs
    shutil.copytree(killed, shard)

    printed = report(results)
    assert NOTE in printed
    assert printed.index("| longer | none |") < printed.index(NOTE)  # under the leaderboard
    for page in PAGES:
        assert NOTE in (results / page).read_text(encoding="utf-8"), page
    index = (results / VIEWER_INDEX).read_text(encoding="utf-8").replace(" ", "")
    assert '"unfinished":["demo/fitted","demo/killed","demo/sharded"]' in index
    assert unfinished_runs(results / "runs") == [results / "runs" / "demo" / n for n in ("fitted", "killed", "sharded")]
