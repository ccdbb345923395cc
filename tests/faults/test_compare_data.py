"""Same data or no comparison: prbench-compare and prbench-regress refuse runs whose shared (pair_id, order)
items judged other texts or labels (exit 2, saying how many and the first); items of an older prbench, which
carry no digest, stay comparable, with a note that they could not be checked."""

from __future__ import annotations

import json

import pytest

from tests.faults.helpers_data import assert_one_line_error, dataset, items, run_on, tool

FLIPPED = set(range(0, 24, 3)) | {7}  # labels flipped in the second copy (3 of its 6 test pairs)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three `longer` runs: on the data, on a copy of it (same texts and labels), and on a copy with some labels
    flipped; same pair ids, users and split in all three."""
    tmp = tmp_path_factory.mktemp("compare_data")
    same, flipped = dataset(tmp / "data.jsonl"), dataset(tmp / "flipped.jsonl", FLIPPED)
    copy = dataset(tmp / "copy.jsonl")
    results = tmp / "results"
    return {"a": run_on(results, same, "a"), "copy": run_on(results, copy, "copy"),
            "flipped": run_on(results, flipped, "flipped"), "tmp": tmp, "data": same}


def flipped_items(folder) -> list[str]:
    """The judged items (sorted "pair_id/order") whose pair had its label flipped."""
    return sorted(f"{r['pair_id']}/{r['order']}" for r in items(folder) if int(r["pair_id"][1:]) in FLIPPED)


def strip_digests(folder, keep=lambda record: False) -> None:
    """Rewrite a run's items as an older prbench wrote them (no item_digest), except those `keep` keeps."""
    lines = [r if keep(r) else {k: v for k, v in r.items() if k != "item_digest"} for r in items(folder)]
    (folder / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")


def test_every_item_carries_the_digest_of_what_was_judged(runs):
    a, flipped = {(r["pair_id"], r["order"]): r for r in items(runs["a"])}, items(runs["flipped"])
    assert all(len(r["item_digest"]) == 12 for r in flipped)
    changed = sorted(f"{r['pair_id']}/{r['order']}" for r in flipped
                     if r["item_digest"] != a[r["pair_id"], r["order"]]["item_digest"])
    assert changed == flipped_items(runs["flipped"]) and changed  # exactly the flipped pairs, in both orders


def test_compare_refuses_runs_whose_labels_differ(runs):
    differ = flipped_items(runs["flipped"])
    result = tool("benchmark.compare.main", runs["a"], runs["flipped"])
    assert_one_line_error(result, "prbench-compare", "runs judged different data",
                          f"{len(differ)} of the {len(items(runs['a']))} items", f"(first: {differ[0]})")
    assert result.stdout == ""  # no table of numbers made on other data
    same = tool("benchmark.compare.main", runs["a"], runs["copy"])  # same texts and labels from another file
    assert same.returncode == 0 and "longer (none)" in same.stdout, same.stderr[-2000:]


def test_items_of_an_older_prbench_are_compared_with_a_note_and_a_known_mismatch_still_refused(runs, tmp_path):
    import shutil

    old, flipped_old = tmp_path / "old", tmp_path / "flipped_old"
    shutil.copytree(runs["copy"], old)
    shutil.copytree(runs["flipped"], flipped_old)
    strip_digests(old)
    result = tool("benchmark.compare.main", runs["a"], old)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"note: {len(items(old))} items of" in result.stderr and "could not be checked" in result.stderr
    # where the digests exist, a mismatch is never passed: half the flipped run's items keep theirs
    differ = flipped_items(runs["flipped"])
    keep = set(differ[: len(differ) // 2])
    strip_digests(flipped_old, keep=lambda r: f"{r['pair_id']}/{r['order']}" in keep)
    assert_one_line_error(tool("benchmark.compare.main", runs["a"], flipped_old), "prbench-compare",
                          f"{len(keep)} of the", f"(first: {min(keep)})")


def test_compare_errors_exit_2_on_one_line(runs, tmp_path):
    assert_one_line_error(tool("benchmark.compare.main", runs["a"], tmp_path / "nothing"), "prbench-compare",
                          "holds no finished run")
    (tmp_path / "a_file").write_text("x")
    assert_one_line_error(tool("benchmark.compare.main", runs["a"], runs["copy"], "--out", tmp_path / "a_file"),
                          "prbench-compare", "cannot write", "--out")


def test_regress_refuses_other_labels_from_the_recorded_digests(runs, tmp_path):
    baseline = tmp_path / "baseline.json"
    recorded = tool("benchmark.regress.main", "--baseline", baseline, "--run", runs["a"], "--write")
    assert recorded.returncode == 0, recorded.stderr[-2000:]
    ok = tool("benchmark.regress.main", "--baseline", baseline, "--run", runs["copy"])
    assert ok.returncode == 0 and ok.stdout.split()[0] == "ok", ok.stdout + ok.stderr
    differ = flipped_items(runs["flipped"])
    moved = runs["tmp"] / "flipped.jsonl.gone"  # the recorded digests are used: the data need not be there
    (runs["tmp"] / "flipped.jsonl").rename(moved)
    try:
        refused = tool("benchmark.regress.main", "--baseline", baseline, "--run", runs["flipped"])
    finally:
        moved.rename(runs["tmp"] / "flipped.jsonl")
    assert_one_line_error(refused, "prbench-regress", f"{len(differ)} items' texts or labels differ",
                          f"(first: {differ[0]})")
    rerun = tool("benchmark.regress.main", "--baseline", tmp_path / "b2.json", "--run", runs["a"], runs["flipped"],
                 "--write")  # "reruns" on other labels are no reruns
    assert_one_line_error(rerun, "prbench-regress", "is no rerun", f"{len(differ)} items' texts or labels differ")


def test_regress_recomputes_the_digests_of_an_older_prbench_from_the_data(runs, tmp_path):
    import shutil

    old = tmp_path / "flipped_old"
    shutil.copytree(runs["flipped"], old)
    strip_digests(old)
    baseline = tmp_path / "baseline.json"
    assert tool("benchmark.regress.main", "--baseline", baseline, "--run", runs["a"], "--write").returncode == 0
    assert_one_line_error(tool("benchmark.regress.main", "--baseline", baseline, "--run", old), "prbench-regress",
                          f"{len(flipped_items(old))} items' texts or labels differ")
