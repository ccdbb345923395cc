"""The one layer around every backend: request cache, usage meter, retries, bounded concurrency.

Methods never see it: `Models.chat()` hands them a backend already wrapped in `ModelLayer`.

Under a concurrent run many threads (one per user in flight) call the same layer. Local engines
(`coalesces = True`: transformers, vLLM, local reward models) then get everything pending at once through a
`Coalescer`; network backends bound their requests with one run-wide pool. `IN_FLIGHT` meters how many
requests the engines hold, and `metered()` attributes usage to the calling thread (one user's fit).

Two kinds of failed result, told apart by `result.request_failed`:
- a *request failure* (`request_failed=True`): the server or the connection failed: HTTP 5xx / 429 / other 4xx
  after the retries, a timeout, a malformed response, a dropped connection. It says nothing about the model
  or the method: the run counts it against its failure budget (`max_failure_rate`, runner/control.py), and
  a judgment it touched is sent again on resume;
- any other `error` is the model's own, counted failure: the request went through and the model answered
  something unusable (no A or B among its top tokens, a reply with no verdict), or the prompt was refused
  before sending (over `max_prompt_tokens`). A weak model finishes its run with these counted.
Neither is ever cached. `CONTROL` is how a run stops every model call at once (a signal, a spent budget).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from benchmark.errors import ConfigError
from benchmark.locks import file_lock
from benchmark.models.base import Chat, ChatModel, ChoiceResult, Generation, GenerationParams
from benchmark.models.concurrency import IN_FLIGHT, Coalescer
from benchmark.models.reward_models import Score
from benchmark.records import Cost

T = TypeVar("T")
CacheMode = Literal["off", "read", "write"]


class TransientError(Exception):
    """A failure worth retrying: HTTP 429 / 5xx, a timeout, a malformed response."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_s: float = 0.5
    max_backoff_s: float = 20.0

    def call(self, fn: Callable[[], T], on_retry: Callable[[Exception], None] = lambda e: None) -> T:
        """Run `fn`, retrying transient errors with jittered exponential backoff; re-raise the last one."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn()
            except TransientError as error:
                if attempt == self.max_attempts:
                    raise
                on_retry(error)
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                time.sleep(delay * (0.5 + random.random() / 2))
        raise AssertionError("unreachable")

    async def acall(self, fn: Callable[[], Any], on_retry: Callable[[Exception], None] = lambda e: None) -> Any:
        """`call` for a coroutine function (`asyncio.sleep` between attempts)."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await fn()
            except TransientError as error:
                if attempt == self.max_attempts:
                    raise
                on_retry(error)
                delay = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
        raise AssertionError("unreachable")


class RequestCache:
    """SQLite store of model answers. `read` serves hits and stores nothing; `write` also stores misses."""

    def __init__(self, path: Path, mode: CacheMode = "write"):
        self.mode, self.hits, self.misses = mode, 0, 0
        self._lock = threading.Lock()
        self._db = None
        if mode != "off":
            try:
                try:
                    self._open(path)
                except sqlite3.OperationalError:
                    if mode != "read" or not path.is_file():
                        raise
                    # a read-only cache file (shared, or on a read-only disk): read it as immutable
                    self._db = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True,
                                               check_same_thread=False)
                    self._db.execute("SELECT count(*) FROM answers").fetchone()
            except (sqlite3.Error, OSError) as error:  # a folder, not a database, read-only, ...
                raise ConfigError(f"config cache.path: cannot use {path} as the request cache ({error}); "
                                  f"point cache.path at another file, or pass cache.mode=off") from None

    def _open(self, path: Path) -> None:
        """Opens the cache under a lock on `<cache>.lock` (none where the folder is read-only). SQLite answers
        "database is locked" at once, ignoring its busy timeout, when processes switch one fresh file to WAL
        together (22 openers were refused in 200 four-process races); the lock serialises that moment."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(Path(f"{path}.lock"), optional=True):
            self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=60)
            self._setup()

    def _setup(self) -> None:
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if self.mode == "write" or "answers" not in tables:  # a read-only cache may be a read-only file
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        if self.mode == "write":
            self._db.execute("BEGIN IMMEDIATE")  # fails now, not mid-run, when the file cannot be written
            self._db.rollback()

    @staticmethod
    def key(request: dict[str, Any]) -> str:
        # surrogatepass: a lone surrogate (e.g. in a model's own reply fed back into a prompt) keys a request
        # like any other text; valid text encodes exactly as before, so existing cache entries still match
        text = json.dumps(request, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        if self._db is None:
            return None
        with self._lock:
            row = self._db.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
            if row:
                self.hits += 1
                return json.loads(row[0])
            self.misses += 1
        return None

    def put(self, entries: dict[str, dict[str, Any]]) -> None:
        if self._db is None or self.mode != "write" or not entries:
            return
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?)",
                                 [(k, json.dumps(v)) for k, v in entries.items()])


class Stopped(Exception):
    """A model call refused because the run is stopping (a signal, or its failure budget is spent)."""


class RunControl:
    """The running run's hold on the model layer. Once `stop(reason)` is called no model call starts (each
    raises Stopped) and the backends it watches abandon what they have in flight (`abandon()`); every request
    failure is reported to the listener given to `begin`. One run at a time per process; outside a run
    nothing stops and nobody listens."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._listener: Callable[[str, str, int], None] | None = None
        self._watched: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.Lock()

    def begin(self, listener: Callable[[str, str, int], None]) -> None:
        self.reason, self._listener = None, listener

    def end(self) -> None:
        self.reason, self._listener = None, None

    def watch(self, backend: Any) -> None:
        """`backend.abandon()` is called when the run stops (network backends: cancel the requests in flight)."""
        self._watched.add(backend)

    def stop(self, reason: str) -> None:
        with self._lock:
            if self.reason is not None:
                return
            self.reason = reason
        for backend in list(self._watched):
            backend.abandon()

    def check(self) -> None:
        if self.reason is not None:
            raise Stopped(self.reason)

    def report(self, where: str, first_error: str, count: int) -> None:
        """`count` request failures to `where` (a server URL or a backend), the first saying `first_error`."""
        if self._listener is not None:
            self._listener(where, first_error, count)


