"""Replay of stored judge outputs, on rows in the PersonalRewardBench schema, against hand-computed scores."""

import pytest

from benchmark.data.stored_judges import normalize_pick
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


def test_missing_judge_is_all_failures(tmp_path, prism_file):
    s = replay(tmp_path, prism_file, judge="gemini/gemini-1.5-pro").summary
    assert s["failures"] == 10 and s["micro_accuracy"] == 0.0


@pytest.mark.parametrize("value,pick", [("First", "first"), (" second ", "second"), ("B", "second"),
                                        ("Tie", "tie"), (None, "fail"), (float("nan"), "fail"), ("maybe", "fail")])
def test_normalize_pick(value, pick):
    assert normalize_pick(value) == pick
