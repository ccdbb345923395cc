"""Cost of a SynthesizeMe fit with SmolLM2 on the demo benchmark: requests and prompt tokens per training
pair, and the requests of a cached re-fit (target: <= 25 per training pair; zero when cached).
Writes results/bench/synthesizeme.json.

    python scripts/bench_synthesizeme.py [--users 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from bench_backends import config  # noqa: E402

from benchmark.runner.run import run  # noqa: E402


def fit_cost(tmp: Path, name: str, users: int, *overrides) -> dict:
    cfg = config("method=synthesizeme", f"split.max_users={users}", f"results_dir={tmp}", f"run_name={name}",
                 *overrides)
    result = run(cfg, tmp / name)
    table = result.per_user
    train_pairs, all_pairs = int(table["n_train"].sum()), int((table["n_train"] + table["n_val"]).sum())
    calls, tokens = int(table["fit_calls"].sum()), int(table["fit_prompt_tokens"].sum())
    return {"users": len(table), "train_pairs": train_pairs, "train_and_val_pairs": all_pairs, "fit_requests": calls,
            "fit_prompt_tokens": tokens, "requests_per_train_pair": calls / train_pairs,
            "prompt_tokens_per_train_pair": tokens / train_pairs, "fit_seconds": float(table["fit_seconds"].sum()),
            "failures": result.summary["failures"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "synthesizeme.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = [f"cache.path={tmp / 'requests.sqlite'}", "cache.mode=write"]
        report = {"cold": fit_cost(tmp, "cold", args.users, *cache),
                  "cached_refit": fit_cost(tmp, "warm", args.users, *cache)}
    report["target_requests_per_train_pair_max"] = 25
    report["meets_target"] = (report["cold"]["requests_per_train_pair"] <= 25
                              and report["cached_refit"]["fit_requests"] == 0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
