"""Build -> export -> reload round trip, seeded determinism, curation counts, and the inspect command."""

import subprocess
import sys

import pytest

from benchmark.builders.cli import load
from benchmark.builders.counts import BuildReport
from benchmark.builders.curate import CurationOptions, curate
from benchmark.builders.export import export
from benchmark.config import DataConfig
from benchmark.data import load_benchmark
from tests.builders.fixtures import arena_row, prism_conversations, survey_row
from tests.conftest import make_config, write_jsonl


@pytest.fixture
def arena_file(tmp_path):
    rows = [arena_row(f"q{u}-{i}", f"arena_user_{u}", "model_a" if (u + i) % 3 else "model_b",
                      prompt=f"Question {u}.{i}?", a=f"Answer A{u}.{i}.", b=f"Answer B{u}.{i}.")
            for u in range(4) for i in range(6 + 2 * u)]
    rows.append(arena_row("tiny-0", "arena_user_tiny", "model_a"))  # below min_pairs
    return write_jsonl(tmp_path / "arena.jsonl", rows)


def build_and_export(arena_file, out, seed=0):
    cfg, bench, splits = load(["data=arena_raw", f"data.path={arena_file}", f"seed={seed}"])
    export(bench, splits, out, seed, {"seed": seed})
    return bench, splits


def pair_splits(splits):
    return {(p.pair_id, p.user_id, p.context, p.chosen, p.rejected, name)
            for s in splits for name in ("train", "val", "test") for p in getattr(s, name)}


def test_round_trip(arena_file, tmp_path):
    bench, splits = build_and_export(arena_file, tmp_path / "out")
    assert "dropped      1  user with fewer than 5 pairs" in "\n".join(bench.notes)
    for path in (tmp_path / "out" / "data.parquet", tmp_path / "out" / "dataset"):
        cfg = make_config("data=chatbot_arena", f"data.path={path}")
        reloaded = load_benchmark(DataConfig(**cfg.data))
        from benchmark.config import SplitConfig
        from benchmark.splits import split_benchmark

        assert pair_splits(split_benchmark(reloaded, SplitConfig(**cfg.split))) == pair_splits(splits)
    card = (tmp_path / "out" / "README.md").read_text()
    assert "PersonalRewardBench schema" in card and '"seed": 0' in card and "users: 4" in card


def test_same_seed_same_bytes_other_seed_other_split(arena_file, tmp_path):
    build_and_export(arena_file, tmp_path / "a", seed=1)
    build_and_export(arena_file, tmp_path / "b", seed=1)
    for name in ("data.parquet", "README.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    _, one = build_and_export(arena_file, tmp_path / "c", seed=1)
    _, two = build_and_export(arena_file, tmp_path / "d", seed=2)
    strip = lambda s: {x[:5] for x in pair_splits(s)}
    assert strip(one) == strip(two) and pair_splits(one) != pair_splits(two)


def test_prism_from_a_folder(tmp_path):
    write_jsonl(tmp_path / "conversations.jsonl", prism_conversations())
    write_jsonl(tmp_path / "survey.jsonl", [survey_row("user7")])
    cfg = make_config("data=prism_raw", f"data.path={tmp_path}", "data.curation.min_pairs=1")
    bench = load_benchmark(DataConfig(**cfg.data))
    assert len(bench.pairs) == 5 and bench.profiles["user7"].demographics["gender"] == "Female"


def test_curation_caps_and_sampling_are_counted():
    from benchmark.data.validate import parse_pairs
    from tests.conftest import pair_row

    pairs = list(parse_pairs([pair_row(u * 100 + i, user=f"u{u}") for u in range(5) for i in range(3 + 2 * u)],
                             source="t", source_tag="t"))
    report = BuildReport()
    kept = curate(pairs, CurationOptions(min_pairs=5, max_pairs_per_user=6, max_users=2, seed=3), report)
    # users hold 3, 5, 7, 9, 11 pairs: capped at 6, the 3-pair user is too small, two of four are sampled
    assert dict(report.dropped) == {"over max_pairs_per_user": 1 + 3 + 5, "user with fewer than 5 pairs": 3,
                                    "user not sampled (max_users)": 5 + 6 + 6 + 6 - len(kept)}
    assert len({p.user_id for p in kept}) == 2 and all(
        sum(p.user_id == u for p in kept) <= 6 for u in {p.user_id for p in kept})


def test_llm_filters_are_cached_and_counted(tmp_path):
    from benchmark.models import Models

    models = Models({"kind": "mock"}, {"name": "judge-a"}, {"mode": "write", "path": str(tmp_path / "c.sqlite")})
    from benchmark.data.validate import parse_pairs
    from tests.conftest import pair_row

    pairs = list(parse_pairs([pair_row(i, user="u") for i in range(12)], source="t", source_tag="t"))
    opts = CurationOptions(min_pairs=1, personalizable_filter=True, disagreement_filter=True,
                           panel=["judge-a", "judge-b"])
    chat = lambda name: models.chat() if name is None else models.with_model(name).chat()
    report = BuildReport()
    kept = curate(pairs, opts, report, chat)
    assert set(report.dropped) == {"LLM filter: not personalizable", "LLM filter: judges agree"}
    assert len(kept) == 12 - sum(report.dropped.values())
    again = BuildReport()
    assert curate(pairs, opts, again, chat) == kept and again.dropped == report.dropped
    assert models.chat().cache.hits > 0


def test_inspect_command(arena_file):
    result = subprocess.run([sys.executable, "-m", "benchmark.builders.cli", "inspect", "data=arena_raw",
                             f"data.path={arena_file}"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for text in ("arena_raw:", "4 users", "user with fewer than 5 pairs", "languages: English", "train"):
        assert text in result.stdout
