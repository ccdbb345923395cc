"""Readable tables: one run's summary, and the leaderboard across runs under results/."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback

LEADERBOARD_COLUMNS = ["data", "method", "model", "macro", "macro_ci", "micro", "micro_ci", "failure_rate",
                       "tie_rate", "order_consistency", "n_users", "n_judgments", "seconds_per_judgment", "run"]


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _ci(ci: list[float]) -> str:
    return f"[{_pct(ci[0])}, {_pct(ci[1])}]"


def format_summary(s: dict[str, Any]) -> str:
    return "\n".join([
        f"== {s['method']} on {s['data']} ({s['model']}) ==",
        f"  macro accuracy {_pct(s['macro_accuracy'])}  95% CI {_ci(s['macro_ci'])}  (users resampled)",
        f"  micro accuracy {_pct(s['micro_accuracy'])}  95% CI {_ci(s['micro_ci'])}",
        f"  {s['n_users']} users, {s['n_pairs']} pairs, {s['n_judgments']} judgments; "
        f"failures {s['failures']} ({_pct(s['failure_rate'])}%), ties {s['ties']}, "
        f"order consistency {_pct(s['order_consistency'])}%",
        f"  cost: {int(s['cost']['calls'])} calls, {int(s['cost']['prompt_tokens'])} prompt tokens, "
        f"{s['cost']['seconds']:.1f} s judging, {s['fit_seconds']:.1f} s fitting",
    ])


def collect_runs(runs_dir: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(Path(runs_dir).rglob("summary.json")):
        s = json.loads(path.read_text(encoding="utf-8"))
        rows.append({
            "data": s["data"], "method": s["method"], "model": s["model"],
            "macro": s["macro_accuracy"], "macro_ci": _ci(s["macro_ci"]),
            "micro": s["micro_accuracy"], "micro_ci": _ci(s["micro_ci"]),
            "failure_rate": s["failure_rate"], "tie_rate": s["tie_rate"],
            "order_consistency": s["order_consistency"], "n_users": s["n_users"],
            "n_judgments": s["n_judgments"], "seconds_per_judgment": s["seconds_per_judgment"],
            "run": str(path.parent.relative_to(runs_dir)),
        })
    df = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    return df.sort_values(["data", "macro"], ascending=[True, False], kind="stable").reset_index(drop=True)


def to_markdown(df: pd.DataFrame) -> str:
    shown = df.copy()
    for col in ("macro", "micro", "failure_rate", "tie_rate", "order_consistency"):
        shown[col] = shown[col].map(_pct)
    shown["seconds_per_judgment"] = shown["seconds_per_judgment"].map(lambda x: f"{x:.3f}")
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "|" + "|".join("---" for _ in shown.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def write_leaderboard(runs_dir: Path, out_dir: Path) -> pd.DataFrame:
    """results/leaderboard.{csv,md} from every finished run below `runs_dir`."""
    df = collect_runs(runs_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_dir / "leaderboard.csv", index=False)
    (out_dir / "leaderboard.md").write_text(
        "# Leaderboard\n\nAccuracy in % under the both-orders protocol; 95% CIs resample users.\n\n"
        + to_markdown(df), encoding="utf-8")
    return df


class LeaderboardCallback(Callback):
    """After a sweep (`prbench -m ...`), print the leaderboard of the runs it made and update results/."""

    def on_multirun_end(self, config, **kwargs) -> None:
        runs_dir = Path(config.hydra.sweep.dir)
        df = write_leaderboard(runs_dir, Path(config.results_dir))
        print("\n" + to_markdown(df.drop(columns=["run"])))


def leaderboard_main() -> None:
    parser = argparse.ArgumentParser(description="Aggregate run summaries into results/leaderboard.{csv,md}.")
    parser.add_argument("--runs", type=Path, default=Path("results/runs"), help="folder searched for summary.json")
    parser.add_argument("--out", type=Path, default=Path("results"), help="where the leaderboard files go")
    args = parser.parse_args()
    df = write_leaderboard(args.runs, args.out)
    print(to_markdown(df.drop(columns=["run"])))
