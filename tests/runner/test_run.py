"""The runner end to end on the mock backend: outputs, secrets, resume rules, leakage."""

import json
from pathlib import Path

import pandas as pd
import pytest

from benchmark.errors import ConfigError, RunError
from benchmark.methods import Method, register_method
from benchmark.models import Models
from benchmark.records import Judgment
from benchmark.runner.run import run


def run_dir(cfg):
    return Path(cfg.results_dir) / "runs" / cfg.run_name


def test_outputs(quick):
    cfg = quick("backend=mock")
    result = run(cfg, run_dir(cfg))
    folder = result.folder
    for name in ("config.yaml", "provenance.json", "items.jsonl", "per_user.csv", "summary.json"):
        assert (folder / name).exists(), name
    items = [json.loads(line) for line in (folder / "items.jsonl").read_text().splitlines()]
    assert len(items) == 110 and {i["order"] for i in items} == {"AB", "BA"}
    per_user = pd.read_csv(folder / "per_user.csv")
    assert list(per_user.columns[:8]) == ["user_id", "n_train", "n_val", "n_test", "n_judgments", "accuracy",
                                          "ci_low", "ci_high"]
    assert (per_user["n_train"].tolist() == [13, 25, 15, 12, 40, 60]
            and per_user["n_val"].tolist() == [4, 8, 5, 4, 14, 20])
    assert len(per_user) == 6 and (per_user["n_judgments"] == 2 * per_user["n_test"]).all()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["n_judgments"] == 110 and summary["method"] == "plain"
    assert summary["micro_accuracy"] == pytest.approx(sum(i["correct"] for i in items) / 110)
    provenance = json.loads((folder / "provenance.json").read_text())
    assert "torch" in provenance["packages"] and "git" in provenance


@pytest.mark.parametrize("override", ["+backend.api_key=sk-very-secret", "+data.hf_token=sk-very-secret"])
def test_secrets_are_not_echoed_or_written(quick, override):
    cfg = quick("backend=mock", override)
    with pytest.raises(ConfigError) as error:  # unknown keys are refused without echoing their value
        run(cfg, run_dir(cfg))
    assert "sk-very-secret" not in str(error.value)
    written = [p for p in run_dir(cfg).rglob("*") if p.is_file()] if run_dir(cfg).exists() else []
    assert not any("sk-very-secret" in p.read_text(errors="ignore") for p in written)


def test_scrub_hides_secret_keys():
    from benchmark.tracking import scrub

    assert scrub({"a": {"api_key": "k", "OPENAI_API_KEY": "k2", "token": None}, "b": [{"password": "p"}]}) == \
        {"a": {"api_key": "***", "OPENAI_API_KEY": "***", "token": None}, "b": [{"password": "***"}]}


def test_existing_results_need_resume(quick):
    cfg = quick("backend=mock")
    run(cfg, run_dir(cfg))
    with pytest.raises(RunError, match="resume=true"):
        run(cfg, run_dir(cfg))
    again = run(quick("backend=mock", "resume=true"), run_dir(cfg))
    assert again.summary["n_judgments"] == 110


def test_resume_with_another_config_is_refused(quick):
    cfg = quick("backend=mock")
    run(cfg, run_dir(cfg))
    changed = quick("backend=mock", "resume=true", "method.params.max_response_chars=100")
    with pytest.raises(RunError, match="different"):
        run(changed, run_dir(cfg))


def test_resume_judges_only_missing_items(quick):
    cfg = quick("backend=mock")
    folder = run_dir(cfg)
    first = run(cfg, folder)
    lines = (folder / "items.jsonl").read_text().splitlines()
    (folder / "items.jsonl").write_text("\n".join(lines[:20]) + "\n")
    (folder / "summary.json").unlink()
    chat = Models(cfg.backend, cfg.model, cfg.cache).chat().inner  # the instance the run uses
    seen_before = len(chat.seen)
    resumed = run(quick("backend=mock", "resume=true"), folder)
    assert len(chat.seen) - seen_before == 110 - 20
    pd.testing.assert_frame_equal(first.per_user.drop(columns=["fit_seconds"]),
                                  resumed.per_user.drop(columns=["fit_seconds"]))


def test_test_labels_never_reach_the_method(quick, tmp_path):
    """Poison the test labels (swap chosen and rejected): the model sees the same prompts, the fitted
    state is unchanged; only the scores move."""
    from benchmark.config import DataConfig, SplitConfig
    from benchmark.data import load_benchmark
    from benchmark.data.loaders import demo_dir
    from benchmark.splits import split_benchmark

    cfg = quick("backend=mock", "method=reward_model_personal")
    bench = load_benchmark(DataConfig(**cfg.data))
    splits = split_benchmark(bench, SplitConfig(**cfg.split))
    test_ids = {p.pair_id for s in splits for p in s.test}
    poisoned = tmp_path / "poisoned"
    poisoned.mkdir()
    (poisoned / "users.jsonl").write_text((demo_dir() / "users.jsonl").read_text())
    rows = [json.loads(line) for line in (demo_dir() / "pairs.jsonl").read_text().splitlines()]
    for row in rows:
        if row["pair_id"] in test_ids:
            row["chosen"], row["rejected"] = row["rejected"], row["chosen"]
    (poisoned / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    for method in ("plain", "reward_model_personal", "persona_memory", "synthesizeme"):
        clean_cfg = quick("backend=mock", f"method={method}", f"run_name=clean-{method}")
        bad_cfg = quick("backend=mock", f"method={method}", f"run_name=bad-{method}", f"data.path={poisoned}")
        chat = Models(clean_cfg.backend, clean_cfg.model, clean_cfg.cache).chat().inner
        chat.seen.clear()
        clean = run(clean_cfg, run_dir(clean_cfg))
        seen_clean = sorted(map(repr, chat.seen))
        chat.seen.clear()
        bad = run(bad_cfg, run_dir(bad_cfg))
        assert sorted(map(repr, chat.seen)) == seen_clean
        for state in (run_dir(clean_cfg) / "fit").glob("*.json"):
            assert json.loads(state.read_text())["state"] == \
                json.loads((run_dir(bad_cfg) / "fit" / state.name).read_text())["state"]
        assert clean.summary["micro_accuracy"] + bad.summary["micro_accuracy"] == pytest.approx(1.0)


@register_method("position_cheat")
class PositionCheat(Method):
    """Says 'first' for the first item of a pair it sees and 'second' for the other: perfect if the
    chosen-first item always came first."""

    def judge(self, items, state):
        seen = state.setdefault("seen", set())
        out = []
        for item in items:
            out.append(Judgment("second" if item.pair_id in seen else "first"))
            seen.add(item.pair_id)
        return out


def test_item_position_does_not_reveal_the_label(quick):
    cfg = quick("backend=mock", "method=longer", "method.kind=position_cheat", "method.name=cheat",
                "~method.params.shorter", "split.max_users=60")
    result = run(cfg, run_dir(cfg))
    assert 0.35 < result.summary["micro_accuracy"] < 0.65
