"""What the viewer shows, as JSON documents built from run folders and their data.

Documents, by key (each one small file `data/<key>.js`, loaded by the page when it is opened):

    index             every run (summary, cost) and the published numbers: the leaderboard
    run/<run>         one run: summary, config, the per-user table, accuracy against training pairs (binned)
    items/<run>       one run's verdicts, compact (both orders per pair): the compare page
    u/<run>/<user>    one user in one run: per-user row, the profile as the method saw it, its fit state,
                      every verdict with P(chosen), margin and raw output
    t/<data>/<user>   one user's pairs with their texts (train, val, test), stored once per (data, split)
                      config, whatever the number of runs made on it

`<run>`, `<user>` and `<data>` are hashes (safe file names); the run document maps users to theirs.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark.runs import SUMMARY, read_items, read_per_user, unfinished_runs
from benchmark.view.jsdata import abbreviate, clean
from benchmark.view.sources import (
    REFERENCE,
    DataCache,
    RunEntry,
    fit_state,
    reads_oracle,
    runs_root,
    scan,
    user_key,
)

MAX_BINS = 8  # accuracy against training pairs: at most this many bins of about equal numbers of users
VERDICT = {"first": "1", "second": "2", "tie": "t", "fail": "x"}  # compact codes of the items document


@dataclass(frozen=True)
class RunData:
    """A run's per-user table and items, grouped by user, read once."""

    per_user: pd.DataFrame
    rows: dict[str, dict[str, Any]]  # user key -> the user's per-user row
    items: dict[str, list[dict[str, Any]]]  # user_id -> records, sorted by (pair_id, order)
    oracle: bool
    stamp: int  # summary.json's mtime: a rerun of the folder is read again


def train_bins(n_train: np.ndarray, accuracy: np.ndarray, draws: int = 2000, seed: int = 0) -> list[dict[str, Any]]:
    """Mean per-user accuracy in bins of training pairs (about equal numbers of users each, never splitting
    one value), each with a 95% percentile interval from resampling the bin's users."""
    n = len(accuracy)
    if n == 0:
        return []
    k = int(min(MAX_BINS, max(1, round(math.sqrt(n)))))
    order = np.argsort(n_train, kind="stable")
    values, rng, bins, start = n_train[order], np.random.default_rng(seed), [], 0
    for b in range(1, k + 1):
        end = n if b == k else round(b * n / k)
        while 0 < end < n and values[end] == values[end - 1]:
            end += 1
        if end <= start:
            continue
        acc = accuracy[order[start:end]]
        means = rng.choice(acc, size=(draws, len(acc))).mean(axis=1)
        bins.append({"lo": int(values[start]), "hi": int(values[end - 1]), "users": int(len(acc)),
                     "x": float(values[start:end].mean()), "mean": float(acc.mean()),
                     "ci": [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]})
        start = end
    return bins


def verdict_record(record: dict[str, Any]) -> dict[str, Any]:
    """An item as the user page shows it: P and margin of the chosen response (P(first) and the margin of the
    first follow from them and the order), the raw output, and the cost's non-zero parts."""
    keep = ("preferred", "correct", "p_chosen", "margin_chosen", "raw")
    cost = {k: v for k, v in (record.get("cost") or {}).items() if v}
    return {**{k: clean(record.get(k)) for k in keep}, "cost": clean(cost)}


