"""The data flow reads in one direction: no module of the core imports, even lazily, a module that
imports it back (TYPE_CHECKING-only imports aside)."""

import ast
from pathlib import Path

from tests.conftest import ROOT


def _modules(package: Path) -> dict[str, Path]:
    found = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                    for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out & set(known)


def import_cycles(package: Path) -> set[tuple[str, ...]]:
    known = _modules(package)
    graph = {name: _imports(path, known) for name, path in known.items()}
    cycles: set[tuple[str, ...]] = set()

    def visit(chain: list[str]) -> None:
        for nxt in graph[chain[-1]]:
            if nxt in chain:
                loop = chain[chain.index(nxt):]
                first = loop.index(min(loop))
                cycles.add(tuple(loop[first:] + loop[:first]))
            elif nxt not in seen:
                seen.add(nxt)
                visit([*chain, nxt])

    for start in graph:
        seen = {start}
        visit([start])
    return cycles


def test_the_core_has_no_import_circles():
    assert import_cycles(ROOT / "benchmark") == set()


def test_a_circle_is_found(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.b import g\n")
    (package / "b.py").write_text("from pkg.a import f\n")
    assert import_cycles(package) == {("pkg.a", "pkg.b")}


def test_only_methods_and_builders_use_the_method_toolkit():
    """The runner asks a method what it knew about a user (Method.fitted_about_user) instead of reading its
    state: outside the toolkit itself, only the raw builders' LLM filters (judge prompts) import it."""
    known = _modules(ROOT / "benchmark")
    users = {name for name, path in known.items() if not name.startswith("benchmark.toolkit")
             and any(m.startswith("benchmark.toolkit") for m in _imports(path, known))}
    assert users == {"benchmark.builders.curate"}
