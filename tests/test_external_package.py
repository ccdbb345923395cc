"""A method, a backend and a data source from another installed package run through their entry points
(`prbench.methods`, `prbench.backends`, `prbench.loaders`), with no file in this repo:
`prbench method=external method.kind=<name> backend=external backend.kind=<name> data=external
data.loader=<name>`."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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

[project.entry-points."prbench.backends"]
always_a = "tiny_method:AlwaysA"

[project.entry-points."prbench.loaders"]
longer_wins = "tiny_method:longer_wins"
""",
    "tiny_method.py": '''
from typing import Literal

from benchmark.config import Section
from benchmark.methods import Method
from benchmark.models.base import ChatModel, ChoiceResult, Generation
from benchmark.models.registry import Backend
from benchmark.records import Benchmark, Cost, Judgment, Message, PreferencePair


class ByLength(Method):
    model_label = "none"

    class Params(Section):
        shorter: bool = False

    def judge(self, items, state):
        gaps = [(len(i.first) - len(i.second)) * (-1 if self.params.shorter else 1) for i in items]
        return [Judgment("first" if g > 0 else "second" if g < 0 else "tie") for g in gaps]


class AlwaysAConfig(Section):
    kind: Literal["always_a"]
    margin: float = 2.0


class AlwaysAChat(ChatModel):
    """Puts `margin` nats on "A" whatever it is asked."""

    def __init__(self, name, margin):
        self.name, self.margin = name, margin

    def choice_logprobs(self, chats, choices):
        return [ChoiceResult({c: (0.0 if c == "A" else -self.margin) for c in choices}, Cost(1, 1, 0, 0.0))
                for _ in chats]

    def generate(self, chats, params):
        return [Generation("A", Cost(1, 1, 1, 0.0)) for _ in chats]


class AlwaysA(Backend):
    Config = AlwaysAConfig

    def chat(self, model):
        return AlwaysAChat(model.name, self.cfg.margin)


def longer_wins(cfg, models=None):
    """`users` users (data.options), each with 10 pairs whose chosen answer is the longer one."""
    users = int(cfg.options.get("users", 5))
    pairs = tuple(PreferencePair(f"u{u}-p{p}", f"u{u}", (Message("user", f"question {p} of user {u}"),),
                                 "a long and helpful answer " * (1 + p % 3), "short", source=cfg.name)
                  for u in range(users) for p in range(10))
    return Benchmark(cfg.name, pairs)
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


def test_an_installed_package_adds_a_backend_and_a_data_source(tmp_path):
    site = install(tmp_path)
    results = tmp_path / "results"
    data = ["data=external", "data.loader=longer_wins", "+data.options.users=3"]
    done = prbench(site, results, *data, "method=external", "method.kind=by_length", "run_name=by_length")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((results / "runs" / "by_length" / "summary.json").read_text())
    assert (summary["n_users"], summary["macro_accuracy"]) == (3, 1.0)  # its data, every longer answer chosen
    done = prbench(site, results, *data, "method=plain", "backend=external", "backend.kind=always_a",
                   "+backend.margin=3.0", "run_name=always_a")
    assert done.returncode == 0, done.stderr[-2000:]
    folder = results / "runs" / "always_a"
    assert {v for _, _, v in preferred(folder)} == {"first"}  # its backend's answer, in both orders
    assert json.loads((folder / "summary.json").read_text())["macro_accuracy"] == 0.5
    config = (folder / "config.yaml").read_text()
    assert "kind: always_a" in config and "margin: 3.0" in config


@pytest.mark.parametrize(("group", "kind", "message"), [("method", "method.kind", "unknown method 'nope'"),
                                                        ("backend", "backend.kind", "unknown backend 'nope'"),
                                                        ("data", "data.loader", "unknown loader 'nope'")])
def test_an_unknown_name_names_the_entry_point_group(tmp_path, group, kind, message):
    done = prbench(tmp_path, tmp_path / "results", f"{group}=external", f"{kind}=nope")
    assert done.returncode == 2
    assert f"{kind}: {message}" in done.stderr and f"prbench.{'loaders' if group == 'data' else group + 's'}" \
        in done.stderr, done.stderr[-2000:]


def test_a_name_two_packages_declare_is_refused(monkeypatch):
    """A run records only the name: picking one of two packages' extensions silently could change a resumed
    run's code under the same fingerprint."""
    from importlib.metadata import EntryPoint, EntryPoints

    from benchmark import plugins
    from benchmark.errors import ConfigError

    points = EntryPoints([EntryPoint("twice", "pkg_a.methods:A", "prbench.methods"),
                          EntryPoint("twice", "pkg_b.methods:B", "prbench.methods"),
                          EntryPoint("once", "pkg_a.methods:A", "prbench.methods"),
                          EntryPoint("once", "pkg_a.methods:A", "prbench.methods")])
    monkeypatch.setattr(plugins, "entry_points", lambda **select: points.select(**select))
    with pytest.raises(ConfigError, match=r"^config method.kind: method 'twice' is declared by more than one "
                                          r"installed package: pkg_a.methods:A \(package unknown\); "
                                          r"pkg_b.methods:B \(package unknown\); uninstall one$"):
        plugins.load("method", "twice", "method.kind", lambda value: True, "a Method")
    with pytest.raises(ConfigError, match="entry point 'once' = 'pkg_a.methods:A' failed to load"):
        plugins.load("method", "once", "method.kind", lambda value: True, "a Method")  # one target, declared twice


def test_the_core_never_imports_baselines():
    import ast

    offenders = []
    for path in (ROOT / "benchmark").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "baselines"]
    assert not offenders
