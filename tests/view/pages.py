"""What the viewer's pages should show, computed here from the run folders (never from the viewer's files),
formatted as the page formats it (JavaScript's toFixed: the exact value, halves rounded away from zero)."""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import quote

import pandas as pd

NA = "n/a"


def missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fixed(x: float, digits: int) -> str:
    if missing(x):
        return NA
    body = Decimal(abs(float(x))).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return ("-" if x < 0 else "") + f"{body:.{digits}f}"


def pct(x) -> str:
    return NA if missing(x) else fixed(100 * float(x), 2)


def ci(low, high) -> str:
    return f"[{pct(low)}, {pct(high)}]"


def signed(x, digits: int = 4) -> str:
    return NA if missing(x) else ("+" if x >= 0 else "") + fixed(x, digits)


def enc(text: str) -> str:
    return quote(text, safe="")


def run_link(run: str) -> str:
    return f"#/run/{enc(run)}"


def user_link(run: str, user: str, pair: str | None = None) -> str:
    return f"#/user/{enc(run)}/{enc(user)}" + (f"/pair/{enc(pair)}" if pair is not None else "")


def folder(results: Path, run: str) -> Path:
    return results / "runs" / run


def summary(results: Path, run: str) -> dict:
    return json.loads((folder(results, run) / "summary.json").read_text())


def per_user(results: Path, run: str) -> pd.DataFrame:
    return pd.read_csv(folder(results, run) / "per_user.csv", dtype={"user_id": str})


def items(results: Path, run: str) -> dict[tuple[str, str], dict]:
    records = [json.loads(line) for line in (folder(results, run) / "items.jsonl").read_text().splitlines()]
    return {(r["pair_id"], r["order"]): r for r in records}


def pair_facts(records: dict[tuple[str, str], dict], user: str) -> dict[str, tuple[bool, bool]]:
    """pair -> (wrong in either order, order-consistent), as benchmark.metrics defines consistency."""
    out = {}
    for (pair, order), r in records.items():
        if r["user_id"] != user or order != "AB":
            continue
        ab, ba = r, records[(pair, "BA")]
        consistent = (ab["preferred"], ba["preferred"]) in (("first", "second"), ("second", "first"))
        out[pair] = (not (ab["correct"] and ba["correct"]), consistent)
    return out


def compute_seconds(s: dict) -> float:
    return (s["cost"] or {}).get("seconds", 0.0) + (s.get("setup_seconds") or 0.0) + (s.get("fit_seconds") or 0.0)


def pareto_front(runs: dict[str, dict]) -> set[str]:
    """Runs no other run beats at no more cost (cost: compute seconds), per dataset."""
    front = set()
    for data in {s["data"] for s in runs.values()}:
        group = sorted(((compute_seconds(s), -s["macro_accuracy"], run)
                        for run, s in runs.items() if s["data"] == data))
        best = -math.inf
        for _, neg_macro, run in group:
            if -neg_macro > best:
                front.add(run)
                best = -neg_macro
    return front


TABLE_ROWS = """
const table = document.querySelector(arguments[0]);
if (!table) return null;
const heads = [...table.tHead.rows[0].cells].map(c => c.textContent);
return [...table.tBodies[0].rows].map(r => ({data: {...r.dataset},
  cells: Object.fromEntries([...r.cells].map((c, i) => [heads[i], c.textContent]))}));
"""

VERDICTS = """
return [...document.querySelectorAll('#test-pairs article.pair')].map(card => ({pair: card.dataset.pair,
  rows: [...card.querySelectorAll('table.verdicts tbody tr')].map(tr => ({order: tr.dataset.order,
    preferred: tr.querySelector('.v-preferred').textContent, correct: tr.querySelector('.v-correct').textContent,
    p: tr.querySelector('.v-p').textContent, margin: tr.querySelector('.v-margin').textContent,
    raw: tr.querySelector('.v-raw').textContent})),
  chosen: (card.querySelector('.chosen-text') || {}).textContent,
  rejected: (card.querySelector('.rejected-text') || {}).textContent}));
"""


def expected_verdict(record: dict) -> dict:
    return {"order": record["order"], "preferred": record["preferred"], "correct": "yes" if record["correct"] else "no",
            "p": fixed(record["p_chosen"], 4), "margin": signed(record["margin_chosen"]),
            "raw": NA if record["raw"] is None else record["raw"]}
