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


def _blocking_first_fsync(monkeypatch, store, n_appends, fail=False):
    """os.fsync whose first call waits until `n_appends` appends are queued (then fails, if `fail`); `durable`
    holds the pair ids on disk after each fsync."""
    import os
    import threading

    calls, durable, real = [], set(), os.fsync

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 1:
            while store._tickets < n_appends:
                threading.Event().wait(0.001)
            if fail:
                raise OSError("disk full")
        real(fd)
        durable.update(json.loads(line)["pair_id"] for line in store.path.read_text().splitlines())

    monkeypatch.setattr("benchmark.store.os.fsync", fsync)
    return calls, durable


def _append_from_threads(store, n, durable=None):
    """Append p0..p{n-1} from n threads; the errors raised, and the ids that returned before being fsynced."""
    import threading

    errors, early = [], []

    def one(i):
        try:
            store.append([rec(f"p{i}")])
        except OSError as error:
            errors.append(error)
            return
        if durable is not None and f"p{i}" not in durable:
            early.append(f"p{i}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors, early


def test_appends_queued_during_a_write_share_the_next_fsync(tmp_path, monkeypatch):
    store = ItemStore(tmp_path / "items.jsonl")
    calls, durable = _blocking_first_fsync(monkeypatch, store, 12)
    assert _append_from_threads(store, 12, durable) == ([], [])  # no error, none returned before its fsync
    assert 1 <= len(calls) <= 2  # the first append's write, then (at most) one for all queued behind it
    lines = (tmp_path / "items.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["pair_id"] for line in lines) == sorted(f"p{i}" for i in range(12))
    assert len(ItemStore(tmp_path / "items.jsonl")) == len(store) == 12


def test_a_failed_write_fails_every_append_it_could_hold(tmp_path, monkeypatch):
    store = ItemStore(tmp_path / "items.jsonl")
    _blocking_first_fsync(monkeypatch, store, 6, fail=True)
    errors, _ = _append_from_threads(store, 6)
    assert len(errors) == 6  # none of them may believe its items are on disk
    with pytest.raises(OSError, match="disk full"):  # the first failure's own error, for one-line messages
        store.append([rec("later")])


def test_an_item_still_queued_for_writing_is_refused_a_second_time(tmp_path):
    import threading

    store = ItemStore(tmp_path / "items.jsonl")
    with store._write:  # a write in progress: the next append queues its line and waits
        first = threading.Thread(target=store.append, args=([rec("a")],))
        first.start()
        while not store._tickets:
            threading.Event().wait(0.001)
        with pytest.raises(RuntimeError, match="judged twice"):
            store.append([rec("a")])
    first.join(10)
    assert len(ItemStore(tmp_path / "items.jsonl")) == 1
