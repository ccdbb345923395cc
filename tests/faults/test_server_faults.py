"""A failing model server ends a run with a clear error and no tables, never with a number; once the server
works, `resume=true` sends again exactly what failed and gives the numbers of a run that never failed. A
model that answers something unusable is another matter: the method's counted failures, and the run finishes."""

import hashlib
import json
import subprocess
import sys

import pandas as pd
import pytest

from benchmark.store import ItemStore
from tests.faults.servers import ENV, Server, assert_same_results, last_line, openai_args, prbench


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    """The reference: the same runs against a server that never fails."""
    results = tmp_path_factory.mktemp("healthy")
    with Server() as server:
        for method in ("plain", "synthesizeme"):
            done = prbench(results, *openai_args(server, f"method={method}", f"run_name={method}"))
            assert done.returncode == 0, done.stderr[-3000:]
    return results / "runs"


def records(run_dir):
    return ItemStore(run_dir / "items.jsonl").records


@pytest.mark.parametrize("fault", ["500", "malformed"])
def test_a_failing_server_stops_the_run_then_resume_gives_the_healthy_numbers(tmp_path, healthy, fault):
    run_dir = tmp_path / "runs" / "plain"
    with Server(fault=fault) as server:
        args = openai_args(server, "run_name=plain")
        failed = prbench(tmp_path, *args)
        assert failed.returncode == 1
        line = last_line(failed.stderr)
        assert line.startswith("prbench: error: ") and server.url in line and "resume=true" in line
        assert ("HTTP 500" if fault == "500" else "malformed JSON") in line
        assert not (run_dir / "summary.json").exists() and not (run_dir / "per_user.csv").exists()
        assert server.counts[fault] <= 24, "the run should stop at once (3 users' first chunks of 8 at most)"
        assert all(r.get("request_failed") for r in records(run_dir).values() if r["preferred"] == "fail")

        server.mend()
        resumed = prbench(tmp_path, *args, "resume=true")
        assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_results(run_dir, healthy / "plain")


def test_failures_within_the_budget_are_counted_then_only_they_are_sent_again(tmp_path, healthy):
    """A few requests fail (HTTP 500), within max_failure_rate: the run finishes, counting them as failures;
    resumed against the mended server, it sends only those again (the request cache holds no failure) and
    reaches the healthy numbers."""
    unlucky = lambda body: "500" if hashlib.sha256(json.dumps(body["messages"]).encode()).digest()[0] < 20 else None
    run_dir = tmp_path / "runs" / "plain"
    with Server(pick=unlucky) as server:
        args = openai_args(server, "run_name=plain", "max_failure_rate=0.5", "cache.mode=write",
                           f"cache.path={tmp_path / 'cache.sqlite'}")
        done = prbench(tmp_path, *args)
        assert done.returncode == 0, done.stderr[-3000:]
        n_failed = server.counts["500"]
        assert 0 < n_failed < 15
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["failures"] == n_failed and summary["model_usage"]["request_failures"] == n_failed
        marked = [k for k, r in records(run_dir).items() if r.get("request_failed")]
        assert len(marked) == n_failed

        server.mend()
        before = server.counts["ok"]
        resumed = prbench(tmp_path, *args, "resume=true")
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert server.counts["ok"] - before == n_failed  # those, and only those, sent again
    lines = (run_dir / "items.jsonl").read_text().splitlines()
    assert len(lines) == 52 + n_failed  # appended, never rewritten: the later record replaces the failed one
    assert_same_results(run_dir, healthy / "plain")


def test_fits_made_of_failed_requests_are_neither_kept_nor_judged_with(tmp_path, healthy):
    """SynthesizeMe fits each user with generations; here every generation fails. No fit is kept and nothing
    is judged with one: resumed against the mended server, the run refits and gives the healthy numbers."""
    run_dir = tmp_path / "runs" / "synthesizeme"
    with Server(pick=lambda body: "500" if body.get("max_tokens") != 1 else None) as server:
        args = openai_args(server, "method=synthesizeme", "run_name=synthesizeme")
        failed = prbench(tmp_path, *args)
        assert failed.returncode == 1
        assert server.url in last_line(failed.stderr)
        assert [p.name for p in (run_dir / "fit").glob("*.json")] == ["_shared.json"]  # the setup, no fit
        assert not (run_dir / "items.jsonl").exists() or not records(run_dir)

        server.mend()
        resumed = prbench(tmp_path, *args, "resume=true")
        assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_results(run_dir, healthy / "synthesizeme")


def test_a_model_that_answers_unusably_is_the_methods_counted_failure(tmp_path):
    """Every request goes through, but no answer holds A or B among its top tokens: a weak model, not a
    failing server. The run finishes (exit 0) with every judgment a counted failure."""
    with Server(fault="unusable") as server:
        done = prbench(tmp_path, *openai_args(server, "run_name=weak"))
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((tmp_path / "runs" / "weak" / "summary.json").read_text())
    assert summary["failure_rate"] == 1.0 and summary["model_usage"]["request_failures"] == 0


def test_a_request_past_its_timeout_counts_against_the_budget(tmp_path):
    with Server(fault="hang", hang_s=5) as server:
        failed = prbench(tmp_path, *openai_args(server, "backend.timeout_s=0.5", "run_name=slow"))
    assert failed.returncode == 1
    line = last_line(failed.stderr)
    assert "gave up after 1 attempts" in line and server.url in line and "max_failure_rate=0.05" in line
    assert server.counts["hang"] <= 24, "the budget should stop the run before every request timed out"
    assert not (tmp_path / "runs" / "slow" / "summary.json").exists()


def test_every_request_failing_stops_the_run_whatever_the_budget(tmp_path):
    """With max_failure_rate=1 every request may fail: still no number is made of nothing but failures."""
    with Server(fault="500") as server:
        failed = prbench(tmp_path, *openai_args(server, "max_failure_rate=1", "run_name=all"))
    assert failed.returncode == 1
    assert "every request to the model server at" in last_line(failed.stderr)
    assert server.counts["500"] == 52 and not (tmp_path / "runs" / "all" / "summary.json").exists()


def test_a_sweep_with_a_run_over_budget_fails_and_no_table_lists_that_run(tmp_path):
    with Server(fault="500") as server:
        overrides = [a for a in openai_args(server) if not a.startswith("method=")]
        sweep = prbench(tmp_path, "-m", *overrides, "method=longer,plain")
    assert sweep.returncode == 1 and "prbench: error: " in last_line(sweep.stderr)
    assert (tmp_path / "runs" / "demo" / "longer" / "summary.json").exists()
    assert not (tmp_path / "runs" / "demo" / "plain" / "summary.json").exists()
    report = subprocess.run([sys.executable, "-c", "from benchmark.report import main; main()", "--runs",
                             str(tmp_path / "runs"), "--out", str(tmp_path)], capture_output=True, text=True, env=ENV)
    assert report.returncode == 0, report.stderr[-3000:]
    assert list(pd.read_csv(tmp_path / "leaderboard.csv")["method"]) == ["longer"]
