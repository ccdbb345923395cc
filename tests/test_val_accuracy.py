"""scripts/val_accuracy.py: settings are chosen on val pairs, with every model fit on train pairs only."""

import re
import subprocess
import sys

from tests.conftest import ROOT


def val_run(*args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "val_accuracy.py"), *args, "--users", "8"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_reference_against_itself_differs_by_nothing():
    """End to end: both sides fit on the same train pairs and judge the same val pairs of the same users."""
    line = val_run("reward_model")
    assert re.search(r"val macro ([\d.]+), reward_model \1, difference \+0\.00 \[\+0\.00, \+0\.00\] over 8 users", line), line
