"""The judge outputs stored in the published PersonalRewardBench sets, made label-free.

Each row has, per judge model m, `prediction_<m>` (the pick with the responses in the stored order) and
`prediction_flip_<m>` (the pick with the order swapped); `flip` true means the stored order shows the
chosen response first. A method must not learn which response was chosen, so the picks are re-keyed by the
text shown first: `{m: {digest(first text): "first" | "second" | "tie" | "fail"}}`.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from benchmark.errors import DataError

PREFIX, FLIP_PREFIX = "prediction_", "prediction_flip_"
FIRST = {"first", "1", "a", "response a", "response 1", "output (a)", "[[a]]"}
SECOND = {"second", "2", "b", "response b", "response 2", "output (b)", "[[b]]"}
TIE = {"tie", "equal", "both", "[[c]]"}


def text_digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def normalize_pick(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "fail"
    text = str(value).strip().lower()
    return "first" if text in FIRST else "second" if text in SECOND else "tie" if text in TIE else "fail"


def judge_names(meta: dict[str, Any]) -> list[str]:
    return sorted(k[len(PREFIX):] for k in meta if k.startswith(PREFIX) and not k.startswith(FLIP_PREFIX))


def parse_flag(value: Any) -> bool | None:
    """A boolean column value: bools, 0 / 1, and "true" / "false" / "yes" / "no" / "1" / "0" as text;
    None for anything else (never Python's truthiness: the string "false" is true)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars from parquet
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        return {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}.get(
            value.strip().lower())
    return None


def stored_picks(chosen: str, rejected: str, meta: dict[str, Any], source: str | None = None
                 ) -> dict[str, dict[str, str]]:
    """Per judge, the pick for each display order, keyed by the digest of the text shown first."""
    if "flip" not in meta:
        return {}
    flip = parse_flag(meta["flip"])
    if flip is None:
        raise DataError(f"flip must be true or false, got {meta['flip']!r}", source=source, row=meta.get("row"),
                        field="flip")
    shown_first, shown_second = (chosen, rejected) if flip else (rejected, chosen)
    return {m: {text_digest(shown_first): normalize_pick(meta.get(PREFIX + m)),
                text_digest(shown_second): normalize_pick(meta.get(FLIP_PREFIX + m))}
            for m in judge_names(meta)}
