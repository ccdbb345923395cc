"""Training-seed spread of finished runs: per-seed macro accuracy, its mean ± sd over seeds, and the paired
difference from a reference with its spread over seeds, beside the user-resampled CIs.

    prbench -m method=vpl method.params.seed=0,1,2 \\
        'run_name=${data.name}/${method.name}/seed${method.params.seed}' logger=none
    python scripts/seed_spread.py results/runs/demo/vpl/seed0 results/runs/demo/vpl/seed1 results/runs/demo/vpl/seed2 \\
        --reference results/runs/demo/reward_model

Runs are read through `benchmark.runs.read_run` and grouped by method and model label (one group = the
seeds of one method); the reference is one run (a deterministic method) or one run per seed (paired by
`method.params.seed`). For each group it prints:
- each seed's macro accuracy with its user-resampled 95% CI (percentile bootstrap over users, widened
  under 20 users, as `summary.json`), and its paired difference from the reference with the sign-flip CI
  over users (as `prbench-compare`);
- the mean ± sd (and min, max) over seeds of the macro accuracy and of the difference;
- the seed-averaged method: each user's accuracy averaged over the seeds, its macro accuracy with the
  user-resampled CI, and its paired difference from the (seed-averaged) reference with the sign-flip CI.

`--markdown` prints one table row per method instead: the per-seed mean ± sd (min to max) of the macro
accuracy and of the difference, and the seed-averaged method's macro with its CI and difference with its CI
(the README's learned-RM table).

`--users unseen` scores only the users the runs kept out of training (`unseen_users` in
`fit/_shared.json`, baselines/unseen.py), `--users seen` only the others; every run given must have held
out the same users (the reference too). `--users all` (default) scores everyone.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.errors import PrbenchError
from benchmark.metrics import user_bootstrap
from benchmark.runs import FIT_DIR, SHARDS, SHARED, Run, read_run
from benchmark.stats import paired_user_difference


def shared_state(run: Run) -> dict:
    """The global setup's state of a run (fit/_shared.json, or a sharded run's shards/setup.json)."""
    for path in (run.folder / FIT_DIR / SHARED, run.folder / SHARDS / "setup.json"):
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8")).get("state") or {}
    return {}


def held_out(run: Run) -> list[str]:
    return list(shared_state(run).get("unseen_users") or [])


def seed_of(run: Run) -> int | None:
    params = (run.config.get("method") or {}).get("params") or {}
    return params.get("seed")


def select_users(run: Run, users: str, unseen: list[str]) -> pd.DataFrame:
    table = run.per_user
    if users == "all":
        return table
    keep = table["user_id"].isin(unseen)
    return table[keep if users == "unseen" else ~keep]


def macro_with_ci(table: pd.DataFrame) -> tuple[float, tuple[float, float]]:
    """Macro accuracy and its user-resampled 95% CI (the bootstrap summary.json uses: 1,000 draws, seed 0)."""
    correct = (table["accuracy"] * table["n_judgments"]).to_numpy(dtype=float)
    count = table["n_judgments"].to_numpy(dtype=float)
    return float(table["accuracy"].mean()), user_bootstrap(correct, count, 1000, 0)["macro"]


def averaged(tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Each user's accuracy (and judgments) averaged over seeds: the seed-averaged method's per-user table."""
    stacked = pd.concat(tables)
    return stacked.groupby("user_id", as_index=False).agg(accuracy=("accuracy", "mean"),
                                                          n_judgments=("n_judgments", "mean"))


def pct(x: float) -> str:
    return f"{100 * x:.2f}"


def spread(values: list[float], signed: bool = False) -> str:
    v = 100 * np.asarray(values)
    fmt = "{:+.2f}" if signed else "{:.2f}"
    if len(v) == 1:
        return f"{fmt.format(v[0])} (one run: no spread)"
    return (f"{fmt.format(v.mean())} ± {v.std(ddof=1):.2f} (sd; min {fmt.format(v.min())}, max {fmt.format(v.max())}, "
            f"{len(v)} seeds)")


