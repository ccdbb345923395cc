"""Write a benchmark in the PersonalRewardBench schema (parquet + a `datasets` folder + a dataset card), so
that `data=chatbot_arena` / `data=prism` with `data.path=<out>/data.parquet` load it back unchanged.

Rows keep the PRB columns (conversation_id, user_id, context, chosen, rejected, turns, type, split, flip,
scores) plus `pair_id`, so pair ids survive the round trip. `flip` (chosen shown first in the stored order)
is a seeded coin per pair, as in the reference converter.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from benchmark.records import Benchmark, PreferencePair
from benchmark.splits import UserSplit

HF_SPLITS = {"train": "train", "val": "validation", "test": "test"}


def _row(pair: PreferencePair, split: str, seed: int) -> dict:
    flip = int(hashlib.sha256(f"flip:{seed}:{pair.pair_id}".encode()).hexdigest(), 16) % 2 == 0
    return {
        "pair_id": pair.pair_id, "conversation_id": str(pair.meta.get("conversation_id") or pair.pair_id),
        "user_id": pair.user_id, "context": [{"content": m.content, "role": m.role} for m in pair.context],
        "chosen": {"content": pair.chosen, "role": "assistant"},
        "rejected": {"content": pair.rejected, "role": "assistant"},
        "turns": int(pair.meta.get("turns") or 1), "type": str(pair.meta.get("type") or ""), "split": split,
        "flip": flip, "chosen_score": pair.meta.get("chosen_score"), "rejected_score": pair.meta.get("rejected_score"),
    }


def rows(splits: list[UserSplit], seed: int) -> list[dict]:
    out = [_row(p, name, seed) for s in splits for name in ("train", "val", "test") for p in getattr(s, name)]
    return sorted(out, key=lambda r: (r["user_id"], r["pair_id"]))


def export(bench: Benchmark, splits: list[UserSplit], out: Path, seed: int, card: dict) -> Path:
    """Write out/data.parquet, out/dataset/ (HF splits train / validation / test) and out/README.md."""
    import datasets

    out.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows(splits, seed))
    pq.write_table(table, out / "data.parquet")
    by_split = {hf: table.filter(pa.compute.equal(table["split"], ours)) for ours, hf in HF_SPLITS.items()}
    datasets.DatasetDict({hf: datasets.Dataset(t) for hf, t in by_split.items()}).save_to_disk(str(out / "dataset"))
    counts = {hf: t.num_rows for hf, t in by_split.items()}
    lines = [f"# {bench.name} (built by prbench)", "",
             "PersonalRewardBench schema: one row per (user, chosen, rejected) pair; `split` is the per-user split.",
             "", "## Provenance", "```json", json.dumps(card, indent=2, sort_keys=True, default=str), "```", "",
             "## Counts", f"- users: {len(splits)}", *(f"- {k}: {v} pairs" for k, v in counts.items()), "",
             "## Build stages", *(f"    {line}" for line in bench.notes), ""]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
    return out / "data.parquet"
