"""The `prbench` command: help, a clear error with exit code 2, and a sweep with its leaderboard."""

import subprocess
import sys


def prbench(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "benchmark.runner.main", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_help_lists_config_groups():
    out = prbench("--help").stdout
    for group in ("data:", "method:", "backend:", "split:", "logger:"):
        assert group in out
    assert "reward_model_personal" in out


def test_bad_input_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"user_id": "u", "context": [], "chosen": "a", "rejected": "b"}\n')
    result = prbench("data=prism", f"data.path={bad}", "logger=none", f"results_dir={tmp_path}")
    assert result.returncode == 2
    assert f"file {bad}, row 1, field 'context'" in result.stderr


def test_sweep_writes_a_leaderboard(tmp_path):
    result = prbench("-m", "method=plain,longer", "backend=mock", "logger=none", "split.max_users=4", "cache.mode=off",
                     f"results_dir={tmp_path}")
    assert result.returncode == 0, result.stderr
    board = (tmp_path / "leaderboard.md").read_text()
    assert "| demo | plain |" in board and "| demo | longer |" in board
    assert "| data | method |" in result.stdout
