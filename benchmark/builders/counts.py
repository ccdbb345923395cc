"""Counts of what each build stage kept and dropped, so nothing disappears silently."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from benchmark.errors import DataError


@dataclass
class BuildReport:
    rows: int = 0
    pairs: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> count

    def drop(self, reason: str, n: int = 1) -> None:
        if n:
            self.dropped[reason] += n

    def bad_row(self, error: DataError, on_bad_row: str) -> None:
        """`on_bad_row=error` raises the error (it names the row and field); `skip` counts the row."""
        if on_bad_row == "error":
            raise error
        self.drop(f"malformed row ({error.field})")

    def lines(self) -> list[str]:
        out = [f"{self.rows} raw rows -> {self.pairs} pairs"]
        out += [f"  dropped {n:>6}  {reason}" for reason, n in sorted(self.dropped.items())]
        return out
