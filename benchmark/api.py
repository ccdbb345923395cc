"""The Python API: one evaluation from a notebook or a script, without the command line.

    from benchmark import evaluate
    result = evaluate("method=reward_model", "split.max_users=6", "logger=none")
    result.summary.macro_accuracy, result.summary.macro_ci      # typed (benchmark.runs.RunSummary)
    result.per_user.sort_values("accuracy").head()             # one row per user (per_user.csv)
    result.items[result.items.preferred == "fail"]             # one row per judgment (items.jsonl)

`evaluate` takes the overrides `prbench` takes, composes the same config, writes the same run folder
(`<results_dir>/runs/<run_name>`, resumable with "resume=true") and reads it back through `benchmark.runs`,
so its numbers are the CLI's. Errors are raised (`benchmark.errors.PrbenchError`), not turned into exit codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf, open_dict

from benchmark.metrics import items_frame
from benchmark.runs import RUNS_DIR, Run, RunSummary, inside, read_run
from benchmark.shipped import CONFIG_DIR


@dataclass(frozen=True)
class EvalResult:
    """A finished run, read back: its folder, typed summary, per-user table and judged items."""

    folder: Path
    summary: RunSummary
    per_user: pd.DataFrame
    items: pd.DataFrame
    config: dict

    @classmethod
    def from_run(cls, run: Run) -> EvalResult:
        return cls(run.folder, run.summary, run.per_user, items_frame(run.items.values()), run.config)


def compose_config(*overrides: str) -> tuple[DictConfig, Path]:
    """The config `prbench OVERRIDES...` runs with, and its run folder (Hydra's `hydra.run.dir`)."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    run_dir = Path(OmegaConf.select(cfg, "hydra.run.dir"))
    with open_dict(cfg):
        cfg.pop("hydra")
    return cfg, run_dir


def evaluate(*overrides: str) -> EvalResult:
    """Run one evaluation as `prbench OVERRIDES...` would, and return it read back from its run folder."""
    from benchmark.runner.run import run  # heavy imports only when a run is asked for

    cfg, run_dir = compose_config(*overrides)
    runs = Path(str(cfg.results_dir)) / RUNS_DIR  # the CLI's Preflight check: the run folder stays in results_dir
    inside(runs, runs / str(cfg.run_name), f"run_name {str(cfg.run_name)!r}")
    inside(Path(str(cfg.results_dir)), run_dir, "the run folder (hydra.run.dir)")
    run(cfg, run_dir)
    return EvalResult.from_run(read_run(run_dir))
