"""`prbench-data`: look at a benchmark before spending GPU time on it, or build and export one.

    prbench-data inspect data=prism_raw data.path=/data/prism             # statistics, drop counts
    prbench-data export data=arena_raw data.path=arena.parquet --out built/arena   # PRB-schema files

Arguments after the sub-command are prbench config overrides (data=..., split=..., seed=...).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf

from benchmark.cli import cli_errors
from benchmark.config import DataConfig, SplitConfig, parse_section
from benchmark.errors import ConfigError, PrbenchError
from benchmark.records import Benchmark
from benchmark.splits import UserSplit, split_benchmark, summarize


def load(overrides: list[str]):
    from benchmark.data import load_benchmark
    from benchmark.models import Models
    from benchmark.runner.main import CONFIG_DIR

    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
    except HydraException as error:  # an unknown key or option, a bad override: one line, exit 2
        lines = str(error).split("\nConfig search path")[0].splitlines()  # not the search path Hydra appends
        reason = " ".join(line.strip() for line in lines if line.strip())
        raise ConfigError(f"config overrides {' '.join(overrides)}: {reason}") from None
    data = parse_section(DataConfig, cfg.data, "data")
    bench = load_benchmark(data, Models(cfg.backend, cfg.model, cfg.cache))
    return cfg, bench, split_benchmark(bench, parse_section(SplitConfig, cfg.split, "split"))


def statistics(bench: Benchmark, splits: list[UserSplit]) -> str:
    pairs = [p for s in splits for p in (*s.train, *s.val, *s.test)]
    turns = Counter(sum(m.role == "user" for m in p.context) for p in pairs)
    languages = Counter(p.meta.get("language") for p in pairs if p.meta.get("language"))
    lines = [f"{bench.name}: {len(bench.pairs)} pairs from {len(bench.user_ids)} users loaded",
             *bench.notes, summarize(splits),
             "  user turns in context: " + ", ".join(f"{k}: {v}" for k, v in sorted(turns.items()))]
    if languages:
        lines.append("  languages: " + ", ".join(f"{k} {v}" for k, v in languages.most_common(8)))
    with_profile = sum(1 for s in splits if bench.profiles.get(s.user_id) and bench.profiles[s.user_id].demographics)
    lines.append(f"  users with a survey profile: {with_profile}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["inspect", "export"])
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. data=prism_raw data.path=DIR")
    parser.add_argument("--out", type=Path, help="export: the output folder")
    args = parser.parse_args(argv)
    with cli_errors("prbench-data"):
        cfg, bench, splits = load(args.overrides)
        print(statistics(bench, splits))
        if args.command == "export":
            if not args.out:
                raise PrbenchError("export needs --out DIR")
            from benchmark.builders.export import export

            card = {"source": OmegaConf.to_container(cfg.data, resolve=True),
                    "split": OmegaConf.to_container(cfg.split, resolve=True), "seed": cfg.seed}
            print(f"wrote {export(bench, splits, args.out, cfg.seed, card)}")


if __name__ == "__main__":
    main()
