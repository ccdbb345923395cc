"""Replay of stored judge outputs, on rows in the PersonalRewardBench schema, against hand-computed scores."""

import pytest

from benchmark.data.stored_judges import normalize_pick
from benchmark.errors import ConfigError, DataError
from benchmark.runner.run import run
from tests.conftest import make_config, write_jsonl

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"


def row(i, user, flip, pick, pick_flip):
    return {"conversation_id": f"c{i}", "user_id": user, "context": [{"content": f"q{i}", "role": "user"}],
            "chosen": {"content": f"chosen {i}", "role": "model"},
            "rejected": {"content": f"rejected {i}", "role": "model"},
            "turns": 1, "type": "unguided", "split": "test", "flip": flip,
            f"prediction_{LLAMA}": pick, f"prediction_flip_{LLAMA}": pick_flip}


ROWS = [
    # flip=True: stored order shows chosen first, so `pick` judges chosen-first and `pick_flip` chosen-second
    row(0, "u1", True, "First", "Second"),   # both right             2/2
    row(1, "u1", False, "First", "First"),   # stored rejected-first: picks rejected; swapped: picks chosen  1/2
    row(2, "u1", True, "Tie", None),         # a tie and a failure    0/2
    row(3, "u2", False, "Second", "First"),  # both right             2/2
    row(4, "u2", True, "Second", "Second"),  # chosen-first: wrong; chosen-second: right  1/2
]


@pytest.fixture
def prism_file(tmp_path):
    return write_jsonl(tmp_path / "prism.jsonl", ROWS)


def replay(tmp_path, prism_file, judge=LLAMA):
    cfg = make_config("data=prism", f"data.path={prism_file}", "method=replay", f"method.params.judge={judge}",
                      "split.min_pairs=1", "logger=none", f"results_dir={tmp_path}", "run_name=r")
    return run(cfg, tmp_path / "run" / judge.replace("/", "_"))


def test_replay_matches_hand_computed_accuracy(tmp_path, prism_file):
    s = replay(tmp_path, prism_file).summary
    assert s["micro_accuracy"] == pytest.approx(6 / 10)
    assert s["macro_accuracy"] == pytest.approx((3 / 6 + 3 / 4) / 2)
    assert (s["failures"], s["ties"], s["n_users"], s["model"]) == (1, 1, 2, LLAMA)
    assert s["order_consistency"] == pytest.approx(2 / 5)  # pairs 0 and 3 agree across orders


def test_unknown_judge_is_an_error_listing_the_judges_in_the_data(tmp_path, prism_file):
    with pytest.raises(ConfigError, match=f"'gemini/gemini-1.5-pro'.*judges in the data: {LLAMA}"):
        replay(tmp_path, prism_file, judge="gemini/gemini-1.5-pro")


@pytest.mark.parametrize("flip,accuracy", [("false", 1.0), ("FALSE", 1.0), (0, 1.0), ("true", 0.0), (1, 0.0)])
def test_flip_as_text_or_number_is_parsed_not_truth_tested(tmp_path, flip, accuracy):
    """A judge always right: with the stored order rejected-first (flip false) its picks are
    "Second" / "First". The string "false" used to read as true and invert every pick (0.00, not 100.00)."""
    rows = [row(i, "u1", flip, "Second", "First") for i in range(3)]
    s = replay(tmp_path, write_jsonl(tmp_path / "p.jsonl", rows)).summary
    assert s["micro_accuracy"] == pytest.approx(accuracy) and s["failures"] == 0


def test_unreadable_flip_names_the_row(tmp_path):
    rows = [row(0, "u1", "false", "Second", "First"), row(1, "u1", "maybe", "Second", "First")]
    with pytest.raises(DataError, match=r"p.jsonl, row 2, field 'flip': flip must be true or false, got 'maybe'"):
        replay(tmp_path, write_jsonl(tmp_path / "p.jsonl", rows))


@pytest.mark.parametrize("value,pick", [("First", "first"), (" second ", "second"), ("B", "second"),
                                        ("Tie", "tie"), (None, "fail"), (float("nan"), "fail"), ("maybe", "fail")])
def test_normalize_pick(value, pick):
    assert normalize_pick(value) == pick
