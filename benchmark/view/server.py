"""The viewer served from this machine: http://127.0.0.1:<port>/, documents built when first asked for.

Only 127.0.0.1 is bound, only the page, its assets and documents by key are served (no file paths), and a
request naming another host is refused (a web page elsewhere cannot reach it through DNS rebinding).
"""

from __future__ import annotations

import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from benchmark.view.documents import Viewer
from benchmark.view.export import ASSETS, asset
from benchmark.view.jsdata import js_put
from benchmark.view.sources import REFERENCE

HOST = "127.0.0.1"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8"}
CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:"


def handler(viewer: Viewer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "prbench-view"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            if host not in (HOST, "localhost"):
                return self._send(403, b"prbench-view answers requests for 127.0.0.1 and localhost only\n", ".txt")
            path = unquote(urlsplit(self.path).path)
            if path in ("/", "/index.html"):
                return self._send(200, asset("index.html"), ".html")
            if path.startswith("/static/") and path[len("/static/"):] in ASSETS:
                name = path[len("/static/"):]
                return self._send(200, asset(name), Path(name).suffix)
            if path.startswith("/data/") and path.endswith(".js"):
                key = path[len("/data/"):-len(".js")]
                try:
                    if key == "index":
                        viewer.refresh()  # runs finished since the page was opened appear
                    document = viewer.document(key)
                except Exception:  # noqa: BLE001 - one broken document must not stop the server
                    traceback.print_exc(file=sys.stderr)
                    return self._send(500, f"error building {key}; see the server's output\n".encode(), ".txt")
                if document is not None:
                    return self._send(200, js_put(key, document), ".js")
            self._send(404, b"not found\n", ".txt")

        def _send(self, status: int, body: bytes, suffix: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", TYPES.get(suffix, "text/plain; charset=utf-8"))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", CSP)
            self.end_headers()
            self.wfile.write(body)

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if str(code).startswith(("4", "5")):  # only what went wrong
                super().log_request(code, size)

    return Handler


def serve(results: Path, port: int = 0, reference: Path = REFERENCE) -> ThreadingHTTPServer:
    """A started server (in a background thread) for the runs below `results`; its URL is `url(server)`."""
    viewer = Viewer(results, reference)
    server = ThreadingHTTPServer((HOST, port), handler(viewer))
    server.daemon_threads = True
    server.warmed = threading.Event()  # set once every run and its data are read
    threading.Thread(target=server.serve_forever, name="prbench-view", daemon=True).start()
    threading.Thread(target=_warm, args=(viewer, server.warmed), name="prbench-view-warm", daemon=True).start()
    return server


def _warm(viewer: Viewer, done: threading.Event) -> None:
    try:
        viewer.warm()
    except Exception:  # noqa: BLE001 - the page that needs it will show the error
        traceback.print_exc(file=sys.stderr)
    finally:
        done.set()


def url(server: ThreadingHTTPServer) -> str:
    return f"http://{HOST}:{server.server_address[1]}/"
