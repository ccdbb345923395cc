"""benchmark.models.stand_in's server (same latencies, same counting of requests in flight) answering
requests in DSPy's ChatAdapter format, so the reference's programs parse its answers and run to the end:
`[[ ## field ## ]]` blocks for the output fields the request asks for, a `preference` of First or Second
picked by a hash of the prompt (deterministic: two runs sending the same requests get the same answers).
It also keeps every request body (`bodies`) and totals prompt words (`prompt_tokens`, the stand-in's
tokens). Requests not in DSPy's format get the stand-in's own answer.

    python -m baselines.reference.stand_in --port 8012
"""

from __future__ import annotations

import argparse
import asyncio
import re
import threading

from aiohttp import web

from benchmark.models.openai_backend import dumps, loads
from benchmark.models.stand_in import StandInServer, _unit, answer

FIELDS = re.compile(r"\[\[ ## (\w+) ## \]\]")


def dspy_answer(body: dict) -> dict:
    """The stand-in's reply, its text in DSPy's field format when the request asks for one."""
    reply = answer(body)
    last = body["messages"][-1]["content"]
    asked = [f for f in FIELDS.findall(last.split("Respond with the corresponding output fields")[-1])
             if f != "completed"] if "Respond with the corresponding output fields" in last else []
    if asked:
        u = _unit(body["messages"])
        values = {"reasoning": "The user seems to value direct, specific answers.",
                  "preference": "First" if u < 0.5 else "Second",
                  "synthesized_persona": "A user who prefers direct, specific and concise answers."}
        text = "\n\n".join(f"[[ ## {f} ## ]]\n{values.get(f, 'n/a')}" for f in asked) + "\n\n[[ ## completed ## ]]"
        reply["choices"][0]["message"]["content"] = text
        n_in = reply["usage"]["prompt_tokens"]
        reply["usage"] = {"prompt_tokens": n_in, "completion_tokens": len(text.split()),
                          "total_tokens": n_in + len(text.split())}
    return reply


class DSPyStandIn(StandInServer):
    def __init__(self, choice_s: float = 0.2, generate_s: float = 1.0, port: int = 0, keep_bodies: bool = False):
        super().__init__(choice_s, generate_s, port)
        self.keep_bodies, self.bodies, self.prompt_tokens = keep_bodies, [], 0
        self._lock = threading.Lock()

    async def _complete(self, request: web.Request) -> web.Response:
        body = loads(await request.read())
        one_token = bool(body.get("logprobs")) and body.get("max_tokens") == 1
        reply = dspy_answer(body)
        with self._lock:
            self.prompt_tokens += reply["usage"]["prompt_tokens"]
            if self.keep_bodies:
                self.bodies.append(body)
        with self.in_flight.track(1):
            self.requests["one_token" if one_token else "generation"] += 1
            await asyncio.sleep(self.choice_s if one_token else self.generate_s)
        return web.Response(body=dumps(reply), content_type="application/json")

    async def _stats(self, request: web.Request) -> web.Response:
        stats = {**self.in_flight.stats(), "requests": dict(self.requests), "prompt_tokens": self.prompt_tokens,
                 "latency_s": {"one_token": self.choice_s, "generation": self.generate_s}}
        if request.query.get("reset") == "1":
            self.in_flight.reset()
            self.requests, self.prompt_tokens = {"one_token": 0, "generation": 0}, 0
        return web.json_response(stats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8012)
    parser.add_argument("--choice-s", type=float, default=0.2)
    parser.add_argument("--generate-s", type=float, default=1.0)
    args = parser.parse_args()
    server = DSPyStandIn(args.choice_s, args.generate_s, args.port)

    async def serve() -> None:
        task = asyncio.create_task(server._serve())
        while not server._ready.is_set():
            await asyncio.sleep(0.01)
        print(f"serving a DSPy-format stand-in at {server.url}", flush=True)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    main()
