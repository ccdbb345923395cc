"""Community Alignment rows -> pairs and profiles: every rule, with pairs, users and drops counted by hand."""

import copy

import pytest

from benchmark.builders.community_alignment import CommunityAlignmentOptions, community_alignment_pairs, read_rows
from benchmark.config import DataConfig
from benchmark.data import load_benchmark
from benchmark.errors import DataError
from tests.builders.source_fixtures import CA_COLUMNS, ca_row, ca_rows, four, per_user, turn, write_csv
from tests.conftest import make_config


def build(rows=None, **opts):
    return community_alignment_pairs(ca_rows() if rows is None else rows, CommunityAlignmentOptions(**opts), "ca.csv")


def test_defaults_by_hand():
    pairs, profiles, report = build()
    # c1: 3 + 3; c2: 2 (d empty); c3: 3 + 2 (c = a); c4: 3; c5: 0 (no preference); c6, c7, c8: 3 each
    assert per_user(pairs) == {"ann_1": 8, "ann_2": 8, "ann_3": 3, "ann_4": 6}
    assert report.rows == 8 and report.pairs == 25
    assert dict(report.dropped) == {"missing candidate response": 1,
                                    "candidate identical to the preferred response": 1,
                                    "turn after a missing turn or preference": 1, "turn without a preference": 1}
    c1 = [p for p in pairs if p.meta["conversation_id"] == "c1"]
    assert [p.pair_id for p in c1] == ["c1-t0-a", "c1-t0-c", "c1-t0-d", "c1-t1-a", "c1-t1-b", "c1-t1-d"]
    first, second = c1[0], c1[3]
    assert ([m.content for m in first.context], first.chosen, first.rejected) == (
        ["Is it rude to recline my seat on a plane?"], "c1t0 answer b.", "c1t0 answer a.")
    # the second turn's context runs along the preferred path: prompt, preferred b, next prompt
    assert [(m.role, m.content) for m in second.context] == [
        ("user", "Is it rude to recline my seat on a plane?"), ("assistant", "c1t0 answer b."),
        ("user", "And on a night flight?")]
    assert (second.chosen, second.meta["turns"], second.meta["language"]) == ("c1t1 answer c.", 2, "en")
    c3 = [p.pair_id for p in pairs if p.meta["conversation_id"] == "c3"]
    assert c3 == ["c3-t0-a", "c3-t0-b", "c3-t0-c", "c3-t1-b", "c3-t1-d"]  # nothing from the fourth turn
    assert profiles["ann_2"].demographics == {"age": "35-45", "gender": "male", "education": "Post-secondary graduate",
                                              "political": "Middle-of-the-road, centrist",
                                              "ethnicity": "Non immigrant", "country": "France", "language": "fr"}
    assert set(profiles) == {"ann_1", "ann_2", "ann_3", "ann_4"} and profiles["ann_1"].persona_truth is None


def test_filters_by_hand():
    pairs, _, report = build(languages=["en", "fr"])
    assert len(pairs) == 19 and report.dropped["language filter"] == 2  # c7, c8 (hi)
    pairs, _, report = build(balanced_subset="in_balanced_subset")
    assert per_user(pairs) == {"ann_1": 8, "ann_2": 5, "ann_3": 3, "ann_4": 3}  # c4, c5, c8 are out
    assert report.dropped["not in the balanced subset (in_balanced_subset)"] == 3
    assert "turn without a preference" not in report.dropped  # c5 never reached the turn rules
    pairs, _, report = build(pregenerated_only=True)
    assert len(pairs) == 22 and report.dropped["first prompt written by the annotator"] == 1  # c7


def test_rejected_one_is_seeded():
    pairs, _, _ = build(rejected="one")
    # one pair per turn that has a candidate: c1 2, c2 1, c3 2, c4 1, c6 1, c7 1, c8 1
    assert len(pairs) == 9 and len({(p.meta["conversation_id"], p.meta["turns"]) for p in pairs}) == 9
    again, _, _ = build(rejected="one")
    assert [p.pair_id for p in again] == [p.pair_id for p in pairs]
    others = {s: [p.pair_id for p in build(rejected="one", seed=s)[0]] for s in range(1, 6)}
    assert any(ids != [p.pair_id for p in pairs] for ids in others.values())


def bad(change, number=2):
    rows = ca_rows()
    change(rows[number - 1])
    return rows


@pytest.mark.parametrize("change,field,message", [
    (lambda r: r.update(first_turn_preferred_response="response_e"), "first_turn_preferred_response",
     "unknown preferred response 'response_e'"),
    (lambda r: r.update(annotator_id=None), "annotator_id", "missing"),
    (lambda r: r.update(first_turn_response_a=None), "first_turn_response_a", "the preferred response is empty"),
    (lambda r: r.update(conversation_id="c1"), "conversation_id",
     "duplicate conversation_id 'c1' \\(first seen at row 1\\)"),
])
def test_bad_rows_error_or_skip(change, field, message):
    rows = bad(change)  # row 2 is c2 (ann_1, preferred a, 2 pairs)
    with pytest.raises(DataError, match=message) as error:
        build(copy.deepcopy(rows))
    assert (error.value.row, error.value.field) == (2, field)
    pairs, _, report = build(rows, on_bad_row="skip")
    assert len(pairs) == 23 and report.dropped[f"malformed row ({field})"] == 1
    assert "missing candidate response" not in report.dropped  # the skipped row's own drops are not counted


def test_bad_flag_is_named_when_it_is_used():
    rows = bad(lambda r: r.update(in_balanced_subset="maybe"), number=5)
    assert len(build(copy.deepcopy(rows))[0]) == 25  # not read unless the filter is on
    with pytest.raises(DataError, match="expected true or false, got 'maybe'") as error:
        build(rows, balanced_subset="in_balanced_subset")
    assert (error.value.row, error.value.field) == (5, "in_balanced_subset")


def test_csv_reader_and_loader(tmp_path):
    path = write_csv(tmp_path / "community_alignment.csv", ca_rows())
    rows, source = read_rows(tmp_path)  # a folder holding the release's file name
    assert source == str(path) and len(rows) == 8 and rows[1]["first_turn_response_d"] is None
    cfg = make_config("data=community_alignment", f"data.path={path}")
    bench = load_benchmark(DataConfig(**cfg.data))
    # ann_3's 3 pairs are below min_pairs 5
    assert len(bench.pairs) == 22 and bench.user_ids == ["ann_1", "ann_2", "ann_4"]
    assert "  dropped      3  user with fewer than 5 pairs" in bench.notes
    assert all(p.split is None for p in bench.pairs)  # no split column: split=auto re-splits per user


def test_a_csv_row_with_extra_cells_is_named(tmp_path):
    path = write_csv(tmp_path / "ca.csv", ca_rows()[:2])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:2], lines[2] + ",extra", *lines[3:]]) + "\n")
    with pytest.raises(DataError, match="1 more cells than the header") as error:
        read_rows(path)
    assert error.value.row == 2


def test_fixture_columns_are_the_release_columns():
    row = ca_row("x", "ann_1", [turn("p", "response_a", **four("x"))])
    assert list(row) == CA_COLUMNS and len(CA_COLUMNS) == 12 + 4 * 7
