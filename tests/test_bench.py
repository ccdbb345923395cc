"""The benchmark script runs and writes its ratios (targets live in the JSON, not in a timed test)."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_bench_backends_writes_ratios(tmp_path):
    out = tmp_path / "backends.json"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_backends.py"), "--users", "3", "--out", str(out)],
                   check=True, capture_output=True, timeout=900)
    report = json.loads(out.read_text())
    assert set(report) == {"harness_overhead", "concurrency", "cached_rerun"}
    assert report["cached_rerun"]["cached_calls"] == 0 and report["cached_rerun"]["cache_hits"] > 0
    assert all(isinstance(part["meets_target"], bool) for part in report.values())
