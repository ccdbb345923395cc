"""`prbench-view`: look inside runs in a browser (leaderboard, runs, users, comparisons).

    prbench-view [RESULTS_DIR]                  serve the viewer on http://127.0.0.1:7575/ until Ctrl-C
    prbench-view RESULTS_DIR --port 0           any free port (the URL is printed)
    prbench-view RESULTS_DIR --out DIR          write it as static files: open DIR/index.html (file:// works)

RESULTS_DIR is a results folder (its runs/ is searched), a folder of runs, or one run folder. Deep links:
#/run/<run>, #/user/<run>/<user>, #/user/<run>/<user>/pair/<pair>, #/compare/<run>,<run>.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from benchmark.cli import cli_errors
from benchmark.errors import DataError

DEFAULT_PORT = 7575


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="prbench-view", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="?", type=Path, default=Path("results"), metavar="RESULTS_DIR",
                   help="results folder, folder of runs, or one run (default: results)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port on 127.0.0.1 to serve on (default {DEFAULT_PORT}; 0: any free port)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="write the viewer as static files into DIR instead of serving it")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # texts come from local copies or the HF cache, never downloads
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    with cli_errors("prbench-view"):
        if not args.results.is_dir():
            raise DataError("no such folder of runs", source=str(args.results))
        if args.out is not None:
            from benchmark.view.export import export_viewer

            started = time.perf_counter()
            page = export_viewer(args.results, args.out)
            print(f"prbench-view: wrote {page} ({time.perf_counter() - started:.1f} s); open it in a browser")
            return
        from benchmark.view.server import serve, url

        try:
            server = serve(args.results, args.port)
        except OSError as error:
            raise DataError(f"cannot serve on 127.0.0.1:{args.port} ({error.strerror or error}); try --port 0") \
                from None
    print(f"prbench-view: serving {args.results} at {url(server)} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
