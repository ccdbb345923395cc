"""A minimal OpenAI-compatible chat server in front of a local model (`/v1/chat/completions`).

For tests and offline work: the `openai` backend can talk to a transformers model through it exactly as it
talks to `vllm serve` or a hosted API. `--fixed-latency` serves a stand-in for a GPU server instead: every
request answered after a fixed delay, any number at once, with answers that are functions of the prompt.

    python -m benchmark.models.serve --model smollm2 --port 8011
    python -m benchmark.models.serve --fixed-latency --port 8011
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import threading
import time
from contextlib import nullcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benchmark.models.base import Generation, GenerationParams
from benchmark.models.concurrency import InFlight
from benchmark.records import Cost, Message


class FixedLatencyModel:
    """A stand-in for a GPU inference server with unlimited concurrency: a one-token request takes
    `choice_s`, a generation `generate_s`; answers are deterministic functions of the prompt, so runs
    against it are comparable. Tokens are whitespace-separated words."""

    concurrent = True

    def __init__(self, choice_s: float = 0.2, generate_s: float = 1.0):
        self.choice_s, self.generate_s = choice_s, generate_s

    @staticmethod
    def _unit(chat) -> float:
        text = json.dumps([[m.role, m.content] for m in chat])
        return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF

    def _encode(self, chat) -> list[str]:
        return [word for m in chat for word in m.content.split()]

    def top_logprobs(self, chats, k: int) -> list[list[tuple[str, float]]]:
        time.sleep(self.choice_s)
        out = []
        for chat in chats:
            p = 0.05 + 0.9 * self._unit(chat)
            out.append(sorted([("A", math.log(p)), ("B", math.log(1 - p))], key=lambda t: -t[1])[:k])
        return out

    def generate(self, chats, params: GenerationParams) -> list[Generation]:
        time.sleep(self.generate_s)
        texts = [f"Both responses are plausible. The answer is {'A' if self._unit(c) < 0.5 else 'B'}."
                 for c in chats]
        return [Generation(t, Cost(1, len(self._encode(c)), len(t.split()))) for c, t in zip(chats, texts)]


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # hundreds of clients connect at once
    daemon_threads = True


class ChatServer:
    def __init__(self, model, host: str = "127.0.0.1", port: int = 0):
        self.model = model
        self.lock = nullcontext() if getattr(model, "concurrent", False) else threading.Lock()
        self.in_flight = InFlight()  # requests being answered: the server's view of a run
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a client reuses its connections

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                """`/stats`: the server's requests in flight so far (`?reset=1` starts a new count)."""
                if not self.path.startswith("/stats"):
                    return self._send(404, {"error": {"message": "not found"}})
                stats = server.in_flight.stats()
                if "reset=1" in self.path:
                    server.in_flight.reset()
                self._send(200, stats)

            def do_POST(self):
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": "not found"}})
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                    with server.in_flight.track(1):
                        reply = server.complete(body)
                except (ValueError, KeyError) as error:
                    return self._send(400, {"error": {"message": str(error)}})
                self._send(200, reply)

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = _Server((host, port), Handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}/v1"

    def complete(self, body: dict) -> dict:
        chat = [Message(m["role"], m["content"]) for m in body["messages"]]
        with self.lock:
            if body.get("logprobs") and body.get("max_tokens") == 1:
                top = self.model.top_logprobs([chat], int(body.get("top_logprobs") or 1))[0]
                text, n_out = top[0][0], 1
                logprobs = {"content": [{"token": text, "logprob": top[0][1], "bytes": None,
                                         "top_logprobs": [{"token": t, "logprob": v, "bytes": None} for t, v in top]}]}
                n_in = len(self.model._encode(chat))
            else:
                params = GenerationParams(int(body.get("max_tokens") or 256), float(body.get("temperature") or 0.0),
                                          tuple(body.get("stop") or ()), int(body.get("seed") or 0))
                result = self.model.generate([chat], params)[0]
                text, logprobs = result.text, None
                n_in, n_out = result.cost.prompt_tokens, result.cost.completion_tokens
        return {"id": f"chatcmpl-{time.time_ns()}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", ""),
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": logprobs,
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}}

    def start(self) -> "ChatServer":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2", help="packaged name, local folder or hub id")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--fixed-latency", action="store_true", help="serve the fixed-latency stand-in")
    parser.add_argument("--choice-s", type=float, default=0.2, help="fixed latency of a one-token request")
    parser.add_argument("--generate-s", type=float, default=1.0, help="fixed latency of a generation")
    args = parser.parse_args()
    if args.fixed_latency:
        model = FixedLatencyModel(args.choice_s, args.generate_s)
    else:
        from benchmark.models.transformers_backend import TransformersChat

        model = TransformersChat(args.model)
    server = ChatServer(model, args.host, args.port)
    print(f"serving {'a fixed-latency stand-in' if args.fixed_latency else args.model} at {server.url}")
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
