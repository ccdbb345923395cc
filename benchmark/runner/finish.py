"""The end of a run: judged items -> per-user table -> summary -> files -> W&B. The runner calls it after
its loop, `prbench-merge` after gathering the shards of a run (so both write exactly the same tables)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.config import LoggerConfig, RunConfig
from benchmark.metrics import items_frame, per_user_table, summarize
from benchmark.report import format_summary
from benchmark.runs import PER_USER, write_summary, write_text
from benchmark.tracking import log_to_wandb


@dataclass
class RunResult:
    folder: Path
    summary: dict[str, Any]
    per_user: pd.DataFrame


@dataclass
class Outcome:
    """What a run's loop produced besides its items: split sizes and fit costs per user, and run totals."""

    labels: dict[str, str]  # run_name, data, method, model
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # user -> (n_train, n_val)
    fit_seconds: dict[str, float] = field(default_factory=dict)
    fit_calls: dict[str, dict[str, float]] = field(default_factory=dict)
    setup_seconds: float = 0.0
    model_usage: dict[str, float] = field(default_factory=dict)
    throughput: dict[str, float] = field(default_factory=dict)  # users and requests in flight, tokens/s


def per_user(items: pd.DataFrame, outcome: Outcome, settings: RunConfig) -> pd.DataFrame:
    """The per-user table, with split sizes and what fitting each user cost."""
    table = per_user_table(items, settings.bootstrap, settings.seed)
    table.insert(table.columns.get_loc("seconds") + 1, "fit_seconds", table["user_id"].map(outcome.fit_seconds))
    for key in ("calls", "prompt_tokens"):
        table[f"fit_{key}"] = table["user_id"].map(lambda u, key=key: outcome.fit_calls.get(u, {}).get(key, 0))
    table.insert(1, "n_train", table["user_id"].map(lambda u: outcome.sizes[u][0]))
    table.insert(2, "n_val", table["user_id"].map(lambda u: outcome.sizes[u][1]))
    return table


def finish(run_dir: Path, records: Iterable[dict[str, Any]], outcome: Outcome, settings: RunConfig,
           logger_cfg: LoggerConfig, config: dict[str, Any], items_path: Path) -> RunResult:
    """Score the items, write per_user.csv and summary.json into `run_dir`, print the summary, log to W&B."""
    items = items_frame(records)
    table = per_user(items, outcome, settings)
    summary = {**outcome.labels, **summarize(items, table, settings.bootstrap, settings.seed),
               "setup_seconds": outcome.setup_seconds, "fit_seconds": float(sum(outcome.fit_seconds.values())),
               "model_usage": outcome.model_usage, **outcome.throughput}
    write_text(run_dir / PER_USER, table.to_csv(index=False))
    write_summary(run_dir, summary)
    print(format_summary(summary))
    log_to_wandb(logger_cfg, run_dir, settings.run_name, config, summary, table, items_path)
    return RunResult(run_dir, summary, table)
