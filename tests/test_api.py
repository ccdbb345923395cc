"""The Python API gives what the command line gives: the same run folder layout, numbers and items."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from benchmark import EvalResult, evaluate
from benchmark.errors import ConfigError

OVERRIDES = ("experiment=quick", "method=reward_model", "cache.mode=off")


def test_evaluate_equals_the_cli(tmp_path):
    cli = subprocess.run([sys.executable, "-m", "benchmark.runner.main", *OVERRIDES, f"results_dir={tmp_path / 'cli'}"],
                         capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stderr[-2000:]
    result = evaluate(*OVERRIDES, f"results_dir={tmp_path / 'api'}")
    assert isinstance(result, EvalResult) and result.folder == tmp_path / "api" / "runs" / "demo" / "reward_model"
    summary = json.loads((tmp_path / "cli" / "runs" / "demo" / "reward_model" / "summary.json").read_text())
    assert (result.summary.macro_accuracy, list(result.summary.macro_ci), list(result.summary.micro_ci)) == \
        (summary["macro_accuracy"], summary["macro_ci"], summary["micro_ci"])
    cli_items = [json.loads(line) for line in
                 (tmp_path / "cli" / "runs" / "demo" / "reward_model" / "items.jsonl").read_text().splitlines()]
    verdicts = lambda rows: sorted((r["pair_id"], r["order"], r["preferred"]) for r in rows)
    assert verdicts(result.items.to_dict("records")) == verdicts(cli_items)
    # margins are float32 embedding arithmetic: equal up to the last bits, which depend on what else shared a
    # batch in the embedder (as between a sharded and an unsharded run: tests/runner/shard_helpers.py)
    margins = lambda rows: [m for _, m in sorted(((r["pair_id"], r["order"]), r["margin"]) for r in rows)]
    assert margins(result.items.to_dict("records")) == pytest.approx(margins(cli_items), rel=1e-5)
    per_user = pd.read_csv(tmp_path / "cli" / "runs" / "demo" / "reward_model" / "per_user.csv", dtype={"user_id": str})
    assert result.per_user["accuracy"].tolist() == per_user["accuracy"].tolist()
    assert len(result.items) == summary["n_judgments"] and result.config["method"]["name"] == "reward_model"


def test_evaluate_raises_instead_of_exiting(tmp_path):
    with pytest.raises(ConfigError, match="bootstrap"):
        evaluate("experiment=quick", "method=longer", "bootstrap=five", f"results_dir={tmp_path}")


def test_evaluate_keeps_the_run_folder_inside_results_dir(tmp_path):
    with pytest.raises(ConfigError, match="outside"):
        evaluate("experiment=quick", "method=longer", "run_name=../../escaped", f"results_dir={tmp_path / 'r'}")
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "r").exists()
