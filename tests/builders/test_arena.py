"""Chatbot Arena rows -> pairs: every rule, with exact pairs and drop counts."""

import pytest

from benchmark.builders.arena import ArenaOptions, arena_pairs
from benchmark.errors import DataError
from tests.builders.fixtures import arena_row, arena_rows


def build(rows, **opts):
    return arena_pairs(rows, ArenaOptions(**opts), "arena.jsonl")


def test_defaults():
    pairs, report = build(arena_rows())
    assert [p.pair_id for p in pairs] == [f"q1-{i}" for i in range(6)] + ["q2-3", "q2-5"]  # every language kept
    assert {p.user_id for p in pairs} == {"arena_user_1", "arena_user_2"}
    first = pairs[0]  # model_a won
    assert ([m.content for m in first.context], first.chosen, first.rejected) == (["Question 0?"], "Answer A0.",
                                                                                  "Answer B0.")
    assert (pairs[1].chosen, pairs[1].rejected) == ("Answer B1.", "Answer A1.")  # model_b won
    assert pairs[1].meta["chosen_model"] == "koala-13b"
    multi = pairs[-1]  # first_turn: the first user message and the two first replies
    assert ([m.content for m in multi.context], multi.chosen, multi.rejected) == (["Hi"], "Hey there.", "Hello!")
    assert report.rows == 12 and report.pairs == 8
    assert dict(report.dropped) == {"tie (no preference)": 2, "not anonymous": 1, "moderation flagged": 1}


def test_options():
    pairs, report = build(arena_rows(), languages=["English"], anonymous_only=False, drop_flagged=False,
                          multi_turn="full_context")
    assert len(pairs) == 9 and dict(report.dropped) == {"tie (no preference)": 2, "language filter": 1}
    multi = next(p for p in pairs if p.pair_id == "q2-5")
    assert [m.content for m in multi.context] == ["Hi", "Hey there.", "Tell me a joke"]
    assert (multi.chosen, multi.rejected) == ("Knock knock.", "Why did the chicken...")


@pytest.mark.parametrize("row,field,message", [
    ({**arena_row("x", "u", "model_a"), "winner": None}, "winner", "missing winner"),
    (arena_row("x", "u", "model_c"), "winner", "unknown winner value 'model_c'"),
    (arena_row("x", "u", "model_a", turns=([{"content": "hi", "role": "user"}],
                                           [{"content": "hi", "role": "user"},
                                            {"content": "yo", "role": "assistant"}])),
     "conversation_a", "no assistant turn"),
])
def test_bad_rows_error_or_skip(row, field, message):
    with pytest.raises(DataError, match=message) as error:
        build([arena_row("ok", "u", "model_a"), row])
    assert (error.value.row, error.value.field) == (2, field)
    pairs, report = build([arena_row("ok", "u", "model_a"), row], on_bad_row="skip")
    assert len(pairs) == 1 and report.dropped[f"malformed row ({field})"] == 1
