"""Everything else is in pyproject.toml. This only ships configs/, results/reference/ and requirements/ (the lock,
whose hash each run's provenance records) inside the built package (they stay at the repo root, the layout
researchers edit), so a non-editable install finds them from any folder; see benchmark/shipped.py."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("configs", "results/reference", "requirements")  # repo paths, copied to benchmark/_shipped/<path>


class BuildPyWithShipped(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout
            return
        for path in SHIPPED:
            shutil.copytree(path, Path(self.build_lib) / "benchmark" / "_shipped" / path, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithShipped})
