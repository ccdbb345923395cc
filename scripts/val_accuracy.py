"""Choose a method's settings on validation pairs only, over several training seeds.

Every model is fit on each user's *train* pairs only (setup and fit); each user's *val* pairs are judged in
both orders; the val macro accuracy is printed beside the reference method's (default `reward_model`) on
the same pairs, with the paired difference's 95% CI over users (the sign-flip interval `prbench-compare`
uses), once per training seed, then the mean and spread (sd, min, max) of the difference over the seeds.
Settings are compared by that mean and spread: a gap smaller than the seed spread is not a choice.

    python scripts/val_accuracy.py pal ++method.params.mixture_prior=1.0 --seeds 0 1 2
    python scripts/val_accuracy.py vpl ++method.params.steps=1000 --seeds 0 1 2 --users 20
    python scripts/val_accuracy.py gpo method.params.unseen_fraction=0.33 --seeds 0 1 2

The first argument is a method config; the rest are Hydra overrides, as for `prbench` (`++` adds or sets a
key). With `method.params.unseen_fraction` > 0 the reference holds out the same users, and only the
held-out users' val pairs are scored (the unseen-users setting; `--users-setting all` scores everyone).

Test pairs are never judged: the script refuses to score them (`--pairs test` exits with code 2), and it
checks that no judged pair is a test pair of any user before scoring anything.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from benchmark.config import DataConfig, SplitConfig, parse_section
from benchmark.data import load_benchmark
from benchmark.methods import UserData, build_method
from benchmark.models import Models
from benchmark.records import ORDERS, JudgeItem, UserProfile
from benchmark.splits import split_benchmark
from benchmark.stats import sign_flip_ci
from benchmark.store import item_record

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SCORED = "val"  # the only pairs this script ever scores


class TestPairsRefused(SystemExit):
    """Asked to score test pairs: settings must never be chosen on them."""

    def __init__(self, what: str):
        print(f"val_accuracy: refused: {what}; settings are chosen on val pairs only, test pairs are never "
              f"scored here (run prbench for the test numbers of the chosen settings)", file=sys.stderr)
        super().__init__(2)


def compose_config(method: str, overrides: list[str]):
    with initialize_config_dir(str(CONFIGS), version_base=None):
        return compose("config", overrides=[f"method={method}", "logger=none", *overrides])


def val_accuracy(method: str, overrides: list[str], pairs: str = SCORED) -> tuple[dict[str, float], dict]:
    """Per-user val accuracy (both orders) of `method` fit on train pairs only; and its shared state.
    Refuses any `pairs` but val, and any judged pair that is one of a user's test pairs."""
    if pairs != SCORED:
        raise TestPairsRefused(f"pairs={pairs!r}")
    cfg = compose_config(method, overrides)
    models = Models(cfg.backend, cfg.model, cfg.get("cache"))
    bench = load_benchmark(parse_section(DataConfig, cfg.data, "data"), models)
    all_splits = split_benchmark(bench, parse_section(SplitConfig, cfg.split, "split"))
    test_ids = {p.pair_id for s in all_splits for p in s.test}
    splits = [s for s in all_splits if s.val]
    users = [UserData(s.user_id, s.train, (), UserProfile(s.user_id)) for s in splits]  # val stays unseen
    _, instance = build_method(cfg.method, models)
    instance.workdir = Path(tempfile.mkdtemp(prefix="prbench-val-"))
    shared = instance.setup(users)
    instance.restore(shared)
    accuracy = {}
    for user, split in zip(users, splits):
        state = instance.fit(user)
        keys = [(pair, order) for pair in split.val for order in ORDERS]
        leaked = {p.pair_id for p, _ in keys} & test_ids
        if leaked:
            raise TestPairsRefused(f"{len(leaked)} of user {split.user_id}'s pairs to score are test pairs")
        verdicts = instance.judge([JudgeItem.from_pair(p, o) for p, o in keys], state)
        accuracy[split.user_id] = float(np.mean([item_record(p, o, j)["correct"] for j, (p, o) in zip(verdicts, keys)]))
    return accuracy, shared


def method_params(method: str, overrides: list[str]) -> dict:
    return OmegaConf.to_container(compose_config(method, overrides).method, resolve=True).get("params") or {}


def summarize(diffs: list[float]) -> str:
    d = 100 * np.asarray(diffs)
    sd = f" ± {d.std(ddof=1):.2f} (sd)" if len(d) > 1 else " (one seed: no spread)"
    return f"{d.mean():+.2f}{sd}, min {d.min():+.2f}, max {d.max():+.2f} over {len(d)} seed(s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("method", help="a method config, e.g. pal")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. method.params.steps=2000")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="training seeds (method.params.seed), at least 3 to choose a setting (default 0 1 2)")
    parser.add_argument("--reference", default="reward_model", help="the method the difference is taken from")
    parser.add_argument("--users", type=int, help="a seeded sample of this many users (split.max_users)")
    parser.add_argument("--users-setting", choices=["auto", "all"], default="auto",
                        help="auto: only the held-out users when the method holds users out; all: every user")
    parser.add_argument("--pairs", default=SCORED, help="which pairs to score: only 'val' is accepted")
    args = parser.parse_args()
    if args.pairs != SCORED:
        raise TestPairsRefused(f"--pairs {args.pairs}")
    overrides = args.overrides + ([f"split.max_users={args.users}"] if args.users else [])
    params = method_params(args.method, overrides)
    seeded = "seed" in params or "seed" in (build_params_fields(args.method, overrides))
    held = {k: params[k] for k in ("unseen_fraction", "unseen_seed") if k in params}
    data_overrides = [o for o in overrides if o.lstrip("+").startswith(("data", "split", "seed", "model", "backend"))]
    reference, ref_shared = val_accuracy(args.reference, data_overrides + [f"++method.params.{k}={v}"
                                                                           for k, v in held.items()])
    diffs = []
    for seed in (args.seeds if seeded else [None]):
        ours, shared = val_accuracy(args.method,
                                    overrides + ([f"++method.params.seed={seed}"] if seed is not None else []))
        unseen = shared.get("unseen_users") or []
        users = sorted(unseen if unseen and args.users_setting == "auto" else ours)
        if unseen and ref_shared.get("unseen_users") != unseen:
            raise SystemExit("val_accuracy: the reference held out other users than the method")
        diff = np.array([ours[u] - reference[u] for u in users])
        low, high = sign_flip_ci(diff)
        diffs.append(float(diff.mean()))
        curve = shared.get("curve") or [{}]
        print(f"{args.method} {' '.join(args.overrides)} seed={seed}: val macro "
              f"{100 * np.mean([ours[u] for u in users]):.2f}, {args.reference} "
              f"{100 * np.mean([reference[u] for u in users]):.2f}, difference {100 * diff.mean():+.2f} "
              f"[{100 * low:+.2f}, {100 * high:+.2f}] over {len(users)} "
              f"{'held-out ' if unseen and args.users_setting == 'auto' else ''}users"
              + (f"; end of training curve {curve[-1]}" if curve[-1] else ""), flush=True)
    note = "" if seeded else " (the method has no training seed: deterministic)"
    print(f"{args.method} {' '.join(args.overrides)}: val difference vs {args.reference} {summarize(diffs)}{note}")


def build_params_fields(method: str, overrides: list[str]) -> set[str]:
    """The method's Params fields (a seed may be a Params default without being in its config)."""
    from benchmark.methods import method_class

    return set(method_class(compose_config(method, overrides).method.kind).Params.model_fields)


if __name__ == "__main__":
    main()
