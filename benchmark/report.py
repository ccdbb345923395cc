"""Readable tables: one run's summary, and the leaderboard across runs under results/."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.experimental.callback import Callback

REFERENCE = Path(__file__).resolve().parents[1] / "results" / "reference" / "personalrewardbench.csv"
LEADERBOARD_COLUMNS = ["data", "method", "model", "macro", "macro_ci", "micro", "micro_ci", "failure_rate",
                       "tie_rate", "order_consistency", "n_users", "n_judgments", "seconds_per_judgment", "run"]


def pct(x: float) -> str:
    return f"{100 * x:.2f}"


def pct_ci(ci: list[float]) -> str:
    return f"[{pct(ci[0])}, {pct(ci[1])}]"


def format_summary(s: dict[str, Any]) -> str:
    return "\n".join([
        f"== {s['method']} on {s['data']} ({s['model']}) ==",
        f"  macro accuracy {pct(s['macro_accuracy'])}  95% CI {pct_ci(s['macro_ci'])}  (users resampled)",
        f"  micro accuracy {pct(s['micro_accuracy'])}  95% CI {pct_ci(s['micro_ci'])}",
        f"  {s['n_users']} users, {s['n_pairs']} pairs, {s['n_judgments']} judgments; "
        f"failures {s['failures']} ({pct(s['failure_rate'])}%), ties {s['ties']}, "
        f"order consistency {pct(s['order_consistency'])}%",
        *([f"  mean reward margin of the chosen response: {m:+.3f}"] if (m := s.get("mean_margin_chosen")) is not None
          else []),
        f"  cost: {int(s['cost']['calls'])} calls, {int(s['cost']['prompt_tokens'])} prompt tokens, "
        f"{s['cost']['seconds']:.1f} s judging, {s.get('setup_seconds', 0) + s['fit_seconds']:.1f} s fitting",
        *([f"  model layer: {int(u['calls'])} calls sent, {int(u['failures'])} failed, {int(u['retries'])} "
           f"retries; cache {int(u['cache_hits'])} hits / {int(u['cache_misses'])} misses"]
          if (u := s.get("model_usage")) else []),
        *([f"  engine: {s['requests_in_flight_mean']:.1f} requests in flight on average (max "
           f"{int(s['requests_in_flight_max'])}), {s['prompt_tokens_per_s']:.0f} prompt tokens/s, "
           f"{s['users_in_flight']} users in flight, {s['wall_seconds']:.1f} s wall"]
          if "requests_in_flight_mean" in s else []),
    ])


def collect_runs(runs_dir: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(Path(runs_dir).rglob("summary.json")):
        s = json.loads(path.read_text(encoding="utf-8"))
        rows.append({
            "data": s["data"], "method": s["method"], "model": s["model"],
            "macro": s["macro_accuracy"], "macro_ci": pct_ci(s["macro_ci"]),
            "micro": s["micro_accuracy"], "micro_ci": pct_ci(s["micro_ci"]),
            "failure_rate": s["failure_rate"], "tie_rate": s["tie_rate"],
            "order_consistency": s["order_consistency"], "n_users": s["n_users"],
            "n_judgments": s["n_judgments"], "seconds_per_judgment": s["seconds_per_judgment"],
            "run": str(path.parent.relative_to(runs_dir)),
        })
    df = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    return df.sort_values(["data", "macro"], ascending=[True, False], kind="stable").reset_index(drop=True)


def to_markdown(df: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def format_leaderboard(df: pd.DataFrame) -> str:
    shown = df.copy()
    for col in ("macro", "micro", "failure_rate", "tie_rate", "order_consistency"):
        shown[col] = shown[col].map(pct)
    shown["seconds_per_judgment"] = shown["seconds_per_judgment"].map(lambda x: f"{x:.3f}")
    return to_markdown(shown)


def against_reference(board: pd.DataFrame, reference: Path = REFERENCE) -> pd.DataFrame:
    """Each published number beside our run of the same data, method and model, if there is one."""
    if not reference.exists():
        return pd.DataFrame()
    ref = pd.read_csv(reference)
    ours = board.rename(columns={"method": "prbench_method"})[["data", "prbench_method", "model", "micro",
                                                                "micro_ci"]]
    joined = ref.merge(ours, on=["data", "prbench_method", "model"], how="left")
    rows = []
    for r in joined.itertuples(index=False):
        ran = not pd.isna(r.micro)
        low, high = (float(x) for x in r.micro_ci.strip("[]").split(", ")) if ran else (None, None)
        rows.append({"source": r.source, "data": r.data, "model": r.model, "method": r.method,
                     "published": f"{r.accuracy:.2f}", "ours (micro)": pct(r.micro) if ran else "not run",
                     "difference": f"{100 * r.micro - r.accuracy:+.2f}" if ran else "",
                     "published inside our CI": ("yes" if low <= r.accuracy <= high else "no") if ran else ""})
    return pd.DataFrame(rows)


def write_leaderboard(runs_dir: Path, out_dir: Path) -> pd.DataFrame:
    """results/leaderboard.{csv,md} from every finished run below `runs_dir`."""
    df = collect_runs(runs_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_dir / "leaderboard.csv", index=False)
    (out_dir / "leaderboard.md").write_text(
        "# Leaderboard\n\nAccuracy in % under the both-orders protocol; 95% CIs resample users.\n\n"
        + format_leaderboard(df) + "\n## Against published numbers\n\n" + to_markdown(against_reference(df)),
        encoding="utf-8")
    return df


class LeaderboardCallback(Callback):
    """After a sweep (`prbench -m ...`), print the leaderboard of the runs it made and update results/."""

    def on_multirun_end(self, config, **kwargs) -> None:
        from benchmark.sweep_report import write_report

        runs_dir = Path(config.hydra.sweep.dir)
        df = write_leaderboard(runs_dir, Path(config.results_dir))
        report = write_report(runs_dir, Path(config.results_dir) / "report")
        print("\n" + format_leaderboard(df.drop(columns=["run"])) + f"\nreport: {report}")


def leaderboard_main() -> None:
    parser = argparse.ArgumentParser(description="Aggregate run summaries into results/leaderboard.{csv,md}.")
    parser.add_argument("--runs", type=Path, default=Path("results/runs"), help="folder searched for summary.json")
    parser.add_argument("--out", type=Path, default=Path("results"), help="where the leaderboard files go")
    args = parser.parse_args()
    df = write_leaderboard(args.runs, args.out)
    print(format_leaderboard(df.drop(columns=["run"])))
