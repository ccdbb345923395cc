"""SIGINT / SIGTERM during a run: what was judged is kept, one line says so and how to continue, exit code
130 / 143, no traceback; the resumed run (here with more requests in flight: an operational key) gives the
numbers of a run never interrupted."""

import json
import signal
import time

import pytest

from tests.faults.servers import Server, assert_same_results, last_line, openai_args, prbench, start


@pytest.fixture(scope="module")
def never_interrupted(tmp_path_factory):
    results = tmp_path_factory.mktemp("reference")
    with Server() as server:
        done = prbench(results, *openai_args(server, "run_name=full"))
    assert done.returncode == 0, done.stderr[-3000:]
    return results / "runs" / "full"


def judged(run_dir) -> int:
    items = run_dir / "items.jsonl"
    return len(items.read_text().splitlines()) if items.exists() else 0


def signal_after(process, run_dir, n_items: int, signum: int, deadline_s: float = 120) -> float:
    """Send `signum` once `n_items` judgments are on disk; returns when it was sent."""
    deadline = time.time() + deadline_s
    while judged(run_dir) < n_items and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signum)
    return time.time()


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_saves_stops_and_the_resumed_run_gives_the_same_numbers(tmp_path, never_interrupted, signum, code):
    run_dir = tmp_path / "runs" / "plain"
    with Server(delay_s=0.05) as server:  # 52 judgments, 2 in flight: about 1.3 s of requests
        args = openai_args(server, "run_name=plain", "backend.max_concurrency=2")
        victim = start(tmp_path, *args)
        signal_after(victim, run_dir, 10, signum)
        _, stderr = victim.communicate(timeout=60)
        assert victim.returncode == code, stderr[-3000:]
        line = last_line(stderr)
        name = signal.Signals(signum).name
        assert line.startswith(f"prbench: stopped by {name}: ") and "resume=true" in line and str(run_dir) in line
        saved = judged(run_dir)
        assert 10 <= saved < 52 and f"{saved} judgments" in line
        assert not (run_dir / "summary.json").exists()
        assert json.loads((run_dir / "usage.json").read_text())["total"]["calls"] >= saved

        resumed = prbench(tmp_path, *args[:-1], "backend.max_concurrency=8", "resume=true")
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert judged(run_dir) == 52  # nothing judged twice
    assert_same_results(run_dir, never_interrupted)


def test_sigint_while_requests_hang_stops_at_once(tmp_path):
    """The server holds every request (the client would wait 60 s): the requests in flight are abandoned."""
    run_dir = tmp_path / "runs" / "plain"
    with Server(fault="hang", hang_s=60) as server:
        victim = start(tmp_path, *openai_args(server, "run_name=plain", "backend.timeout_s=60"))
        deadline = time.time() + 120
        while sum(server.counts.values()) < 4 and victim.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert victim.poll() is None
        sent = time.time()
        victim.send_signal(signal.SIGINT)
        _, stderr = victim.communicate(timeout=60)
        waited = time.time() - sent
    assert victim.returncode == 130, stderr[-3000:]
    assert last_line(stderr).startswith("prbench: stopped by SIGINT: 0 judgments")
    assert waited < 15, f"took {waited:.0f} s to stop"
    assert not (run_dir / "summary.json").exists()
