"""Shared by the fault tests: a local model server that can be broken and mended while runs use it, and the
real `prbench` command run against it.

`Server` answers like benchmark/models/stand_in.py (a deterministic function of the prompt, so runs against
it are comparable) on 127.0.0.1, or fails as told: `fault` for every request, or `pick(body)` naming the
fault of each request (None: answer it). A fault is one of HTTP 500 / 400, a malformed body, a hang past the
client's timeout, or an answer the model "gave" that is unusable (no A or B among its top tokens: the model's
failure, not the server's).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from benchmark.models.stand_in import answer
from benchmark.store import ItemStore
from tests.loopback import JSONHandler, LoopbackServer

FAULTS = ("500", "400", "malformed", "hang", "unusable")
TIMING = ["seconds", "fit_seconds"]  # per_user.csv columns that are wall-clock times
# summary.json fields that differ between identical runs (timings) or count what one process sent
SUMMARY_VARIES = {"run_name", "setup_seconds", "fit_seconds", "seconds_per_judgment", "model_usage",
                  "users_in_flight", "wall_seconds", "requests_in_flight_mean", "requests_in_flight_max",
                  "prompt_tokens_per_s"}


class Server(LoopbackServer):
    def __init__(self, fault: str | None = None, pick: Callable[[dict], str | None] | None = None,
                 delay_s: float = 0.0, hang_s: float = 30.0):
        self.fault, self.pick, self.delay_s, self.hang_s = fault, pick, delay_s, hang_s
        self.counts = {"ok": 0, **{f: 0 for f in FAULTS}}
        self.kinds: list[str] = []  # "one_token" / "generation", per request answered ok
        lock, server = threading.Lock(), self

        class Handler(JSONHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                fault = server.fault or (server.pick(body) if server.pick else None)
                with lock:
                    server.counts[fault or "ok"] += 1
                time.sleep(server.delay_s)
                if fault == "hang":
                    time.sleep(server.hang_s)
                    return self._send(504, b"{}")
                if fault in ("500", "400"):
                    return self._send(int(fault), b'{"error": {"message": "injected"}}')
                if fault == "malformed":
                    return self._send(200, b'{"id": "x", "choices": [{"mess')
                reply = answer(body)
                if fault == "unusable":  # a reply whose top tokens hold neither A nor B
                    for entry in (reply["choices"][0]["logprobs"] or {}).get("content") or []:
                        entry["top_logprobs"] = [{"token": "Sure", "logprob": -0.1, "bytes": None}]
                with lock:
                    server.kinds.append("one_token" if body.get("max_tokens") == 1 else "generation")
                self._send(200, json.dumps(reply).encode())

        super().__init__(Handler)

    def mend(self) -> None:
        self.fault, self.pick = None, None


def openai_args(server: Server, *extra: str) -> tuple[str, ...]:
    """A small, fast plain-judge run against `server`: 3 demo users (52 judgments), no retries."""
    return ("backend=openai", f"backend.base_url={server.url}", "backend.max_attempts=1", "backend.backoff_s=0",
            "backend.max_concurrency=4", "split.max_users=3", "method=plain", *extra)


def command(results_dir: Path, *args: str) -> list[str]:
    flags = [a for a in args if a.startswith("-")]  # Hydra's flags (-m) go before the overrides
    cache = [] if any(a.startswith("cache.mode=") for a in args) else ["cache.mode=off"]
    return [sys.executable, "-m", "benchmark.runner.main", *flags, "logger=none", *cache,
            f"results_dir={results_dir}", *(a for a in args if not a.startswith("-"))]


ENV = {**os.environ, "HYDRA_FULL_ERROR": "1", "WANDB_MODE": "offline"}


def prbench(results_dir: Path, *args: str, timeout: float = 120, **popen) -> subprocess.CompletedProcess:
    return subprocess.run(command(results_dir, *args), capture_output=True, text=True, timeout=timeout, env=ENV,
                          **popen)


def default_sigint() -> None:
    """preexec_fn: SIGINT at its default, as from a terminal. A pytest-xdist worker ignores SIGINT and its
    children inherit that; prbench rightly leaves an ignored SIGINT alone (a shell's background job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(results_dir: Path, *args: str, **popen) -> subprocess.Popen:
    """`prbench` in the background (to be signalled)."""
    popen.setdefault("preexec_fn", default_sigint)
    return subprocess.Popen(command(results_dir, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, **popen)


def last_line(stderr: str) -> str:
    """The line a stopped command ends with (earlier lines are progress bars); no traceback anywhere."""
    assert "Traceback" not in stderr, stderr[-3000:]
    return stderr.strip().splitlines()[-1]


def comparable(run_dir: Path) -> tuple[dict, pd.DataFrame, dict]:
    """What two runs on the same items must agree on: the summary (timings aside), the per-user table
    (timings aside) and each item's verdict, as the items file reads back."""
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["cost"].pop("seconds")
    summary = {k: v for k, v in summary.items() if k not in SUMMARY_VARIES}
    table = pd.read_csv(run_dir / "per_user.csv").drop(columns=TIMING)
    verdicts = {k: (r["preferred"], r["p_first"]) for k, r in ItemStore(run_dir / "items.jsonl").records.items()}
    return summary, table, verdicts


def assert_same_results(run_dir: Path, reference: Path) -> None:
    (summary, table, verdicts), (ref_summary, ref_table, ref_verdicts) = comparable(run_dir), comparable(reference)
    assert summary == ref_summary
    pd.testing.assert_frame_equal(table, ref_table)
    assert verdicts == ref_verdicts


def folder_state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below `folder`: its bytes and modification time (a refused run must change neither)."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}
