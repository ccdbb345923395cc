"""How full a run keeps an inference engine, at PRISM scale; ratios measured in one run, written to
results/bench/scale.json.

1. Demo: `plain` and `synthesizeme` on the bundled demo against the fixed-latency stand-in server
   (benchmark/models/stand_in.py: 0.2 s per one-token request, 1.0 s per generation, unlimited concurrency)
   with backend.max_concurrency=256: server time, requests in flight (targets: plain >= 100 in flight on
   average and <= 5 s of server time; synthesizeme <= 15 s).
2. PRISM scale: ~720 synthetic users with long-tailed pairs per user (5..100), `plain`, `persona_memory` and
   `synthesizeme` against the same server: wall time, requests in flight (mean while any is held, and over
   the whole wall), and the ideal time = max(longest chain of dependent requests of one user,
   total request-seconds / max_concurrency). Targets: mean in flight >= 80% of max_concurrency, wall <= 2x ideal.
   Each method runs `--repeats` times (interleaved with the others) and is judged by its median run: on a
   shared VM the hypervisor's steal time moves one run by up to 2x, so every run records the fraction of
   CPU time stolen while it ran, and all repeats are kept in the JSON.
   Also one method again with Python's default GC settings (`--gc-ab`), and seconds spent in GC per run.
3. transformers: SmolLM2 `plain` on demo users, prompt tokens/s of the run against a raw length-sorted
   batched forward of the same prompts with the same model (target >= 70%).

    python scripts/bench_scale.py [--users 720] [--methods plain,persona_memory,synthesizeme] [--repeats 3]
                                  [--hf-users 12] [--gc-ab persona_memory]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import make_demo  # noqa: E402
from bench_backends import config  # noqa: E402

from benchmark.models import Models  # noqa: E402
from benchmark.models.concurrency import IN_FLIGHT  # noqa: E402
from benchmark.models.layer import CachedLayer  # noqa: E402

runner = importlib.import_module("benchmark.runner.run")
CONCURRENCY = 256


# -- the data: PRISM-sized, long-tailed --------------------------------------------------------------------

def pairs_per_user(rng: random.Random) -> int:
    """Long-tailed like PRISM: median ~15, a few users near 100."""
    return max(5, min(100, round(math.exp(rng.gauss(math.log(15), 0.8)))))


def synthetic_benchmark(folder: Path, n_users: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    users, pairs = [], []
    for index in range(n_users):
        user = make_demo.make_user(index, rng)
        user["user_id"] = f"u{index:04d}"
        users.append(user)
        for k in range(pairs_per_user(rng)):
            topic = rng.choice(make_demo.TOPICS)
            ta = {n: rng.randint(0, 1) for n in make_demo.TRAIT_NAMES}
            tb = dict(ta)
            for name in rng.sample(make_demo.TRAIT_NAMES, rng.choice([1, 2])):
                tb[name] = 1 - tb[name]
            a, b = make_demo.render(topic, ta), make_demo.render(topic, tb)
            a_wins = rng.random() < 0.5
            pairs.append({"pair_id": f"{user['user_id']}-p{k:03d}", "user_id": user["user_id"],
                          "context": [{"role": "user", "content": topic[0]}],
                          "chosen": a if a_wins else b, "rejected": b if a_wins else a, "kind": "disagreed"})
    folder.mkdir(parents=True, exist_ok=True)
    make_demo.write_jsonl(folder / "users.jsonl", users)
    make_demo.write_jsonl(folder / "pairs.jsonl", pairs)
    counts = sorted(Counter(p["user_id"] for p in pairs).values())
    return {"users": n_users, "pairs": len(pairs), "pairs_per_user_min": counts[0],
            "pairs_per_user_median": counts[len(counts) // 2], "pairs_per_user_max": counts[-1]}


# -- the dependent chain of each user: sequential engine calls x their latency ------------------------------

_chain = threading.local()
CHAINS: dict[str, float] = {}
LATENCY = {"choice": 0.2, "generate": 1.0}


def instrument() -> None:
    """Count, per user (fit then judge run on one thread), the latency of its sequential engine calls."""
    engine, judge, metered = CachedLayer._engine, runner._judge_user, runner.metered

    def counted_engine(self, key, fn, items):
        if items:
            kind = key[0] if isinstance(key, tuple) else key
            _chain.seconds = getattr(_chain, "seconds", 0.0) + LATENCY.get(kind, 0.0)
        return engine(self, key, fn, items)

    @contextmanager
    def new_user():  # the runner meters each user's fit: a new user starts on this thread
        _chain.seconds = 0.0
        with metered() as meter:
            yield meter

    def counted_judge(method, split, *args):
        judge(method, split, *args)
        CHAINS[split.user_id] = getattr(_chain, "seconds", 0.0)

    CachedLayer._engine, runner._judge_user, runner.metered = counted_engine, counted_judge, new_user


# -- runs against the stand-in server ----------------------------------------------------------------------

def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "benchmark.models.stand_in", "--port", "0"],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = proc.stdout.readline()
    return proc, line.strip().split(" at ")[-1]


def server_stats(url: str) -> dict:
    with urllib.request.urlopen(url.replace("/v1", "/stats?reset=1"), timeout=30) as response:
        return json.loads(response.read())


def _cpu_times() -> list[int]:
    with open("/proc/stat") as stat:  # user nice system idle iowait irq softirq steal ...
        return [int(v) for v in stat.readline().split()[1:9]]


@contextmanager
def steal_meter() -> Iterator[list[float | None]]:
    """The fraction of this machine's CPU time that the hypervisor gave to other guests meanwhile (Linux)."""
    result: list[float | None] = [None]
    try:
        before = _cpu_times()
    except OSError:
        yield result
        return
    yield result
    delta = [b - a for a, b in zip(before, _cpu_times())]
    result[0] = delta[7] / sum(delta) if sum(delta) else 0.0


