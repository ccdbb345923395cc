"""Writing a run folder (its layout: benchmark/runs.py), and the rules for resuming one.

Everything persisted in a folder (fits, the global setup, items) is bound to what produced it:
`fingerprint.json` holds every config key that can change a result (`result_config`: all but the operational
ones, marked on the typed config sections) and a digest of the data (users, pair ids, texts, labels, split),
and is written before any of that state. A folder with state is only reopened with `resume=true` and a
matching config and data; a process writing a folder holds a lock on it. A refused run changes nothing in the
folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmark.config import config_changes
from benchmark.errors import RunError
from benchmark.locks import try_lock
from benchmark.records import sum_usage
from benchmark.root_config import is_operational, operational_keys
from benchmark.runs import (
    FINGERPRINT,
    FIT_DIR,
    ITEMS,
    METHOD_DIR,
    PER_USER,
    SHARED,
    SUMMARY,
    USAGE,
    read_state,
    state_path,
    write_json,
)


def config_operational_keys(config: dict[str, Any]) -> tuple[str, ...]:
    """The keys a resume (and the shards of one run) may change, for this config's backend: marked on the typed
    sections (`benchmark.config.operational`); every other key binds the folder, new keys included."""
    backend = config.get("backend")
    return operational_keys(backend.get("kind") if isinstance(backend, dict) else None)


def result_config(config: dict[str, Any]) -> dict[str, Any]:
    """`config` without its operational keys: what a run's results depend on."""
    return _without(config, config_operational_keys(config), "")


def _without(config: dict[str, Any], keys: tuple[str, ...], prefix: str) -> dict[str, Any]:
    kept = {}
    for key, value in config.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if is_operational(dotted, keys):
            continue
        kept[key] = _without(value, keys, dotted) if isinstance(value, dict) else value
    return kept


def bound_config(raw: Any, scrubbed: Any) -> Any:
    """The config a folder is bound to: `scrubbed` (secret-looking values as '***'), each hidden value replaced
    by a digest of it, so that changing one (`max_new_tokens` looks like a secret) still refuses a resume
    while the value itself is never written."""
    if isinstance(raw, dict) and isinstance(scrubbed, dict):
        return {k: bound_config(raw.get(k), v) for k, v in scrubbed.items()}
    if isinstance(raw, list) and isinstance(scrubbed, list):
        return [bound_config(r, s) for r, s in zip(raw, scrubbed)]
    if scrubbed == "***" and raw != "***":
        return "sha256:" + hashlib.sha256(json.dumps(raw, default=str).encode()).hexdigest()[:16]
    return scrubbed


def _hidden(value: Any) -> Any:
    """`bound_config`'s digests as '***' again (what an older prbench wrote)."""
    if isinstance(value, dict):
        return {k: _hidden(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hidden(v) for v in value]
    return "***" if isinstance(value, str) and value.startswith("sha256:") else value


def fingerprint(config: dict[str, Any]) -> str:
    """What must not change between a run and its resumption."""
    return hashlib.sha256(json.dumps(result_config(config), sort_keys=True, default=str).encode()).hexdigest()[:16]


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


def differing_keys(old: Any, new: Any) -> list[str]:
    """Dotted keys whose values differ between two nested configs."""
    return [key for key, _, _ in config_changes(old, new)]


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
            fd = try_lock(self.path / ".lock")
        except OSError as error:
            raise RunError(f"cannot write the run folder {self.path}: {error.strerror or error}") from None
        if fd is None:
            raise RunError(f"run folder {self.path} is in use by another prbench process; wait for it to finish, "
                           f"or choose another run_name=")
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
        """Lock the folder and refuse to mix results: existing state needs resume=true and the same config,
        operational keys aside (the data itself is checked by `bind_data`). Writes nothing but the lock."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunError(f"cannot write the run folder {self.path}: {error.strerror or error}") from None
        self._acquire()
        self._config = json.loads(json.dumps(result_config(config), default=str))
        if self._has_state():
            self._check(resume)
        self._remove_temporary_files()

    def _check(self, resume: bool) -> None:
        if not resume:
            raise RunError(f"run folder {self.path} already holds results; pass resume=true to continue it, "
                           f"or choose another run_name=")
        stored = self._stored()
        if not stored or "config" not in stored:
            raise RunError(f"run folder {self.path} holds results without a readable fingerprint.json (made by an "
                           f"older prbench, or damaged); choose another run_name= to start a new run")
        current = self._config
        if "operational" not in stored:  # an older prbench bound whole sections (its "keys"), secrets as '***'
            current = {k: _hidden(v) for k, v in current.items() if k in stored.get("keys", ())}
        changed = differing_keys(result_config(stored["config"]), current)
        if changed:
            raise RunError(f"run folder {self.path} was made with a different config ({', '.join(changed)} "
                           f"changed); choose another run_name= to start a new run")

    def _remove_temporary_files(self) -> None:
        """Left by a process killed mid-write (`write_text`); this process holds the folder's lock."""
        for tmp in [*self.path.glob(".*.tmp"), *self.fit_dir.glob(".*.tmp")]:
            tmp.unlink(missing_ok=True)

    def bind_data(self, digest: str) -> None:
        """Check the data against the folder's state, then write fingerprint.json (before any state)."""
        stored = self._stored()
        if self._has_state() and stored is not None and stored.get("data") != digest:
            raise RunError(f"run folder {self.path} was made from different data (data changed: users, pairs, "
                           f"texts, labels or split differ); choose another run_name= to start a new run")
        try:
            self.fit_dir.mkdir(exist_ok=True)
        except OSError as error:
            raise RunError(f"cannot write the run folder {self.path}: {error.strerror or error}") from None
        write_json(self.marker, {"config": self._config, "data": digest,
                                 "operational": list(config_operational_keys(self._config)),
                                 "fingerprint": fingerprint(self._config)})

    def state(self, user_id: str, compute: Callable[[], dict[str, Any]],
              keep: Callable[[], bool] = lambda: True) -> tuple[dict[str, Any], float]:
        """A user's persisted fit state, computed once; returns it with the seconds its computation took.
        A computed state is persisted only if `keep()` says so afterwards."""
        return self._state(state_path(self.fit_dir, user_id), user_id, compute, keep)

    def shared_state(self, compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
        """The global setup's state (`fit/_shared.json`), like `state`."""
        return self._state(self.fit_dir / SHARED, "", compute)

    def _state(self, path: Path, name: str, compute: Callable[[], dict[str, Any]],
               keep: Callable[[], bool] = lambda: True) -> tuple[dict[str, Any], float]:
        if path.exists():
            stored = read_state(path, name)
            return stored["state"], stored["seconds"]
        start = time.perf_counter()
        state = compute()
        seconds = time.perf_counter() - start
        if keep():
            write_json(path, {"name": name, "state": state, "seconds": seconds})
        return state, seconds

    def forget_tables(self) -> None:
        """Remove the tables of an earlier finish, before items are added (the run's end writes new ones)."""
        for name in (SUMMARY, PER_USER):
            (self.path / name).unlink(missing_ok=True)

    def earlier_usage(self) -> dict[str, float]:
        """Model usage of the earlier processes that worked on this folder (a resumed run adds its own)."""
        if not self.usage_file.exists():
            return {}
        try:
            return json.loads(self.usage_file.read_text(encoding="utf-8"))["total"]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError):
            return {}

    def save_usage(self, earlier: dict[str, float], this_process: dict[str, float]) -> dict[str, float]:
        total = sum_usage(earlier, this_process)
        write_json(self.usage_file, {"total": total})
        return total
