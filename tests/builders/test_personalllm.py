"""PersonalLLM prompts -> simulated users: counts by hand, labels from the weights, the oracle-only persona."""

import re

import numpy as np
import pytest

from benchmark.builders.personalllm import REWARD_MODELS, PersonalLLMOptions, personalllm_pairs
from benchmark.config import DataConfig, parse_section
from benchmark.data import load_benchmark
from benchmark.errors import ConfigError, DataError
from tests.builders.source_fixtures import plm_disagreeing_rows, plm_row, plm_rows
from tests.conftest import make_config, write_jsonl

SMALL = {"n_users": 4, "pairs_per_user": (8, 8)}


def build(rows=None, **opts):
    return personalllm_pairs(plm_rows() if rows is None else rows, PersonalLLMOptions(**{**SMALL, **opts}), "plm.jsonl")


def weights(profile):
    listed = re.search(r"Weights: (.*)\.$", profile.persona_truth).group(1)
    return {name: float(w) for name, w in (part.split() for part in listed.split(", "))}


def test_counts_by_hand_and_every_model_agreeing():
    pairs, profiles, report = build()
    # 4 users x 8 comparisons; prompt row 3 has responses 7 and 8 identical: that pair is never drawn
    assert len(pairs) == 32 and sorted(profiles) == ["plm_user_0", "plm_user_1", "plm_user_2", "plm_user_3"]
    assert {p.user_id for p in pairs} == set(profiles) and all(
        sum(p.user_id == u for p in pairs) == 8 for u in profiles)
    assert report.rows == 6 and dict(report.dropped) == {"identical response pair (never drawn)": 1}
    # every reward model scores response i as 10 * i, so every user prefers the higher-numbered response
    assert all(p.meta["chosen_response"] > p.meta["rejected_response"] for p in pairs)
    rows = plm_rows()
    for p in pairs:
        row = rows[int(p.meta["conversation_id"][3:]) - 1]
        assert (p.context[0].content, p.chosen, p.rejected) == (
            row["prompt"], row[f"response_{p.meta['chosen_response']}"], row[f"response_{p.meta['rejected_response']}"])
    assert not any(p.chosen == p.rejected for p in pairs)
    assert len({p.pair_id for p in pairs}) == 32 and all(len(p.context) == 1 for p in pairs)


def test_labels_follow_the_users_weights():
    pairs, profiles, _ = build(plm_disagreeing_rows(), n_users=6)
    models = sorted(REWARD_MODELS)
    rows = plm_disagreeing_rows()
    for pair in pairs:
        w = weights(profiles[pair.user_id])
        assert sum(w.values()) == pytest.approx(1, abs=1e-5)
        row = rows[int(pair.meta["conversation_id"][3:]) - 1]

        def reward(i, w=w, row=row):
            return sum(w[m] * (row[f"response_{i}_{m}"] - REWARD_MODELS[m][0]) / REWARD_MODELS[m][1] for m in models)

        assert reward(pair.meta["chosen_response"]) > reward(pair.meta["rejected_response"]) - 1e-4
    chosen = {p.meta["chosen_response"] for p in pairs}
    assert len(chosen) > 3  # the models disagree, so users do not all pick the same responses


def test_alpha_and_seed():
    sparse = [max(weights(p).values()) for p in build(alpha=0.001)[1].values()]
    flat = [max(weights(p).values()) for p in build(alpha=100.0)[1].values()]
    assert min(sparse) > 0.99 and max(flat) < 0.2
    one, two = build(seed=1)[1], build(seed=2)[1]
    assert one == build(seed=1)[1] and one != two
    # adding users keeps the earlier ones: user k's draws depend on (seed, k) only
    more = build(n_users=6)
    assert [p.pair_id for p in more[0][:32]] == [p.pair_id for p in build()[0]]


def test_bradley_terry():
    sharp = build(label="bradley_terry", temperature=1e-6)[0]
    assert all(p.meta["chosen_response"] > p.meta["rejected_response"] for p in sharp)  # = argmax
    noisy = build(label="bradley_terry", temperature=1e6)[0]
    flipped = sum(p.meta["chosen_response"] < p.meta["rejected_response"] for p in noisy)
    assert 4 <= flipped <= 28  # near coin flips over 32 pairs (seeded, so fixed)


def test_ties_are_dropped_and_counted():
    pairs, _, report = build([plm_row(0, score=lambda i, model: 1.0)], n_users=3, pairs_per_user=(5, 5))
    assert pairs == [] and dict(report.dropped) == {"tie in the user's reward (label=argmax)": 15}


def test_bad_row_error_or_skip():
    rows = plm_rows()
    rows[3]["response_3_gemma_7b"] = "n/a"
    with pytest.raises(DataError, match="score must be a finite number, got 'n/a'") as error:
        build(rows)
    assert (error.value.row, error.value.field) == (4, "response_3_gemma_7b")
    pairs, _, report = build(rows, on_bad_row="skip")
    assert len(pairs) == 32 and report.dropped["malformed row (response_3_gemma_7b)"] == 1
    assert not any("row4-" in p.pair_id for p in pairs)
    del rows[3]["response_3_gemma_7b"], rows[4]["prompt"]
    with pytest.raises(DataError, match="missing column") as error:
        build(rows)
    assert (error.value.row, error.value.field) == (4, "response_3_gemma_7b")
    pairs, _, report = build(rows, on_bad_row="skip")
    assert report.dropped == {"malformed row (response_3_gemma_7b)": 1, "malformed row (prompt)": 1,
                              "identical response pair (never drawn)": 1}


def test_too_few_prompts_for_a_user():
    with pytest.raises(DataError, match="needs 30 distinct comparisons but the prompts give only 28"):
        build([plm_row(0)], pairs_per_user=(30, 30))


@pytest.mark.parametrize("option,value,message", [("pairs_per_user", [9, 3], "1 <= low <= high"),
                                                   ("reward_models", ["gpt5_rm"], "unknown: \\['gpt5_rm'\\]")])
def test_options_are_checked(option, value, message):
    with pytest.raises(ConfigError, match=f"config data.options: .*{message}"):
        parse_section(PersonalLLMOptions, {option: value}, "data.options")


def test_loader_keeps_the_weights_for_oracles_only(tmp_path):
    write_jsonl(tmp_path / "plm.jsonl", plm_rows())
    cfg = make_config("data=personalllm", f"data.path={tmp_path / 'plm.jsonl'}", "data.options.n_users=4",
                      "data.options.pairs_per_user=[8,8]")
    bench = load_benchmark(DataConfig(**cfg.data))
    assert len(bench.pairs) == 32 and len(bench.user_ids) == 4
    profile = bench.profiles["plm_user_0"]
    assert profile.persona_truth.startswith("Simulated PersonalLLM user") and not profile.demographics
    from baselines.longer import PreferLonger
    from baselines.persona import PersonaJudge
    from benchmark.methods import visible_profile

    oracle = PersonaJudge(PersonaJudge.Params(variant="oracle"), None)
    assert visible_profile(oracle, profile).persona_truth == profile.persona_truth
    assert visible_profile(PreferLonger(PreferLonger.Params(), None), profile).persona_truth is None
    assert np.isclose(sum(weights(profile).values()), 1, atol=1e-5)
