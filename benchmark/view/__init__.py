"""prbench-view: the results of runs in a browser, per user (inspect_ai's `inspect view` is the model).

    prbench-view [RESULTS_DIR] [--port 7575]     # a local server on 127.0.0.1
    prbench-view RESULTS_DIR --out DIR           # the same viewer as static files (file:// or any static host)

Modules: `documents` (what the viewer shows, as JSON documents built from run folders and their data),
`sources` (reading run folders and data, read-only), `jsdata` (documents as small JS files), `export`
(static files), `server` (the local server), `cli` (the command). The page itself is `static/` (vanilla JS,
no build step, nothing loaded from the network).
"""

from benchmark.view.export import export_viewer

__all__ = ["export_viewer"]
