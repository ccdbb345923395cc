"""Data loaders, chosen by `data.loader` in the config and found through the `prbench.loaders` entry-point
group (benchmark/plugins.py: name = `data.loader`, value = `module:function`, the function taking the
`data` section and the run's models, or None, and returning a Benchmark)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from benchmark import plugins
from benchmark.config import DataConfig, parse_section
from benchmark.data.sources import read_hub, read_jsonl, read_local
from benchmark.data.stored_judges import stored_picks
from benchmark.data.validate import parse_pairs
from benchmark.errors import DataError
from benchmark.records import Benchmark, UserProfile

Loader = Callable[..., Benchmark]  # (cfg: DataConfig, models: Models | None) -> Benchmark


def loader(name: str) -> Callable[[Loader], Loader]:
    """Decorator for a loader defined in this process (a notebook, a test); a package declares a
    `prbench.loaders` entry point instead."""
    return lambda fn: plugins.register("loader", name, fn)


def load_benchmark(cfg: DataConfig, models=None) -> Benchmark:
    """`models` (benchmark.models.Models) is only used by builders with LLM filters switched on."""
    return plugins.load("loader", cfg.loader, "data.loader", callable, "a function")(cfg, models)


def demo_dir() -> Path:
    return Path(str(resources.files("benchmark.data") / "demo"))


def load_demo(cfg: DataConfig, models=None) -> Benchmark:
    """The bundled synthetic benchmark (scripts/make_demo.py); `data.path` may point at a regenerated copy."""
    folder = Path(cfg.path) if cfg.path else demo_dir()
    pairs = parse_pairs(read_jsonl(folder / "pairs.jsonl"), source=str(folder / "pairs.jsonl"), source_tag="demo")
    profiles = {
        row["user_id"]: UserProfile(row["user_id"], persona_truth=row.get("persona_truth"))
        for row in read_jsonl(folder / "users.jsonl")
    }
    return Benchmark(cfg.name, pairs, profiles)


def load_personalrewardbench(cfg: DataConfig, models=None) -> Benchmark:
    """The published PersonalRewardBench sets: every HF split, the per-pair `split` column kept.

    Columns beyond the core ones (scores, `prediction_*` judge outputs, filter verdicts) go to `meta`, and
    the stored judge outputs also, label-free, to `meta["stored_picks"]` (see stored_judges.py).
    """
    rows, source = _source_rows(cfg)
    pairs = parse_pairs(rows, source=source, source_tag=cfg.name)
    for pair in pairs:
        pair.meta["stored_picks"] = stored_picks(pair.chosen, pair.rejected, pair.meta, source)
    return Benchmark(cfg.name, pairs)


def _source_rows(cfg: DataConfig, part: str | None = None) -> tuple[list[dict], str]:
    """Rows of a source and its name: `data.path` (a file or folder; with `part`, a folder's
    `<part>.jsonl|parquet`) or the hub (with `part`, that dataset config)."""
    if cfg.path:
        path = Path(cfg.path)
        if part and path.is_dir():
            found = [path / f"{part}{ext}" for ext in (".jsonl", ".parquet", ".json")
                     if (path / f"{part}{ext}").exists()]
            if not found:
                raise DataError(f"no {part}.jsonl / .parquet in the folder", source=str(path))
            path = found[0]
        return read_local(path), str(path)
    if cfg.hub_id:
        return read_hub(cfg.hub_id, cfg.revision, part), f"{cfg.hub_id}:{part}" if part else cfg.hub_id
    raise DataError(f"data '{cfg.name}' needs data.path (local copy) or data.hub_id")


def _curated(cfg: DataConfig, pairs, profiles, report, models) -> Benchmark:
    from benchmark.builders.curate import CurationOptions, curate

    opts = parse_section(CurationOptions, cfg.curation, "data.curation")
    chat = (lambda name: models.chat() if name is None else models.with_model(name).chat()) if models else None
    pairs = curate(pairs, opts, report, chat)
    return Benchmark(cfg.name, tuple(pairs), profiles, tuple(report.lines()))


def load_arena_raw(cfg: DataConfig, models=None) -> Benchmark:
    """lmsys/chatbot_arena_conversations, built into pairs (benchmark/builders/arena.py)."""
    from benchmark.builders.arena import ArenaOptions, arena_pairs

    rows, source = _source_rows(cfg)
    pairs, report = arena_pairs(rows, parse_section(ArenaOptions, cfg.options, "data.options"), source)
    return _curated(cfg, pairs, {}, report, models)


def load_prism_raw(cfg: DataConfig, models=None) -> Benchmark:
    """HannahRoseKirk/prism-alignment conversations + survey, built into pairs (benchmark/builders/prism.py)."""
    from benchmark.builders.prism import PrismOptions, prism_pairs

    opts = parse_section(PrismOptions, cfg.options, "data.options")
    conversations, source = _source_rows(cfg, "conversations")
    survey = _source_rows(cfg, "survey")[0] if opts.require_survey or cfg.path is None else None
    pairs, profiles, report = prism_pairs(conversations, survey, opts, source)
    return _curated(cfg, pairs, profiles, report, models)


def load_community_alignment(cfg: DataConfig, models=None) -> Benchmark:
    """facebook/community-alignment-dataset, built into pairs (benchmark/builders/community_alignment.py)."""
    from benchmark.builders.community_alignment import CommunityAlignmentOptions, community_alignment_pairs, read_rows

    opts = parse_section(CommunityAlignmentOptions, cfg.options, "data.options")
    rows, source = read_rows(cfg.path) if cfg.path else _source_rows(cfg)
    pairs, profiles, report = community_alignment_pairs(rows, opts, source)
    return _curated(cfg, pairs, profiles, report, models)


def load_personalllm(cfg: DataConfig, models=None) -> Benchmark:
    """namkoong-lab/PersonalLLM prompts, simulated users drawn over them (benchmark/builders/personalllm.py)."""
    from benchmark.builders.personalllm import PersonalLLMOptions, personalllm_pairs

    rows, source = _source_rows(cfg)
    pairs, profiles, report = personalllm_pairs(rows, parse_section(PersonalLLMOptions, cfg.options, "data.options"),
                                                source)
    return _curated(cfg, pairs, profiles, report, models)


def load_tldr_workers(cfg: DataConfig, models=None) -> Benchmark:
    """openai/summarize_from_feedback comparisons, users = workers (benchmark/builders/tldr.py)."""
    from benchmark.builders.tldr import TldrOptions, read_rows, tldr_pairs

    if cfg.path:
        rows, source = read_rows(cfg.path)
    elif cfg.hub_id:
        rows, source = read_hub(cfg.hub_id, cfg.revision, "comparisons"), f"{cfg.hub_id}:comparisons"
    else:
        raise DataError(f"data '{cfg.name}' needs data.path (local copy) or data.hub_id")
    pairs, report = tldr_pairs(rows, parse_section(TldrOptions, cfg.options, "data.options"), source)
    return _curated(cfg, pairs, {}, report, models)