@contextmanager
def gc_timer() -> Iterator[list[float]]:
    """Seconds spent in Python's cyclic garbage collector (all threads wait for it: it holds the GIL)."""
    total, started = [0.0], [0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            total[0] += time.perf_counter() - started[0]

    gc.callbacks.append(callback)
    try:
        yield total
    finally:
        gc.callbacks.remove(callback)


def served_run(tmp: Path, url: str, name: str, *overrides: str) -> dict:
    server_stats(url)
    CHAINS.clear()
    cfg = config("backend=openai", f"backend.base_url={url}", f"backend.max_concurrency={CONCURRENCY}",
                 "cache.mode=off", "bootstrap=100", f"results_dir={tmp}", f"run_name={name}", *overrides)
    with gc_timer() as gc_s, steal_meter() as steal:
        summary = runner.run(cfg, tmp / name).summary
    flight, server = IN_FLIGHT.stats(), server_stats(url)
    wall = summary["wall_seconds"]
    request_s = sum(server["requests"][k] * server["latency_s"][k] for k in server["requests"])
    ideal = max(max(CHAINS.values(), default=0.0), request_s / CONCURRENCY)
    return {"users": summary["n_users"], "judgments": summary["n_judgments"], "requests": server["requests"],
            "failures": summary["failures"], "wall_s": wall, "gc_s_whole_run": gc_s[0],
            "cpu_steal_fraction": steal[0],
            "server_busy_s": server["requests_busy_s"],
            "ideal_s": ideal, "longest_user_chain_s": max(CHAINS.values(), default=0.0),
            "request_seconds_over_concurrency_s": request_s / CONCURRENCY, "wall_over_ideal": wall / ideal,
            "in_flight_mean_while_busy": flight["requests_in_flight_mean"],
            "in_flight_mean_over_wall": flight["request_seconds"] / wall,
            "in_flight_max": flight["requests_in_flight_max"],
            "server_in_flight_mean": server["requests_in_flight_mean"],
            "server_in_flight_max": server["requests_in_flight_max"],
            "in_flight_mean_over_max_concurrency": flight["requests_in_flight_mean"] / CONCURRENCY}


# -- transformers: the run against a raw batched forward -------------------------------------------------

def transformers_throughput(tmp: Path, users: int) -> dict:
    layer = Models(config().backend, config().model, {"mode": "off"}).chat()
    inner, seen = layer.inner, []
    original = inner.choice_logprobs

    def recording(chats, choices):
        seen.extend(chats)
        return original(chats, choices)

    inner.choice_logprobs = recording
    runner.run(config("cache.mode=off", "split.max_users=2", f"results_dir={tmp}", "run_name=hf-warm"),
               tmp / "hf-warm")  # load, warm up
    seen.clear()
    summary = runner.run(config("cache.mode=off", f"split.max_users={users}", "bootstrap=100",
                                f"results_dir={tmp}", "run_name=hf"), tmp / "hf").summary
    encoded = [inner._encode(c) for c in seen]
    tokens = sum(len(e) for e in encoded)
    raw = [tokens / raw_forward(inner, encoded) for _ in range(2)]  # the same prompts, without the harness
    return {"users": summary["n_users"], "prompts": len(encoded), "prompt_tokens": tokens,
            "run_prompt_tokens_per_s": summary["prompt_tokens_per_s"], "raw_forward_tokens_per_s": max(raw),
            "raw_forward_passes_tokens_per_s": raw, "ratio": summary["prompt_tokens_per_s"] / max(raw),
            "target_ratio_min": 0.7, "batch_size": inner.batch_size}


def raw_forward(inner, encoded: list) -> float:
    """Seconds for a length-sorted batched forward of `encoded`. The ratio takes the faster of two passes:
    a slow pass from a neighbour's load on a shared machine would flatter the run (one measured 420 tokens/s
    where another gave 988)."""
    start = time.perf_counter()
    for batch in inner._batches(encoded):
        inner._next_token_logprobs([encoded[i] for i in batch])
    return time.perf_counter() - start


def scale_run(tmp: Path, url: str, method: str, data: Path, suffix: str = "") -> dict:
    """`method` on the PRISM-sized synthetic data against the stand-in server."""
    return served_run(tmp, url, f"scale-{method}{suffix}", f"method={method}", f"data.path={data}",
                      "split.strategy=resplit")


def median_run(runs: list[dict]) -> dict:
    """The run with the median wall ÷ ideal, with every repeat's headline numbers beside it."""
    ranked = sorted(runs, key=lambda r: r["wall_over_ideal"])
    keys = ("wall_s", "wall_over_ideal", "in_flight_mean_over_max_concurrency", "cpu_steal_fraction")
    return {**ranked[(len(ranked) - 1) // 2], "median_of": len(runs),
            "repeats": [{k: r[k] for k in keys} for r in runs]}


def meets_targets(run: dict) -> bool:
    return run["in_flight_mean_over_max_concurrency"] >= 0.8 and run["wall_over_ideal"] <= 2.0


def default_gc_run(tmp: Path, url: str, method: str, data: Path) -> dict:
    """The same run with Python's default GC settings (the runner's `_few_collections` switched off)."""
    quiet = runner._few_collections
    runner._few_collections = nullcontext
    try:
        return scale_run(tmp, url, method, data, "-default-gc")
    finally:
        runner._few_collections = quiet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=720)
    parser.add_argument("--methods", default="plain,persona_memory,synthesizeme")
    parser.add_argument("--repeats", type=int, default=3, help="runs per method at PRISM scale (the median counts)")
    parser.add_argument("--hf-users", type=int, default=12, help="demo users for the transformers part (0: skip)")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--gc-ab", default="persona_memory", metavar="METHOD",
                        help="also run METHOD at PRISM scale with default GC settings ('' to skip)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "scale.json")
    args = parser.parse_args()
    instrument()
    report: dict = {"max_concurrency": CONCURRENCY, "latency_s": LATENCY}
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            served_run(tmp, url, "warm-up", "split.max_users=2")  # load the client outside the timing
            if not args.skip_demo:
                plain = served_run(tmp, url, "demo-plain", "method=plain")
                synth = served_run(tmp, url, "demo-synthesizeme", "method=synthesizeme")
                report["demo"] = {"plain": plain, "synthesizeme": synth, "targets": {
                    "plain_in_flight_mean_min": 100, "plain_server_s_max": 5, "synthesizeme_s_max": 15}}
                print(json.dumps(report["demo"], indent=2), flush=True)
            data = tmp / "prism-scale"
            report["prism_scale_data"] = synthetic_benchmark(data, args.users)
            methods, runs = args.methods.split(","), {}
            for repeat in range(args.repeats):  # interleaved: a slow spell of the machine hits every method
                for method in methods:
                    run = scale_run(tmp, url, method, data, f"-{repeat}")
                    runs.setdefault(method, []).append(run)
                    print(f"{method} #{repeat}: wall {run['wall_s']:.2f} s = {run['wall_over_ideal']:.2f}x ideal, "
                          f"{run['in_flight_mean_over_max_concurrency']:.0%} of the slots busy, "
                          f"steal {run['cpu_steal_fraction'] or 0:.0%}", flush=True)
            report["prism_scale"] = {method: median_run(runs[method]) for method in methods}
            report["targets"] = {"in_flight_mean_over_max_concurrency_min": 0.8, "wall_over_ideal_max": 2.0,
                                 "judged_on": "the median run of each method"}
            report["targets_met"] = {method: meets_targets(run) for method, run in report["prism_scale"].items()}
            print(json.dumps(report["targets_met"]), flush=True)
            if args.gc_ab:
                report["prism_scale_default_gc"] = default_gc_run(tmp, url, args.gc_ab, data)
            if args.hf_users:
                report["transformers"] = transformers_throughput(tmp, args.hf_users)
                print(json.dumps(report["transformers"], indent=2), flush=True)
    finally:
        server.terminate()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
