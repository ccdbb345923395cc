"""Concurrency for a run with many users in flight: a coalescer feeding local engines everything pending,
and a meter of requests in flight."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any


class InFlight:
    """How many requests the engines hold: the time-weighted mean while any is held, and the max."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.now, self.max, self.area, self.busy_s, self._last = 0, 0, 0.0, 0.0, time.perf_counter()

    def _advance(self) -> None:
        now = time.perf_counter()
        if self.now > 0:
            self.area += self.now * (now - self._last)
            self.busy_s += now - self._last
        self._last = now

    @contextmanager
    def track(self, n: int) -> Iterator[None]:
        with self._lock:
            self._advance()
            self.now += n
            self.max = max(self.max, self.now)
        try:
            yield
        finally:
            with self._lock:
                self._advance()
                self.now -= n

    def stats(self) -> dict[str, float]:
        with self._lock:
            self._advance()
            return {"requests_in_flight_mean": self.area / self.busy_s if self.busy_s else 0.0,
                    "requests_in_flight_max": self.max, "requests_busy_s": self.busy_s,
                    "request_seconds": self.area}


IN_FLIGHT = InFlight()  # one per process: a run resets it when it starts


class Coalescer:
    """Gathers calls made from many threads into one call of the engine, on one worker thread.

    While the engine works on a batch, new calls queue; as soon as it is free it takes everything queued
    under the oldest key (calls with the same choices / generation parameters) as one request list, so the
    engine is never idle while requests wait and sees many users' requests at once. Hand-written because
    the engines here are synchronous batch APIs (transformers, `vllm.LLM`, sequence-classification RMs).
    """

    def __init__(self, name: str):
        self.name = name
        self._cond = threading.Condition()
        self._queue: list[tuple[Any, Callable[[list], list], list, Future]] = []
        self._worker: threading.Thread | None = None
        self.calls = self.merged = 0  # engine calls, and how many of them merged two or more calls
        self.max_callers = 0  # the most calls (e.g. users) one engine call served

    def call(self, key: Any, fn: Callable[[list], list], items: Sequence) -> list:
        future: Future = Future()
        with self._cond:
            self._queue.append((key, fn, list(items), future))
            if self._worker is None:
                self._worker = threading.Thread(target=self._serve, name=f"coalescer-{self.name}", daemon=True)
                self._worker.start()
            self._cond.notify()
        return future.result()

    def _take(self) -> list[tuple[Any, Callable[[list], list], list, Future]]:
        with self._cond:
            while not self._queue:
                self._cond.wait()
            key = self._queue[0][0]
            taken = [entry for entry in self._queue if entry[0] == key]
            self._queue = [entry for entry in self._queue if entry[0] != key]
            return taken

    def _serve(self) -> None:
        while True:
            taken = self._take()
            merged = [item for _, _, items, _ in taken for item in items]
            self.calls += 1
            self.merged += len(taken) > 1
            self.max_callers = max(self.max_callers, len(taken))
            try:
                with IN_FLIGHT.track(len(merged)):
                    results = taken[0][1](merged)
            except BaseException as error:  # noqa: BLE001 - handed to every caller
                for *_, future in taken:
                    future.set_exception(error)
                continue
            start = 0
            for _, _, items, future in taken:
                future.set_result(results[start:start + len(items)])
                start += len(items)
