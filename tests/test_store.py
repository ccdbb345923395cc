"""The item store survives a torn write and refuses to judge an item twice."""

import json

import pytest

from benchmark.store import ItemStore


def rec(pair, order="AB"):
    return {"pair_id": pair, "order": order, "user_id": "u", "preferred": "first", "correct": True}


def test_torn_last_line_is_dropped(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps(rec("a")) + "\n" + json.dumps(rec("b"))[:15])
    store = ItemStore(path)
    assert len(store) == 1 and ("a", "AB") in store and ("b", "AB") not in store
    store.append([rec("b")])
    assert len(ItemStore(path)) == 2


def test_twice_judged_item_is_refused(tmp_path):
    store = ItemStore(tmp_path / "items.jsonl")
    store.append([rec("a")])
    with pytest.raises(RuntimeError, match="judged twice"):
        store.append([rec("a")])


def test_corrupt_middle_line_is_an_error(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps(rec("a")) + "\n{oops\n" + json.dumps(rec("b")) + "\n")
    from benchmark.errors import DataError

    with pytest.raises(DataError, match="row 2"):
        ItemStore(path)


def test_an_item_judged_twice_is_refused_naming_both_rows(tmp_path):
    """What two processes on one unlocked folder used to leave behind: a resume must not pick one silently."""
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(rec(k)) + "\n" for k in ("a", "b", "a")))
    from benchmark.errors import DataError

    with pytest.raises(DataError, match=r"items.jsonl, row 3: item \('a', 'AB'\) was judged twice \(first at row 1\)"):
        ItemStore(path)
