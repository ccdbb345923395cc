"""Choose a method's settings without looking at test labels: fit every user on their *train* pairs only
(setup and fit), judge their *val* pairs in both orders, and print the val macro accuracy beside
`reward_model`'s on the same pairs, with the paired difference's 95% CI over users (the
sign-flip interval `prbench-compare` uses).

    python scripts/val_accuracy.py pal +method.params.mixture_prior=0.01
    python scripts/val_accuracy.py vpl +method.params.steps=2000 --users 20

The first argument is a method config; the rest are Hydra overrides, as for `prbench`. (How PAL's
`mixture_prior` and the settings tried for VPL and GPO in the README were chosen.)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir

from benchmark.config import DataConfig, SplitConfig, parse_section
from benchmark.data import load_benchmark
from benchmark.methods import UserData, build_method
from benchmark.models import Models
from benchmark.records import ORDERS, JudgeItem, UserProfile
from benchmark.splits import split_benchmark
from benchmark.stats import sign_flip_ci
from benchmark.store import item_record

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def val_accuracy(method: str, overrides: list[str]) -> tuple[dict[str, float], dict]:
    """Per-user val accuracy (both orders) of `method` fit on train pairs only; and its shared state."""
    with initialize_config_dir(str(CONFIGS), version_base=None):
        cfg = compose("config", overrides=[f"method={method}", "logger=none", *overrides])
    models = Models(cfg.backend, cfg.model, cfg.get("cache"))
    bench = load_benchmark(parse_section(DataConfig, cfg.data, "data"), models)
    splits = [s for s in split_benchmark(bench, parse_section(SplitConfig, cfg.split, "split")) if s.val]
    users = [UserData(s.user_id, s.train, (), UserProfile(s.user_id)) for s in splits]  # val stays unseen
    _, instance = build_method(cfg.method, models)
    instance.workdir = Path(tempfile.mkdtemp(prefix="prbench-val-"))
    shared = instance.setup(users)
    instance.restore(shared)
    accuracy = {}
    for user, split in zip(users, splits):
        state = instance.fit(user)
        keys = [(pair, order) for pair in split.val for order in ORDERS]
        verdicts = instance.judge([JudgeItem.from_pair(p, o) for p, o in keys], state)
        accuracy[split.user_id] = float(np.mean([item_record(p, o, j)["correct"] for j, (p, o) in zip(verdicts, keys)]))
    return accuracy, shared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("method", help="a method config, e.g. pal")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. +method.params.steps=2000")
    parser.add_argument("--users", type=int, help="a seeded sample of this many users (split.max_users)")
    args = parser.parse_args()
    overrides = args.overrides + ([f"split.max_users={args.users}"] if args.users else [])
    data_overrides = [o for o in overrides if o.startswith(("data", "split", "seed"))]
    reference, _ = val_accuracy("reward_model", data_overrides)
    ours, shared = val_accuracy(args.method, overrides)
    users = sorted(ours)
    diff = np.array([ours[u] - reference[u] for u in users])
    low, high = sign_flip_ci(diff)
    curve = shared.get("curve") or [{}]
    print(f"{args.method} {' '.join(args.overrides)}: val macro {100 * np.mean([ours[u] for u in users]):.2f}, "
          f"reward_model {100 * np.mean([reference[u] for u in users]):.2f}, difference {100 * diff.mean():+.2f} "
          f"[{100 * low:+.2f}, {100 * high:+.2f}] over {len(users)} users"
          + (f"; end of training curve {curve[-1]}" if curve[-1] else ""))


if __name__ == "__main__":
    main()
