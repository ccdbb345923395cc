"""Compare runs on the same items: user-clustered CIs, paired differences, p-values with Holm correction.

    prbench-compare results/runs/demo/reward_model results/runs/demo/reward_model_personal [--out DIR]

The first run is the reference; every other run is compared with it: the paired difference over users,
a two-sided sign-flip p-value, the CI that inverts the same test (so it excludes 0 exactly when the test
rejects), Bonferroni-simultaneous when more than two runs are compared, and Holm-adjusted p-values.

Runs must have judged the same items on the same data: every item record carries a digest of its user, texts
and label (benchmark.store.item_digest), and runs whose shared items' digests differ are refused (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from benchmark.cli import cli_errors
from benchmark.environment import environment_difference
from benchmark.errors import PrbenchError
from benchmark.report import ci_text, pct, to_markdown
from benchmark.runs import Run, read_run
from benchmark.stats import holm, paired_user_difference


def check_same_items(runs: list[Run]) -> list[str]:
    """Refuse runs that judged other items, or the same (pair_id, order) keys on other data (their items'
    digests differ: texts, labels or user). Returns notes on items that could not be checked (written by an
    older prbench, which recorded no digest)."""
    reference, notes = runs[0], []
    for run in runs[1:]:
        if run.items.keys() != reference.items.keys():
            only_ref = len(reference.items.keys() - run.items.keys())
            only_run = len(run.items.keys() - reference.items.keys())
            raise PrbenchError(
                f"runs judged different items: {reference.folder} has {only_ref} items that {run.folder} lacks, "
                f"and {only_run} the other way; compare runs on the same data, split and users")
        differ, unchecked = digest_differences(reference.items, run.items)
        if differ:
            raise PrbenchError(
                f"runs judged different data: {len(differ)} of the {len(run.items)} items of {reference.folder} and "
                f"{run.folder} differ in their texts, labels or user (first: {'/'.join(differ[0])}); compare runs "
                f"on the same data")
        if unchecked:
            notes.append(f"{unchecked} items of {reference.folder} and {run.folder} carry no digest (written by an "
                         f"older prbench): that they judged the same texts and labels could not be checked")
    return notes


def digest_differences(ours: dict, theirs: dict) -> tuple[list[tuple[str, str]], int]:
    """Shared keys whose recorded item digests differ (sorted), and how many shared keys lack a digest."""
    differ, unchecked = [], 0
    for key in sorted(ours.keys() & theirs.keys()):
        a, b = ours[key].get("item_digest"), theirs[key].get("item_digest")
        if a is None or b is None:
            unchecked += 1
        elif a != b:
            differ.append(key)
    return differ, unchecked


def compare(runs: list[Run], n_perm: int = 10_000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """One row per run; every run after the first gets its paired difference from the first. With m > 1
    comparisons the difference CIs are Bonferroni-simultaneous (each at 1 − (1 − level)/m) and p_holm is
    Holm's adjustment; a CI excludes 0 exactly when min(1, m · p_value) < 1 − level."""
    if len(runs) < 2:
        raise PrbenchError("compare needs at least two runs")
    check_same_items(runs)
    reference, m = runs[0], len(runs) - 1
    ci_level = 1 - (1 - level) / m

    def row(run: Run) -> dict:
        return {"method": run.label, "macro": run.summary.macro_accuracy,
                "macro_ci_low": run.summary.macro_ci[0], "macro_ci_high": run.summary.macro_ci[1],
                "degenerate": run.summary.degenerate}

    rows = [{**row(reference), "difference": None, "difference_ci_low": None, "difference_ci_high": None,
             "ci_level": None, "p_value": None, "p_holm": None, "wins": None, "losses": None, "ties": None}]
    for run in runs[1:]:
        d = paired_user_difference(run.per_user, reference.per_user, n_perm, seed, ci_level)
        rows.append({**row(run), "difference": d["difference"], "difference_ci_low": d["ci"][0],
                     "difference_ci_high": d["ci"][1], "ci_level": ci_level, "p_value": d["p_value"],
                     "p_holm": None, "wins": d["wins"], "losses": d["losses"], "ties": d["ties"]})
    table = pd.DataFrame(rows)
    table.loc[1:, "p_holm"] = holm(table["p_value"].iloc[1:].tolist())
    return table


def format_table(table: pd.DataFrame) -> str:
    """Render the numeric table: accuracies and CIs in %, the reference row marked."""
    shown = pd.DataFrame({"method": table["method"], "macro": table["macro"].map(pct)})
    shown["macro_ci"] = [ci_text(r.macro_ci_low, r.macro_ci_high, r.degenerate) for r in table.itertuples()]
    shown["difference"] = table["difference"].map(lambda x: "reference" if pd.isna(x) else f"{100 * x:+.2f}")
    shown["difference_ci"] = [
        "" if pd.isna(r.difference) else f"[{100 * r.difference_ci_low:+.2f}, {100 * r.difference_ci_high:+.2f}]"
        f" ({100 * r.ci_level:.1f}%)" for r in table.itertuples()]
    for col in ("p_value", "p_holm"):
        shown[col] = table[col].map(lambda x: "" if pd.isna(x) else f"{x:.4f}")
    for col in ("wins", "losses", "ties"):
        shown[col] = table[col].map(lambda x: "" if pd.isna(x) else str(int(x)))
    return to_markdown(shown)


def plot(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.6 * len(runs) + 1.5))
    for i, run in enumerate(runs):
        low, high = run.summary.macro_ci
        acc = run.summary.macro_accuracy
        ax.errorbar(100 * acc, i, xerr=[[100 * (acc - low)], [100 * (high - acc)]], fmt="o", capsize=4)
    ax.axvline(50, color="grey", lw=0.8, ls="--")
    ax.set_yticks(range(len(runs)), [r.label for r in runs])
    ax.invert_yaxis()
    ax.set_xlabel("macro accuracy, % (95% CI, users resampled)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run folders; the first is the reference")
    parser.add_argument("--out", type=Path, default=None, help="write compare.{md,csv,png} here")
    parser.add_argument("--permutations", type=int, default=10_000,
                        help="random sign flips when more than 16 users differ (fewer: all of them, exact)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with cli_errors("prbench-compare"):
        runs = [read_run(folder) for folder in args.runs]
        table = compare(runs, args.permutations, args.seed)  # refuses runs on other items or data
        notes = check_same_items(runs)  # what could not be checked
    text = format_table(table)
    print(text)
    for run in runs[1:]:  # numbers made with other libraries may differ for that reason alone
        names = (str(runs[0].folder), str(run.folder))
        if note := environment_difference(runs[0].provenance.get("environment"), run.provenance.get("environment"),
                                          names):
            notes.append(note)
    for note in notes:
        print(f"prbench-compare: note: {note}", file=sys.stderr)
    if args.out:
        with cli_errors("prbench-compare"):
            write_outputs(runs, table, text, args.out)


def write_outputs(runs: list[Run], table: pd.DataFrame, text: str, out: Path) -> None:
    """compare.{md,csv,png} in `out`; a folder that cannot be written is a PrbenchError."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.md").write_text(text, encoding="utf-8")
        table.to_csv(out / "compare.csv", index=False)
        plot(runs, out / "compare.png")
    except OSError as error:
        raise PrbenchError(f"cannot write {out} ({error.strerror or error}); check --out") from None
