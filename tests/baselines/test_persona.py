"""Persona-prompted judges: what each variant tells the model, and what it refuses."""

from pathlib import Path

import pytest

from benchmark.errors import DataError
from benchmark.models import Models
from benchmark.runner.run import run
from tests.builders.fixtures import prism_conversations, survey_row
from tests.conftest import write_jsonl


def about_sections(cfg):
    chat = Models(cfg.backend, cfg.model, cfg.cache).chat().inner
    return [c[1].content.split("## Conversation")[0] for c in chat.seen]


def run_quick(quick, *overrides):
    cfg = quick("backend=mock", *overrides)
    Models(cfg.backend, cfg.model, cfg.cache).chat().inner.seen.clear()
    return cfg, run(cfg, Path(cfg.results_dir) / "runs" / cfg.run_name)


def test_oracle_shows_the_ground_truth_persona(quick):
    cfg, result = run_quick(quick, "method=persona_oracle", "split.max_users=2")
    about = about_sections(cfg)
    assert len(about) == 44 and all(a.startswith("## About this user\nThis user ") for a in about)
    assert result.summary["n_judgments"] == 44


def test_non_oracle_variants_never_see_the_ground_truth(quick):
    cfg, _ = run_quick(quick, "method=persona_memory", "split.max_users=2")
    assert not any("This user " in a for a in about_sections(cfg))


def test_demo_has_no_demographics(quick):
    with pytest.raises(DataError, match=r"user context .demographics. needs survey demographics"):
        run_quick(quick, "method=persona_demographics")


def test_oracle_refuses_other_datasets(quick, tmp_path):
    write_jsonl(tmp_path / "conversations.jsonl", prism_conversations())
    write_jsonl(tmp_path / "survey.jsonl", [survey_row("user7")])
    with pytest.raises(DataError, match="only the demo benchmark"):
        run_quick(quick, "method=persona_oracle", "data=prism_raw", f"data.path={tmp_path}",
                  "data.curation.min_pairs=1", "split.min_pairs=1", "split.test=1", "split.val=0")


def test_demographics_and_stated_from_the_prism_survey(quick, tmp_path):
    write_jsonl(tmp_path / "conversations.jsonl", prism_conversations())
    write_jsonl(tmp_path / "survey.jsonl", [survey_row("user7")])
    data = ["data=prism_raw", f"data.path={tmp_path}", "data.curation.min_pairs=1", "split.min_pairs=1",
            "split.test=1", "split.val=0"]
    cfg, _ = run_quick(quick, "method=persona_demographics", *data)
    assert "- age: 25-34 years old" in about_sections(cfg)[0]
    cfg, _ = run_quick(quick, "method=persona_stated", "run_name=stated", *data)
    assert "About me: I value honesty." in about_sections(cfg)[0]


@pytest.mark.parametrize("selection", ["recent", "random", "similar"])
def test_memory_shows_k_training_choices_only(quick, selection):
    import json

    from benchmark.config import DataConfig, SplitConfig
    from benchmark.data import load_benchmark
    from benchmark.splits import split_benchmark

    cfg, result = run_quick(quick, "method=persona_memory", "method.params.k=3",
                            f"method.params.selection={selection}", "split.max_users=2", f"run_name={selection}")
    assert all(about.count("   Preferred: ") == 3 for about in about_sections(cfg))
    for split in split_benchmark(load_benchmark(DataConfig(**cfg.data)), SplitConfig(**cfg.split)):
        state = json.loads((result.folder / "fit" / f"{split.user_id}.json").read_text())["state"]
        shown = {(m["chosen"], m["rejected"]) for m in state["memory"]}
        assert shown <= {(p.chosen, p.rejected) for p in split.train + split.val}
        assert not shown & {(p.chosen, p.rejected) for p in split.test}


@pytest.mark.slow
@pytest.mark.parametrize(("method", "mode"), [
    ("persona_memory", "logprob"), ("persona_oracle", "logprob"), ("persona_oracle", "reasoning"),
    ("synthesizeme_persona", "logprob"), ("synthesizeme_demos", "logprob")])
def test_variants_run_with_smollm2(quick, method, mode):
    """Every persona variant and SynthesizeMe ablation that the demo supports. The reasoning judge runs once
    over a persona prompt (oracle: memory's longer prompt took ~3 minutes of CI); the ablations judge in
    logprob mode only (CI time): their fit is SynthesizeMe's, which tests/baselines/test_synthesizeme.py runs
    with the reasoning judge (and resumes)."""
    args = [f"method={method}", f"method.params.mode={mode}", "method.params.max_reasoning_tokens=32",
            "split.max_users=1", "split.seed=3", f"run_name={method}-{mode}"]  # a user of 14 pairs: CI time
    if method.startswith("synthesizeme"):
        args += ["method.params.bootstrap_tokens=32", "method.params.persona_tokens=32", "method.params.candidates=1"]
    cfg = quick(*args)
    result = run(cfg, Path(cfg.results_dir) / "runs" / cfg.run_name)
    import json

    assert result.summary["n_judgments"] == 6 and result.summary["model_usage"]["calls"] >= 6
    items = [json.loads(line) for line in (result.folder / "items.jsonl").read_text().splitlines()]
    assert {i["preferred"] for i in items} <= {"first", "second", "tie", "fail"} and all(i["raw"] for i in items)
    assert result.summary["failures"] == sum(i["preferred"] == "fail" for i in items)