CONTROL = RunControl()


@dataclass
class Usage:
    """Totals of what the model layer actually sent (cache hits cost nothing). `failures` counts every failed
    result, `request_failures` those whose request failed (see the module docstring)."""

    cost: Cost = field(default_factory=Cost)
    failures: int = 0
    request_failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, cost: Cost, failed: bool, request_failed: bool = False) -> None:
        with self._lock:
            self.cost = self.cost + cost
            self.failures += failed
            self.request_failures += request_failed

    @property
    def calls(self) -> int:
        return self.cost.calls

    def snapshot(self) -> dict[str, float]:
        return {**asdict(self.cost), "failures": self.failures, "request_failures": self.request_failures}


_METER: ContextVar[Usage | None] = ContextVar("prbench_usage_meter", default=None)


@contextmanager
def metered() -> Iterator[Usage]:
    """Usage of the model calls this thread makes inside the block (one user's fit, under concurrency)."""
    meter = Usage()
    token = _METER.set(meter)
    try:
        yield meter
    finally:
        _METER.reset(token)


def _chat_key(chat: Chat) -> list[list[str]]:
    return [[m.role, m.content] for m in chat]


class CachedLayer:
    """Answers come from the cache when they can; everything else is computed, metered and stored."""

    def __init__(self, inner: Any, identity: dict[str, Any], cache: RequestCache):
        self.inner, self.identity, self.cache = inner, identity, cache
        self.name = inner.name
        self.where = getattr(inner, "base_url", None) or f"the {identity.get('backend')} backend"  # for errors
        self.usage = Usage()
        self.coalescer = Coalescer(inner.name) if getattr(inner, "coalesces", False) else None

    def _engine(self, key: Any, fn: Callable[[list], list], items: list) -> list:
        """Run `fn(items)` on the backend: merged with other threads' calls for local engines, metered as
        requests in flight unless the backend meters its own (network requests)."""
        if self.coalescer is not None:
            return self.coalescer.call(key, fn, items)
        if getattr(self.inner, "meters_in_flight", False):
            return fn(items)
        with IN_FLIGHT.track(len(items)):
            return fn(items)

    def _cached(self, requests: list[dict], compute: Callable[[list[int]], list], to_json, from_json) -> list:
        keys = [RequestCache.key({**self.identity, **r}) for r in requests]
        results: list = [None] * len(requests)
        missing = []
        for i, key in enumerate(keys):
            hit = self.cache.get(key)
            if hit is not None:
                results[i] = from_json(hit)
            else:
                missing.append(i)
        if missing:
            CONTROL.check()
            fresh = compute(missing)
            store, request_failed = {}, []
            meter = _METER.get()
            for i, result in zip(missing, fresh):
                results[i] = result
                self.usage.add(result.cost, result.error is not None, result.request_failed)
                if meter is not None:
                    meter.add(result.cost, result.error is not None, result.request_failed)
                if result.request_failed:
                    request_failed.append(result)
                elif result.error is None:  # failures are never cached
                    store[keys[i]] = to_json(result)
            self.cache.put(store)
            if request_failed:
                CONTROL.report(self.where, request_failed[0].error or "request failed", len(request_failed))
        return results


class ModelLayer(CachedLayer, ChatModel):
    """A chat backend behind the cache and usage meter."""

    def choice_logprobs(self, chats: Sequence[Chat], choices: Sequence[str]) -> list[ChoiceResult]:
        requests = [{"kind": "choice", "choices": list(choices), "chat": _chat_key(c)} for c in chats]
        return self._cached(
            requests, lambda idx: self._engine(("choice", tuple(choices)),
                                               lambda merged: self.inner.choice_logprobs(merged, choices),
                                               [chats[i] for i in idx]),
            lambda r: {"logprobs": r.logprobs, "cost": asdict(r.cost)},
            lambda d: ChoiceResult(d["logprobs"], Cost(prompt_tokens=0)))

    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Generation]:
        seed = params.seed if params.temperature > 0 else None  # sampled answers are cached per seed
        request = {"kind": "generate", "max_new_tokens": params.max_new_tokens, "temperature": params.temperature,
                   "stop": list(params.stop), "seed": seed}
        requests = [{**request, "chat": _chat_key(c)} for c in chats]
        return self._cached(
            requests, lambda idx: self._engine(("generate", params),
                                               lambda merged: self.inner.generate(merged, params),
                                               [chats[i] for i in idx]),
            lambda r: {"text": r.text, "cost": asdict(r.cost)},
            lambda d: Generation(d["text"], Cost()))


class RewardLayer(CachedLayer):
    """A reward model behind the cache and usage meter."""

    def score(self, conversations: Sequence[Chat]) -> list[Score]:
        requests = [{"kind": "reward", "chat": _chat_key(c)} for c in conversations]
        return self._cached(
            requests, lambda idx: self._engine("score", self.inner.score, [conversations[i] for i in idx]),
            lambda r: {"value": r.value, "cost": asdict(r.cost)},
            lambda d: Score(d["value"], Cost()))
