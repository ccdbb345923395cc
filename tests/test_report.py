"""Leaderboard aggregation across run folders."""

import json

from benchmark.report import format_summary, write_leaderboard


def summary(method, macro):
    return {"data": "demo", "method": method, "model": "m", "macro_accuracy": macro, "macro_ci": [macro - .1, macro + .1],
            "micro_accuracy": macro, "micro_ci": [macro - .1, macro + .1], "failure_rate": 0.0, "tie_rate": 0.0,
            "order_consistency": 1.0, "n_users": 3, "n_pairs": 6, "n_judgments": 12, "failures": 0, "ties": 0,
            "seconds_per_judgment": 0.01, "fit_seconds": 0.0,
            "cost": {"calls": 12, "prompt_tokens": 100, "completion_tokens": 0, "seconds": 0.1}}


def test_leaderboard_sorts_by_macro_accuracy(tmp_path):
    for method, macro in (("weak", 0.5), ("strong", 0.75)):
        folder = tmp_path / "runs" / "demo" / method
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps(summary(method, macro)))
    df = write_leaderboard(tmp_path / "runs", tmp_path)
    assert df["method"].tolist() == ["strong", "weak"]
    md = (tmp_path / "leaderboard.md").read_text()
    assert "| demo | strong | m | 75.00 | [65.00, 85.00] |" in md
    assert (tmp_path / "leaderboard.csv").read_text().startswith("data,method,model,macro")


def test_summary_text_reports_failures_and_cis():
    text = format_summary(summary("x", 0.6))
    assert "macro accuracy 60.00  95% CI [50.00, 70.00]" in text and "failures 0" in text
