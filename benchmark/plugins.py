"""Extensions, found by entry point: one group per kind, each extension named once (the entry point's name;
two installed packages declaring one name differently are refused, never one picked).

| group              | config key    | value                                       |
|--------------------|---------------|---------------------------------------------|
| `prbench.methods`  | `method.kind` | a `benchmark.methods.Method` subclass       |
| `prbench.backends` | `backend.kind`| a `benchmark.models.registry.Backend` subclass |
| `prbench.loaders`  | `data.loader` | a function `(DataConfig, Models or None) -> Benchmark` |

prbench declares its own in its pyproject.toml; any installed package declares more the same way. An
extension's module is imported only when a run names it. A class or function defined in this process (a
notebook, a test) is added with `register`.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from benchmark.errors import ConfigError

GROUPS = {"method": "prbench.methods", "backend": "prbench.backends", "loader": "prbench.loaders"}
_loaded: dict[str, dict[str, Any]] = {kind: {} for kind in GROUPS}


def register(kind: str, name: str, value: Any) -> Any:
    """Add `value` as the `kind` extension `name` in this process only."""
    _loaded[kind][name] = value
    return value


def names(kind: str) -> set[str]:
    """Every `kind` extension installed or registered."""
    return {point.name for point in entry_points(group=GROUPS[kind])} | set(_loaded[kind])


def load(kind: str, name: Any, field: str, check: Callable[[Any], bool], expected: str) -> Any:
    """The `kind` extension `name` (the value of config key `field`), loading its entry point on first use;
    a ConfigError naming `field` if it is not installed, fails to import or is not `expected`."""
    if name not in _loaded[kind]:
        points = entry_points(group=GROUPS[kind], name=str(name))
        if len({point.value for point in points}) > 1:  # never pick one silently: a run names only `name`
            declared = "; ".join(sorted(f"{point.value} (package {_package(point)})" for point in points))
            raise ConfigError(f"config {field}: {kind} {name!r} is declared by more than one installed package: "
                              f"{declared}; uninstall one")
        for point in points:
            try:
                value = point.load()
            except Exception as error:  # a broken plug-in: name it instead of a traceback
                raise ConfigError(f"config {field}: entry point {name!r} = {point.value!r} failed to load: "
                                  f"{type(error).__name__}: {error}") from error
            if not check(value):
                raise ConfigError(f"config {field}: entry point {name!r} = {point.value!r} is not {expected}")
            _loaded[kind][name] = value
            break
    if name not in _loaded[kind]:
        declared = {point.name for point in entry_points(group=GROUPS[kind])}
        hint = "" if declared else "; none is installed: reinstall prbench (`pip install -e .`) to register its own"
        raise ConfigError(f"config {field}: unknown {kind} {name!r} (known: {', '.join(sorted(names(kind)))}; "
                          f"one from another package needs an installed `{GROUPS[kind]}` entry point{hint})")
    return _loaded[kind][name]


def _package(point: Any) -> str:
    return point.dist.name if point.dist is not None else "unknown"
