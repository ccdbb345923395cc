"""Regression gate: did a change make a method worse on these fixed items, beyond the noise of reruns?

    prbench-regress --baseline results/gate/demo.json --run RUN [RUN ...]           # gate
    prbench-regress --baseline results/gate/demo.json --run RUN [RUN ...] --write   # (re)record

Recording keeps, per method, every judged item (user, pair, order) with how many of the R recorded reruns
(runs of that method, e.g. with seeds 0..R-1) judged it correctly, whether its recorded margin was a near tie
(|margin| < 1e-4, which float jitter could flip), plus fingerprints of the items' texts and
labels, the data, the model and the method config. The noise model is the noise of reruns: under "same
quality", a rerun judges item i correctly with the probability p_i the recorded reruns estimate, so its macro
accuracy varies with sd σ = sqrt(Σ w_i² p_i(1-p_i)) (w_i = 1 / (users · the user's judgments)). A run fails
(exit 1) when its macro accuracy is below the baseline's mean by more than

  * (stochastic baselines) tolerance = max(floor, (z_{1-α} + z_{conf} / √R) · σ̂),
    which keeps the false-alarm rate ≤ α for a fraction `conf` of recorded baselines (not just on average:
    the second term covers the baseline's own error);
  * (deterministic baselines: every recorded rerun agrees, σ̂ = 0) nothing, on the items that are not near
    ties (the near ties are left out: float jitter could flip them). A rerun of a deterministic method varies
    by nothing else, so any other net loss, however small and however many items changed, is a change that
    made it worse on these items. Where the method gives no margins, near ties are unknown and the floor
    (half a point) stands in, with an exact one-sided binomial (McNemar) test over the changed items
    catching lopsided reshuffles under it.

An identical rerun never fails. The simulations behind these claims are tests/test_regress.py.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

from benchmark.cli import cli_errors
from benchmark.config import DataConfig, config_changes, parse_section
from benchmark.environment import environment_difference
from benchmark.errors import CheckFailed, PrbenchError
from benchmark.runs import read_json, read_run
from benchmark.store import item_digest

FORMAT = 3
ALPHA, CONFIDENCE, FLOOR = 0.05, 0.99, 0.005  # 0.99: margin for σ̂'s own error (measured: tests)
# |margin| (logit units) that float jitter could flip: 50x the largest margin difference measured between a run
# with cached MiniLM embeddings and one recomputing them (1.8e-6; 1 vs 2 threads: 6e-9)
NEAR_TIE = 1e-4


@dataclass(frozen=True)
class RerunBaseline:
    """Per item: its macro weight, how many of `reruns` recorded reruns judged it correctly and whether it was
    a near tie (None: the method gives no margins, so near ties are unknown)."""

    weights: np.ndarray
    n_correct: np.ndarray
    reruns: int
    near_tie: np.ndarray | None = None

    @staticmethod
    def from_runs(users: list[str], runs: np.ndarray, near_tie: np.ndarray | None = None) -> RerunBaseline:
        """`runs`: reruns × items booleans (correct); `users[i]` owns item i."""
        runs = np.atleast_2d(np.asarray(runs, dtype=bool))
        return RerunBaseline(macro_weights(users), runs.sum(axis=0), runs.shape[0], near_tie)

    @property
    def p(self) -> np.ndarray:
        return self.n_correct / self.reruns

    @property
    def accuracy(self) -> float:
        return float(self.weights @ self.p)

    @property
    def deterministic(self) -> bool:
        return bool(np.all((self.n_correct == 0) | (self.n_correct == self.reruns)))

    def noise_sd(self) -> float:
        """sd of a rerun's macro accuracy; p(1-p)·R/(R-1) is unbiased for each item's variance."""
        if self.reruns < 2:
            return 0.0
        variance = self.p * (1 - self.p) * self.reruns / (self.reruns - 1)
        return float(math.sqrt(self.weights ** 2 @ variance))

    def tolerance(self, alpha: float = ALPHA, confidence: float = CONFIDENCE, floor: float = FLOOR) -> float:
        if self.deterministic and self.near_tie is not None:
            return 0.0  # exact: the gate leaves out the near ties, the only items float jitter can flip
        z = scipy_stats.norm.ppf
        return max(floor, (z(1 - alpha) + z(confidence) / math.sqrt(self.reruns)) * self.noise_sd())

    def changes(self, runs: np.ndarray) -> np.ndarray:
        """Macro accuracy change of each run (rows of booleans) against the baseline's mean."""
        return np.asarray(runs, dtype=float) @ self.weights - self.accuracy


