"""A local proxy that fails a share of requests (HTTP 500, 429, a hang past the client's timeout, malformed
JSON) and forwards the rest to a real upstream server. Loopback only; bounded by its request count."""

from __future__ import annotations

import random
import threading
import time
import urllib.request

from tests.loopback import JSONHandler, LoopbackServer

FAILURES = ("500", "429", "timeout", "malformed")


class FlakyProxy(LoopbackServer):
    def __init__(self, upstream: str, failure_rate: float = 0.3, hang_s: float = 3.0, seed: int = 0,
                 max_requests: int = 5000, slow_s: float | None = None):
        self.upstream, self.counts = upstream.rstrip("/"), {k: 0 for k in (*FAILURES, "ok")}
        self.slow = 0  # forwarded requests the upstream took at least `slow_s` to answer (a client may time out)
        rng, lock = random.Random(seed), threading.Lock()
        proxy = self

        class Handler(JSONHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    total = sum(proxy.counts.values())
                    fate = rng.choice(FAILURES) if rng.random() < failure_rate and total < max_requests else "ok"
                    proxy.counts[fate] += 1
                if fate in ("500", "429"):
                    return self._send(int(fate), b'{"error": {"message": "injected"}}')
                if fate == "timeout":
                    time.sleep(hang_s)
                    return self._send(504, b'{"error": {"message": "too late"}}')
                if fate == "malformed":
                    return self._send(200, b'{"id": "x", "choices": [{"mess')
                request = urllib.request.Request(proxy.upstream + self.path.removeprefix("/v1"), data=body,
                                                 headers={"Content-Type": "application/json"})
                start = time.perf_counter()
                with urllib.request.urlopen(request, timeout=300) as response:
                    data = response.read()
                if slow_s is not None and time.perf_counter() - start >= slow_s:
                    with lock:
                        proxy.slow += 1
                self._send(response.status, data)

        super().__init__(Handler)

    @property
    def failures(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "ok")
