"""The sequence-classification RM method with a mock reward model: margins per item, users in context
from saved SynthesizeMe prompts (no judge-model calls), and the errors a wrong set-up gets."""

import json
from pathlib import Path

import pytest

from benchmark.errors import ConfigError, DataError
from benchmark.models import Models
from benchmark.runner.run import run
from tests.scripted import smart


def rm_run(quick, name, *overrides):
    cfg = quick("backend=mock", "split.max_users=3", f"run_name={name}", *overrides)
    reward = Models(cfg.backend, cfg.model, cfg.cache).reward().inner
    reward.seen[:] = []
    return run(cfg, Path(cfg.results_dir) / "runs" / name), reward


def items(folder):
    return [json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines()]


def test_margins_are_recorded_beside_the_verdict(quick):
    result, reward = rm_run(quick, "rm", "method=classifier_rm")
    rows = items(result.folder)
    assert len(rows) == 52 and len(reward.seen) == 104  # two conversations per judgment
    for row in rows:
        assert (row["margin"] > 0) == (row["preferred"] == "first")
        assert row["margin_chosen"] == (row["margin"] if row["order"] == "AB" else -row["margin"])
    assert result.summary["mean_margin_chosen"] == pytest.approx(sum(r["margin_chosen"] for r in rows) / 52)


def test_synthesizeme_prompts_are_read_not_recomputed(quick, fit_synthesizeme):
    synth, chat = fit_synthesizeme("synthesizeme", smart)
    asked = len(chat.seen)
    result, reward = rm_run(quick, "rm_synth", "method=classifier_rm_synthesizeme",
                            f"method.params.context.synthesizeme_run={synth.folder}")
    assert len(chat.seen) == asked  # the judge model was not called again
    saved = {p.stem: json.loads(p.read_text())["state"]["about_user"] for p in (synth.folder / "fit").glob("demo_*")}
    shown = {c[0].content for c in reward.seen}
    assert shown == {f"About this user:\n{text}" for text in saved.values()}
    assert result.summary["n_judgments"] == 52


def test_synthesizeme_context_without_its_run_is_an_error(quick, tmp_path):
    with pytest.raises(DataError, match="run method=synthesizeme"):
        rm_run(quick, "rm_missing", "method=classifier_rm_synthesizeme",
               f"method.params.context.synthesizeme_run={tmp_path / 'nowhere'}")


def test_reward_models_need_a_local_backend(quick):
    with pytest.raises(ConfigError, match="reward models run locally"):
        Models({"kind": "openai"}, {"name": "x"}).reward()