def macro_weights(users: list[str]) -> np.ndarray:
    names, index, counts = np.unique(np.asarray(users), return_inverse=True, return_counts=True)
    return 1.0 / (len(names) * counts[index])


@dataclass(frozen=True)
class Verdict:
    change: float        # macro accuracy, run − baseline mean
    tolerance: float
    near_ties: float     # the part of `change` on near-tie items (left out of a deterministic baseline's test)
    lost: int            # items every recorded rerun got right and this run got wrong
    gained: int          # the reverse
    p_discordant: float  # exact one-sided binomial test: lost vs gained
    deterministic: bool
    alpha: float = ALPHA

    @property
    def regressed(self) -> bool:
        firm = self.change - self.near_ties
        reshuffle_worse = self.deterministic and self.lost > self.gained and self.p_discordant < self.alpha
        return firm < -self.tolerance - 1e-12 or (reshuffle_worse and firm < 0)  # 1e-12: the sums' rounding


def gate(baseline: RerunBaseline, run: np.ndarray, alpha: float = ALPHA, confidence: float = CONFIDENCE,
         floor: float = FLOOR) -> Verdict:
    """Judge one run (booleans per item, in the baseline's item order) against the recorded reruns; a deterministic
    baseline's near ties (where known) are left out."""
    run = np.asarray(run, dtype=bool)
    lost = int(np.sum((baseline.n_correct == baseline.reruns) & ~run))
    gained = int(np.sum((baseline.n_correct == 0) & run))
    p = scipy_stats.binomtest(lost, lost + gained, 0.5, alternative="greater").pvalue if lost + gained else 1.0
    change = baseline.changes(run[None])[0]
    near = baseline.near_tie if baseline.deterministic and baseline.near_tie is not None else np.zeros(len(run), bool)
    near_change = float(baseline.weights[near] @ (run[near] - baseline.p[near]))
    return Verdict(float(change), baseline.tolerance(alpha, confidence, floor), near_change, lost, gained, float(p),
                   baseline.deterministic, alpha)


# ---- run folders, fingerprints and the baseline file --------------------------------------------------------

@dataclass(frozen=True)
class RunRecord:
    folder: Path
    method: str
    seed: int
    correct: dict[str, tuple[str, bool]]  # "pair_id/order" → (user, correct)
    near_tie: dict[str, bool | None]       # "pair_id/order" → |margin| < NEAR_TIE (None: no margin given)
    identity: dict                         # data, model and method config: must match the baseline's
    item_digests: dict[str, str]           # "pair_id/order" → digest of user, texts and label
    environment: dict | None               # provenance.json's environment (None: an older prbench made it)

    @staticmethod
    def load(folder: Path) -> RunRecord:
        run = read_run(folder)
        summary, config, records = run.summary, run.config, run.items
        correct = {f"{p}/{o}": (r["user_id"], bool(r["correct"])) for (p, o), r in records.items()}
        data = {k: v for k, v in config["data"].items() if k != "path"}  # where the files sit does not matter
        model = {"label": summary.model, **({} if summary.model == "none" else {"config": config["model"]})}
        near = {f"{p}/{o}": near_tie(r) for (p, o), r in records.items()}
        return RunRecord(run.folder, summary.method, int(config.get("seed", 0)), correct, near,
                         {"data": data, "model": model, "method": config["method"]},
                         item_digests(config["data"], records), run.provenance.get("environment"))


def near_tie(record: dict) -> bool | None:
    """Whether float jitter could flip this judgment: its margin (or the logit of P(first)) is near 0. A failed
    judgment has neither and is no near tie; None: the method gives no margins at all."""
    if record.get("preferred") == "fail":
        return False
    margin, p_first = record.get("margin"), record.get("p_first")
    if margin is None and p_first is not None:
        margin = math.log(p_first / (1 - p_first)) if 0 < p_first < 1 else math.inf
    return None if margin is None else abs(margin) < NEAR_TIE


