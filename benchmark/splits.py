"""User-stratified train / val / test splits.

A re-split is deterministic for a seed and independent of row order: each user's pairs are ordered by a
seeded hash of their pair id, then cut into test, val and train.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass

from benchmark.config import SplitConfig
from benchmark.errors import DataError
from benchmark.records import SPLITS, Benchmark, PreferencePair


@dataclass(frozen=True)
class UserSplit:
    user_id: str
    train: tuple[PreferencePair, ...]
    val: tuple[PreferencePair, ...]
    test: tuple[PreferencePair, ...]


def seeded_order(pairs: list[PreferencePair], seed: int) -> list[PreferencePair]:
    return sorted(pairs, key=lambda p: hashlib.sha256(f"{seed}:{p.pair_id}".encode()).hexdigest())


def _count(value: float, n: int) -> int:
    return int(value) if value >= 1 else round(value * n)


def resplit(pairs: list[PreferencePair], cfg: SplitConfig) -> list[PreferencePair]:
    ordered = seeded_order(pairs, cfg.seed)
    n = len(ordered)
    n_test = max(1, _count(cfg.test, n))
    n_val = _count(cfg.val, n)
    if n_test + n_val >= n:
        raise DataError(f"user {pairs[0].user_id} has {n} pairs: too few for {n_test} test and {n_val} val "
                        f"pairs plus training (raise split.min_pairs or lower split.test / split.val)")
    labels = ["test"] * n_test + ["val"] * n_val + ["train"] * (n - n_test - n_val)
    return [pair.with_split(label) for pair, label in zip(ordered, labels)]


def split_benchmark(bench: Benchmark, cfg: SplitConfig) -> list[UserSplit]:
    """Split every kept user; users are returned sorted by id."""
    by_user = bench.by_user()
    strategy = cfg.strategy
    if strategy == "auto":
        unsplit = [p for p in bench.pairs if p.split is None]
        if unsplit and len(unsplit) < len(bench.pairs):  # a partly filled column is a broken file, not a choice
            rows = ", ".join(str(p.meta.get("row")) for p in unsplit[:5]) + (", ..." if len(unsplit) > 5 else "")
            raise DataError(f"split.strategy=auto: {len(unsplit)} of {len(bench.pairs)} pairs have no split value "
                            f"(rows {rows}); fill them in, or pass split=resplit to ignore the column",
                            source=bench.name, field="split")
        strategy = "resplit" if unsplit else "column"
    if strategy == "column":
        missing = next((p for p in bench.pairs if p.split is None), None)
        if missing is not None:
            raise DataError("split.strategy=column but this pair has no split value (use split=resplit)",
                            source=bench.name, row=missing.meta.get("row"), field="split")
    kept = sorted(u for u, ps in by_user.items() if len(ps) >= cfg.min_pairs)
    if cfg.max_users is not None and len(kept) > cfg.max_users:
        kept = sorted(random.Random(cfg.seed).sample(kept, cfg.max_users))
    splits = []
    for user_id in kept:
        pairs = by_user[user_id] if strategy == "column" else resplit(by_user[user_id], cfg)
        parts = {name: tuple(sorted((p for p in pairs if p.split == name), key=lambda p: p.pair_id))
                 for name in SPLITS}
        if not parts["test"]:
            if cfg.drop_users_without_test:
                continue
            raise DataError(f"user {user_id!r} has no test pairs after splitting "
                            f"(set split.drop_users_without_test=true to skip such users)", source=bench.name)
        splits.append(UserSplit(user_id, parts["train"], parts["val"], parts["test"]))
    if not splits:
        raise DataError(f"no user has at least split.min_pairs={cfg.min_pairs} pairs", source=bench.name)
    return splits


def summarize(splits: list[UserSplit]) -> str:
    """A short human-readable summary: users, pairs per split, pairs per user."""
    lines = [f"{len(splits)} users"]
    for name in SPLITS:
        sizes = sorted(len(getattr(s, name)) for s in splits)
        median = sizes[len(sizes) // 2]
        lines.append(f"  {name:<5} {sum(sizes):>6} pairs   per user min {sizes[0]} / median {median} / max {sizes[-1]}")
    totals = Counter(len(s.train) + len(s.val) + len(s.test) for s in splits)
    lines.append("  pairs per user: " + ", ".join(f"{n} users with {k}" for k, n in sorted(totals.items())))
    return "\n".join(lines)
