"""Turn raw rows (dicts from jsonl, parquet or a `datasets` table) into validated PreferencePairs.

Every error names the source, the row and the field, so a bad file can be fixed without guessing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from benchmark.errors import DataError
from benchmark.records import ROLES, SPLITS, Message, PreferencePair

ROLE_ALIASES = {"model": "assistant", "human": "user", "gpt": "assistant"}
REQUIRED = ("user_id", "context", "chosen", "rejected")


def _as_list(value: Any) -> list | None:
    """Lists, tuples and numpy arrays (what `to_pandas` gives) as a list; anything else as None."""
    if isinstance(value, (list, tuple)):
        return list(value)
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) == 1:
        return value.tolist()
    return None


def parse_message(value: Any, *, where: dict) -> Message:
    if not isinstance(value, Mapping):
        raise DataError(f"expected a message {{role, content}}, got {type(value).__name__}", **where)
    role, content = value.get("role"), value.get("content")
    role = ROLE_ALIASES.get(role, role)
    if role not in ROLES:
        raise DataError(f"unknown message role {value.get('role')!r} (expected one of {', '.join(ROLES)}, "
                        f"or 'model')", **where)
    if not isinstance(content, str):
        raise DataError(f"message content must be a string, got {type(content).__name__}", **where)
    return Message(role, content)


def parse_context(value: Any, *, where: dict) -> tuple[Message, ...]:
    items = _as_list(value)
    if items is None:
        raise DataError(f"context must be a list of messages, got {type(value).__name__}", **where)
    if not items:
        raise DataError("context is empty: it must end with the user turn both responses answer", **where)
    messages = tuple(parse_message(item, where=where) for item in items)
    if messages[-1].role != "user":
        raise DataError(f"context ends with an {messages[-1].role!r} turn: it must end with the user turn "
                        f"both responses answer", **where)
    return messages


def parse_response(value: Any, *, where: dict) -> str:
    """A response may be stored as text, as a message, or as a one-message list (older PRB dumps)."""
    items = _as_list(value)
    if items is not None:
        if len(items) != 1:
            raise DataError(f"a response stored as a list must hold one message, got {len(items)}", **where)
        value = items[0]
    if isinstance(value, Mapping):
        value = parse_message(value, where=where).content
    if not isinstance(value, str):
        raise DataError(f"expected text or a message, got {type(value).__name__}", **where)
    if not value.strip():
        raise DataError("response is empty", **where)
    return value


def derived_pair_id(user_id: str, row: Mapping) -> str:
    """A stable id for rows that carry none: a hash of who chose what in which conversation."""
    key = repr((user_id, row.get("conversation_id"), str(row.get("context")), str(row.get("chosen")),
                str(row.get("rejected"))))
    return f"{user_id}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def parse_pair(row: Mapping, *, source: str, row_index: int, source_tag: str,
               keep_meta: Iterable[str] = ()) -> PreferencePair:
    def where(field: str) -> dict:
        return {"source": source, "row": row_index, "field": field}

    for name in REQUIRED:
        if name not in row:
            raise DataError("missing column", **where(name))
    user_id = row["user_id"]
    if not isinstance(user_id, str) or not user_id:
        raise DataError(f"user_id must be a non-empty string, got {user_id!r}", **where("user_id"))
    pair_id = row.get("pair_id") or derived_pair_id(user_id, row)
    if not isinstance(pair_id, str):
        raise DataError(f"pair_id must be a string, got {type(pair_id).__name__}", **where("pair_id"))
    context = parse_context(row["context"], where=where("context"))
    chosen = parse_response(row["chosen"], where=where("chosen"))
    rejected = parse_response(row["rejected"], where=where("rejected"))
    if chosen == rejected:
        raise DataError(f"chosen and rejected are identical (pair {pair_id})", **where("rejected"))
    split = row.get("split")
    if split is not None and split not in SPLITS:
        raise DataError(f"unknown split value {split!r} (expected one of {', '.join(SPLITS)})", **where("split"))
    meta = {k: row[k] for k in keep_meta if k in row}
    meta["row"] = row_index
    return PreferencePair(pair_id, user_id, context, chosen, rejected, split, source_tag, meta)


def parse_pairs(rows: Iterable[Mapping], *, source: str, source_tag: str) -> tuple[PreferencePair, ...]:
    """Parse every row, refusing duplicate pair ids (both rows are named)."""
    pairs: list[PreferencePair] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows, 1):  # rows are 1-based in messages (row 1 = line 1 of a .jsonl)
        extra = [k for k in row if k not in (*REQUIRED, "pair_id", "split")]
        pair = parse_pair(row, source=source, row_index=index, source_tag=source_tag, keep_meta=extra)
        if pair.pair_id in seen:
            raise DataError(f"duplicate pair id {pair.pair_id!r} (first seen at row {seen[pair.pair_id]})",
                            source=source, row=index, field="pair_id")
        seen[pair.pair_id] = index
        pairs.append(pair)
    if not pairs:
        raise DataError("no rows", source=source)
    return tuple(pairs)
