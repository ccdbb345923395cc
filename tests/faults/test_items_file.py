"""items.jsonl read back: a line that is not UTF-8 is an error naming the file and row (it was read with
replacement characters and kept); a record of a failed request is replaced by the item's later record, any
other item recorded twice is an error; text with line separators other than "\\n" reads back whole."""

import json

import pytest

from benchmark.errors import DataError
from benchmark.store import ItemStore
from tests.faults.servers import folder_state, last_line, prbench


def rec(pair, preferred="first", **extra):
    return {"pair_id": pair, "order": "AB", "user_id": "u", "preferred": preferred, "correct": True, **extra}


def write(path, *records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_line_that_is_not_utf8_refuses_the_resume_and_changes_nothing(tmp_path):
    args = ("backend=mock", "split.max_users=3", "method=plain", "run_name=r")
    run_dir = tmp_path / "runs" / "r"
    done = prbench(tmp_path, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    items = run_dir / "items.jsonl"
    lines = items.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b'"raw": "', b'"raw": "\xff', 1)  # one bad byte inside a string, row 6
    items.write_bytes(b"\n".join(lines))
    before = folder_state(run_dir)

    refused = prbench(tmp_path, *args, "resume=true")
    assert refused.returncode == 2, refused.stderr[-3000:]
    byte = lines[5].index(b"\xff") + 1
    assert last_line(refused.stderr) == (f"prbench: error: file {items}, row 6: corrupt results line: not UTF-8 "
                                         f"(byte {byte} of the line)")
    assert folder_state(run_dir) == before


def test_a_failed_request_record_is_replaced_by_the_later_one(tmp_path):
    path = write(tmp_path / "items.jsonl", rec("a", "fail", request_failed=True), rec("b"),
                 rec("a", "fail", request_failed=True), rec("a", "second"))
    store = ItemStore(path)
    assert store.records[("a", "AB")]["preferred"] == "second" and ("a", "AB") in store


def test_a_failed_request_is_not_judged_and_may_be_appended_again(tmp_path):
    store = ItemStore(tmp_path / "items.jsonl")
    store.append([rec("a", "fail", request_failed=True), rec("b", "fail")])  # "b": the model's own failure
    assert ("a", "AB") not in store and ("b", "AB") in store
    store.append([rec("a", "second")])
    with pytest.raises(RuntimeError, match="judged twice"):
        store.append([rec("b", "first")])
    assert {k: r["preferred"] for k, r in ItemStore(store.path).records.items()} == \
        {("a", "AB"): "second", ("b", "AB"): "fail"}


def test_a_read_only_store_appends_only_after_cutting_a_torn_line(tmp_path):
    path = write(tmp_path / "items.jsonl", rec("a"))
    path.write_bytes(path.read_bytes() + b'{"pair_id": "b", "ord')  # a killed write
    store = ItemStore(path, repair=False)
    with pytest.raises(RuntimeError, match="torn line"):
        store.append([rec("c")])
    assert path.read_bytes().endswith(b'"ord')  # nothing written, nothing cut
    store.repair()
    store.append([rec("c")])
    assert list(ItemStore(path).records) == [("a", "AB"), ("c", "AB")]


def test_a_judged_item_recorded_again_is_an_error(tmp_path):
    path = write(tmp_path / "items.jsonl", rec("a"), rec("a", "fail", request_failed=True))
    with pytest.raises(DataError, match=r"row 2: item \('a', 'AB'\) was judged twice \(first at row 1\)"):
        ItemStore(path)


def test_text_with_other_line_separators_reads_back_whole(tmp_path):
    raw = "first line\u2028second\x85third\u2029fourth\x1cfifth"
    store = ItemStore(tmp_path / "items.jsonl")
    store.append([rec("a", raw=raw), rec("b")])
    assert ItemStore(store.path).records[("a", "AB")]["raw"] == raw
