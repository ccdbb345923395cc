"""Cost and speed of SynthesizeMe by the authors' code, two ways, on the same users and the same stand-in
server; written to results/bench/reference.json.

- reference: the package's own driver, as its README runs it: one user at a time, `SynthesizeMe(model_id,
  model_url).fit(train, val)` (its `setup()` LM: LiteLLM to the server, dspy's in-memory and disk caches on,
  the disk cache empty at the start), then the fitted program on the user's test pairs in both orders
  through `dspy.Evaluate` with its `num_workers` (8) threads. Its wall time is the sum of the per-user times.
  `--drivers N` runs N copies side by side over interleaved shares of the users, each with its own stand-in
  and caches, so that 60 users at 1 s per generation take ~30 minutes with 4 instead of ~1.5 hours: the sum of the
  per-user times is still what one driver takes (its users are independent and run one after another; the
  drivers use well under the machine's 2 cores, recorded as process CPU time and load average);
- prbench: `method=synthesizeme_reference` (the same code through prbench's model layer: request cache,
  a fresh one at the start; many users in flight; backend.max_concurrency=256).
Both use the persona program `llama70b` (the reference's default), each user's train pairs once and val and
test pairs in both orders, `flip` from prbench's seeded coin (the demo stores none). The server is
baselines/reference/stand_in.py in its own process: benchmark.models.stand_in's fixed latency per request
(`--generate-s`), answers in DSPy's format picked by a hash of the prompt, so both runs send the same requests
up to the optimizer's random draws. Recorded per side: wall time of the users' work (imports and data loading
excluded), requests per user (the server's count), prompt tokens (the server's count: words), mean requests in
flight (while any is held, and over the whole wall), the CPU time of the process (imports included), the CPU
share stolen by the hypervisor meanwhile and the load average (the machine is shared).
Targets: prbench at least 20x faster, requests per user within 10% of the reference's.

    python scripts/bench_reference.py [--users 60] [--generate-s 1.0] [--drivers 1] [--repeats 1]
                                      [--out results/bench/reference.json]
    python scripts/bench_reference.py --repeats 3 --reference-from results/bench/reference.json   # prbench again
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_scale import server_stats, steal_meter  # noqa: E402

PROGRAM = "llama70b"
TARGET_SPEEDUP, TARGET_REQUESTS = 20.0, 0.10


def start_server(generate_s: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "baselines.reference.stand_in", "--port", "0", "--generate-s",
                             str(generate_s)], cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env())
    line = proc.stdout.readline()
    if " at " not in line:
        proc.kill()
        raise RuntimeError(f"the stand-in did not start: {line!r}")
    return proc, line.strip().split(" at ")[-1]


def env(**extra: str) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True", **extra}  # litellm would GET its cost map at import


def overrides(users: int) -> list[str]:
    """The data and split both sides use (prbench's default split of the demo, `users` of its users)."""
    return ["data=demo", f"split.max_users={users}", "seed=0"]


def write_users(users: int, path: Path) -> list[str]:
    """prbench's split of the demo users, in the reference's row format (what its driver is given)."""
    from baselines.reference.data import reference_rows
    from benchmark.config import DataConfig, SplitConfig, parse_section
    from benchmark.data import load_benchmark
    from benchmark.splits import split_benchmark
    from tests.conftest import make_config

    cfg = make_config(*overrides(users))
    bench = load_benchmark(parse_section(DataConfig, cfg.data, "data"))
    splits = split_benchmark(bench, parse_section(SplitConfig, cfg.split, "split"))
    out = [{"user_id": s.user_id, **{name: reference_rows(getattr(s, name), cfg.seed, "auto")
                                     for name in ("train", "val", "test")}} for s in splits]
    path.write_text(json.dumps(out))
    return [s.user_id for s in splits]


def both_orders(rows: list[dict]) -> list[dict]:
    return [r for row in rows for r in (row, {**row, "flip": not row["flip"]})]


def reference_driver(users_file: Path, url: str, out: Path) -> None:
    """The reference's own driver, one user at a time (runs in its own process: its caches start empty)."""
    import logging

    import dspy
    import pandas as pd
    from synthesizeme.personalrm.synthesizeme import SynthesizeMe
    from synthesizeme.utils.utils import convert_df_to_dspy, exact_match

    from baselines.reference.data import program_path

    logging.getLogger("LiteLLM").setLevel(logging.CRITICAL)  # 1.63.11 logs an error per call on this stack
    users = json.loads(users_file.read_text())
    per_user = []
    server_stats(url)  # reset
    started = time.perf_counter()
    for user in users:
        before, t0 = requests_so_far(url), time.perf_counter()
        rm = SynthesizeMe(user_id=user["user_id"], model_id="stand-in", model_url=url,
                          persona_synthesis_program_path=program_path(PROGRAM))
        rm.fit(user["train"], both_orders(user["val"]))  # val in both orders, as the paper's split
        test = list(convert_df_to_dspy(pd.DataFrame(both_orders(user["test"])), user["user_id"]))
        score = dspy.Evaluate(devset=test, metric=exact_match, num_threads=rm.num_workers,
                              display_progress=False)(rm.program)
        after = requests_so_far(url)
        per_user.append({"user_id": user["user_id"], "requests": after[0] - before[0],
                         "prompt_tokens": after[1] - before[1], "seconds": time.perf_counter() - t0,
                         "test_accuracy": score / 100})
    wall = time.perf_counter() - started
    out.write_text(json.dumps({"wall_s": wall, "per_user": per_user, "server": server_stats(url)}))


def requests_so_far(url: str) -> tuple[int, int]:
    with urllib.request.urlopen(url.replace("/v1", "/stats"), timeout=30) as response:
        stats = json.loads(response.read())
    return sum(stats["requests"].values()), stats["prompt_tokens"]


def child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_reference(tmp: Path, users_file: Path, generate_s: float, drivers: int) -> dict:
    """The reference's driver over every user. With `drivers` > 1, that many copies of it run side by side, each
    with its own stand-in and its own caches, one user at a time over its share of the users (interleaved). The
    wall time reported is then the sum of the per-user times: what one driver takes for all of them, since its
    users run one after another; the side-by-side wall is kept as `sharded_wall_s`."""
    users = json.loads(users_file.read_text())
    servers = [start_server(generate_s) for _ in range(drivers)]
    try:
        cpu, started = child_cpu_s(), time.perf_counter()
        with steal_meter() as steal:
            procs = []
            for i, (_, url) in enumerate(servers):
                (tmp / f"users{i}.json").write_text(json.dumps(users[i::drivers]))
                procs.append(subprocess.Popen(
                    [sys.executable, __file__, "--driver", str(tmp / f"users{i}.json"), url,
                     str(tmp / f"reference{i}.json")],
                    cwd=ROOT, env=env(DSPY_CACHEDIR=str(tmp / f"dspy-cache{i}")), stdout=subprocess.DEVNULL))
            if any(p.wait() for p in procs):
                raise RuntimeError("a reference driver failed")
        sharded_wall, cpu = time.perf_counter() - started, child_cpu_s() - cpu
    finally:
        for proc, _ in servers:
            proc.kill()
    outs = [json.loads((tmp / f"reference{i}.json").read_text()) for i in range(drivers)]
    per_user = [u for out in outs for u in out["per_user"]]
    requests: dict[str, int] = {}
    for out in outs:
        for kind, n in out["server"]["requests"].items():
            requests[kind] = requests.get(kind, 0) + n
    server = {"requests": requests, "prompt_tokens": sum(out["server"]["prompt_tokens"] for out in outs),
              "requests_in_flight_mean": statistics.mean(out["server"]["requests_in_flight_mean"] for out in outs),
              "requests_in_flight_max": max(out["server"]["requests_in_flight_max"] for out in outs)}
    return {"wall_s": sum(u["seconds"] for u in per_user), "drivers": drivers, "sharded_wall_s": sharded_wall,
            "per_user": per_user, "server": server, "cpu_steal_fraction": steal[0], "process_cpu_s": cpu,
            "load_average_after": os.getloadavg()}


def run_prbench(tmp: Path, url: str, users: int) -> dict:
    """One prbench run in a fresh folder with a fresh request cache."""
    tmp.mkdir(parents=True)
    server_stats(url)  # reset
    cpu = child_cpu_s()
    with steal_meter() as steal:
        subprocess.run([sys.executable, "-m", "benchmark.runner.main", *overrides(users),
                        "method=synthesizeme_reference", f"method.params.persona_program={PROGRAM}", "backend=openai",
                        f"backend.base_url={url}", "backend.max_concurrency=256", "model.name=stand-in", "logger=none",
                        f"cache.path={tmp / 'cache.sqlite'}", f"results_dir={tmp / 'prbench'}",
                        "run_name=synthesizeme_reference"], cwd=ROOT, check=True, env=env(), stdout=subprocess.DEVNULL)
    cpu = child_cpu_s() - cpu
    server = server_stats(url)
    folder = tmp / "prbench" / "runs" / "synthesizeme_reference"
    summary = json.loads((folder / "summary.json").read_text())
    with open(folder / "per_user.csv") as f:
        per_user = [{"user_id": r["user_id"], "requests": int(float(r["calls"]) + float(r["fit_calls"])),
                     "prompt_tokens": int(float(r["prompt_tokens"]) + float(r["fit_prompt_tokens"])),
                     "test_accuracy": float(r["accuracy"])} for r in csv.DictReader(f)]
    return {"wall_s": summary["wall_seconds"], "per_user": per_user, "server": server, "cpu_steal_fraction": steal[0],
            "process_cpu_s": cpu, "load_average_after": os.getloadavg(),
            "model_usage": summary["model_usage"], "failures": summary["failures"],
            "requests_in_flight_mean_client": summary["requests_in_flight_mean"]}


def earlier_runs(earlier: dict) -> list[dict]:
    """Every prbench run an earlier result file holds (kept when its reference side is reused)."""
    runs = earlier.get("prbench_runs") or [{k: v for k, v in earlier["prbench"].items() if k != "per_user"}]
    return earlier.get("earlier_prbench_runs", []) + runs


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def side(result: dict, generate_s: float) -> dict:
    """The numbers reported per side."""
    server, n = result["server"], len(result["per_user"])
    requests = sum(server["requests"].values())
    per_user = [u["requests"] for u in result["per_user"]]
    return {"wall_s": round(result["wall_s"], 2), "users": n, "requests": requests,
            "requests_per_user_mean": requests / n, "requests_per_user_median": statistics.median(per_user),
            "prompt_tokens": server["prompt_tokens"], "prompt_tokens_per_user": server["prompt_tokens"] / n,
            "requests_in_flight_mean_while_any": round(server["requests_in_flight_mean"], 2),
            "requests_in_flight_max": server["requests_in_flight_max"],
            # Little's law with the stand-in's latency: n/a when the stand-in answers at once
            "requests_in_flight_mean_over_wall": round(requests * generate_s / result["wall_s"], 2) if generate_s
            else None,
            "cpu_steal_fraction": result["cpu_steal_fraction"],
            "process_cpu_s": round(result["process_cpu_s"], 1),
            "load_average_before": result["load_average_before"], "load_average_after": result["load_average_after"],
            "measured_at": result["measured_at"],
            "test_accuracy_macro": statistics.mean(u["test_accuracy"] for u in result["per_user"]),
            "per_user": result["per_user"],
            **{k: result[k] for k in ("model_usage", "failures", "requests_in_flight_mean_client", "drivers",
                                  "sharded_wall_s") if k in result}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--generate-s", type=float, default=1.0, help="the stand-in's latency per generation")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "reference.json")
    parser.add_argument("--repeats", type=int, default=1, help="prbench runs; the median run counts (shared machine)")
    parser.add_argument("--reference-from", type=Path, help="take the reference side from an earlier result file "
                        "(same --users / --generate-s) instead of rerunning it (~1.5 h at 60 users with one driver)")
    parser.add_argument("--drivers", type=int, default=1, help="copies of the reference's driver side by side, "
                        "each one user at a time with its own stand-in; its wall is the sum of per-user times")
    parser.add_argument("--driver", nargs=3, help=argparse.SUPPRESS)  # internal: the reference's driver process
    args = parser.parse_args()
    if args.driver:
        reference_driver(Path(args.driver[0]), args.driver[1], Path(args.driver[2]))
        return
    earlier = json.loads(args.reference_from.read_text()) if args.reference_from else None
    if earlier and (earlier["users"] != args.users or earlier["stand_in"]["generate_s"] != args.generate_s):
        raise SystemExit(f"{args.reference_from} measured {earlier['users']} users at "
                         f"{earlier['stand_in']['generate_s']} s per generation: pass the same --users / --generate-s")
    proc, url = start_server(args.generate_s)
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            users = write_users(args.users, tmp / "users.json")
            print(f"{len(users)} users; stand-in at {url}, {args.generate_s} s per generation", flush=True)
            runs = []
            for repeat in range(args.repeats):
                before = os.getloadavg()  # 1, 5, 15 minutes: the machine is shared
                runs.append(side({**run_prbench(tmp / f"prbench{repeat}", url, args.users), "measured_at": now(),
                                  "load_average_before": before}, args.generate_s))
                print(f"prbench: {runs[-1]['wall_s']} s, {runs[-1]['requests_per_user_mean']:.1f} requests per user",
                      flush=True)
            if earlier:
                reference = earlier["reference"]
            else:
                before = os.getloadavg()
                reference = side({**run_reference(tmp, tmp / "users.json", args.generate_s, args.drivers),
                                  "measured_at": now(),
                                  "load_average_before": before}, args.generate_s)
            print(f"reference: {reference['wall_s']} s, {reference['requests_per_user_mean']:.1f} requests per user",
                  flush=True)
    finally:
        proc.kill()
    prbench = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]  # the median run
    speedup = reference["wall_s"] / prbench["wall_s"]
    requests_ratio = prbench["requests_per_user_mean"] / reference["requests_per_user_mean"]
    pairs = {u["user_id"]: u["requests"] for u in reference["per_user"]}
    per_user_gap = [u["requests"] / pairs[u["user_id"]] - 1 for u in prbench["per_user"] if pairs.get(u["user_id"])]
    command = f"python scripts/bench_reference.py --users {args.users} --generate-s {args.generate_s}" + \
        (f" --drivers {args.drivers}" if args.drivers > 1 else "") + \
        (f" --repeats {args.repeats}" if args.repeats > 1 else "") + \
        (f" --reference-from {args.reference_from}" if args.reference_from else "")
    result = {
        "command": command,
        "stand_in": {"generate_s": args.generate_s, "answers": "DSPy field format, First/Second by prompt hash"},
        "persona_program": PROGRAM, "users": len(users),
        "speedup": round(speedup, 2), "requests_per_user_ratio": round(requests_ratio, 4),
        "per_user_requests_gap": {"median": statistics.median(per_user_gap), "min": min(per_user_gap),
                                  "max": max(per_user_gap)},
        "targets": {"speedup_at_least": TARGET_SPEEDUP, "requests_per_user_within": TARGET_REQUESTS,
                    "speedup_met": speedup >= TARGET_SPEEDUP,
                    "requests_met": abs(requests_ratio - 1) <= TARGET_REQUESTS},
        "prbench": prbench, "reference": reference,
        "prbench_runs": [{k: v for k, v in r.items() if k != "per_user"} for r in runs],
        "reference_from": None if not earlier else {"file": str(args.reference_from), "command": earlier["command"]},
        "earlier_prbench_runs": [] if not earlier else earlier_runs(earlier),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("prbench", "reference")}, indent=1))


if __name__ == "__main__":
    main()