class Viewer:
    """Builds the documents of one results folder; a run or a (data, split) config is read once and kept.

    `refresh()` rescans the folder (the server does so each time the leaderboard is opened)."""

    def __init__(self, results: Path, reference: Path = REFERENCE, keep_runs: int = 8):
        self.results, self.reference, self.keep_runs = Path(results), Path(reference), keep_runs
        self.data = DataCache()
        self._runs: OrderedDict[str, RunData] = OrderedDict()
        self._lock = threading.RLock()
        self.refresh()

    def refresh(self) -> None:
        with self._lock:
            self.entries, self.problems = scan(self.results)
            root = runs_root(self.results)
            self.unfinished = [folder.relative_to(root).as_posix() for folder in unfinished_runs(root)]
            self.by_key = {entry.key: entry for entry in self.entries}

    # -- reading, cached ----------------------------------------------------------------------------------

    def run_data(self, entry: RunEntry) -> RunData:
        stamp = (entry.folder / SUMMARY).stat().st_mtime_ns
        with self._lock:
            cached = self._runs.get(entry.key)
            if cached is None or cached.stamp != stamp:
                grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
                for record in read_items(entry.folder).values():  # a failed request's retry replaces it
                    grouped[str(record["user_id"])].append(record)
                for records in grouped.values():
                    records.sort(key=lambda r: (str(r["pair_id"]), str(r["order"])))
                table = read_per_user(entry.folder)
                rows = {}
                for row in table.to_dict("records"):
                    row = clean(row)
                    row["user_id"] = str(row["user_id"])
                    rows[user_key(row["user_id"])] = row
                cached = RunData(table, rows, dict(grouped), reads_oracle(entry.config.get("method") or {}), stamp)
                self._runs[entry.key] = cached
            self._runs.move_to_end(entry.key)
            while len(self._runs) > self.keep_runs:
                self._runs.popitem(last=False)
            return cached

    def warm(self) -> None:
        """Read the runs and load their data now, not on the first page that needs them (the server does this in
        the background)."""
        for entry in self.entries[:self.keep_runs]:
            self.run_data(entry)
            self.data.get(entry)

    # -- the documents -------------------------------------------------------------------------------------

    def keys(self) -> Iterator[str]:
        """Every document of a static export, run by run (so each run is read once)."""
        yield "index"
        users_of_data: dict[str, set[str]] = defaultdict(set)
        for entry in self.entries:
            yield f"run/{entry.key}"
            yield f"items/{entry.key}"
            users = [str(u) for u in self.run_data(entry).per_user["user_id"]]
            users_of_data[entry.data_key].update(users)
            yield from (f"u/{entry.key}/{key}" for key in self.run_data(entry).rows)
        for data_key, users in users_of_data.items():
            loaded = self.data.get(next(e for e in self.entries if e.data_key == data_key))
            yield from (f"t/{data_key}/{user_key(u)}" for u in sorted(users) if u in loaded.splits)

    def document(self, key: str) -> Any | None:
        """The document stored under `key`, or None when there is no such document."""
        parts = key.split("/")
        if key == "index":
            return self.index()
        entry = self.by_key.get(parts[1]) if len(parts) > 1 else None
        if parts[0] == "run" and len(parts) == 2 and entry:
            return self.run(entry)
        if parts[0] == "items" and len(parts) == 2 and entry:
            return self.items(entry)
        if parts[0] == "u" and len(parts) == 3 and entry:
            return self.user(entry, parts[2])
        if parts[0] == "t" and len(parts) == 3:
            return self.texts(parts[1], parts[2])
        return None

    def index(self) -> dict[str, Any]:
        runs = [self._run_row(entry) for entry in self.entries]
        matched, unmatched = self._reference(runs)
        return clean({"source": str(self.results), "runs": runs, "reference": {"matched": matched,
                                                                                 "unmatched": unmatched},
                      "problems": self.problems, "unfinished": self.unfinished})

    def _run_row(self, entry: RunEntry) -> dict[str, Any]:
        s = entry.summary
        cost = s.cost or {}
        compute = (cost.get("seconds") or 0.0) + (s.setup_seconds or 0.0) + (s.fit_seconds or 0.0)
        return {"id": entry.id, "key": entry.key, "data_key": entry.data_key, "data": s.data, "method": s.method,
                "model": s.model, "macro": s.macro_accuracy, "macro_ci": list(s.macro_ci), "micro": s.micro_accuracy,
                "micro_ci": list(s.micro_ci), "soft_accuracy": s.soft_accuracy, "failure_rate": s.failure_rate,
                "failures": s.failures, "tie_rate": s.tie_rate, "ties": s.ties,
                "order_consistency": s.order_consistency, "degenerate": s.degenerate, "ci_note": s.ci_note,
                "n_users": s.n_users, "n_pairs": s.n_pairs, "n_judgments": s.n_judgments,
                "calls": cost.get("calls"), "prompt_tokens": cost.get("prompt_tokens"),
                "completion_tokens": cost.get("completion_tokens"), "compute_seconds": compute,
                "wall_seconds": s.wall_seconds, "seconds_per_judgment": s.seconds_per_judgment}

    def _reference(self, runs: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
        """Published numbers matched to runs as report.against_reference matches them (same data, method as
        `prbench_method`, model; against our micro accuracy), and the published rows no run matches."""
        if not self.reference.exists():
            return [], []
        ref = pd.read_csv(self.reference)
        matched, unmatched = [], []
        for row in ref.to_dict("records"):
            pub = float(row["accuracy"])
            lo, hi = (pd.to_numeric(row.get(c), errors="coerce") for c in ("ci_low", "ci_high"))
            has_ci = not (pd.isna(lo) or pd.isna(hi))
            published = {"source": row["source"], "data": row["data"], "model": row["model"],
                         "method": row["method"], "prbench_method": row["prbench_method"], "published": pub,
                         "published_ci": [float(lo), float(hi)] if has_ci else None}
            hits = [r for r in runs if (r["data"], r["method"], r["model"]) ==
                    (row["data"], row["prbench_method"], row["model"]) and r["micro"] is not None]
            if not hits:
                unmatched.append(published)
            for run in hits:
                low, high = 100 * run["micro_ci"][0], 100 * run["micro_ci"][1]
                matched.append({**published, "run": run["id"], "ours": 100 * run["micro"], "ours_ci": [low, high],
                                "difference": 100 * run["micro"] - pub, "inside_our_ci": bool(low <= pub <= high),
                                "cis_overlap": bool(lo <= high and low <= hi) if has_ci else None})
        return matched, unmatched

    def run(self, entry: RunEntry) -> dict[str, Any]:
        data = self.run_data(entry)
        table = data.per_user
        users = [{**row, "key": key} for key, row in data.rows.items()]
        has_train = "n_train" in table
        bins = train_bins(table["n_train"].to_numpy(), table["accuracy"].to_numpy()) if has_train and len(table) \
            else []
        config = entry.config
        return clean({"id": entry.id, "key": entry.key, "data_key": entry.data_key,
                      "summary": entry.summary.model_dump(), "oracle": data.oracle,
                      "config": {k: config.get(k) for k in ("data", "split", "method", "model", "seed")}
                      | {"backend": (config.get("backend") or {}).get("kind")},
                      "columns": list(table.columns), "users": users, "train_bins": bins})

    def items(self, entry: RunEntry) -> dict[str, Any]:
        """Per user: [pair_id, verdict shown chosen-first (AB), verdict shown chosen-second (BA)]; codes 1 / 2
        (the first / second response preferred), t (tie), x (failure), - (not judged)."""
        out = {}
        for user, records in self.run_data(entry).items.items():
            pairs: dict[str, list[str]] = {}
            for r in records:
                codes = pairs.setdefault(str(r["pair_id"]), ["-", "-"])
                codes[0 if r["order"] == "AB" else 1] = VERDICT.get(r["preferred"], "x")
            out[user] = [[pair, *codes] for pair, codes in pairs.items()]
        return {"users": out}

    def user(self, entry: RunEntry, key: str) -> dict[str, Any] | None:
        data = self.run_data(entry)
        row = data.rows.get(key)
        if row is None:
            return None
        user_id = row["user_id"]
        verdicts: dict[str, dict[str, Any]] = {}
        for record in data.items.get(user_id, []):
            verdicts.setdefault(str(record["pair_id"]), {})[record["order"]] = verdict_record(record)
        fit, fit_note = fit_state(entry.folder, user_id)
        loaded = self.data.get(entry)
        profile, hidden = None, False
        if loaded.error is None:  # the data may hold no profile for the user: then the method saw an empty one
            p = loaded.profiles.get(user_id)
            profile = {"demographics": p.demographics if p else {}, "stated": p.stated if p else None}
            if data.oracle:
                profile["persona_truth"] = p.persona_truth if p else None
            hidden = not data.oracle and p is not None and p.persona_truth is not None
        texts_error = loaded.error or (None if user_id in loaded.splits else
                                       "this user is not in the run's data as loaded now (the data changed)")
        return clean({"run": entry.id, "user": user_id, "row": row, "oracle": data.oracle, "profile": profile,
                      "persona_hidden": hidden,
                      "fit": {"seconds": fit["seconds"], "state": abbreviate(fit["state"])} if fit else None,
                      "fit_note": fit_note, "verdicts": verdicts,
                      "texts": None if texts_error else f"t/{entry.data_key}/{key}", "texts_error": texts_error})

    def texts(self, data_key: str, key: str) -> dict[str, Any] | None:
        entry = next((e for e in self.entries if e.data_key == data_key), None)
        if entry is None:
            return None
        loaded = self.data.get(entry)
        user_id = loaded.user_ids.get(key)
        if user_id is None:
            return None
        split = loaded.splits[user_id]
        pairs = [{"id": p.pair_id, "split": name, "context": [[m.role, m.content] for m in p.context],
                  "chosen": p.chosen, "rejected": p.rejected}
                 for name in ("test", "train", "val") for p in getattr(split, name)]
        return clean({"user": user_id, "pairs": pairs})
