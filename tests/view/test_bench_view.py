"""scripts/bench_view.py runs end to end and writes its measurements (the targets live in the JSON, measured at
PRISM scale by `python scripts/bench_view.py`; here a small folder keeps the script from rotting)."""

import pytest

from tests.conftest import bench_report


@pytest.mark.slow
def test_bench_view_writes_its_measurements(tmp_path):
    report = bench_report("bench_view", tmp_path / "view.json", "--users", "20", "--repeats", "1")
    assert report["data"]["users"] == 20 and report["export"]["files"] > 20 * 5
    for pages in (report["static_file_url"], report["served"]["pages"]):
        assert set(pages) == {"leaderboard", "run", "user"}
        assert all(0 < page["first_render_ms"] < 60_000 for page in pages.values())
    assert set(report["ratios"]) == {"export_seconds_over_target", "export_megabytes_over_target",
                                     "slowest_first_render_over_target"}
    assert report["targets_met"] == all(r <= 1 for r in report["ratios"].values())
