"""A method from another installed package runs through its `prbench.methods` entry point, with no file
in this repo: `prbench method=external method.kind=<name> +method.params.<field>=<value>`."""

import json
import os
import subprocess
import sys
from pathlib import Path

from benchmark.runner.run import run
from tests.conftest import ROOT

PACKAGE = {
    "pyproject.toml": """
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "tiny-prbench-method"
version = "0.0.1"

[project.entry-points."prbench.methods"]
by_length = "tiny_method:ByLength"
""",
    "tiny_method.py": '''
from benchmark.config import Section
from benchmark.methods import Method
from benchmark.records import Judgment


class ByLength(Method):
    model_label = "none"

    class Params(Section):
        shorter: bool = False

    def judge(self, items, state):
        gaps = [(len(i.first) - len(i.second)) * (-1 if self.params.shorter else 1) for i in items]
        return [Judgment("first" if g > 0 else "second" if g < 0 else "tie") for g in gaps]
''',
}


def install(tmp_path: Path) -> Path:
    source, target = tmp_path / "tiny", tmp_path / "site"
    source.mkdir()
    for name, text in PACKAGE.items():
        (source / name).write_text(text)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True)
    return target


def prbench(site: Path, results: Path, *overrides: str) -> subprocess.CompletedProcess:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", ""), str(site)])
    return subprocess.run([sys.executable, "-m", "benchmark.runner.main", "logger=none", "split.max_users=4",
                           "cache.mode=off", f"results_dir={results}", *overrides],
                          env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True, timeout=300)


def preferred(folder: Path) -> list[tuple[str, str, str]]:
    items = [json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines()]
    return sorted((i["pair_id"], i["order"], i["preferred"]) for i in items)


def test_an_installed_package_runs_as_method_external(tmp_path, quick):
    site = install(tmp_path)
    results = tmp_path / "results"
    for shorter in ("false", "true"):
        done = prbench(site, results, "method=external", "method.kind=by_length", f"+method.params.shorter={shorter}",
                       f"run_name=ext_{shorter}")
        assert done.returncode == 0, done.stderr[-2000:]
    builtin = quick("method=longer", "split.max_users=4", f"results_dir={tmp_path / 'builtin'}")
    longer = preferred(run(builtin, tmp_path / "builtin" / "longer").folder)
    flip = {"first": "second", "second": "first", "tie": "tie"}
    assert preferred(results / "runs" / "ext_false") == longer
    assert preferred(results / "runs" / "ext_true") == [(p, o, flip[v]) for p, o, v in longer]
    summary = json.loads((results / "runs" / "ext_false" / "summary.json").read_text())
    assert summary["method"] == "by_length"


def test_an_unknown_kind_names_the_entry_point_group(tmp_path):
    done = prbench(tmp_path, tmp_path / "results", "method=external", "method.kind=not_installed")
    assert done.returncode == 2
    assert "method.kind: unknown method 'not_installed'" in done.stderr and "prbench.methods" in done.stderr


def test_the_core_never_imports_baselines():
    import ast

    offenders = []
    for path in (ROOT / "benchmark").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "baselines"]
    assert not offenders
