"""Secrets inside list and dict overrides and tags (`logger.tags=[sk-...]`, `'+x={a: sk-...}'`) reach no file
under the results folder (config, provenance argv, W&B record, a sweep's multirun.yaml) and nothing printed;
token *counts* (max_prompt_tokens) are no secrets, so a change of them is seen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.tracking import argv_secrets, scrub, scrub_argv
from tests.faults.helpers_data import prbench

KEYS = ["sk-tagtagtag0123456789", "sk-dictdict0123456789", "hf_nestednested012345", "plain-but-under-a-token-key"]
OVERRIDES = [f"logger.tags=[{KEYS[0]}, fine]", f"+data.options={{a: {KEYS[1]}, b: [x, {KEYS[2]}]}}",
             f"+data.options.c={{hf_token: {KEYS[3]}}}"]


def assert_no_key_anywhere(results: Path, *outputs: str) -> None:
    files = [p for p in results.rglob("*") if p.is_file()]
    assert files
    for key in KEYS:
        leaked = [str(p) for p in files if key.encode() in p.read_bytes()]
        assert not leaked, (key, leaked)
        assert all(key not in output for output in outputs), key


def wandb_run(results: Path, *args: str) -> subprocess.CompletedProcess:
    """prbench with W&B offline (no API key: nothing leaves the machine)."""
    env = {k: v for k, v in os.environ.items() if k != "WANDB_API_KEY"}
    command = [sys.executable, "-m", "benchmark.runner.main", "method=longer", "split.max_users=2", "cache.mode=off",
               f"results_dir={results}", "logger=wandb", "logger.mode=offline", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env={**env, "WANDB_MODE": "offline"})


def test_keys_in_lists_dicts_and_tags_reach_no_file_with_wandb(tmp_path):
    results = tmp_path / "results"
    result = wandb_run(results, *OVERRIDES)
    assert result.returncode == 0, result.stderr[-3000:]
    (record,) = results.rglob("wandb/offline-run-*/run-*.wandb")
    assert b"logger.tags=***" in record.read_bytes()  # W&B records the command line: scrubbed, not dropped
    provenance = json.loads(next(results.rglob("provenance.json")).read_text())
    assert "logger.tags=***" in provenance["argv"] and "+data.options=***" in provenance["argv"]
    assert_no_key_anywhere(results, result.stdout, result.stderr)


def test_keys_reach_no_file_without_a_logger_and_in_a_sweep(tmp_path):
    results = tmp_path / "results"
    single = prbench(results, "method=longer", "split.max_users=2", f"+logger.tags=[{KEYS[0]}]", *OVERRIDES[1:])
    assert single.returncode == 0, single.stderr[-3000:]
    sweep = prbench(results, "-m", "method=longer", "split.max_users=2", "run_name=swept",
                    f"+logger.tags=[{KEYS[0]}]", *OVERRIDES[1:])
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    saved = (results / "runs" / "multirun.yaml").read_text()  # Hydra's record of the sweep
    assert "+logger.tags=***" in saved and "+data.options=***" in saved
    assert_no_key_anywhere(results, single.stdout, single.stderr, sweep.stdout, sweep.stderr)


def test_hydra_errors_echoing_the_override_are_masked(tmp_path):
    refused = prbench(tmp_path / "results", "method=longer", f"logger.tags=[{KEYS[0]}]")  # logger=none has no tags
    assert refused.returncode != 0 and "logger.tags" in refused.stderr
    assert KEYS[0] not in refused.stdout + refused.stderr


@pytest.mark.parametrize("arg, inner", [
    (f"logger.tags=[{KEYS[0]}]", [KEYS[0]]),
    (f"+x={{a: {KEYS[1]}, b: [c, {KEYS[2]}]}}", [KEYS[1], KEYS[2]]),
    (f"+x={{token: {KEYS[3]}}}", [KEYS[3]]),
    (f"x={KEYS[0]},{KEYS[1]}", [KEYS[0], KEYS[1]]),  # a sweep
    (f"x=[a,{KEYS[0]}", [KEYS[0]]),  # unparsable: still found
])
def test_argv_secrets_finds_keys_inside_values(arg, inner):
    key, _, value = arg.partition("=")
    assert argv_secrets([arg]) == [value, *inner]
    assert scrub_argv([arg, "method=plain"]) == [f"{key}=***", "method=plain"]


def test_token_counts_are_not_secrets_and_a_changed_one_is_seen_on_resume(quick):
    from benchmark.errors import RunError
    from benchmark.runner.run import run

    assert scrub({"max_prompt_tokens": 2048, "bootstrap_tokens": 9, "tokenizer": "t", "hf_token": "x",
                  "tags": [KEYS[0], "fine"]}) == \
        {"max_prompt_tokens": 2048, "bootstrap_tokens": 9, "tokenizer": "t", "hf_token": "***", "tags": ["***", "fine"]}
    cfg = quick("backend=mock", "split.max_users=2", "run_name=counts")
    folder = Path(cfg.results_dir) / "runs" / "counts"
    run(cfg, folder)
    assert "max_reasoning_tokens: 256" in (folder / "config.yaml").read_text()
    with pytest.raises(RunError, match="method.params.max_reasoning_tokens"):
        run(quick("backend=mock", "split.max_users=2", "run_name=counts", "resume=true",
                  "method.params.max_reasoning_tokens=17"), folder)
