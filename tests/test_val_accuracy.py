"""scripts/val_accuracy.py: settings are chosen on val pairs, with every model fit on train pairs only, over
several training seeds; test pairs are refused."""

import importlib.util
import re
import subprocess
import sys
from dataclasses import replace

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "val_accuracy.py"


def load_script():
    spec = importlib.util.spec_from_file_location("val_accuracy_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def val_run(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, str(SCRIPT), *args, "--users", "8"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()


def test_the_reference_against_itself_differs_by_nothing():
    """End to end: both sides fit on the same train pairs and judge the same val pairs of the same users; a
    method without a training seed is fit once and said to be deterministic."""
    lines = val_run("reward_model")
    assert re.search(r"val macro ([\d.]+), reward_model \1, difference \+0\.00 \[\+0\.00, \+0\.00\] over 8 users",
                     lines[-2]), lines
    assert "val difference vs reward_model +0.00 (one seed: no spread)" in lines[-1] and "deterministic" in lines[-1]


def test_asking_for_test_pairs_is_refused():
    done = subprocess.run([sys.executable, str(SCRIPT), "reward_model", "--pairs", "test"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and "refused" in done.stderr and "val pairs only" in done.stderr
    with pytest.raises(SystemExit) as refused:
        load_script().val_accuracy("reward_model", ["split.max_users=2"], pairs="test")
    assert refused.value.code == 2


def test_only_val_pairs_are_ever_judged_and_a_test_pair_among_them_is_refused(monkeypatch):
    """A spy on the method's judge: every judged pair is a val pair, none a test pair. If a split handed the
    script a test pair to score, it refuses before judging anything."""
    script = load_script()
    judged = []
    build = script.build_method

    def spying_build(cfg, models):
        method_cfg, method = build(cfg, models)
        judge = method.judge
        method.judge = lambda items, state: (judged.extend(i.pair_id for i in items), judge(items, state))[1]
        return method_cfg, method

    monkeypatch.setattr(script, "build_method", spying_build)
    splits = []
    split = script.split_benchmark
    monkeypatch.setattr(script, "split_benchmark", lambda *a: splits.extend(split(*a)) or list(splits))
    accuracy, _ = script.val_accuracy("reward_model", ["split.max_users=4"])
    val_ids = {p.pair_id for s in splits for p in s.val}
    test_ids = {p.pair_id for s in splits for p in s.test}
    assert len(accuracy) == 4 and judged and set(judged) <= val_ids and not set(judged) & test_ids

    judged.clear()
    monkeypatch.setattr(script, "split_benchmark",
                        lambda *a: [replace(s, val=s.val + s.test[:1]) for s in split(*a)])  # a leaking split
    with pytest.raises(SystemExit) as refused:
        script.val_accuracy("reward_model", ["split.max_users=4"])
    assert refused.value.code == 2 and not judged
