"""Documents as small JavaScript files: `PRB.put(key, value);`, loadable by a <script> tag from file://,
where fetch() of local JSON is blocked.

Every text from data or models ends up inside a JS string literal here, so the JSON is made safe to embed:
`<` is escaped (no `</script>` or `<!--` can end or confuse the script), U+2028/U+2029 (line terminators
in older JS) and lone surrogates (not encodable as UTF-8) are escaped too.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_UNSAFE = re.compile("[<>&\u2028\u2029\ud800-\udfff]")
LONG_NUMBERS = 24  # numeric lists longer than this are summarised in fit states (a 384-d weight vector...)


def _escape(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def js_put(key: str, value: Any) -> bytes:
    """The JS file registering `value` under `key`."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return f"PRB.put({json.dumps(key)},{_UNSAFE.sub(_escape, text)});\n".encode()


def clean(value: Any) -> Any:
    """JSON-able: NaN and infinities become null (shown as "n/a"), numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def short_float(x: Any, digits: int = 4) -> Any:
    """A float cut to `digits` significant digits (the summary of a long numeric list)."""
    return float(f"{x:.{digits}g}") if isinstance(x, float) and math.isfinite(x) else clean(x)


def _numbers(value: Any) -> list[float] | None:
    """The flattened numbers of a (nested) numeric list, or None when it holds anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, list):
        out: list[float] = []
        for item in value:
            inner = _numbers(item)
            if inner is None:
                return None
            out += inner
        return out
    return None


def abbreviate(value: Any) -> Any:
    """A fit state for reading: texts kept whole (personas, memories and demonstrations as sent), long numeric
    lists (weights, embeddings) summarised as {"$numbers": count, "head": [...], "min", "max", "mean"}."""
    if isinstance(value, dict):
        return {str(k): abbreviate(v) for k, v in value.items()}
    if isinstance(value, list):
        numbers = _numbers(value)
        if numbers is not None and len(numbers) > LONG_NUMBERS:
            finite = [x for x in numbers if math.isfinite(x)] or [math.nan]
            return clean({"$numbers": len(numbers), "head": [short_float(x) for x in numbers[:8]],
                          "min": short_float(min(finite)), "max": short_float(max(finite)),
                          "mean": short_float(sum(finite) / len(finite))})
        return [abbreviate(v) for v in value]
    return clean(value)
