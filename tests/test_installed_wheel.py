"""A built wheel, installed anywhere, runs from an empty folder: configs and reference numbers ship inside
the package, and results land under the folder it runs in."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SOURCES = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "benchmark", "baselines", "configs",
           "results/reference", "requirements"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """prbench's wheel installed into a folder of its own (built from a copy: no build files in the repo)."""
    tmp = tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        source, copy = ROOT / name, tmp / "src" / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, copy)
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", tmp / "src"],
                   check=True, capture_output=True)
    wheel = next((tmp / "dist").glob("prbench-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", tmp / "site", wheel], check=True, capture_output=True)
    return tmp / "site"


def in_empty_folder(site, tmp_path, *command):
    """`command` from an empty folder, seeing only the installed prbench (its dependencies from the environment)."""
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "PRBENCH_CACHE": str(tmp_path / "cache")}
    return work, subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300)


def test_the_wheel_runs_from_an_empty_folder(installed, tmp_path):
    work, done = in_empty_folder(installed, tmp_path, installed / "bin" / "prbench", "experiment=quick",
                                 "method=longer", "logger=none")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((work / "results" / "runs" / "demo" / "longer" / "summary.json").read_text())
    assert summary["method"] == "longer" and summary["n_users"] == 8
    provenance = json.loads((work / "results" / "runs" / "demo" / "longer" / "provenance.json").read_text())
    lock = hashlib.sha256((ROOT / "requirements" / "lock.txt").read_bytes()).hexdigest()
    assert provenance["environment"]["lock_sha256"] == lock  # the lock ships inside the wheel


def test_the_wheel_uses_its_own_files(installed, tmp_path):
    code = ("import benchmark, benchmark.shipped as s, importlib.metadata as m; "
            "print(benchmark.__file__, s.CONFIG_DIR, s.REFERENCE_DIR, "
            "sorted(e.name for e in m.entry_points(group='prbench.methods')))")
    _, done = in_empty_folder(installed, tmp_path, sys.executable, "-c", code)
    assert done.returncode == 0, done.stderr[-2000:]
    module, configs, reference, methods = done.stdout.split(" ", 3)
    for path in (module, configs, reference):
        assert path.startswith(str(installed)), path
    assert (installed / "benchmark" / "_shipped" / "results" / "reference" / "personalrewardbench.csv").exists()
    assert "longer" in methods and "reward_model" in methods
