"""SynthesizeMe with a scripted model (plumbing, determinism, weak-model fallbacks, leakage) and with SmolLM2."""

from pathlib import Path

import pytest

from benchmark.runner.run import run
from tests.scripted import smart, states


def test_fit_records_persona_demos_and_selection(quick, fit_synthesizeme):
    result, chat = fit_synthesizeme("a", smart)
    n_train = dict(zip(result.per_user["user_id"], result.per_user["n_train"]))
    for user, state in states(result.folder).items():
        assert (state["bootstrapped"] == n_train[user.removesuffix(".json")]
                and 0 < state["verified"] <= n_train[user.removesuffix(".json")])
        assert state["persona"] == "This user likes thorough answers." and state["persona_status"] == "induced"
        sel = state["selection"]
        assert sel["candidates"][0]["demos"] == [] and len(sel["candidates"]) >= 2
        assert [d["pair_id"] for d in state["demos"]] == sel["candidates"][sel["winner"]]["demos"]
        assert "best val accuracy" in sel["reason"]
        assert state["about_user"].startswith("This user likes thorough answers.")
    assert result.summary["n_judgments"] == 52


def test_same_seed_same_fit_and_judgments(quick, fit_synthesizeme):
    first, _ = fit_synthesizeme("s1", smart)
    second, _ = fit_synthesizeme("s2", smart)
    assert states(first.folder) == states(second.folder)
    assert first.per_user["accuracy"].tolist() == second.per_user["accuracy"].tolist()


def test_weak_model_completes_with_explicit_fallbacks(quick, fit_synthesizeme):
    result, chat = fit_synthesizeme("weak", lambda chat: "I cannot say.")
    n_train = dict(zip(result.per_user["user_id"], result.per_user["n_train"]))
    for user, state in states(result.folder).items():
        assert state["verified"] == 0 and state["unparsed"] == n_train[user.removesuffix(".json")]
        assert state["persona"] is None and state["persona_status"].startswith("none: no verified")
        assert state["demos"] == [] and state["selection"]["reason"] == "only the empty set"
    prompts = [repr(c) for c in chat.seen]
    assert len(prompts) == len(set(prompts))  # no request was sent twice


def test_requests_per_training_pair_and_cached_refit(quick, tmp_path, fit_synthesizeme):
    cache = [f"cache.path={tmp_path / 'c.sqlite'}", "cache.mode=write"]
    cold, _ = fit_synthesizeme("cold", smart, *cache)
    pairs = 3 * (12 + 4)
    fit_calls = cold.per_user["fit_calls"].sum()
    assert 0 < fit_calls / pairs <= 25
    warm, _ = fit_synthesizeme("warm", smart, *cache)
    assert warm.per_user["fit_calls"].sum() == 0 and warm.summary["model_usage"]["calls"] == 0


@pytest.mark.parametrize("tie_break,winner", [("zero_shot", 0), ("most_demos", None)])
def test_tie_break_is_explicit(quick, tie_break, winner, fit_synthesizeme):
    always_a = lambda chat, choice: 0.0 if choice == "A" else -1.0  # every candidate scores 50% on val
    result, _ = fit_synthesizeme(f"tie-{tie_break}", smart, f"method.params.tie_break={tie_break}", score=always_a)
    for state in states(result.folder).values():
        sel = state["selection"]
        scores = {c["val_accuracy"] for c in sel["candidates"]}
        assert len(scores) == 1 and "broken by" in sel["reason"]  # always "A": every candidate ties
        if winner is not None:
            assert sel["winner"] == winner and state["demos"] == []
        else:
            assert len(state["demos"]) == max(len(c["demos"]) for c in sel["candidates"])


def test_ablations(quick, fit_synthesizeme):
    result, _ = fit_synthesizeme("demos-only", smart, "method=synthesizeme_demos")
    assert all(s["persona"] is None and s["persona_status"].startswith("off") for s in states(result.folder).values())
    result, _ = fit_synthesizeme("persona-only", smart, "method=synthesizeme_persona")
    assert all(s["demos"] == [] and s["persona"] for s in states(result.folder).values())


@pytest.mark.slow
def test_with_smollm2_and_resume(quick):
    """The reasoning judge; the logprob judge runs SmolLM2 in the SynthesizeMe ablations (test_persona.py)."""
    args = ["method=synthesizeme", "split.max_users=1", "split.seed=3", "method.params.mode=reasoning",
            "method.params.bootstrap_tokens=48", "method.params.persona_tokens=48", "method.params.candidates=2",
            "method.params.max_reasoning_tokens=48", "run_name=smol-reasoning"]
    cfg = quick(*args)
    folder = Path(cfg.results_dir) / "runs" / cfg.run_name
    first = run(cfg, folder)
    assert first.summary["n_judgments"] == 6 and first.per_user["fit_calls"].iloc[0] >= 12
    (folder / "items.jsonl").unlink()
    again = run(quick(*args, "resume=true"), folder)
    assert again.per_user["fit_calls"].iloc[0] == 0  # the persisted fit is reused, not refitted
