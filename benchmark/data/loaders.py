"""Loaders, chosen by `data.loader` in the config. Add one with the `@loader("name")` decorator."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from benchmark.config import DataConfig
from benchmark.data.stored_judges import stored_picks
from benchmark.data.sources import read_hub, read_jsonl, read_local
from benchmark.data.validate import parse_pairs
from benchmark.errors import DataError
from benchmark.records import Benchmark, UserProfile

Loader = Callable[[DataConfig], Benchmark]
LOADERS: dict[str, Loader] = {}


def loader(name: str) -> Callable[[Loader], Loader]:
    def register(fn: Loader) -> Loader:
        LOADERS[name] = fn
        return fn
    return register


def load_benchmark(cfg: DataConfig) -> Benchmark:
    if cfg.loader not in LOADERS:
        raise DataError(f"unknown data.loader {cfg.loader!r} (known: {', '.join(sorted(LOADERS))})")
    return LOADERS[cfg.loader](cfg)


def demo_dir() -> Path:
    return Path(str(resources.files("benchmark.data") / "demo"))


@loader("demo")
def load_demo(cfg: DataConfig) -> Benchmark:
    """The bundled synthetic benchmark (scripts/make_demo.py); `data.path` may point at a regenerated copy."""
    folder = Path(cfg.path) if cfg.path else demo_dir()
    pairs = parse_pairs(read_jsonl(folder / "pairs.jsonl"), source=str(folder / "pairs.jsonl"), source_tag="demo")
    profiles = {
        row["user_id"]: UserProfile(row["user_id"], persona_truth=row.get("persona_truth"))
        for row in read_jsonl(folder / "users.jsonl")
    }
    return Benchmark(cfg.name, pairs, profiles)


@loader("personalrewardbench")
def load_personalrewardbench(cfg: DataConfig) -> Benchmark:
    """The published PersonalRewardBench sets: every HF split, the per-pair `split` column kept.

    Columns beyond the core ones (scores, `prediction_*` judge outputs, filter verdicts) go to `meta`, and
    the stored judge outputs also, label-free, to `meta["stored_picks"]` (see stored_judges.py).
    """
    if cfg.path:
        rows, source = read_local(cfg.path), cfg.path
    elif cfg.hub_id:
        rows, source = read_hub(cfg.hub_id, cfg.revision), cfg.hub_id
    else:
        raise DataError(f"data '{cfg.name}' needs data.path (local copy) or data.hub_id")
    pairs = parse_pairs(rows, source=source, source_tag=cfg.name)
    for pair in pairs:
        pair.meta["stored_picks"] = stored_picks(pair.chosen, pair.rejected, pair.meta)
    return Benchmark(cfg.name, pairs)