def item_digests(data_config: dict, records: dict) -> dict[str, str]:
    """A digest per judged item of what defines it (benchmark.store.item_digest: its user, conversation, both
    responses and which was chosen): the one its record carries, or, for items written by an older prbench,
    one computed from the run's data, reloaded."""
    out = {f"{p}/{o}": r["item_digest"] for (p, o), r in records.items() if r.get("item_digest")}
    if len(out) == len(records):
        return out
    from benchmark.data import load_benchmark  # the data layer is heavy; only needed here

    bench = load_benchmark(parse_section(DataConfig, data_config, "data"))
    pairs = {p.pair_id: p for p in bench.pairs}
    for pair_id, order in records:
        if f"{pair_id}/{order}" in out:
            continue
        pair = pairs.get(pair_id)
        if pair is None:
            raise PrbenchError(f"pair {pair_id!r} of the run is not in its data ({bench.name}); the data changed")
        out[f"{pair_id}/{order}"] = item_digest(pair)
    return out


def differences(ours: object, theirs: object, key: str) -> list[str]:
    """Dotted keys whose values differ, e.g. 'method.params.prior: run 0.15, baseline 0.3'."""
    return [f"{k}: run {a!r}, baseline {b!r}" for k, a, b in config_changes(ours, theirs, key)]


def record(runs: list[RunRecord]) -> dict:
    """One baseline entry from reruns of one method (same items, data, model and method config)."""
    first = runs[0]
    for other in runs[1:]:
        if problems := differences(other.identity, first.identity, "") or item_problems(other.item_digests,
                                                                                          first.item_digests, "run"):
            raise PrbenchError(f"{other.folder} is no rerun of {first.folder}: {'; '.join(problems)}")
    keys = sorted(first.correct)
    users = [first.correct[k][0] for k in keys]
    base = RerunBaseline.from_runs(users, np.array([[r.correct[k][1] for k in keys] for r in runs]))
    ties = ["?" if any(r.near_tie[k] is None for r in runs) else "1" if any(r.near_tie[k] for r in runs) else "0"
            for k in keys]
    for other in runs[1:]:
        if note := environment_difference(first.environment, other.environment, (str(first.folder), str(other.folder))):
            print(f"note: {note}")
    return {"identity": first.identity, "reruns": len(runs), "seeds": [r.seed for r in runs],
            "environment": first.environment,
            "macro_accuracy": base.accuracy, "noise_sd": base.noise_sd(), "deterministic": base.deterministic,
            "items": {k: f"{int(n)} {first.item_digests[k]} {t} {u}"
                      for k, u, n, t in zip(keys, users, base.n_correct, ties)}}


def entry_items(entry: dict) -> dict[str, tuple[int, str, str, str]]:
    """The baseline's items: "pair_id/order" → (reruns that judged it correctly, digest, near tie 1/0/?, user)."""
    return {k: (int(n), digest, tie, user) for k, (n, digest, tie, user) in
            ((k, v.split(" ", 3)) for k, v in entry["items"].items())}


def check(run: RunRecord, entry: dict, allow_method_change: bool) -> list[str]:
    """Why this run cannot be gated against `entry` (empty when it can), naming what differs."""
    identity = dict(run.identity, method=entry["identity"]["method"]) if allow_method_change else run.identity
    problems = differences(identity, entry["identity"], "")
    recorded = {k: digest for k, (_, digest, _, _) in entry_items(entry).items()}
    return problems + item_problems(run.item_digests, recorded, "baseline")


def item_problems(ours: dict[str, str], theirs: dict[str, str], other: str) -> list[str]:
    """How the judged items ("pair_id/order" → digest) differ from the `other` run's or baseline's."""
    if ours.keys() != theirs.keys():
        return [f"items: the run judged {len(ours.keys() - theirs.keys())} items the {other} lacks, and lacks "
                f"{len(theirs.keys() - ours.keys())} of the {other}'s (a rerun keeps split.seed)"]
    if changed := sorted(k for k in ours if ours[k] != theirs[k]):
        return [f"items: {len(changed)} items' texts or labels differ (first: {changed[0]})"]
    return []


