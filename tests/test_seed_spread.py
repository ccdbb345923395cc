"""scripts/seed_spread.py: per-seed macro accuracy of finished runs, mean ± sd over training seeds, the paired
difference from a reference per seed and its spread, and the same restricted to users kept out of training."""

import importlib.util
import re

import numpy as np
import pytest

from tests.conftest import ROOT, make_config


def load_script():
    spec = importlib.util.spec_from_file_location("seed_spread_script", ROOT / "scripts" / "seed_spread.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny real runs on 8 demo users (MiniLM): reward_model, and PAL with two training seeds, each also
    with half the users held out of training."""
    from benchmark.runner.run import run

    root = tmp_path_factory.mktemp("runs")
    folders = {}

    def make(name, *overrides):
        args = ("logger=none", "split.max_users=8", f"results_dir={root}", f"cache.path={root}/cache.sqlite",
                *overrides)
        run(make_config(*args), root / name)
        folders[name] = root / name

    make("rm", "method=reward_model")
    make("rm_unseen", "method=reward_model", "+method.params.unseen_fraction=0.5")
    for seed in (0, 1):
        make(f"pal{seed}", "method=pal", f"method.params.seed={seed}", "++method.params.steps=30")
        make(f"pal_unseen{seed}", "method=pal", f"method.params.seed={seed}", "++method.params.steps=30",
             "method.params.unseen_fraction=0.5")
    return folders


def test_per_seed_numbers_their_spread_and_the_differences_match_compare(runs):
    from benchmark.compare import compare
    from benchmark.runs import read_run

    script = load_script()
    pal = [read_run(runs["pal0"]), read_run(runs["pal1"])]
    reference = read_run(runs["rm"])
    text = "\n".join(script.report(pal, [reference], "all"))
    macros = [r.summary.macro_accuracy for r in pal]
    diffs = [float(compare([reference, r])["difference"].iloc[1]) for r in pal]
    assert f"seed 0: macro {100 * macros[0]:.2f}" in text and f"seed 1: macro {100 * macros[1]:.2f}" in text
    assert f"macro over seeds: {100 * np.mean(macros):.2f} ± {100 * np.std(macros, ddof=1):.2f} (sd;" in text
    assert f"difference over seeds: {100 * np.mean(diffs):+.2f} ± {100 * np.std(diffs, ddof=1):.2f} (sd;" in text
    ci = reference.summary.macro_ci  # the same user bootstrap as summary.json
    assert f"[{100 * ci[0]:.2f}, {100 * ci[1]:.2f}]" in "\n".join(script.report([reference], [], "all"))


def test_unseen_users_only_and_a_reference_that_held_out_none_is_refused(runs):
    from benchmark.errors import PrbenchError
    from benchmark.runs import read_run

    script = load_script()
    pal = [read_run(runs["pal_unseen0"]), read_run(runs["pal_unseen1"])]
    text = "\n".join(script.report(pal, [read_run(runs["rm_unseen"])], "unseen"))
    assert "(4 held out of training)" in text and len(re.findall(r"over 4 users", text)) == 2
    with pytest.raises(PrbenchError, match="held out other users"):
        script.report(pal, [read_run(runs["rm"])], "unseen")
    with pytest.raises(PrbenchError, match="held out no users"):
        script.report([read_run(runs["pal0"])], [], "unseen")


def test_the_markdown_row_holds_the_reports_numbers(runs):
    from benchmark.runs import read_run

    script = load_script()
    pal = [read_run(runs["pal0"]), read_run(runs["pal1"])]
    rows = []
    text = "\n".join(script.report(pal, [read_run(runs["rm"])], "all", rows))
    header, rule, row = script.markdown(rows, "reward_model")
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == len(header.strip("|").split("|")) == 7 and cells[1:3] == ["8", "2"]
    macro_spread = re.search(r"macro over seeds: (\S+) ± (\S+) \(sd; min (\S+), max (\S+),", text).groups()
    assert cells[3] == f"{macro_spread[0]} ± {macro_spread[1]} ({macro_spread[2]} to {macro_spread[3]})"
    averaged = re.search(r"seed-averaged: macro (\S+ \[\S+ \S+\]); difference (\S+ \[\S+ \S+\]) .*p (\S+)", text)
    assert cells[4] == averaged.group(1) and cells[6] == f"{averaged.group(2)}, p {averaged.group(3)}"
