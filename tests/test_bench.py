"""The benchmark script runs and writes its ratios (targets live in the JSON, not in a timed test)."""

import pytest

from tests.conftest import bench_report


@pytest.mark.slow
def test_bench_backends_writes_ratios(tmp_path):
    report = bench_report("bench_backends", tmp_path / "backends.json", "--users", "3")
    assert set(report) == {"harness_overhead", "concurrency", "cached_rerun"}
    assert report["cached_rerun"]["cached_calls"] == 0 and report["cached_rerun"]["cache_hits"] > 0
    assert all(isinstance(part["meets_target"], bool) for part in report.values())


@pytest.mark.slow
def test_bench_reference_runs_both_sides_on_the_same_users(tmp_path):
    """One demo user through the authors' own driver and through prbench, on one stand-in that answers at once."""
    report = bench_report("bench_reference", tmp_path / "reference.json", "--users", "1", "--generate-s", "0")
    prbench, reference = report["prbench"], report["reference"]
    assert [u["user_id"] for u in prbench["per_user"]] == [u["user_id"] for u in reference["per_user"]]
    assert prbench["requests"] > 0 and reference["requests"] > 0
    assert report["requests_per_user_ratio"] == round(prbench["requests_per_user_mean"]
                                                      / reference["requests_per_user_mean"], 4)
    assert report["speedup"] == round(reference["wall_s"] / prbench["wall_s"], 2)
    assert prbench["requests_in_flight_mean_over_wall"] is None  # no latency: Little's law says nothing
    assert all(isinstance(report["targets"][k], bool) for k in ("speedup_met", "requests_met"))