def gate_entry(run: RunRecord, entry: dict, alpha: float, confidence: float, floor: float) -> Verdict:
    items = entry_items(entry)
    keys = sorted(items)
    ties = [items[k][2] for k in keys]
    base = RerunBaseline(macro_weights([items[k][3] for k in keys]), np.array([items[k][0] for k in keys]),
                         entry["reruns"], None if "?" in ties else np.array([t == "1" for t in ties]))
    return gate(base, np.array([run.correct[k][1] for k in keys]), alpha, confidence, floor)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=Path, required=True, help="baseline JSON (one entry per method)")
    parser.add_argument("--run", type=Path, nargs="+", required=True,
                        help="finished run folder(s); with --write, several runs of a method are its reruns")
    parser.add_argument("--write", action="store_true", help="record these runs as the baseline instead")
    parser.add_argument("--allow-method-change", action="store_true",
                        help="gate runs whose method config differs from the baseline's (a deliberate change)")
    parser.add_argument("--alpha", type=float, default=ALPHA, help="false-alarm rate given a recorded baseline")
    parser.add_argument("--confidence", type=float, default=CONFIDENCE,
                        help="share of recorded baselines for which the false-alarm rate holds")
    parser.add_argument("--floor", type=float, default=FLOOR,
                        help="smallest tolerance (a fraction) where near ties are unknown or reruns vary")
    args = parser.parse_args(argv)
    with cli_errors("prbench-regress"):
        if failed := record_or_gate(args):
            raise CheckFailed(f"{len(failed)} of {len(args.run)} run(s) regressed: {', '.join(failed)}")


def record_or_gate(args: argparse.Namespace) -> list[str]:
    runs = [RunRecord.load(folder) for folder in args.run]
    by_method: dict[str, list[RunRecord]] = {}
    for run in runs:
        by_method.setdefault(run.method, []).append(run)
    if args.write:
        book = load_book(args.baseline) if args.baseline.exists() else {"format": FORMAT, "methods": {}}
        for method, reruns in by_method.items():
            book["methods"][method] = entry = record(reruns)
            ties = sum(tie == "1" for _, _, tie, _ in entry_items(entry).values())
            kind = (f"deterministic, {ties} near ties" if entry["deterministic"]
                    else f"rerun noise sd {100 * entry['noise_sd']:.2f}")
            print(f"recorded {method}: {100 * entry['macro_accuracy']:.2f} over {len(reruns)} rerun(s), {kind}"
                  + ("; one run cannot measure rerun noise: record a stochastic method from several seeded runs "
                     "(seed=0,1,2,3,4 split.seed=0)" if len(reruns) == 1 else ""))
        args.baseline.parent.mkdir(parents=True, exist_ok=True)
        args.baseline.write_text(json.dumps(book, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return []
    book, failed = load_book(args.baseline), []
    for run in runs:
        entry = book["methods"].get(run.method)
        if entry is None:
            raise PrbenchError(f"baseline {args.baseline} has no entry for method {run.method!r}")
        if problems := check(run, entry, args.allow_method_change):
            raise PrbenchError(f"{run.folder} does not match baseline {args.baseline} ({run.method}): "
                               + "; ".join(problems) + ". Rerun with the baseline's settings, or re-record it "
                               "(make regress-record)" + ("" if args.allow_method_change else
                                                          "; --allow-method-change gates a deliberate config change"))
        v = gate_entry(run, entry, args.alpha, args.confidence, args.floor)
        status = "REGRESSION" if v.regressed else "ok"
        base = 100 * entry["macro_accuracy"]
        print(f"{status:>10}  {run.method}: {base + 100 * v.change:.2f} vs baseline {base:.2f} (change "
              f"{100 * v.change:+.2f}" + (f", {100 * v.near_ties:+.2f} of it on near ties" if v.near_ties else "")
              + f", tolerance {100 * v.tolerance:.2f}; {v.lost} items lost, {v.gained} gained, "
              f"binomial p {v.p_discordant:.3g})")
        if note := environment_difference(entry.get("environment"), run.environment, ("the baseline", str(run.folder))):
            print(f"{'note':>10}  {note}")
        if v.regressed:
            failed.append(run.method)
    return failed


def load_book(path: Path) -> dict:
    book = read_json(path)
    if not isinstance(book, dict) or book.get("format") != FORMAT or not isinstance(book.get("methods"), dict):
        raise PrbenchError(f"file {path}: not a baseline of format {FORMAT} (an older prbench-regress wrote it?); "
                           "re-record it with make regress-record")
    for method, entry in book["methods"].items():
        missing = [k for k in ("identity", "reruns", "items", "macro_accuracy") if k not in entry]
        if missing:
            raise PrbenchError(f"file {path}, method {method!r}, field {missing[0]!r}: missing; re-record it")
    return book
