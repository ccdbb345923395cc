"""A minimal OpenAI-compatible chat server in front of a local model (`/v1/chat/completions`).

For tests and offline work: the `openai` backend can talk to a transformers model through it exactly as it
talks to `vllm serve` or a hosted API.

    python -m benchmark.models.serve --model smollm2 --port 8011
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benchmark.models.base import GenerationParams
from benchmark.records import Message


class ChatServer:
    def __init__(self, model, host: str = "127.0.0.1", port: int = 0):
        self.model, self.lock = model, threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": "not found"}})
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
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

        self.httpd = ThreadingHTTPServer((host, port), Handler)
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

    def start(self) -> ChatServer:
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
    args = parser.parse_args()
    from benchmark.models.transformers_backend import TransformersChat

    server = ChatServer(TransformersChat(args.model), args.host, args.port)
    print(f"serving {args.model} at {server.url}")
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
