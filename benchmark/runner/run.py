"""One evaluation run: load, split, fit per user, judge every test pair in both orders, score, log."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from benchmark.config import DataConfig, LoggerConfig, RunConfig, SplitConfig, parse_section
from benchmark.data import load_benchmark
from benchmark.methods import Method, UserData, build_method, visible_profile
from benchmark.metrics import items_frame, per_user_table, summarize
from benchmark.models import Models
from benchmark.records import ORDERS, JudgeItem, UserProfile
from benchmark.report import format_summary
from benchmark.runner.folder import RunFolder, data_fingerprint, write_json
from benchmark.splits import UserSplit, split_benchmark
from benchmark.splits import summarize as summarize_splits
from benchmark.store import ItemStore, item_record
from benchmark.tracking import log_to_wandb, provenance, scrub


CONFIG_GROUPS = ("data", "split", "method", "backend", "model", "logger", "cache", "experiment", "hydra")


@dataclass
class RunResult:
    folder: Path
    summary: dict[str, Any]
    per_user: pd.DataFrame


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _judge_user(method: Method, split: UserSplit, state: dict, store: ItemStore, seed: int, batch_size: int,
                bar) -> None:
    """Judge the user's missing items, shuffled (seeded) so that position never hints at the label."""
    pending = [(pair, order) for pair in split.test for order in ORDERS if (pair.pair_id, order) not in store]
    random.Random(f"{seed}:{split.user_id}").shuffle(pending)
    for chunk in _chunks(pending, batch_size):
        judgments = method.judge([JudgeItem.from_pair(pair, order, method.item_meta) for pair, order in chunk], state)
        if len(judgments) != len(chunk):
            raise RuntimeError(f"{type(method).__name__}.judge must return one judgment per item, in order")
        store.append(item_record(pair, order, j) for (pair, order), j in zip(chunk, judgments))
        bar.update(len(chunk))


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What the model layer did between two usage snapshots (calls, tokens, cache hits...)."""
    return {k: v - before.get(k, 0) for k, v in after.items()}


def _per_user(items: pd.DataFrame, splits: list[UserSplit], fit_seconds: dict[str, float],
              fit_calls: dict[str, dict[str, float]], settings: RunConfig) -> pd.DataFrame:
    """The per-user table, with split sizes and what fitting each user cost."""
    table = per_user_table(items, settings.bootstrap, settings.seed)
    table.insert(table.columns.get_loc("seconds") + 1, "fit_seconds", table["user_id"].map(fit_seconds))
    for key in ("calls", "prompt_tokens"):
        table[f"fit_{key}"] = table["user_id"].map(lambda u: fit_calls.get(u, {}).get(key, 0))
    sizes = {s.user_id: (len(s.train), len(s.val)) for s in splits}
    table.insert(1, "n_train", table["user_id"].map(lambda u: sizes[u][0]))
    table.insert(2, "n_val", table["user_id"].map(lambda u: sizes[u][1]))
    return table


def run(cfg: DictConfig, run_dir: Path) -> RunResult:
    folder = RunFolder(run_dir)
    try:
        return _run(cfg, run_dir, folder)
    finally:
        folder.close()  # the folder's lock


def _run(cfg: DictConfig, run_dir: Path, folder: RunFolder) -> RunResult:
    config = scrub({k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k != "hydra"})
    settings = parse_section(RunConfig, {k: v for k, v in config.items() if k not in CONFIG_GROUPS}, "")
    data_cfg = parse_section(DataConfig, cfg.data, "data")
    split_cfg = parse_section(SplitConfig, cfg.split, "split")
    logger_cfg = parse_section(LoggerConfig, cfg.logger, "logger")
    models = Models(cfg.backend, cfg.model, cfg.get("cache"))
    method_cfg, method = build_method(cfg.method, models)

    folder.open(config, settings.resume)
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(config)), encoding="utf-8")
    write_json(run_dir / "provenance.json", provenance())

    bench = load_benchmark(data_cfg, models)
    splits = split_benchmark(bench, split_cfg)
    print(f"[prbench] {bench.name}: {summarize_splits(splits)}")
    folder.bind_data(data_fingerprint(splits, bench.profiles))  # before any state is persisted

    users = {s.user_id: UserData(s.user_id, s.train, s.val, visible_profile(
        method, bench.profiles.get(s.user_id, UserProfile(s.user_id)))) for s in splits}
    usage_start, usage_earlier = models.usage(), folder.earlier_usage()
    method.workdir = folder.method_dir
    shared, setup_seconds = folder.shared_state(lambda: method.setup(list(users.values())))
    method.restore(shared)
    store = ItemStore(folder.items)
    expected = [(p.pair_id, o) for s in splits for p in s.test for o in ORDERS]
    fit_seconds: dict[str, float] = {}
    fit_calls: dict[str, dict[str, float]] = {}
    with tqdm(total=len(expected), initial=sum(k in store for k in expected), unit="judgment",
              desc=f"{method_cfg.name} on {bench.name}") as bar:
        for split in splits:
            bar.set_postfix_str(split.user_id)
            before = models.usage()
            state, fit_seconds[split.user_id] = folder.state(split.user_id, lambda: method.fit(users[split.user_id]))
            fit_calls[split.user_id] = _delta(before, models.usage())
            _judge_user(method, split, state, store, settings.seed, settings.batch_size, bar)
            folder.save_usage(usage_earlier, _delta(usage_start, models.usage()))

    items = items_frame(store.records[k] for k in expected)
    per_user = _per_user(items, splits, fit_seconds, fit_calls, settings)
    summary = {"run_name": settings.run_name, "data": bench.name, "method": method_cfg.name,
               "model": method.model_label, **summarize(items, per_user, settings.bootstrap, settings.seed),
               "setup_seconds": setup_seconds, "fit_seconds": float(sum(fit_seconds.values())),
               "model_usage": folder.save_usage(usage_earlier, _delta(usage_start, models.usage()))}
    per_user.to_csv(run_dir / "per_user.csv", index=False)
    write_json(run_dir / "summary.json", summary)
    print(format_summary(summary))
    log_to_wandb(logger_cfg, run_dir, settings.run_name, config, summary, per_user, folder.items)
    return RunResult(run_dir, summary, per_user)
