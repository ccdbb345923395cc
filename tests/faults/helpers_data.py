"""Shared by the data-fault tests: the real commands as subprocesses, and a small dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import pair_row, write_jsonl
from tests.runner.shard_helpers import prbench  # noqa: F401  (re-exported: `prbench` as a subprocess)

USERS, PAIRS = 3, 8  # 8 pairs each: a re-split gives every user 2 test pairs (4 judgments)


def tool(main: str, *args: str) -> subprocess.CompletedProcess:
    """A console script (`benchmark.compare.main`, ...) run from this tree."""
    module, name = main.rsplit(".", 1)
    return subprocess.run([sys.executable, "-c", f"import sys; from {module} import {name}; {name}()", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, program: str, *fragments: str) -> str:
    """Exit code 2, no traceback, and the error as the last line of stderr, holding every fragment."""
    assert result.returncode == 2, (result.returncode, result.stderr[-3000:])
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{program}: error: "), result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in last, last
    return last


def rows(flipped: set[int] = frozenset()) -> list[dict]:
    """USERS x PAIRS preference rows (no split column: a seeded re-split); pairs in `flipped` have chosen and
    rejected swapped (their label flipped), everything else identical."""
    out = []
    for i in range(USERS * PAIRS):
        row = pair_row(i, user=f"u{i % USERS}")
        if i in flipped:
            row["chosen"], row["rejected"] = row["rejected"], row["chosen"]
        out.append(row)
    return out


def dataset(path: Path, flipped: set[int] = frozenset()) -> Path:
    return write_jsonl(path, rows(flipped))


def run_on(results: Path, data: Path, name: str, *extra: str) -> Path:
    """A finished `method=longer` run of `data` (data=prism reads a local .jsonl); returns its folder."""
    result = prbench(results, "data=prism", f"data.path={data}", "method=longer", f"run_name={name}", *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return results / "runs" / name


def items(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "items.jsonl").read_text(encoding="utf-8").splitlines()]
