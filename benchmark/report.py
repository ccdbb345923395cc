"""Reporting: one run's summary, the leaderboard across runs, and the report (reference numbers, per-user
plots, failures, cost).

    prbench-report [--runs results/runs] [--out results]   # leaderboard.{csv,md} and report/{report.md,.html,*.png}

`prbench -m ...` writes both at the end of each sweep (benchmark/runner/callbacks.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.cli import cli_errors
from benchmark.runs import SHARDS, SUMMARY, list_runs, read_per_user, read_summary, unfinished_runs
from benchmark.shipped import REFERENCE_DIR

REFERENCE = REFERENCE_DIR / "personalrewardbench.csv"
# numbers stay numbers: CI bounds are numeric columns; only rendering (format_*) turns them into text
LEADERBOARD_COLUMNS = ["data", "method", "model", "macro", "macro_ci_low", "macro_ci_high", "micro", "micro_ci_low",
                       "micro_ci_high", "soft_accuracy", "failure_rate", "tie_rate", "order_consistency",
                       "degenerate", "n_users", "n_judgments", "seconds_per_judgment", "run"]
NOT_AVAILABLE = "n/a"


def pct(x: float | None) -> str:
    """A fraction in %, or "n/a" for a metric the method cannot give (never 0)."""
    return NOT_AVAILABLE if x is None or pd.isna(x) else f"{100 * x:.2f}"


def pct_ci(ci: list[float]) -> str:
    return f"[{pct(ci[0])}, {pct(ci[1])}]"


def ci_text(low: float, high: float, degenerate: str | None = None) -> str:
    """A CI for display; a judge that always picks one position is flagged beside it (its CI is no precision)."""
    flag = f" degenerate: always '{degenerate}'" if isinstance(degenerate, str) and degenerate else ""
    return pct_ci([low, high]) + flag


def format_summary(s: dict[str, Any]) -> str:
    return "\n".join([
        f"== {s['method']} on {s['data']} ({s['model']}) ==",
        f"  macro accuracy {pct(s['macro_accuracy'])}  95% CI {ci_text(*s['macro_ci'], s.get('degenerate'))}"
        "  (users resampled)",
        f"  micro accuracy {pct(s['micro_accuracy'])}  95% CI {pct_ci(s['micro_ci'])}; soft accuracy "
        f"{pct(s.get('soft_accuracy'))}",
        *([f"  note: {note}"] if (note := s.get("ci_note")) else []),
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
    """One leaderboard row per finished run below `runs_dir` (numbers stay numbers)."""
    rows = []
    for folder in list_runs(runs_dir):
        s = read_summary(folder / SUMMARY)
        rows.append({
            "data": s.data, "method": s.method, "model": s.model,
            "macro": s.macro_accuracy, "macro_ci_low": s.macro_ci[0], "macro_ci_high": s.macro_ci[1],
            "micro": s.micro_accuracy, "micro_ci_low": s.micro_ci[0], "micro_ci_high": s.micro_ci[1],
            "soft_accuracy": s.soft_accuracy, "degenerate": s.degenerate,
            "failure_rate": s.failure_rate, "tie_rate": s.tie_rate,
            "order_consistency": s.order_consistency, "n_users": s.n_users,
            "n_judgments": s.n_judgments, "seconds_per_judgment": s.seconds_per_judgment,
            "run": str(folder.relative_to(runs_dir)),
        })
    df = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    return df.sort_values(["data", "macro"], ascending=[True, False], kind="stable").reset_index(drop=True)


def unfinished_note(runs_dir: Path) -> str | None:
    """One line naming the run folders below `runs_dir` that hold results but no summary yet (left out of the
    leaderboard), or None when there are none."""
    folders = unfinished_runs(runs_dir)
    if not folders:
        return None
    names = [str(f.relative_to(runs_dir)) + (" (sharded: prbench-merge it)" if (f / SHARDS).is_dir() else "")
             for f in folders]
    return (f"{len(folders)} run(s) have no summary yet: {', '.join(names)} (finish them with resume=true); they "
            f"are not in the leaderboard")


def to_markdown(df: pd.DataFrame) -> str:
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def format_leaderboard(df: pd.DataFrame) -> str:
    shown = df.drop(columns=["macro_ci_low", "macro_ci_high", "micro_ci_low", "micro_ci_high", "degenerate"])
    shown.insert(shown.columns.get_loc("macro") + 1, "macro_ci", [
        ci_text(r.macro_ci_low, r.macro_ci_high, r.degenerate) for r in df.itertuples()])
    shown.insert(shown.columns.get_loc("micro") + 1, "micro_ci", [
        ci_text(r.micro_ci_low, r.micro_ci_high) for r in df.itertuples()])
    for col in ("macro", "micro", "soft_accuracy", "failure_rate", "tie_rate", "order_consistency"):
        shown[col] = shown[col].map(pct)
    shown["seconds_per_judgment"] = shown["seconds_per_judgment"].map(lambda x: f"{x:.3f}")
    return to_markdown(shown)


def against_reference(board: pd.DataFrame, reference: Path = REFERENCE) -> pd.DataFrame:
    """Each published number (%, with its CI where the paper gives one: optional columns ci_low, ci_high)
    beside our run of the same data, method and model, if there is one. Numeric, rendered by format_reference."""
    if not reference.exists():
        return pd.DataFrame()
    ref = pd.read_csv(reference)
    for col in ("ci_low", "ci_high"):
        ref[col] = pd.to_numeric(ref[col], errors="coerce") if col in ref else float("nan")
    ours = board.rename(columns={"method": "prbench_method"})[["data", "prbench_method", "model", "micro",
                                                                "micro_ci_low", "micro_ci_high"]]
    joined = ref.merge(ours, on=["data", "prbench_method", "model"], how="left")
    rows = []
    for r in joined.itertuples(index=False):
        ran, has_ci = not pd.isna(r.micro), not (pd.isna(r.ci_low) or pd.isna(r.ci_high))
        low, high = 100 * r.micro_ci_low, 100 * r.micro_ci_high
        rows.append({"source": r.source, "data": r.data, "model": r.model, "method": r.method,
                     "published": r.accuracy, "published_ci_low": r.ci_low, "published_ci_high": r.ci_high,
                     "ours_micro": 100 * r.micro if ran else None, "ours_ci_low": low if ran else None,
                     "ours_ci_high": high if ran else None, "difference": 100 * r.micro - r.accuracy if ran else None,
                     "published_inside_our_ci": (low <= r.accuracy <= high) if ran else None,
                     "cis_overlap": (r.ci_low <= high and low <= r.ci_high) if ran and has_ci else None})
    return pd.DataFrame(rows)


def format_reference(ref: pd.DataFrame) -> str:
    if not len(ref):
        return "no reference file\n"
    num = lambda x, fmt="{:.2f}": NOT_AVAILABLE if x is None or pd.isna(x) else fmt.format(x)
    yes_no = lambda x: "" if x is None or pd.isna(x) else ("yes" if x else "no")
    ci = lambda lo, hi: "" if lo is None or pd.isna(lo) else f"[{lo:.2f}, {hi:.2f}]"
    shown = pd.DataFrame({
        "source": ref["source"], "data": ref["data"], "model": ref["model"], "method": ref["method"],
        "published": [num(x) + (f" {ci(lo, hi)}" if ci(lo, hi) else "") for x, lo, hi in
                      zip(ref["published"], ref["published_ci_low"], ref["published_ci_high"])],
        "ours (micro)": [num(x) + (f" {ci(lo, hi)}" if ci(lo, hi) else "") if not pd.isna(x) else "not run"
                         for x, lo, hi in zip(ref["ours_micro"], ref["ours_ci_low"], ref["ours_ci_high"])],
        "difference": ref["difference"].map(lambda x: "" if pd.isna(x) else f"{x:+.2f}"),
        "published inside our CI": ref["published_inside_our_ci"].map(yes_no),
        "CIs overlap": ref["cis_overlap"].map(lambda x: yes_no(x) or "n/a (no published CI)")})
    shown.loc[ref["ours_micro"].isna(), "CIs overlap"] = ""
    return to_markdown(shown)


def write_leaderboard(runs_dir: Path, out_dir: Path) -> pd.DataFrame:
    """results/leaderboard.{csv,md} from every finished run below `runs_dir`."""
    df = collect_runs(runs_dir)
    note = unfinished_note(runs_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_dir / "leaderboard.csv", index=False)
    (out_dir / "leaderboard.md").write_text(
        "# Leaderboard\n\nAccuracy in % under the both-orders protocol; 95% CIs resample users.\n\n"
        + format_leaderboard(df) + (f"\n{note}\n" if note else "")
        + "\n## Against published numbers\n\n" + format_reference(against_reference(df)),
        encoding="utf-8")
    return df


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
    """report.md (tables and plots) and report.html, which is prbench-view's static export opened on its
    leaderboard (runs, users and comparisons behind it), in `out`."""
    from benchmark.view.export import export_viewer  # the viewer's documents are only needed here

    board = collect_runs(runs_dir)
    note = unfinished_note(runs_dir)
    out.mkdir(parents=True, exist_ok=True)
    per_user = per_user_tables(runs_dir, board)
    reference = against_reference(board)
    costs = per_user.groupby("method")[["failures", "ties", "calls", "prompt_tokens", "seconds", "fit_seconds"]].sum() \
        .reset_index() if len(per_user) else pd.DataFrame()
    images = plot_distributions(per_user, out) if len(per_user) else []
    sections = [("Leaderboard", format_leaderboard(board.drop(columns=["run"])) + (f"\n{note}\n" if note else "")),
                ("Against published numbers", format_reference(reference)),
                ("Failures and cost", to_markdown(costs) if len(costs) else "no runs\n")]
    md = ["# prbench report\n", "Accuracy in % under the both-orders protocol; 95% CIs resample users.\n"]
    for title, body in sections:
        md += [f"## {title}\n", body]
    md += [f"![{name}]({name})\n" for name in images]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
    export_viewer(runs_dir, out, page="report.html", force=True)  # the one HTML view: prbench-view's export
    return out / "report.md"


def write_all(runs_dir: Path, out_dir: Path) -> tuple[pd.DataFrame, Path]:
    """Everything `prbench-report` writes: out_dir/leaderboard.{csv,md} and out_dir/report/."""
    board = write_leaderboard(runs_dir, out_dir)
    return board, write_report(runs_dir, out_dir / "report")


def main(argv: list[str] | None = None) -> None:
    """`prbench-report` (alias `prbench-leaderboard`): the leaderboard and the report of every run below --runs."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=Path("results/runs"), help="folder searched for finished runs")
    parser.add_argument("--out", type=Path, default=Path("results"),
                        help="where leaderboard.{csv,md} and report/ go")
    args = parser.parse_args(argv)
    with cli_errors("prbench-report"):
        board, report = write_all(args.runs, args.out)
        note = unfinished_note(args.runs)
    print(format_leaderboard(board.drop(columns=["run"])) + (f"\n{note}\n" if note else "") + f"\nreport: {report}")
