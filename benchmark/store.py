"""Append-only item-level results (JSON lines), written as judgments complete, so a run can resume.

A process killed mid-write can leave a partial last line; opening the store drops it (and only it). A record
marked `request_failed` (its judgment was touched by a failed request: runner/run.py) is not a judged item:
a resumed run judges it again, and the later record of that item replaces it when the file is read. Any
other item recorded twice, or a line that is not UTF-8 JSON, is an error naming the file and row.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmark.errors import DataError
from benchmark.records import Judgment, Order, PreferencePair


def item_digest(pair: PreferencePair) -> str:
    """A short digest of what was judged: the user, the conversation, both responses and which was chosen.
    Two runs' items with the same (pair_id, order) but another digest judged different data."""
    text = json.dumps([pair.user_id, [[m.role, m.content] for m in pair.context], pair.chosen, pair.rejected])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def item_record(pair: PreferencePair, order: Order, judgment: Judgment) -> dict[str, Any]:
    """A judgment plus the label-derived fields the runner (never the method) adds, and `item_digest`."""
    chosen_side = "first" if order == "AB" else "second"
    p_chosen = margin_chosen = None
    if judgment.p_first is not None:
        p_chosen = judgment.p_first if order == "AB" else 1.0 - judgment.p_first
    if judgment.margin is not None:
        margin_chosen = judgment.margin if order == "AB" else -judgment.margin
    return {
        "pair_id": pair.pair_id, "user_id": pair.user_id, "order": order,
        "preferred": judgment.preferred, "correct": judgment.preferred == chosen_side,
        "p_first": judgment.p_first, "p_chosen": p_chosen, "margin": judgment.margin,
        "margin_chosen": margin_chosen, "raw": judgment.raw, "cost": asdict(judgment.cost),
        "item_digest": item_digest(pair),
    }


def item_lines(records: Iterable[dict[str, Any]]) -> str:
    """Item records as items.jsonl lines (UTF-8 text kept as is; one JSON object per line)."""
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


class ItemStore:
    """The run's `items.jsonl`: appended from every user in flight, each append durable (fsynced) on return.

    Appends are group-committed: a thread that finds a write in progress queues its lines, and the next
    writer writes and fsyncs everything queued at once. One fsync per append, taken in turn, was the
    bottleneck of a PRISM-sized run: hundreds of fsyncs in series while 256 users waited on them with no
    request pending (scripts/bench_scale.py, results/bench/scale.json).
    """

    def __init__(self, path: Path, *, repair: bool = True):
        """`repair=False` reads only: a torn last line is skipped, never cut off (a reader must not change a
        folder that its run, holding the folder's lock, may be writing), and nothing is appended before
        `repair()` has cut it."""
        self.path = path
        self._torn_at: int | None = None  # where a torn last line begins, until it is cut off
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()  # the queue and the records
        self._write = threading.Lock()  # one writer at a time
        self._queue: list[tuple[bytes, list[tuple[str, str]], list[dict[str, Any]]]] = []
        self._queued: set[tuple[str, str]] = set()
        self._tickets = self._written = 0  # appends queued, and how many of them are on disk
        self._broken: BaseException | None = None  # a failed write fails every append after it
        if path.exists():
            self._load()
        if repair:
            self.repair()

    def repair(self) -> None:
        """Cut off the torn last line (a killed write) that reading skipped: the writer's first step."""
        if self._torn_at is not None:
            with self.path.open("r+b") as f:
                f.truncate(self._torn_at)
            self._torn_at = None

    def _load(self) -> None:
        data = self.path.read_bytes()
        good = data.rfind(b"\n") + 1  # everything after the last newline is a torn write
        if good < len(data):
            self._torn_at = good
        rows: dict[tuple[str, str], int] = {}
        # split on "\n" only: a record's text may hold U+2028 or U+0085, which str.splitlines() splits at
        for number, line in enumerate(data[:good].split(b"\n")[:-1], 1):
            key, record = self._parse(line, number)
            if key in rows and not self.records[key].get("request_failed"):
                # two writers on one folder (before run folders were locked): never pick one silently
                raise DataError(f"item {key} was judged twice (first at row {rows[key]}); start a new run",
                                source=str(self.path), row=number)
            rows[key] = number
            self.records[key] = record

    def _parse(self, line: bytes, number: int) -> tuple[tuple[str, str], dict[str, Any]]:
        try:
            record = json.loads(line.decode("utf-8"))
            return (record["pair_id"], record["order"]), record
        except UnicodeDecodeError as error:
            raise DataError(f"corrupt results line: not UTF-8 (byte {error.start + 1} of the line)",
                            source=str(self.path), row=number) from None
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise DataError(f"corrupt results line: {getattr(error, 'msg', error)}", source=str(self.path),
                            row=number) from None

    def __contains__(self, key: tuple[str, str]) -> bool:
        """Whether the item is judged: recorded, and not by a failed request."""
        record = self.records.get(key)
        return record is not None and not record.get("request_failed")

    def __len__(self) -> int:
        return len(self.records)

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Add records as whole lines (a kill tears at most the last line, which `_load` drops); returns once
        they are on disk."""
        if self._torn_at is not None:  # a line appended to a torn one would be corrupt
            raise RuntimeError(f"{self.path} ends in a torn line: repair() before appending")
        records = list(records)
        data = item_lines(records).encode("utf-8")
        keys = [(record["pair_id"], record["order"]) for record in records]
        with self._lock:
            twice = [k for k in keys if k in self or k in self._queued] or [k for k in keys if keys.count(k) > 1]
            if twice:
                raise RuntimeError(f"item {twice[0]} was judged twice")
            self._queue.append((data, keys, records))
            self._queued.update(keys)
            self._tickets += 1
            ticket = self._tickets
        with self._write:
            if self._broken is not None:  # this append may have been in the failed write: never claim it landed
                if isinstance(self._broken, OSError):  # the same error, whichever thread reports it first
                    raise OSError(self._broken.errno, self._broken.strerror or str(self._broken), str(self.path))
                raise OSError(None, f"an earlier write failed ({self._broken!r})", str(self.path))
            if self._written >= ticket:  # an earlier writer took this append along
                return
            with self._lock:
                batch, self._queue, last = self._queue, [], self._tickets
            try:
                self._write_lines(b"".join(lines for lines, _, _ in batch))
            except BaseException as error:  # whatever it was, the batch's appends must not claim they landed
                self._broken = error
                raise
            with self._lock:
                for _, queued_keys, queued_records in batch:  # this append's and every other one in the batch
                    self.records.update(zip(queued_keys, queued_records))
                    self._queued.difference_update(queued_keys)
                self._written = last

    def _write_lines(self, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        except OSError as error:  # e.g. a full disk: named by the file
            raise OSError(error.errno, error.strerror or str(error), str(self.path)) from error
        finally:
            os.close(fd)
