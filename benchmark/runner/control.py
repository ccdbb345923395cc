"""How a run stops early: a spent failure budget, a signal, a full disk. Whatever stops it, what it judged and
fitted stays on disk, its usage is saved, no table is written, and one line says what was kept and how to
continue (the same command with `resume=true`).

| cause | exit code |
|---|---|
| more request failures than `max_failure_rate` allows, every request failed, a fit with a failed request | 1 |
| the run folder's disk is full, or a file reached the size limit (ENOSPC, EFBIG, EDQUOT) | 1 |
| SIGINT / SIGTERM (a second one exits at once) | 130 / 143 |
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmark.errors import DiskFull, RequestsFailed, Signalled
from benchmark.models.layer import CONTROL

RESUME = "run the same command with resume=true"
DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


class FailureBudget:
    """The request failures (benchmark/models/layer.py) a run may have: `rate` x the items it has to judge.
    One more stops the run at once (`CONTROL.stop`: no model call starts, the requests in flight are
    abandoned); the runner then raises `error()`. The model's own failures (an unusable answer, a prompt over
    `max_prompt_tokens`) are not counted here: they are the method's, and its run finishes with them."""

    def __init__(self, rate: float, n_items: int):
        self.rate, self.n_items = rate, n_items
        self.count, self.where, self.first = 0, "", ""
        self._lock = threading.Lock()

    def __call__(self, where: str, first_error: str, count: int) -> None:
        with self._lock:
            self.count += count
            if not self.first:
                self.where, self.first = where, first_error
        if self.spent:
            CONTROL.stop(f"more than max_failure_rate={self.rate} of the requests failed")

    @property
    def spent(self) -> bool:
        return self.count > self.rate * self.n_items

    def error(self, saved: str) -> RequestsFailed:
        """Why the run stopped: the budget spent, or (within it) every request failed."""
        what = (f"{self.count} requests to the model server at {self.where} failed, more than max_failure_rate="
                f"{self.rate} allows for {self.n_items} items to judge" if self.spent else
                f"every request to the model server at {self.where} failed ({self.count})")
        return RequestsFailed(f"{what}; first error: {self.first}; {saved}; once the server works, {RESUME}")


def disk_full(error: OSError, folder: Path) -> DiskFull | None:
    """The one-line error for a write that found the disk full (None for any other OSError)."""
    if error.errno not in DISK_FULL:
        return None
    where = f" ({error.filename})" if error.filename else ""
    return DiskFull(f"cannot write the run folder {folder}: {error.strerror or error}{where}; free space on its "
                    f"disk (or raise the file-size limit), then {RESUME}: what was written before is kept")


_caught: list[int] = []


def _on_signal(signum: int, _frame) -> None:
    if _caught:  # a second signal while the first one's run saves and stops: leave now
        print(f"prbench: {signal.Signals(signum).name} again: exiting at once; what is on disk is kept "
              f"({RESUME})", file=sys.stderr, flush=True)
        os._exit(128 + signum)
    _caught.append(signum)
    raise Signalled(signum)


@contextmanager
def signals_stop_the_run() -> Iterator[None]:
    """SIGINT and SIGTERM raise Signalled in the main thread while the block runs. Only where Python's own
    handlers are in place: a launcher's (submitit requeues on SIGTERM) are left alone, and so is any thread but
    the main one, which cannot have handlers."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
            if signal.getsignal(sig) in (default, _on_signal):
                previous[sig] = signal.signal(sig, _on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def signal_name(signalled: Signalled) -> str:
    return signal.Signals(signalled.signum).name
