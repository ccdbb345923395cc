"""Every console script ends the same way (benchmark/cli.py): a missing file is one line naming it on stderr and
exit code 2, never a traceback. A failed check is exit 1: prbench-regress's gate (tests/test_regress.py), a run
whose requests failed (tests/faults/test_server_faults.py)."""

import subprocess
import sys
import tomllib

import pytest

from tests.conftest import ROOT

SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def missing_file_args(program: str, missing: str, tmp) -> list[str]:
    return {
        "prbench": ["data=demo", f"data.path={missing}", "logger=none", f"results_dir={tmp / 'results'}"],
        "prbench-leaderboard": ["--runs", missing, "--out", str(tmp / "out")],
        "prbench-report": ["--runs", missing, "--out", str(tmp / "out")],
        "prbench-compare": [missing, missing],
        "prbench-regress": ["--baseline", f"{missing}/baseline.json", "--run", missing],
        "prbench-data": ["inspect", "data=demo", f"data.path={missing}"],
        "prbench-merge": [missing],
        "prbench-view": [missing, "--out", str(tmp / "view")],
    }[program]


@pytest.mark.parametrize("program", sorted(SCRIPTS))
def test_a_missing_file_is_one_line_and_exit_2(program, tmp_path):
    module, function = SCRIPTS[program].split(":")
    missing = str(tmp_path / "no-such-folder")
    done = subprocess.run([sys.executable, "-c", f"import sys; from {module} import {function}; "
                           f"{function}(sys.argv[1:])", *missing_file_args(program, missing, tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and lines[-1].startswith(f"{program.replace('-leaderboard', '-report')}: "
                                                                    "error: ") and missing in lines[-1], lines


@pytest.mark.parametrize("program", sorted(SCRIPTS))
def test_every_main_takes_argv(program):
    import importlib
    import inspect

    module, function = SCRIPTS[program].split(":")
    params = inspect.signature(getattr(importlib.import_module(module), function)).parameters
    assert list(params) == ["argv"] and params["argv"].default is None


@pytest.mark.parametrize(("override", "reason"), [("data.bogus=1", "Could not override 'data.bogus'"),
                                                  ("data=nosuch", "Could not find 'data/nosuch'"),
                                                  ("data.path=[unclosed", "no viable alternative")])
def test_prbench_data_names_a_bad_override_in_one_line(override, reason, tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmark.builders.cli", "inspect", override], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    line = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert line.startswith(f"prbench-data: error: config overrides {override}: ") and reason in line, line
