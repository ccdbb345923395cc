"""A stand-in for a GPU inference server: an OpenAI-compatible `/v1/chat/completions` on 127.0.0.1 that
answers every request after a fixed delay (0.2 s for a one-token request, 1.0 s for a generation by
default), with no limit on how many it holds at once. Answers are deterministic functions of the prompt,
so runs against it are comparable. For measuring how full a run keeps an engine (scripts/bench_scale.py)
and for tests; `GET /stats` gives the server's own count of requests in flight (`?reset=1` restarts it).

    python -m benchmark.models.stand_in --port 8011

asyncio (aiohttp) rather than a thread per connection: hundreds of requests wait at once, cheaply.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import threading
import time

from aiohttp import web

from benchmark.models.concurrency import InFlight
from benchmark.models.openai_backend import dumps, loads


def _unit(messages: list[dict]) -> float:
    text = json.dumps([[m["role"], m["content"]] for m in messages])
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def answer(body: dict) -> dict:
    """The reply to one request (tokens are whitespace-separated words)."""
    messages = body["messages"]
    u, n_in = _unit(messages), sum(len(m["content"].split()) for m in messages)
    logprobs = None
    if body.get("logprobs") and body.get("max_tokens") == 1:
        p = 0.05 + 0.9 * u
        top = sorted([("A", math.log(p)), ("B", math.log(1 - p))], key=lambda t: -t[1])
        text = top[0][0]
        logprobs = {"content": [{"token": text, "logprob": top[0][1], "bytes": None,
                                 "top_logprobs": [{"token": t, "logprob": v, "bytes": None} for t, v in top]}]}
    else:
        text = f"Both responses are plausible. The answer is {'A' if u < 0.5 else 'B'}."
    n_out = len(text.split())
    return {"id": f"chatcmpl-{time.time_ns()}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": logprobs,
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}}


class StandInServer:
    def __init__(self, choice_s: float = 0.2, generate_s: float = 1.0, port: int = 0):
        self.choice_s, self.generate_s, self.port = choice_s, generate_s, port
        self.in_flight = InFlight()
        self.requests = {"one_token": 0, "generation": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()

    async def _complete(self, request: web.Request) -> web.Response:
        body = loads(await request.read())
        one_token = bool(body.get("logprobs")) and body.get("max_tokens") == 1
        with self.in_flight.track(1):
            self.requests["one_token" if one_token else "generation"] += 1
            await asyncio.sleep(self.choice_s if one_token else self.generate_s)
        return web.Response(body=dumps(answer(body)), content_type="application/json")

    async def _stats(self, request: web.Request) -> web.Response:
        stats = {**self.in_flight.stats(), "requests": dict(self.requests),
                 "latency_s": {"one_token": self.choice_s, "generation": self.generate_s}}
        if request.query.get("reset") == "1":
            self.in_flight.reset()
            self.requests = {"one_token": 0, "generation": 0}
        return web.json_response(stats)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        app.router.add_get("/stats", self._stats)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, backlog=4096)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        await asyncio.Event().wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> StandInServer:
        """Serve from a background thread of this process (tests); returns once it accepts requests."""
        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._serve())
        threading.Thread(target=serve, daemon=True, name="stand-in-server").start()
        self._ready.wait(30)
        return self


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--choice-s", type=float, default=0.2, help="latency of a one-token request")
    parser.add_argument("--generate-s", type=float, default=1.0, help="latency of a generation")
    args = parser.parse_args()
    server = StandInServer(args.choice_s, args.generate_s, args.port)

    async def serve() -> None:
        task = asyncio.create_task(server._serve())
        while not server._ready.is_set():
            await asyncio.sleep(0.01)
        print(f"serving a fixed-latency stand-in at {server.url}", flush=True)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    main()
