"""PRISM conversations + survey -> pairs and profiles: every rule, exact pairs and drop counts."""

import copy

import pytest

from benchmark.builders.prism import PrismOptions, prism_pairs
from benchmark.errors import DataError
from tests.builders.fixtures import prism_conversations, survey_row


def build(conversations=None, survey=None, **opts):
    return prism_pairs(conversations or prism_conversations(), [survey_row("user7")] if survey is None else survey,
                       PrismOptions(**opts), "conversations.jsonl")


def test_all_others_along_the_chosen_path():
    pairs, profiles, report = build()
    got = [(p.pair_id, [m.role + ":" + m.content for m in p.context], p.chosen, p.rejected) for p in pairs]
    cat = "user:What is a good name for a cat?"
    assert got == [
        ("c10-t0-r2", [cat], "Try Miso.", "Cats are animals."),  # others ordered by score
        ("c10-t0-r1", [cat], "Try Miso.", "Luna."),
        ("c10-t0-r3", [cat], "Try Miso.", "Rex."),
        ("c10-t1-r1", [cat, "assistant:Try Miso.", "user:And for a black cat?"], "Pepper.", "Shadow."),
        ("c11-t0-r1", ["user:Should I learn Rust?"], "Yes, if you like systems work.", "No."),
    ]
    assert pairs[0].meta["chosen_score"] == 80.0 and pairs[0].meta["rejected_score"] == 10.0
    assert pairs[-1].meta["type"] == "values guided"
    assert report.rows == 2 and report.pairs == 5 and not report.dropped
    profile = profiles["user7"]
    assert profile.demographics["age"] == "25-34 years old" and profile.demographics["religion"] == "No Affiliation"
    assert profile.demographics["country"] == "United Kingdom"
    assert "I value honesty." in profile.stated and "factuality 95" in profile.stated


def test_lowest_and_min_gap():
    pairs, _, _ = build(rejected="lowest")
    assert [p.pair_id for p in pairs] == ["c10-t0-r2", "c10-t1-r1", "c11-t0-r1"]
    pairs, _, report = build(min_score_gap=15)
    assert [p.pair_id for p in pairs] == ["c10-t0-r2", "c10-t0-r1", "c11-t0-r1"]
    assert report.dropped["score gap below min_score_gap"] == 2  # Rex (gap 1) and Shadow (gap 10)


def broken(change):
    rows = prism_conversations()
    change(rows[1]["conversation_history"])
    return rows


@pytest.mark.parametrize("mutate,message", [
    (lambda h: h[1].update(if_chosen=False), "0 chosen responses"),
    (lambda h: h[2].update(if_chosen=True), "2 chosen responses"),
    (lambda h: h[2].update(score=140), "score 140 out of range"),
])
def test_bad_turns_error_or_skip(mutate, message):
    rows = broken(mutate)
    with pytest.raises(DataError, match=message) as error:
        build(rows)
    assert (error.value.row, error.value.field) == (2, "conversation_history")
    pairs, _, report = build(copy.deepcopy(rows), on_bad_row="skip")
    assert len(pairs) == 4 and report.dropped["malformed row (conversation_history)"] == 1


def test_user_missing_from_survey():
    with pytest.raises(DataError, match="user 'user7' is missing from the survey"):
        build(survey=[survey_row("user8")])
    pairs, _, report = build(survey=[survey_row("user8")], on_bad_row="skip")
    assert pairs == [] and report.dropped["malformed row (user_id)"] == 2
    pairs, profiles, _ = build(survey=[], require_survey=False)
    assert len(pairs) == 5 and profiles == {}
