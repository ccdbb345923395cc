"""TL;DR comparisons -> per-worker pairs: every rule, with pairs, users and drops counted by hand."""

import copy

import pytest

from benchmark.builders.tldr import TldrOptions, read_rows, tldr_pairs
from benchmark.config import DataConfig
from benchmark.data import load_benchmark
from benchmark.errors import DataError
from tests.builders.source_fixtures import per_user, tldr_rows
from tests.conftest import make_config


def build(rows=None, **opts):
    return tldr_pairs(tldr_rows() if rows is None else rows, TldrOptions(**opts), "comparisons.jsonl")


def test_defaults_by_hand():
    pairs, report = build()
    # worker_1: rows 1-6; worker_2: rows 7-11 and 14 (row 12 repeats row 7, row 13 is CNN/DM); worker_3: row 16
    assert per_user(pairs) == {"worker_1": 6, "worker_2": 6, "worker_3": 1}
    assert report.rows == 16 and report.pairs == 13
    assert dict(report.dropped) == {"duplicate comparison (same worker, post and summaries)": 1,
                                    "CNN/DM article (not a Reddit post)": 1, "identical summaries": 1}
    first, second = pairs[0], pairs[1]  # choice 0, then choice 1
    assert first.context[0].content == ("SUBREDDIT: r/relationships\n\nTITLE: Title t3_w1p0\n\nPOST: Post t3_w1p0: my "
                                        "roommate keeps eating my food. What do I do?\n\nTL;DR:")
    assert (first.chosen, first.rejected) == ("t3_w1p0 summary one by worker_1.", "t3_w1p0 summary two by worker_1.")
    assert (second.chosen, second.rejected) == ("t3_w1p1 summary two by worker_1.", "t3_w1p1 summary one by worker_1.")
    assert (second.meta["chosen_policy"], second.meta["source_split"], second.meta["type"]) == (
        "ref", "train", "relationships")
    assert pairs[0].pair_id.startswith("t3_w1p0-") and len({p.pair_id for p in pairs}) == 13


def test_options_by_hand():
    pairs, report = build(min_confidence=5)
    assert len(pairs) == 11 and report.dropped["confidence missing or below min_confidence"] == 2  # rows 3, 14
    pairs, report = build(splits=["train"])
    assert len(pairs) == 12 and report.dropped["split filter"] == 1  # row 6 (valid2)
    pairs, report = build(posts_only=False)
    assert per_user(pairs) == {"worker_1": 6, "worker_2": 7, "worker_3": 1}
    article = next(p for p in pairs if p.meta["conversation_id"] == "cnn0")
    assert article.context[0].content == "Article:\nThe club said on Monday...\n\nTL;DR:\n"


def bad(change, number=4):
    rows = tldr_rows()
    change(rows[number - 1])
    return rows


@pytest.mark.parametrize("change,field,message", [
    (lambda r: r.update(choice=2), "choice", "choice must be 0 or 1, got 2"),
    (lambda r: r.update(summaries=r["summaries"][:1]), "summaries", "a list of two"),
    (lambda r: r["summaries"][1].update(text="  "), "summaries", "missing or empty"),
    (lambda r: r.update(worker=None), "worker", "missing worker"),
    (lambda r: r.update(info={"id": "x", "post": None, "article": None}), "info", "neither a post nor an article"),
    (lambda r: r.update(extra={"confidence": "high"}), "extra", "whole number"),
])
def test_bad_rows_error_or_skip(change, field, message):
    rows = bad(change)  # row 4: worker_1's fourth comparison
    with pytest.raises(DataError, match=message) as error:
        build(copy.deepcopy(rows))
    assert (error.value.row, error.value.field) == (4, field)
    pairs, report = build(rows, on_bad_row="skip")
    assert per_user(pairs)["worker_1"] == 5 and report.dropped[f"malformed row ({field})"] == 1


def test_release_file_and_loader(tmp_path):
    import json

    path = tmp_path / "batch9.json"  # the release's batch files hold JSON lines
    path.write_text("".join(json.dumps(r) + "\n" for r in tldr_rows()))
    rows, source = read_rows(path)
    assert len(rows) == 16 and source == str(path)
    cfg = make_config("data=tldr_workers", f"data.path={path}")
    bench = load_benchmark(DataConfig(**cfg.data))
    assert bench.user_ids == ["worker_1", "worker_2"] and len(bench.pairs) == 12  # worker_3 has 1 < 5 pairs
    assert "  dropped      1  user with fewer than 5 pairs" in bench.notes
    assert bench.profiles == {} and all(p.split is None for p in bench.pairs)
