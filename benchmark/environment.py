"""The Python environment a run was made in, and how two such environments differ.

A run's provenance.json holds `environment`: the sha256 of `requirements/lock.txt` (the lock that
scripts/setup.sh installs with; shipped inside the package too), every installed distribution with its
version, and the distributions whose installed version is not the lock's pin (empty in an environment
installed from the lock). prbench-compare and prbench-regress print `environment_difference` of the runs
they read, so two numbers made with different libraries are never compared without saying so.
"""

from __future__ import annotations

import hashlib
import re
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmark.shipped import shipped

LOCK = "requirements/lock.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")
SHOWN = 5  # differing distributions named in a message; the rest are counted


def normalize(name: str) -> str:
    """A distribution's name as PEP 503 compares them (`Hydra_Core` and `hydra-core` are one)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(text: str) -> dict[str, str]:
    """The `name==version` pins of a lock file."""
    return {normalize(m.group(1)): m.group(2) for m in map(_PIN.match, text.splitlines()) if m}


def installed_versions() -> dict[str, str]:
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize(name), dist.version)  # the first on sys.path is the one imported
    return dict(sorted(found.items()))


def environment(lock: Path | None = None) -> dict[str, Any]:
    """The lock's hash (None when no lock file is found), the installed distributions, and those that differ
    from the lock (name -> [installed, locked]; a locked distribution not installed is not listed: the lock
    holds every extra, an environment may install fewer)."""
    lock = lock or shipped(LOCK)
    installed = installed_versions()
    if not lock.is_file():
        return {"lock_sha256": None, "off_lock": {}, "distributions": installed}
    data = lock.read_bytes()
    pins = locked_versions(data.decode("utf-8"))
    off_lock = {name: [version, pins[name]] for name, version in installed.items()
                if name in pins and version != pins[name]}
    return {"lock_sha256": hashlib.sha256(data).hexdigest(), "off_lock": off_lock, "distributions": installed}


def environment_difference(a: dict[str, Any] | None, b: dict[str, Any] | None, names: tuple[str, str]) -> str | None:
    """One line saying how the environments of two runs differ, or None when they are the same. A run made
    before prbench recorded its environment has none, which is said too."""
    if not a and not b:
        return f"neither {names[0]} nor {names[1]} records its environment (made by an older prbench)"
    if not a or not b:
        return f"{names[0] if not a else names[1]} records no environment (made by an older prbench)"
    parts = []
    if a.get("lock_sha256") != b.get("lock_sha256"):
        parts.append(f"lock {_short(a.get('lock_sha256'))} vs {_short(b.get('lock_sha256'))}")
    da, db = a.get("distributions", {}), b.get("distributions", {})
    differ = [f"{name} {da.get(name, '-')} vs {db.get(name, '-')}" for name in sorted(set(da) | set(db))
              if da.get(name) != db.get(name)]
    if differ:
        more = f" and {len(differ) - SHOWN} more" if len(differ) > SHOWN else ""
        parts.append(f"{len(differ)} distribution(s) differ: {', '.join(differ[:SHOWN])}{more}")
    if not parts:
        return None
    return f"{names[0]} and {names[1]} were made in different environments: {'; '.join(parts)}"


def _short(digest: str | None) -> str:
    return digest[:12] if digest else "none"
