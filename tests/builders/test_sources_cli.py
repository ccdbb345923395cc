"""The three new sources through `prbench-data` and `prbench`: inspect, one-line errors, byte-identical exports,
the oracle persona, and (slow, MiniLM) a sweep whose leaderboard lists the three side by side."""

import json
import subprocess
import sys

import pytest

from benchmark.builders.cli import load
from benchmark.builders.export import export
from benchmark.config import DataConfig, SplitConfig
from benchmark.data import load_benchmark
from benchmark.splits import split_benchmark
from tests.builders.source_fixtures import ca_rows, plm_rows, tldr_rows, write_csv
from tests.conftest import make_config, write_jsonl

SOURCES = ("community_alignment", "personalllm", "tldr_workers")
PLM_SMALL = ["data.options.n_users=4", "data.options.pairs_per_user=[8,8]"]


def fixture(source, folder, rows=None):
    """The source's fixture file, in its release's format."""
    if source == "community_alignment":
        return write_csv(folder / "community_alignment.csv", ca_rows() if rows is None else rows)
    if source == "personalllm":
        return write_jsonl(folder / "personalllm.jsonl", plm_rows() if rows is None else rows)
    path = folder / "batch9.json"  # JSON lines, as the release's comparisons files
    path.write_text("".join(json.dumps(r) + "\n" for r in (tldr_rows() if rows is None else rows)))
    return path


def overrides(source, path, *more):
    return [f"data={source}", f"data.path={path}", *(PLM_SMALL if source == "personalllm" else []), *more]


def prbench_data(*args):
    return subprocess.run([sys.executable, "-m", "benchmark.builders.cli", *args], capture_output=True, text=True,
                          timeout=300)


def prbench(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "benchmark.runner.main", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


INSPECT = {  # users after curation and a drop line, counted by hand from the fixtures
    "community_alignment": ("3 users", "dropped      1  candidate identical to the preferred response"),
    "personalllm": ("4 users", "dropped      1  identical response pair (never drawn)"),
    "tldr_workers": ("2 users", "dropped      1  CNN/DM article (not a Reddit post)"),
}


@pytest.mark.parametrize("source", SOURCES)
def test_inspect_shows_users_and_drops(source, tmp_path):
    result = prbench_data("inspect", *overrides(source, fixture(source, tmp_path)))
    assert result.returncode == 0, result.stderr
    users, drop = INSPECT[source]
    assert f"{source}: " in result.stdout and users in result.stdout and drop in result.stdout


BAD = {  # (rows with row 2 broken, the field named)
    "community_alignment": (lambda rows: rows[1].update(first_turn_preferred_response="response_z"),
                            "first_turn_preferred_response"),
    "personalllm": (lambda rows: rows[1].update(response_5_beaver_7b=None), "response_5_beaver_7b"),
    "tldr_workers": (lambda rows: rows[1].update(choice=3), "choice"),
}


@pytest.mark.parametrize("source", SOURCES)
def test_bad_row_is_one_line_exit_2_or_skipped(source, tmp_path):
    rows = {"community_alignment": ca_rows, "personalllm": plm_rows, "tldr_workers": tldr_rows}[source]()
    change, field = BAD[source]
    change(rows)
    path = fixture(source, tmp_path, rows)
    for result, prefix in ((prbench_data("inspect", *overrides(source, path)), "prbench-data"),
                           (prbench(*overrides(source, path, "method=longer", "logger=none",
                                               f"results_dir={tmp_path / 'results'}")), "prbench")):
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == result.stderr.strip().splitlines()[0]  # one line
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith(f"{prefix}: error: file {path}, row 2, field '{field}'"), result.stderr
    skipped = prbench_data("inspect", *overrides(source, path, "data.options.on_bad_row=skip"))
    assert skipped.returncode == 0, skipped.stderr
    assert f"dropped      1  malformed row ({field})" in skipped.stdout


@pytest.mark.parametrize("source", SOURCES)
def test_same_seed_same_bytes(source, tmp_path):
    path = fixture(source, tmp_path)

    def build(out, seed):
        cfg, bench, splits = load(overrides(source, path, f"seed={seed}"))
        export(bench, splits, out, seed, {"seed": seed})
        return splits

    one = build(tmp_path / "a", 1)
    build(tmp_path / "b", 1)
    for name in ("data.parquet", "README.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = build(tmp_path / "c", 2)
    assert (tmp_path / "a" / "data.parquet").read_bytes() != (tmp_path / "c" / "data.parquet").read_bytes()
    # the export reloads as a PersonalRewardBench set, with the same per-user split
    cfg = make_config("data=chatbot_arena", f"data.path={tmp_path / 'a' / 'data.parquet'}")
    reloaded = split_benchmark(load_benchmark(DataConfig(**cfg.data)), SplitConfig(**cfg.split))
    assert [(s.user_id, [p.pair_id for p in s.test]) for s in reloaded] == \
        [(s.user_id, [p.pair_id for p in s.test]) for s in one]
    assert one != other


@pytest.mark.parametrize("source", SOURCES)
def test_auto_split_is_the_per_user_resplit(source, tmp_path):
    path = fixture(source, tmp_path)
    _, _, auto = load(overrides(source, path))
    _, _, resplit = load(overrides(source, path, "split=resplit"))
    _, _, bundle = load([f"experiment={source}", *overrides(source, path)[1:]])
    assert auto == resplit == bundle and all(s.test for s in auto)


def test_oracle_reads_the_personalllm_weights(tmp_path):
    path = fixture("personalllm", tmp_path)
    common = [*overrides("personalllm", path), "backend=mock", "logger=none", "cache.mode=off",
              f"results_dir={tmp_path / 'results'}"]
    assert prbench(*common, "method=persona_oracle").returncode == 0
    items = (tmp_path / "results" / "runs" / "personalllm" / "persona_oracle" / "items.jsonl").read_text()
    assert len(items.splitlines()) == 2 * 4 * 2  # 4 users x 2 test pairs (20% of 8) x both orders
    refused = prbench(*common, "method=persona_stated")  # the weights are not a stated preference
    assert refused.returncode == 2 and "user context 'stated' needs stated preferences" in refused.stderr


@pytest.mark.slow
def test_sweep_lists_the_three_sources_side_by_side(tmp_path):
    results = tmp_path / "results"
    for source in SOURCES:
        path = fixture(source, tmp_path)
        result = prbench("-m", "method=reward_model,reward_model_personal,longer", f"data={source}",
                         f"data.path={path}", "logger=none", f"results_dir={results}")  # PersonalLLM: 100 users
        assert result.returncode == 0, result.stderr[-3000:]
    board = (results / "leaderboard.md").read_text()
    for source in SOURCES:
        for method in ("reward_model", "reward_model_personal", "longer"):
            assert f"| {source} | {method} |" in board, board
