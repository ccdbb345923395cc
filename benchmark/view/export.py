"""The viewer as static files, opened from file:// or served by any static host.

    <out>/index.html      the page (another name with `page=`, e.g. report.html beside report.md)
    <out>/static/         app.js, app.css
    <out>/data/<key>.js   the documents (benchmark.view.documents), loaded by the page as they are opened
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from benchmark.errors import PrbenchError
from benchmark.view.documents import Viewer
from benchmark.view.jsdata import js_put
from benchmark.view.sources import REFERENCE

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = ("app.js", "app.css")
MARKER = ".prbench-view"  # in an export folder: the entries the viewer wrote there, and may replace


def asset(name: str) -> bytes:
    """One file of the page: `index.html` (the page) or one of ASSETS."""
    return (STATIC / name).read_bytes()


def write_documents(viewer: Viewer, data_dir: Path) -> int:
    """Every document as data/<key>.js; returns the number of files."""
    count, made = 0, set()
    for key in viewer.keys():
        path = data_dir / f"{key}.js"
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(js_put(key, viewer.document(key)))
        count += 1
    return count


def export_viewer(results: Path, out_dir: Path, page: str = "index.html", reference: Path = REFERENCE,
                  force: bool = False) -> Path:
    """Write the viewer of every finished run below `results` into `out_dir`; returns the page's path.

    Only `page`, static/ and data/ are written. Unless `force`, a folder already holding one of them that an
    earlier export did not write is refused. For report.py, whose folder it is:
    `export_viewer(runs_dir, out / "report", page="report.html", force=True)` makes report.html the viewer's
    leaderboard, beside report.md."""
    out_dir = Path(out_dir)
    if page in ("static", "data", MARKER) or "/" in page or not page.endswith(".html"):
        raise PrbenchError(f"page {page!r}: give a file name ending in .html")
    mine = (out_dir / MARKER).read_text().split() if (out_dir / MARKER).exists() else []
    foreign = [name for name in ("static", "data", page) if (out_dir / name).exists() and name not in mine
               and not force]
    if foreign:
        raise PrbenchError(f"{out_dir} already holds {', '.join(foreign)}, not written by prbench-view: "
                           f"choose another --out folder")
    viewer = Viewer(results, reference)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text("\n".join(sorted({*mine, "static", "data", page})) + "\n")
    fresh = out_dir / f".data-{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    write_documents(viewer, fresh)
    shutil.rmtree(out_dir / "data", ignore_errors=True)
    fresh.rename(out_dir / "data")
    (out_dir / "static").mkdir(exist_ok=True)
    for name in ASSETS:
        (out_dir / "static" / name).write_bytes(asset(name))
    (out_dir / page).write_bytes(asset("index.html"))
    return out_dir / page
