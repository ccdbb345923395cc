"""Comparing runs: refuses different item sets; reports paired differences with Holm-corrected p-values."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.compare import compare, format_table
from benchmark.errors import PrbenchError
from benchmark.runner.run import run
from benchmark.runs import read_run


@pytest.fixture
def runs(quick):
    folders = {}
    for overrides in (["method=longer"], ["method=longer", "method.params.shorter=true", "method.name=shorter"],
                      ["method=plain", "backend=mock"]):
        cfg = quick(*overrides)
        folders[cfg.method.name] = run(cfg, Path(cfg.results_dir) / "runs" / cfg.run_name).folder
    return folders


def test_compare_table(runs):
    table = compare([read_run(runs[m]) for m in ("longer", "shorter", "plain")], n_perm=2000)
    # mock runs are labelled mock
    assert table["method"].tolist() == ["longer (none)", "shorter (none)", "plain (mock)"]
    longer, shorter = table.iloc[0], table.iloc[1]
    assert shorter["difference"] == pytest.approx(shorter["macro"] - longer["macro"])
    assert all(table["p_holm"].iloc[1:] >= table["p_value"].iloc[1:])
    assert shorter["wins"] + shorter["losses"] + shorter["ties"] == 6
    # two comparisons: Bonferroni-simultaneous CIs, numeric; each excludes 0 exactly when 2·p < 0.05
    assert table["ci_level"].iloc[1:].tolist() == [0.975, 0.975]
    for row in table.iloc[1:].itertuples():
        assert row.difference_ci_low <= row.difference <= row.difference_ci_high
        assert (not row.difference_ci_low <= 0 <= row.difference_ci_high) == (2 * row.p_value < 0.05)
    assert table["macro_ci_low"].dtype == float and table["macro_ci_high"].dtype == float
    table.loc[2, "degenerate"] = "first"
    text = format_table(table)
    assert "reference" in text and "(97.5%)" in text and "degenerate: always 'first'" in text


def test_compare_refuses_different_items(runs, quick):
    cfg = quick("method=longer", "split.max_users=5", "run_name=fewer")
    fewer = run(cfg, Path(cfg.results_dir) / "runs" / "fewer").folder
    with pytest.raises(PrbenchError, match="different items"):
        compare([read_run(runs["longer"]), read_run(fewer)])


def test_compare_cli_writes_table_and_plot(runs, tmp_path):
    out = tmp_path / "cmp"
    result = subprocess.run([sys.executable, "-c", "from benchmark.compare import main; main()",
                             str(runs["longer"]), str(runs["shorter"]), "--out", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "| method |" in result.stdout
    assert (out / "compare.png").stat().st_size > 1000 and (out / "compare.csv").exists()


def test_compare_cli_says_when_runs_were_made_in_different_environments(runs):
    path = runs["shorter"] / "provenance.json"
    provenance = json.loads(path.read_text())
    provenance["environment"]["distributions"]["pandas"] = "0.0.1"
    path.write_text(json.dumps(provenance))
    cli = lambda *folders: subprocess.run([sys.executable, "-c", "from benchmark.compare import main; main()",
                                           *map(str, folders)], capture_output=True, text=True)
    differ = cli(runs["longer"], runs["shorter"])
    assert differ.returncode == 0, differ.stderr
    assert "different environments" in differ.stderr and "pandas" in differ.stderr and "0.0.1" in differ.stderr
    same = cli(runs["longer"], runs["plain"])
    assert same.returncode == 0 and "environment" not in same.stderr


def test_compare_leaves_a_half_written_items_file_as_it_is(runs):
    """A run being resumed may be mid-write: a reader skips the torn last line and never cuts it off."""
    from benchmark.compare import main

    items = runs["shorter"] / "items.jsonl"
    with items.open("ab") as f:
        f.write(b'{"pair_id": "half-writ')
    before = items.read_bytes()
    main([str(runs["longer"]), str(runs["shorter"])])
    assert items.read_bytes() == before
