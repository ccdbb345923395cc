"""Paths stay inside results_dir: a run_name (or a data.name in the default run_name, or hydra.run.dir) that
would put the run folder elsewhere is refused before Hydra makes any folder: exit 2, one line, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.errors import ConfigError
from benchmark.runs import inside
from tests.faults.helpers_data import assert_one_line_error, prbench


def tree(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.mark.parametrize("override, fragment", [
    ("run_name=../../escaped", "run_name '../../escaped' lies outside"),
    ("run_name={tmp}/absolute", "run_name '{tmp}/absolute' lies outside"),
    ("data.name=../../../escaped", "run_name '../../../escaped/longer' lies outside"),
    ("hydra.run.dir={tmp}/elsewhere", "the run folder (hydra.run.dir) lies outside"),
])
def test_a_run_folder_outside_results_dir_is_refused_and_nothing_is_written(tmp_path, override, fragment):
    results = tmp_path / "deep" / "results"
    before = tree(tmp_path)
    result = prbench(results, "method=longer", "split.max_users=2", override.format(tmp=tmp_path))
    assert_one_line_error(result, "prbench", fragment.format(tmp=tmp_path), str(results))
    assert tree(tmp_path) == before  # not even results_dir


def test_a_sweep_with_one_job_outside_is_refused_before_any_job_runs(tmp_path):
    results = tmp_path / "results"
    result = prbench(results, "-m", "method=longer", "split.max_users=2", "run_name=fine,../../escaped")
    assert_one_line_error(result, "prbench", "run_name '../../escaped' lies outside")
    assert tree(tmp_path) == set()  # the job before it did not run either


def test_a_nested_run_name_inside_results_dir_runs(tmp_path):
    result = prbench(tmp_path / "results", "method=longer", "split.max_users=2", "run_name=team/a/../b")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "results" / "runs" / "team" / "b" / "summary.json").is_file()


def test_inside_is_lexical_and_strict(tmp_path):
    root = tmp_path / "results"
    assert inside(root, root / "runs" / "x" / ".." / "y", "p") == root / "runs" / "y"
    assert inside(root, root, "p", allow_root=True) == root
    for outside in (root, root / "..", root / "runs" / ".." / ".." / "x", Path("/etc"), tmp_path / "results2"):
        with pytest.raises(ConfigError, match="lies outside"):
            inside(root, outside, "p")
    link = root / "runs"
    root.mkdir()
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)  # a symlink the user made stays allowed
    assert inside(root, link / "demo", "p") == link / "demo"