def report(runs: list[Run], reference: list[Run], users: str, rows: list[dict] | None = None) -> list[str]:
    """The printed lines; `rows` (if given) receives one dict per method for `markdown`."""
    unseen = held_out(runs[0]) if users != "all" else []
    if users != "all":
        if not unseen:
            raise PrbenchError(f"{runs[0].folder} held out no users (method.params.unseen_fraction=0); "
                               f"--users {users} needs runs that did")
        for run in runs + reference:
            if held_out(run) != unseen:
                raise PrbenchError(f"{run.folder} held out other users than {runs[0].folder}; compare runs made "
                                   f"with the same unseen_fraction and unseen_seed")
    keys = runs[0].items.keys()
    for run in runs + reference:
        if run.items.keys() != keys:
            raise PrbenchError(f"{run.folder} judged other items than {runs[0].folder}; compare runs on the same "
                               f"data, split and users")
    ref_by_seed = {seed_of(r): r for r in reference}
    groups: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        groups[run.label].append(run)
    lines = [f"users: {users}" + (f" ({len(unseen)} held out of training)" if unseen else "")]
    for label, members in groups.items():
        members.sort(key=lambda r: (seed_of(r) is None, seed_of(r) or 0))
        lines.append(f"\n== {label}")
        macros, diffs, tables, ref_tables = [], [], [], []
        for run in members:
            table = select_users(run, users, unseen)
            macro, ci = macro_with_ci(table)
            macros.append(macro)
            tables.append(table)
            name = "deterministic (no training seed)" if seed_of(run) is None else f"seed {seed_of(run)}"
            text = f"  {name}: macro {pct(macro)} [{pct(ci[0])}, {pct(ci[1])}] over {len(table)} users"
            if reference:
                ref = ref_by_seed.get(seed_of(run)) if len(reference) > 1 else reference[0]
                if ref is None:
                    raise PrbenchError(f"no reference run with seed {seed_of(run)} (give one reference run, or one "
                                       f"per seed)")
                ref_table = select_users(ref, users, unseen)
                ref_tables.append(ref_table)
                d = paired_user_difference(table, ref_table)
                diffs.append(d["difference"])
                text += (f"; vs {ref.label}: {100 * d['difference']:+.2f} [{100 * d['ci'][0]:+.2f}, "
                         f"{100 * d['ci'][1]:+.2f}], p {d['p_value']:.4f}, "
                         f"users won / lost {d['wins']} / {d['losses']}")
            lines.append(text + f"  ({run.folder})")
        lines.append(f"  macro over seeds: {spread(macros)}")
        if diffs:
            lines.append(f"  difference over seeds: {spread(diffs, signed=True)}")
        mean_table = averaged(tables)
        macro, ci = macro_with_ci(mean_table)
        text = f"  seed-averaged: macro {pct(macro)} [{pct(ci[0])}, {pct(ci[1])}]"
        if ref_tables:
            d = paired_user_difference(mean_table, averaged(ref_tables))
            text += (f"; difference {100 * d['difference']:+.2f} [{100 * d['ci'][0]:+.2f}, {100 * d['ci'][1]:+.2f}] "
                     f"(sign-flip over users), p {d['p_value']:.4f}")
        lines.append(text)
        if rows is not None:
            rows.append({"label": label, "users": len(mean_table), "seeds": len(members), "macros": macros,
                         "diffs": diffs, "macro": macro, "ci": ci, "difference": d if ref_tables else None})
    return lines


def markdown(rows: list[dict], reference: str) -> list[str]:
    def mean_sd(values: list[float], fmt: str) -> str:
        v = 100 * np.asarray(values)
        if len(v) == 1:
            return fmt.format(v[0]) + " (1 run)"
        return f"{fmt.format(v.mean())} ± {v.std(ddof=1):.2f} ({fmt.format(v.min())} to {fmt.format(v.max())})"

    lines = [f"| method | users | seeds | macro, mean ± sd over seeds (min to max) | seed-averaged macro [95% CI] "
             f"| vs {reference}, mean ± sd over seeds | seed-averaged difference [95% CI], p |", "|---" * 7 + "|"]
    for row in rows:
        d = row["difference"]
        cells = [row["label"], str(row["users"]), str(row["seeds"]), mean_sd(row["macros"], "{:.2f}"),
                 f"{pct(row['macro'])} [{pct(row['ci'][0])}, {pct(row['ci'][1])}]",
                 mean_sd(row["diffs"], "{:+.2f}") if row["diffs"] else "",
                 f"{100 * d['difference']:+.2f} [{100 * d['ci'][0]:+.2f}, {100 * d['ci'][1]:+.2f}], "
                 f"p {d['p_value']:.4f}" if d else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="finished run folders (the seeds of one or more methods)")
    parser.add_argument("--reference", nargs="*", type=Path, default=[],
                        help="the reference run (deterministic), or one run per seed")
    parser.add_argument("--users", choices=["all", "unseen", "seen"], default="all")
    parser.add_argument("--markdown", action="store_true", help="one table row per method")
    args = parser.parse_args()
    rows: list[dict] = []
    try:
        reference = [read_run(r) for r in args.reference]
        lines = report([read_run(r) for r in args.runs], reference, args.users, rows)
    except PrbenchError as error:
        raise SystemExit(f"seed_spread: error: {error}") from None
    print("\n".join(markdown(rows, reference[0].label if reference else "reference") if args.markdown else lines))


if __name__ == "__main__":
    main()
