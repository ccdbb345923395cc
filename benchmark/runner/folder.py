"""A run folder: what it holds, and the rules for resuming one."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark.errors import RunError

FINGERPRINT_KEYS = ("data", "split", "method", "backend", "model")


def write_json(path: Path, value: Any) -> None:
    """Atomic: a reader (or a resumed run) never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def fingerprint(config: dict[str, Any]) -> str:
    """What must not change between a run and its resumption."""
    subset = {k: config.get(k) for k in FINGERPRINT_KEYS}
    return hashlib.sha256(json.dumps(subset, sort_keys=True, default=str).encode()).hexdigest()[:16]


def state_path(fit_dir: Path, name: str) -> Path:
    """Where the fit state `name` (a user id, or `_shared`) is kept."""
    return fit_dir / (re.sub(r"[^\w.-]", "_", name) + ".json")


class RunFolder:
    def __init__(self, path: Path):
        self.path = path
        self.items = path / "items.jsonl"
        self.fit_dir = path / "fit"
        self.method_dir = path / "method"  # files a method saves, e.g. a trained adapter

    def open(self, config: dict[str, Any], resume: bool) -> None:
        """Refuse to mix results: existing items need resume=true and the same data/split/method/model."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.fit_dir.mkdir(exist_ok=True)
        marker = self.path / "fingerprint.json"
        current = fingerprint(config)
        has_results = self.items.exists() and self.items.stat().st_size > 0
        if has_results and not resume:
            raise RunError(f"run folder {self.path} already holds results; pass resume=true to continue it, "
                           f"or choose another run_name=")
        if has_results and marker.exists():
            stored = json.loads(marker.read_text())["fingerprint"]
            if stored != current:
                raise RunError(f"run folder {self.path} was made with a different data/split/method/model "
                               f"config ({stored} != {current}); choose another run_name= to start a new run")
        write_json(marker, {"fingerprint": current, "keys": list(FINGERPRINT_KEYS)})

    def state(self, name: str, compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
        """A persisted fit state, computed once; returns it with the seconds its computation took."""
        path = state_path(self.fit_dir, name)
        if path.exists():
            stored = json.loads(path.read_text(encoding="utf-8"))
            return stored["state"], stored["seconds"]
        start = time.perf_counter()
        state = compute()
        seconds = time.perf_counter() - start
        write_json(path, {"state": state, "seconds": seconds})
        return state, seconds
