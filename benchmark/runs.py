"""A run folder: its layout, and reading a finished run back (inspect_ai's EvalLog / read_eval_log is the model).

    <run>/items.jsonl       one judged item per line (benchmark.store.ItemStore)
          per_user.csv      the per-user table            summary.json   the run's summary (RunSummary)
          config.yaml       the resolved config           provenance.json  code version, host, argv
          fingerprint.json  what the folder's state is bound to (runner/folder.py)
          usage.json        model usage over every process that worked on the folder
          fit/<user>.json   each user's fit state; fit/_shared.json the global setup's
          method/           files a method saves (e.g. a trained adapter)
          shards/<i>-of-<N>/ the shards of a sharded run (runner/shards.py)

Files are written through `write_text` / `write_json` (atomic) and `write_summary` (items through
benchmark.store: `ItemStore`, `item_lines`); every reader (reports, compare, regress, user_context, merge)
reads through `read_run`, `read_summary`, `list_runs` and `read_state`, and never changes a folder;
`unfinished_runs` finds folders with results but no summary, `inside` keeps paths built from config values (the
run folder from run_name) inside their root.
This module imports nothing of the runner, so readers need not import it either.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, ConfigDict, ValidationError

from benchmark.errors import ConfigError, DataError, PrbenchError, RunError, utf8
from benchmark.store import ItemStore

RUNS_DIR = "runs"  # <results_dir>/runs/<run_name>: where run folders go (configs/config.yaml)
ITEMS = "items.jsonl"
PER_USER = "per_user.csv"
SUMMARY = "summary.json"
CONFIG = "config.yaml"
PROVENANCE = "provenance.json"
FINGERPRINT = "fingerprint.json"
USAGE = "usage.json"
FIT_DIR = "fit"
METHOD_DIR = "method"
SHARDS = "shards"
SHARD_DIR = re.compile(r"(\d+)-of-(\d+)")  # shards/<i>-of-<N>/
PART = "part.json"  # in a shard's folder: what the shard computed, written when it is done
SETUP_STATE = "setup.json"  # in shards/: the method's global setup state, shared by every shard
MERGED = "merged.json"  # in shards/: what the merge was made from
SHARED = "_shared.json"  # the global setup's state; user files never start with "_"
MAX_NAME = 150  # bytes of a user file's stem; longer ids are shortened and hashed


class RunSummary(BaseModel):
    """summary.json, as runner/finish.py writes it. Optional fields default to None; fields a newer prbench
    adds are kept (extra="allow")."""

    model_config = ConfigDict(extra="allow")

    data: str
    method: str
    model: str
    macro_accuracy: float | None
    macro_ci: tuple[float | None, float | None]
    micro_accuracy: float | None
    micro_ci: tuple[float | None, float | None]
    failure_rate: float | None
    tie_rate: float | None
    order_consistency: float | None
    n_users: int
    n_judgments: int
    seconds_per_judgment: float
    run_name: str | None = None
    n_pairs: int | None = None
    failures: int | None = None
    ties: int | None = None
    soft_accuracy: float | None = None
    degenerate: str | None = None
    ci_note: str | None = None
    mean_margin_chosen: float | None = None
    cost: dict[str, float] | None = None
    setup_seconds: float | None = None
    fit_seconds: float | None = None
    model_usage: dict[str, float] | None = None
    requests_in_flight_mean: float | None = None
    requests_in_flight_max: float | None = None
    prompt_tokens_per_s: float | None = None
    users_in_flight: int | None = None
    wall_seconds: float | None = None


@dataclass(frozen=True)
class Run:
    """A finished run folder, read back."""

    folder: Path
    summary: RunSummary
    per_user: pd.DataFrame
    items: dict[tuple[str, str], dict[str, Any]]  # (pair_id, order) -> item record
    config: dict[str, Any]
    provenance: dict[str, Any]  # {} for a run folder without provenance.json

    @property
    def label(self) -> str:
        return f"{self.summary.method} ({self.summary.model})"


def shard_name(index: int, count: int) -> str:
    return f"{index}-of-{count}"


def write_text(path: Path, text: str) -> None:
    """Atomic: a reader (or a resumed run) never sees half a file. A failed write (a full disk) leaves no
    temporary file behind."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # writers never share one
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror, str(path)) from error  # named by the file it was to be
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, value: Any) -> None:
    write_text(path, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    """A JSON file; a DataError naming the file (and row) when it is not UTF-8 or not valid JSON."""
    text = utf8(Path(path).read_bytes(), str(path))
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"not valid JSON ({error.msg})", source=str(path), row=error.lineno) from None


def write_summary(folder: Path, summary: dict[str, Any]) -> None:
    """summary.json, checked first as `read_summary` will read it back (a summary it could not read is a bug)."""
    text = json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n"
    try:
        RunSummary.model_validate(json.loads(text))
    except ValidationError as error:
        raise RuntimeError(f"a summary that RunSummary cannot read: {error}") from error
    write_text(Path(folder) / SUMMARY, text)


