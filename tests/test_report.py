"""Leaderboard aggregation across run folders."""

import json

import pandas as pd
import pytest

from benchmark.report import format_reference, format_summary, write_leaderboard


def summary(method, macro):
    return {"data": "demo", "method": method, "model": "m", "macro_accuracy": macro,
            "macro_ci": [macro - .1, macro + .1],
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
    csv = pd.read_csv(tmp_path / "leaderboard.csv")
    assert list(csv.columns[:6]) == ["data", "method", "model", "macro", "macro_ci_low", "macro_ci_high"]
    assert csv["macro_ci_low"].tolist() == pytest.approx([0.65, 0.4])  # numbers, not "[65.00, 85.00]"
    assert csv["soft_accuracy"].isna().all() and "| n/a |" in md  # not available is not 0


def test_summary_text_reports_failures_and_cis():
    text = format_summary(summary("x", 0.6))
    assert "macro accuracy 60.00  95% CI [50.00, 70.00]" in text and "failures 0" in text


def test_sweep_report_with_reference(quick, tmp_path):
    from pathlib import Path

    from benchmark.report import against_reference, collect_runs, write_report
    from benchmark.runner.run import run

    for method in ("longer", "reward_model"):
        cfg = quick(f"method={method}")
        run(cfg, Path(cfg.results_dir) / "runs" / cfg.run_name)
    runs = Path(quick().results_dir) / "runs"
    report = write_report(runs, tmp_path / "report")
    text = report.read_text()
    assert "## Leaderboard" in text and "| demo | longer | none |" in text and "## Failures and cost" in text
    for name in ("report.html", "per_user_accuracy.png", "accuracy_vs_train_pairs.png"):
        assert (tmp_path / "report" / name).stat().st_size > 500, name
    # a run that matches a published row is put beside it
    board = collect_runs(runs)
    board.loc[0, ["data", "method", "model"]] = ["prism", "plain", "meta-llama/Llama-3.1-8B-Instruct"]
    board.loc[0, ["micro", "micro_ci_low", "micro_ci_high"]] = [0.53, 0.50, 0.56]
    ref = against_reference(board)
    row = ref[(ref["data"] == "prism") & (ref["method"] == "Default") & (ref["model"].str.contains("8B"))].iloc[0]
    assert (row["published"], row["ours_micro"], row["published_inside_our_ci"]) == (52.04, pytest.approx(53.0), True)
    assert row["difference"] == pytest.approx(0.96) and row["cis_overlap"] is None  # no published CI
    assert "| 52.04 | 53.00 [50.00, 56.00] | +0.96 | yes | n/a (no published CI) |" in format_reference(ref)


def test_reference_uses_the_published_ci(tmp_path):
    reference = tmp_path / "ref.csv"
    reference.write_text("source,data,model,method,prbench_method,accuracy,ci_low,ci_high\n"
                         "paper,demo,m,Default,plain,60.0,58.5,61.5\npaper,demo,m,Other,other,40.0,,\n")
    board = pd.DataFrame([{"data": "demo", "method": "plain", "model": "m", "micro": 0.55, "micro_ci_low": 0.52,
                           "micro_ci_high": 0.59}])
    from benchmark.report import against_reference

    ref = against_reference(board, reference)
    assert ref.loc[0, "published_inside_our_ci"] == False and ref.loc[0, "cis_overlap"] == True  # noqa: E712
    text = format_reference(ref)
    assert "60.00 [58.50, 61.50]" in text and "not run" in text
