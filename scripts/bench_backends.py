"""Benchmarks of the model layer; ratios measured in one run, written to results/bench/backends.json.

1. Harness overhead: marginal time per judged pair with an in-process zero-latency backend, against the
   SmolLM2 transformers backend's model time per pair (target <= 1%).
2. Concurrency: the openai backend against a local server answering every request after 200 ms:
   throughput at concurrency 32 against 32x the sequential throughput (target >= 80%).
3. Cache: a re-run of a finished SmolLM2 run served from the request cache, against the cold run
   (target <= 2% of its time).

    python scripts/bench_backends.py [--users 10]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import open_dict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("WANDB_MODE", "disabled")

from benchmark.models import Models  # noqa: E402
from benchmark.models.layer import RetryPolicy  # noqa: E402
from benchmark.models.openai_backend import OpenAIChat  # noqa: E402
from benchmark.records import Message  # noqa: E402
from benchmark.runner.main import CONFIG_DIR  # noqa: E402
from benchmark.runner.run import run  # noqa: E402


def config(*overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=["logger=none", *overrides])
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg


def timed_run(tmp: Path, name: str, *overrides) -> tuple[float, dict]:
    cfg = config(f"results_dir={tmp}", f"run_name={name}", *overrides)
    start = time.perf_counter()
    result = run(cfg, tmp / name)
    return time.perf_counter() - start, result.summary


def harness_overhead(tmp: Path, users: int) -> dict:
    small, large = max(2, users // 5), 60
    timed_run(tmp, "warm-up", "backend=mock", "cache.mode=off", f"split.max_users={small}")  # imports, first load
    t_small, s_small = timed_run(tmp, "mock-small", "backend=mock", "cache.mode=off", f"split.max_users={small}")
    t_large, s_large = timed_run(tmp, "mock-large", "backend=mock", "cache.mode=off", f"split.max_users={large}")
    per_pair_harness = (t_large - t_small) / (s_large["n_pairs"] - s_small["n_pairs"])
    Models(config().backend, config().model, {"mode": "off"}).chat()  # load SmolLM2 outside the timing
    _, smol = timed_run(tmp, "smol", "cache.mode=off", f"split.max_users={small}")
    per_pair_model = smol["cost"]["seconds"] / smol["n_pairs"]
    return {"harness_seconds_per_pair": per_pair_harness, "smollm2_model_seconds_per_pair": per_pair_model,
            "ratio": per_pair_harness / per_pair_model, "target_ratio_max": 0.01}


REPLY = json.dumps({
    "id": "x", "object": "chat.completion", "created": 0, "model": "m",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "A"},
                 "logprobs": {"content": [{"token": "A", "logprob": -0.1, "bytes": None, "top_logprobs": [
                     {"token": "A", "logprob": -0.1, "bytes": None},
                     {"token": "B", "logprob": -2.4, "bytes": None}]}]}}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}}).encode()


def serve_fixed_latency(latency_s: float, ports) -> None:
    """Answers every chat completion after `latency_s`, with A/B top_logprobs (own process: no GIL sharing)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(latency_s)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(REPLY)))
            self.end_headers()
            self.wfile.write(REPLY)

    ThreadingHTTPServer.request_queue_size = 128
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    ports.put(httpd.server_address[1])
    httpd.serve_forever()


def concurrency(latency_s: float = 0.2, concurrency_level: int = 32) -> dict:
    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve_fixed_latency, args=(latency_s, ports), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=30)}/v1"

    def throughput(level: int, n: int) -> float:
        cfg = Models({"kind": "openai", "base_url": url, "max_concurrency": level}, {"name": "m"}).backend
        chat = OpenAIChat("m", cfg, RetryPolicy())
        chats = [[Message("user", f"q{i}")] for i in range(n)]
        chat.choice_logprobs(chats[:2], ["A", "B"])  # warm the connection pool
        start = time.perf_counter()
        results = chat.choice_logprobs(chats, ["A", "B"])
        assert all(r.error is None for r in results)
        return n / (time.perf_counter() - start)

    sequential = throughput(1, 10)
    parallel = throughput(concurrency_level, concurrency_level * 10)
    server.terminate()
    return {"latency_s": latency_s, "sequential_per_s": sequential, "concurrent_per_s": parallel,
            "concurrency": concurrency_level, "ratio_to_ideal": parallel / (concurrency_level * sequential),
            "target_ratio_min": 0.8}


def cached_rerun(tmp: Path, users: int) -> dict:
    cache = f"cache.path={tmp / 'requests.sqlite'}"
    cold, _ = timed_run(tmp, "cold", cache, f"split.max_users={users}")
    warm, summary = timed_run(tmp, "warm", cache, f"split.max_users={users}")
    return {"cold_seconds": cold, "cached_seconds": warm, "ratio": warm / cold, "target_ratio_max": 0.02,
            "cached_calls": summary["model_usage"]["calls"], "cache_hits": summary["model_usage"]["cache_hits"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10, help="users in the SmolLM2 runs")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "backends.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        report = {"harness_overhead": harness_overhead(tmp, args.users), "concurrency": concurrency(),
                  "cached_rerun": cached_rerun(tmp, args.users)}
    for part in report.values():
        ratio = part.get("ratio", part.get("ratio_to_ideal"))
        part["meets_target"] = ratio <= part["target_ratio_max"] if "target_ratio_max" in part \
            else ratio >= part["target_ratio_min"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