def read_summary(path: Path) -> RunSummary:
    """One run's summary.json; a damaged one is a DataError naming the file (and the missing or bad field)."""
    try:
        raw = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"not a readable summary ({error}); rerun the run with resume=true to rewrite it, or "
                        f"delete it", source=str(path)) from None
    if not isinstance(raw, dict):
        raise DataError("a summary must be a JSON object", source=str(path))
    try:
        return RunSummary.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(map(str, first["loc"]))
        message = "missing from the summary" if first["type"] == "missing" else first["msg"]
        raise DataError(message, source=str(path), field=field) from None


def read_config(folder: Path) -> dict[str, Any]:
    """The resolved config a run (or shard) folder was made with; a damaged one is a DataError naming the file."""
    path = Path(folder) / CONFIG
    text = utf8(path.read_bytes(), str(path))
    try:
        config = OmegaConf.to_container(OmegaConf.create(text), resolve=True)
    except (yaml.YAMLError, OmegaConfBaseException, ValueError) as error:
        raise DataError(f"not a readable config ({type(error).__name__})", source=str(path)) from None
    if not isinstance(config, dict):
        raise DataError("a config must be a mapping", source=str(path))
    return config


def read_items(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """A run's items by (pair_id, order); a half-written last line is skipped and left as it is."""
    return ItemStore(Path(folder) / ITEMS, repair=False).records


def read_provenance(folder: Path) -> dict[str, Any]:
    """A run's provenance.json (code version, argv, environment); {} when the folder has none."""
    path = Path(folder) / PROVENANCE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"not a readable provenance file ({error})", source=str(path)) from None


def read_per_user(folder: Path) -> pd.DataFrame:
    path = Path(folder) / PER_USER
    text = utf8(path.read_bytes(), str(path))
    try:
        return pd.read_csv(io.StringIO(text), dtype={"user_id": str})
    except ValueError as error:  # pandas' ParserError and EmptyDataError are ValueErrors
        raise DataError(f"not a readable table ({str(error).splitlines()[0][:200]})", source=str(path)) from None


def read_run(folder: Path) -> Run:
    """A finished run: summary, per-user table, items and config; a PrbenchError when one is missing."""
    folder = Path(folder)
    for name in (SUMMARY, CONFIG, ITEMS, PER_USER):
        if not (folder / name).exists():
            raise PrbenchError(f"{folder} holds no finished run (no {name}); finish it with resume=true")
    return Run(folder, read_summary(folder / SUMMARY), read_per_user(folder), read_items(folder), read_config(folder),
               read_provenance(folder))


def list_runs(root: Path) -> list[Path]:
    """Every finished run folder below `root` (one holding summary.json), sorted by path."""
    if not Path(root).is_dir():
        raise DataError("no such folder of runs", source=str(root))
    return [path.parent for path in sorted(Path(root).rglob(SUMMARY))]


def unfinished_runs(root: Path) -> list[Path]:
    """Run folders below `root` that hold results (items, fits or shards) but no summary.json yet: killed or
    failed runs, and sharded runs not merged. A sharded run's shard folders are part of it, not runs."""
    found = []
    for folder, dirs, files in os.walk(root):
        if SUMMARY not in files and (ITEMS in files or FIT_DIR in dirs or SHARDS in dirs):
            found.append(Path(folder))
        dirs[:] = [d for d in dirs if d not in (FIT_DIR, METHOD_DIR, SHARDS, "wandb")]
    return sorted(found)


def inside(root: Path, path: Path, what: str, *, allow_root: bool = False) -> Path:
    """`path`, refused (ConfigError) unless it lies below `root` (or is `root`, with `allow_root`). Decided on the
    paths as written, made absolute (`..` folded in): a symlink the user made inside `root` stays allowed."""
    root_abs, path_abs = os.path.abspath(root), os.path.abspath(path)
    below = os.path.commonpath([root_abs, path_abs]) == root_abs and (allow_root or path_abs != root_abs)
    if not below:
        raise ConfigError(f"{what} lies outside {root} (at {path_abs}); use a relative path that stays inside it")
    return Path(path_abs)


def state_path(fit_dir: Path, name: str) -> Path:
    """Where user `name`'s fit state is kept: one file per id, no two ids alike.

    Ids are percent-escaped (a leading "_" too, so no user id maps to the global `_shared.json`); very long
    ids are cut and hashed. The file also holds the id, checked on read (`read_state`)."""
    raw = name.encode("utf-8", "surrogatepass")  # a lone surrogate (data refuses it) gets a file too, not a crash
    stem = quote(raw, safe="")
    if stem.startswith("_") or stem.startswith("."):
        stem = f"%{ord(stem[0]):02X}{stem[1:]}"
    if len(stem) > MAX_NAME:  # quote leaves ASCII only
        stem = f"{stem[:100]}~{hashlib.sha256(raw).hexdigest()[:16]}"
    return fit_dir / f"{stem}.json"


def read_state(path: Path, name: str) -> dict[str, Any]:
    """A persisted fit file, refused if it was written for another id."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunError(f"file {path}: corrupt fit state ({error}); delete it to refit") from None
    if stored.get("name", name) != name:
        raise RunError(f"file {path}: holds the fit of {stored['name']!r}, not of {name!r}")
    return stored


def user_fit(run_dir: Path, user_id: str) -> Path:
    """Where a run folder keeps user `user_id`'s fit state."""
    return state_path(Path(run_dir) / FIT_DIR, user_id)
