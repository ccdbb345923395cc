"""A report over every run below a folder: leaderboard, reference numbers, per-user plots, failures, cost.

    prbench-report [--runs results/runs] [--out results/report]     # report.md, report.html, *.png

`prbench -m ...` writes it at the end of each sweep.
"""

from __future__ import annotations

import argparse
import html
from pathlib import Path

import pandas as pd

from benchmark.report import (against_reference, cli_errors, collect_runs, format_leaderboard, format_reference,
                              to_markdown)
from benchmark.runs import read_per_user


def per_user_tables(runs_dir: Path, board: pd.DataFrame) -> pd.DataFrame:
    frames = []
    for row in board.itertuples(index=False):
        table = read_per_user(runs_dir / row.run)
        table["method"] = f"{row.method} ({row.data})"
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def plot_distributions(per_user: pd.DataFrame, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(per_user["method"]))
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(methods) + 1.5))
    ax.boxplot([100 * per_user.loc[per_user["method"] == m, "accuracy"] for m in methods], vert=False)
    ax.set_yticks(range(1, len(methods) + 1), methods)
    ax.axvline(50, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("per-user accuracy, %")
    fig.tight_layout()
    fig.savefig(out / "per_user_accuracy.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    for method in methods:
        rows = per_user[per_user["method"] == method]
        curve = rows.groupby("n_train")["accuracy"].mean()
        ax.plot(curve.index, 100 * curve.values, marker="o", label=method)
    ax.set_xlabel("user's training pairs")
    ax.set_ylabel("mean per-user accuracy, %")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "accuracy_vs_train_pairs.png", dpi=110)
    plt.close(fig)
    return ["per_user_accuracy.png", "accuracy_vs_train_pairs.png"]


def write_report(runs_dir: Path, out: Path) -> Path:
    board = collect_runs(runs_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_user = per_user_tables(runs_dir, board)
    reference = against_reference(board)
    costs = per_user.groupby("method")[["failures", "ties", "calls", "prompt_tokens", "seconds", "fit_seconds"]].sum() \
        .reset_index() if len(per_user) else pd.DataFrame()
    images = plot_distributions(per_user, out) if len(per_user) else []
    sections = [("Leaderboard", format_leaderboard(board.drop(columns=["run"]))),
                ("Against published numbers", format_reference(reference)),
                ("Failures and cost", to_markdown(costs) if len(costs) else "no runs\n")]
    md = ["# prbench report\n", "Accuracy in % under the both-orders protocol; 95% CIs resample users.\n"]
    for title, body in sections:
        md += [f"## {title}\n", body]
    md += [f"![{name}]({name})\n" for name in images]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
    page = ["<!doctype html><meta charset=utf-8><title>prbench report</title>",
            "<style>body{font-family:sans-serif;max-width:72em;margin:auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px}</style><h1>prbench report</h1>"]
    tables = [board.drop(columns=["run"]), reference, costs]
    for (title, _), table in zip(sections, tables):
        page.append(f"<h2>{html.escape(title)}</h2>" + (table.to_html(index=False) if len(table) else "<p>none</p>"))
    page += [f'<img src="{name}" alt="{name}">' for name in images]
    (out / "report.html").write_text("\n".join(page), encoding="utf-8")
    return out / "report.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("results/runs"))
    parser.add_argument("--out", type=Path, default=Path("results/report"))
    args = parser.parse_args()
    with cli_errors("prbench-report"):
        print(f"wrote {write_report(args.runs, args.out)}")
