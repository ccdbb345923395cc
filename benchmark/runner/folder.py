"""Writing a run folder (its layout: benchmark/runs.py), and the rules for resuming one.

Everything persisted in a folder (fits, the global setup, items) is bound to what produced it:
`fingerprint.json` holds the config sections that change results and a digest of the data (users, pair
ids, texts, labels, split), and is written before any of that state. A folder with state is only reopened
with `resume=true` and a matching config and data; a process writing a folder holds a lock on it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from benchmark.errors import RunError
from benchmark.runs import FINGERPRINT, FIT_DIR, ITEMS, METHOD_DIR, SHARED, USAGE, read_state, state_path

FINGERPRINT_KEYS = ("data", "split", "method", "backend", "model")


def write_json(path: Path, value: Any) -> None:
    """Atomic: a reader (or a resumed run) never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # writers never share one
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def fingerprint(config: dict[str, Any]) -> str:
    """What must not change between a run and its resumption."""
    subset = {k: config.get(k) for k in FINGERPRINT_KEYS}
    return hashlib.sha256(json.dumps(subset, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """JSON-able form of data values (numpy arrays from parquet become lists, not a truncated repr)."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def data_fingerprint(splits: Iterable[Any], profiles: dict[str, Any]) -> str:
    """A digest of every kept user's pairs (ids, conversation, chosen, rejected, meta, split) and profile."""
    digest = hashlib.sha256()
    for split in splits:
        for part in ("train", "val", "test"):
            for pair in getattr(split, part):
                meta = {k: v for k, v in pair.meta.items() if k != "row"}  # row order does not matter
                record = [split.user_id, part, pair.pair_id, [[m.role, m.content] for m in pair.context],
                          pair.chosen, pair.rejected, meta]
                digest.update(json.dumps(record, sort_keys=True, default=_plain).encode())
        profile = profiles.get(split.user_id)
        digest.update(json.dumps(asdict(profile) if profile else None, sort_keys=True, default=_plain).encode())
    return digest.hexdigest()[:16]


def differing_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for k in sorted(set(old) | set(new), key=str)
                for d in differing_keys(old.get(k), new.get(k), f"{prefix}.{k}" if prefix else str(k))]
    return [] if old == new else [prefix]


class RunFolder:
    def __init__(self, path: Path):
        self.path = path
        self.items = path / ITEMS
        self.fit_dir = path / FIT_DIR
        self.method_dir = path / METHOD_DIR  # files a method saves, e.g. a trained adapter
        self.marker = path / FINGERPRINT
        self.usage_file = path / USAGE
        self._lock: int | None = None
        self._config: dict[str, Any] = {}

    def _has_state(self) -> bool:
        """Anything a run computed: judgments, fits, files a method saved."""
        return ((self.items.exists() and self.items.stat().st_size > 0)
                or any(self.fit_dir.glob("*.json")) or (self.method_dir.is_dir() and any(self.method_dir.iterdir())))

    def _acquire(self) -> None:
        """One writer per folder: an flock (released by the OS on exit, kill -9 included)."""
        try:
            fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise RunError(f"cannot write the run folder {self.path}: {error.strerror or error}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunError(f"run folder {self.path} is in use by another prbench process; wait for it to finish, "
                           f"or choose another run_name=") from None
        self._lock = fd

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None

    def _stored(self) -> dict[str, Any] | None:
        if not self.marker.exists():
            return None
        try:
            return json.loads(self.marker.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}

    def open(self, config: dict[str, Any], resume: bool) -> None:
        """Lock the folder and refuse to mix results: existing state needs resume=true and the same
        data/split/method/backend/model config (the data itself is checked by `bind_data`)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.fit_dir.mkdir(exist_ok=True)
        except OSError as error:
            raise RunError(f"cannot write the run folder {self.path}: {error.strerror or error}") from None
        self._acquire()
        self._config = {k: config.get(k) for k in FINGERPRINT_KEYS}
        if not self._has_state():
            return
        if not resume:
            raise RunError(f"run folder {self.path} already holds results; pass resume=true to continue it, "
                           f"or choose another run_name=")
        stored = self._stored()
        if not stored or "config" not in stored:
            raise RunError(f"run folder {self.path} holds results without a readable fingerprint.json (made by an "
                           f"older prbench, or damaged); choose another run_name= to start a new run")
        changed = differing_keys(stored["config"], json.loads(json.dumps(self._config, default=str)))
        if changed:
            raise RunError(f"run folder {self.path} was made with a different config ({', '.join(changed)} "
                           f"changed); choose another run_name= to start a new run")

    def bind_data(self, digest: str) -> None:
        """Check the data against the folder's state, then write fingerprint.json (before any state)."""
        stored = self._stored()
        if self._has_state() and stored is not None and stored.get("data") != digest:
            raise RunError(f"run folder {self.path} was made from different data (data changed: users, pairs, "
                           f"texts, labels or split differ); choose another run_name= to start a new run")
        write_json(self.marker, {"config": self._config, "data": digest, "keys": list(FINGERPRINT_KEYS),
                                 "fingerprint": fingerprint(self._config)})

    def state(self, user_id: str, compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
        """A user's persisted fit state, computed once; returns it with the seconds its computation took."""
        return self._state(state_path(self.fit_dir, user_id), user_id, compute)

    def shared_state(self, compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
        """The global setup's state (`fit/_shared.json`), like `state`."""
        return self._state(self.fit_dir / SHARED, "", compute)

    def _state(self, path: Path, name: str, compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
        if path.exists():
            stored = read_state(path, name)
            return stored["state"], stored["seconds"]
        start = time.perf_counter()
        state = compute()
        seconds = time.perf_counter() - start
        write_json(path, {"name": name, "state": state, "seconds": seconds})
        return state, seconds

    def earlier_usage(self) -> dict[str, float]:
        """Model usage of the earlier processes that worked on this folder (a resumed run adds its own)."""
        if not self.usage_file.exists():
            return {}
        try:
            return json.loads(self.usage_file.read_text(encoding="utf-8"))["total"]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError):
            return {}

    def save_usage(self, earlier: dict[str, float], this_process: dict[str, float]) -> dict[str, float]:
        total = {k: earlier.get(k, 0) + this_process.get(k, 0) for k in {*earlier, *this_process}}
        write_json(self.usage_file, {"total": total})
        return total
