"""What the viewer reads: finished run folders (through benchmark.runs, never writing to them) and the data
the runs were made on (texts are not in items.jsonl), loaded once per (data, split) config.

`reads_oracle` belongs in benchmark/methods.py; it is here until its owner takes it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import PrbenchError
from benchmark.runs import (
    CONFIG,
    SUMMARY,
    RunSummary,
    list_runs,
    read_config,
    read_state,
    read_summary,
    user_fit,
)
from benchmark.shipped import REFERENCE_DIR

REFERENCE = REFERENCE_DIR / "personalrewardbench.csv"  # the published numbers (as benchmark.report.REFERENCE)


def digest(text: str, n: int = 16) -> str:
    """A short, file-name-safe hash: run, user and data keys of the viewer's files."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:n]


def user_key(user_id: str) -> str:
    """The file key of a user (ids may hold any character: `u/1`, `../x`)."""
    return digest(user_id, 16)


def runs_root(results: Path) -> Path:
    """Where a results folder keeps its runs: `<results>/runs` when there is one, else the folder itself (a
    runs folder, or one run)."""
    return results / "runs" if (results / "runs").is_dir() else results


@dataclass(frozen=True)
class RunEntry:
    """A finished run as the viewer lists it: its id (path below the runs root), summary and config."""

    id: str
    folder: Path
    summary: RunSummary
    config: dict[str, Any]

    @property
    def key(self) -> str:
        return digest(self.id, 12)

    @property
    def data_key(self) -> str:
        """Runs on the same data and split share their texts (stored once)."""
        section = {name: self.config.get(name) for name in ("data", "split")}
        return digest(json.dumps(section, sort_keys=True, default=str), 12)


def scan(results: Path) -> tuple[list[RunEntry], list[str]]:
    """Every finished run below `results` (sorted by id), and one line per run folder that could not be read."""
    root = runs_root(Path(results))
    entries, problems = [], []
    for folder in list_runs(root):  # a missing folder: DataError, one line in the CLI
        try:
            run_id = folder.relative_to(root).as_posix() if folder != root else folder.name  # one run given
            entries.append(RunEntry(run_id, folder, read_summary(folder / SUMMARY),
                                    read_config(folder) if (folder / CONFIG).exists() else {}))
        except (PrbenchError, OSError, ValueError) as error:
            problems.append(f"{folder}: {error}")
    return entries, problems


def fit_state(folder: Path, user_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The user's saved fit ({"seconds", "state"}) and, when there is none, why."""
    path = user_fit(folder, user_id)
    if not path.exists():
        return None, "no fit file for this user (the method fits nothing per user, or the run kept none)"
    try:
        stored = read_state(path, user_id)
    except PrbenchError as error:
        return None, str(error)
    return {"seconds": stored.get("seconds"), "state": stored.get("state")}, None


def reads_oracle(method: dict[str, Any]) -> bool:
    """Whether the run's method may read the ground-truth persona (methods.visible_profile's rule, from the run's
    method config): its class says so (`reads_oracle`, a property of its params for some). A method whose
    class cannot be loaded here counts as an oracle when a `variant` or `context.source` param is "oracle"."""
    params = method.get("params") or {}
    by_config = params.get("variant") == "oracle" or (params.get("context") or {}).get("source") == "oracle"
    try:
        from benchmark.config import parse_section
        from benchmark.methods import method_class

        cls = method_class(str(method.get("kind")))
        flag = cls.__dict__.get("reads_oracle") if "reads_oracle" in cls.__dict__ else cls.reads_oracle
        if isinstance(flag, property):  # decided by params: evaluate it on the params alone, no model loaded
            probe = object.__new__(cls)
            probe.params = parse_section(cls.Params, params, "method.params")
            return bool(flag.fget(probe))
        return bool(flag)
    except Exception:  # noqa: BLE001 - an uninstalled plug-in, params of another version: the config rule
        return by_config


@dataclass
class LoadedData:
    """One (data, split) config loaded: each kept user's split and profile, or why it could not be."""

    splits: dict[str, Any] = field(default_factory=dict)  # user_id -> benchmark.splits.UserSplit
    profiles: dict[str, Any] = field(default_factory=dict)  # user_id -> UserProfile
    error: str | None = None

    def __post_init__(self) -> None:
        self.user_ids = {user_key(user_id): user_id for user_id in self.splits}  # file key -> user id


class DataCache:
    """Loads each (data, split) config once, however many runs were made on it."""

    def __init__(self) -> None:
        self._loaded: dict[str, LoadedData] = {}
        self._lock = threading.Lock()

    def get(self, entry: RunEntry) -> LoadedData:
        with self._lock:
            if entry.data_key not in self._loaded:
                self._loaded[entry.data_key] = load_data(entry.config)
            return self._loaded[entry.data_key]


def load_data(config: dict[str, Any]) -> LoadedData:
    """The run's data and split, as the run made them (regress.item_digests loads data the same way)."""
    from benchmark.config import DataConfig, SplitConfig, parse_section
    from benchmark.data import load_benchmark
    from benchmark.splits import split_benchmark

    if not config.get("data") or not config.get("split"):
        return LoadedData(error="the run's config.yaml has no data or split section")
    try:
        bench = load_benchmark(parse_section(DataConfig, config["data"], "data"))
        splits = split_benchmark(bench, parse_section(SplitConfig, config["split"], "split"))
    except Exception as error:  # noqa: BLE001 - a path that is gone, a hub that cannot be reached: say why
        return LoadedData(error=f"the run's data could not be loaded: {error}")
    return LoadedData({s.user_id: s for s in splits}, dict(bench.profiles))
