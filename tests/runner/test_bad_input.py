"""Bad input through the real commands: one line naming what to fix, exit code 2 (1 for a server that cannot
be reached), never a traceback; secrets typed on the command line reach no file and no output."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import pair_row

SECRET = "sk-test-XXXX-0123456789abcdef"
QUICK = ("logger=none", "split.max_users=2")
# root ignores file modes (CAP_DAC_OVERRIDE): under root (CI), the read-only test drops those capabilities
AS_ORDINARY_USER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                    "--inh-caps=-dac_override,-dac_read_search", "--"] if os.geteuid() == 0 else []


def command(*args, module="benchmark.runner.main", prefix=()):
    return subprocess.run([*prefix, sys.executable, "-m", module, *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "WANDB_MODE": "offline"})


def tool(main, *args):
    code = f"import sys; from {main.rsplit('.', 1)[0]} import {main.rsplit('.', 1)[1]} as m; m()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300)


def assert_clean_error(result, code, *fragments):
    assert result.returncode == code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]  # earlier lines are progress bars
    assert ": error: " in last, result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in last, last


def bad_inputs(tmp):
    garbage = tmp / "garbage.parquet"
    garbage.write_bytes(b"PAR1 not parquet at all")
    latin = tmp / "latin.jsonl"
    latin.write_bytes(json.dumps(pair_row(0)).encode() + b"\n" + b'{"user_id": "caf\xe9"}\n')
    a_file = tmp / "a_file"
    a_file.write_text("x")
    folder = tmp / "a_folder"
    folder.mkdir()
    not_db = tmp / "not.sqlite"
    not_db.write_text("not a database")
    mock = ("backend=mock", f"results_dir={tmp}/r")
    return {
        "garbage parquet": (("data=prism", f"data.path={garbage}", *mock), 2,
                            [f"file {garbage}: not a readable parquet"]),
        "non-UTF-8 jsonl": (("data=prism", f"data.path={latin}", *mock), 2, [f"file {latin}, row 2: not UTF-8"]),
        "results_dir is a file": (("backend=mock", f"results_dir={a_file}"), 2, ["cannot write the run folder",
                                                                                 str(a_file)]),
        "cache.path is a folder": (("backend=mock", f"cache.path={folder}", *mock[1:], "run_name=c1"), 2,
                                   ["config cache.path", str(folder)]),
        "cache.path is not a database": (("backend=mock", f"cache.path={not_db}", *mock[1:], "run_name=c2"), 2,
                                         ["config cache.path", "file is not a database"]),
        "unknown top-level key": (("+bootstrapp=5", *mock), 2, ["config bootstrapp"]),
        "unreachable server": (("backend=openai", "backend.base_url=http://127.0.0.1:9/v1", "backend.backoff_s=0.01",
                                "split.max_users=1", "cache.mode=off", f"results_dir={tmp}/r", "run_name=down"), 1,
                               ["cannot connect to the model server at http://127.0.0.1:9/v1"]),
    }


@pytest.mark.parametrize("case", ["garbage parquet", "non-UTF-8 jsonl", "results_dir is a file",
                                  "cache.path is a folder", "cache.path is not a database", "unknown top-level key",
                                  "unreachable server"])
def test_prbench_bad_input(tmp_path, case):
    args, code, fragments = bad_inputs(tmp_path)[case]
    assert_clean_error(command(*QUICK, *args), code, *fragments)


def test_read_only_results_dir_and_cache(tmp_path):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    assert_clean_error(command(*QUICK, "backend=mock", f"results_dir={read_only}", prefix=AS_ORDINARY_USER), 2,
                       "cannot write the run folder")
    cache = tmp_path / "cache.sqlite"
    import sqlite3

    sqlite3.connect(cache).execute("CREATE TABLE answers (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    cache.chmod(0o444)
    assert_clean_error(command(*QUICK, "backend=mock", f"cache.path={cache}", f"results_dir={tmp_path}/r",
                               prefix=AS_ORDINARY_USER), 2, "config cache.path")
    reading = command(*QUICK, "backend=mock", f"cache.path={cache}", "cache.mode=read", f"results_dir={tmp_path}/r2",
                      prefix=AS_ORDINARY_USER)
    assert reading.returncode == 0, reading.stderr[-3000:]  # a read-only cache is fine to read from


def test_report_tools_on_missing_or_corrupt_runs(tmp_path):
    assert_clean_error(tool("benchmark.report.main", "--runs", str(tmp_path / "nonexistent"), "--out",
                            str(tmp_path / "out")), 2, "nonexistent: no such folder of runs")
    assert not (tmp_path / "out").exists()
    broken = tmp_path / "runs" / "x" / "summary.json"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"data": "demo", "method": ')
    assert_clean_error(tool("benchmark.report.main", "--runs", str(tmp_path / "runs"), "--out",
                            str(tmp_path / "out")), 2, f"file {broken}: not a readable summary")


def test_secrets_on_the_command_line_reach_no_file_or_output(tmp_path):
    """Typed by mistake as a key's value, or under secret-looking or plain keys: results/, W&B files, the saved
    command line and everything printed stay clean (`grep -r` finds nothing)."""
    results = tmp_path / "results"
    finished = command("method=longer", "backend=mock", "logger=wandb", "logger.mode=offline", "split.max_users=2",
                       f"results_dir={results}", f"+data.options.hf_token={SECRET}", f"+data.options.note={SECRET}a")
    assert finished.returncode == 0, finished.stderr[-3000:]
    (record,) = (results / "runs").rglob("wandb/offline-run-*/run-*.wandb")
    assert b"data.options.hf_token=***" in record.read_bytes()  # W&B records the command line: scrubbed
    argv = json.loads(next((results / "runs").rglob("provenance.json")).read_text())["argv"]
    assert "+data.options.hf_token=***" in argv and "+data.options.note=***" in argv
    refused = [
        command("backend=openai", f"backend.api_key_env={SECRET}", "logger=none", f"results_dir={results}"),
        command("backend=mock", f"+foo_token={SECRET}", "logger=none", f"results_dir={results}"),
        command("backend=mock", f"backend.api_key_env={SECRET}", "logger=none", f"results_dir={results}"),
    ]
    assert [r.returncode for r in refused[:2]] == [2, 2]
    assert refused[2].returncode != 0  # Hydra's own error: the key does not exist for the mock backend
    for result in (finished, *refused):
        assert SECRET not in result.stdout + result.stderr
    grep = subprocess.run(["grep", "-r", "-a", "-l", "sk-test-XXXX", str(results)], capture_output=True, text=True)
    assert grep.returncode == 1 and grep.stdout == "", grep.stdout
