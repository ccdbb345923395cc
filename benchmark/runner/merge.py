"""`prbench-merge RUN_FOLDER...`: gather the shards of a run (runner/shards.py) into the run's own
items.jsonl, per_user.csv, summary.json and W&B run, exactly as the unsharded run would have written them.

Every shard must be there, finished (every expected item judged), and run with the same config except
`shard.index` and the operational keys (`resume`, concurrency, timeouts...: runner/folder.py); otherwise a
one-line error names the shard, exit code 2. A merge killed midway is merged again by the next one
(`shards/merged.json` says a merge began before the run's items.jsonl is replaced). A Hydra sweep
merges the sharded runs it finished by itself (benchmark/runner/callbacks.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from benchmark.cli import cli_errors
from benchmark.config import LoggerConfig, RunConfig, parse_section
from benchmark.errors import PrbenchError, RunError
from benchmark.records import sum_usage
from benchmark.root_config import is_operational
from benchmark.runner.control import disk_full
from benchmark.runner.finish import Outcome, RunResult, finish
from benchmark.runner.folder import config_operational_keys
from benchmark.runner.shards import shard_of
from benchmark.runs import (
    CONFIG,
    ITEMS,
    MERGED,
    PART,
    PROVENANCE,
    SHARD_DIR,
    SHARDS,
    read_config,
    read_items,
    read_json,
    shard_name,
    write_json,
    write_text,
)
from benchmark.store import item_lines
from benchmark.tracking import provenance


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def shard_count(run_dir: Path) -> int:
    shards = run_dir / SHARDS
    counts = {int(m.group(2)) for p in (shards.iterdir() if shards.is_dir() else ())
              if p.is_dir() and (m := SHARD_DIR.fullmatch(p.name))}
    if not counts:
        raise RunError(f"{run_dir} holds no shards ({shards}/<i>-of-<N>/): nothing to merge")
    if len(counts) > 1:
        raise RunError(f"{shards} holds shards of runs split {' and '.join(map(str, sorted(counts)))} ways; "
                       f"remove the folders of the split you abandoned")
    return counts.pop()


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _load_shard(run_dir: Path, index: int, count: int) -> dict[str, Any]:
    """One finished shard's config, part and items; an error naming the shard when it is not finished."""
    name = shard_name(index, count)
    folder = run_dir / SHARDS / name
    rerun = f"prbench ... shard.count={count} shard.index={index}"
    if not folder.is_dir():
        raise RunError(f"shard {name} is missing (no folder {folder}): run it ({rerun})")
    if not (folder / PART).exists():
        raise RunError(f"shard {name} is unfinished ({_lines(folder / ITEMS)} judgments so far): "
                       f"relaunch it with resume=true ({rerun} resume=true)")
    part = read_json(folder / PART)
    records = read_items(folder)
    expected = [tuple(k) for k in part["expected"]]
    missing = sum(k not in records for k in expected)
    if missing or len(records) != len(expected):
        raise RunError(f"shard {name} is unfinished: {missing} of {len(expected)} judgments missing "
                       f"({len(records)} in {folder / ITEMS}); relaunch it with resume=true")
    strays = [u for u in part["outcome"]["sizes"] if shard_of(u, count) != index]
    if strays:
        raise RunError(f"shard {name} judged users of other shards (e.g. {strays[0]!r}); it is not a shard of "
                       f"this split")
    config = read_config(folder)
    return {"name": name, "folder": folder, "part": part, "config": config,
            "records": [records[k] for k in expected]}


def _check_same_run(first: dict[str, Any], shard: dict[str, Any]) -> None:
    a, b = _flat(first["config"]), _flat(shard["config"])
    keys = config_operational_keys(first["config"])
    differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k) and not is_operational(k, keys))
    if differ:
        shown = ", ".join(f"{k} ({a.get(k)!r} != {b.get(k)!r})" for k in differ[:3])
        raise RunError(f"shard {shard['name']} was run with a different config than shard {first['name']}: "
                       f"{shown}{' ...' if len(differ) > 3 else ''}")
    for key in ("users_digest", "n_users_total"):
        if first["part"][key] != shard["part"][key]:
            raise RunError(f"shard {shard['name']} split a different set of users than shard {first['name']} "
                           f"({key} {shard['part'][key]} != {first['part'][key]}): was the data changed?")


def load_shards(run_dir: Path) -> list[dict[str, Any]]:
    """Every shard of the run, checked: present, finished, same config, together covering every user."""
    count = shard_count(run_dir)
    shards = [_load_shard(run_dir, i, count) for i in range(count)]
    for shard in shards[1:]:
        _check_same_run(shards[0], shard)
    n_users = sum(len(s["part"]["outcome"]["sizes"]) for s in shards)
    if n_users != shards[0]["part"]["n_users_total"]:
        raise RunError(f"the shards of {run_dir} hold {n_users} users, the split has "
                       f"{shards[0]['part']['n_users_total']}")
    return shards


def _combine(shards: list[dict[str, Any]]) -> Outcome:
    parts = [s["part"]["outcome"] for s in shards]
    usage = sum_usage(*(part["model_usage"] for part in parts))
    return Outcome(labels=parts[0]["labels"],
                   sizes={u: tuple(v) for p in parts for u, v in p["sizes"].items()},
                   fit_seconds={u: v for p in parts for u, v in p["fit_seconds"].items()},
                   fit_calls={u: v for p in parts for u, v in p["fit_calls"].items()},
                   setup_seconds=parts[0]["setup_seconds"],  # one setup, shared by every shard
                   model_usage=usage)


def _shard_state(shards_dir: Path) -> dict[str, int]:
    """What the merge was made from: each shard's items file size."""
    return {p.name: (p / ITEMS).stat().st_size for p in sorted(shards_dir.iterdir())
            if SHARD_DIR.fullmatch(p.name) and (p / ITEMS).exists()}


def merge(run_dir: Path) -> RunResult:
    run_dir = Path(run_dir)
    shards = load_shards(run_dir)
    marker = run_dir / SHARDS / MERGED
    items_path = run_dir / ITEMS
    if items_path.exists() and not marker.exists():
        raise RunError(f"{items_path} holds the results of an unsharded run; merge into another run_name=")
    write_json(marker, {"shards": None})  # a merge began: one killed from here on is merged again, not refused
    records = sorted((r for s in shards for r in s["records"]), key=lambda r: r["user_id"])  # stable
    write_text(items_path, item_lines(records))

    config = {**shards[0]["config"], "shard": {"count": 1, "index": 0}}  # the unsharded run's config
    write_text(run_dir / CONFIG, OmegaConf.to_yaml(OmegaConf.create(config)))
    write_json(run_dir / PROVENANCE, {**provenance(), "merged_shards": {
        s["name"]: read_json(s["folder"] / PROVENANCE) for s in shards}})
    settings = parse_section(RunConfig, {k: config[k] for k in RunConfig.model_fields if k in config}, "")
    logger_cfg = parse_section(LoggerConfig, config.get("logger"), "logger")
    result = finish(run_dir, records, _combine(shards), settings, logger_cfg, config, items_path)
    write_json(marker, {"shards": _shard_state(run_dir / SHARDS)})
    return result


def merge_finished(runs_dir: Path) -> list[Path]:
    """Merge every sharded run below `runs_dir` whose shards changed since its last merge (end of a sweep).
    A run with a missing or unfinished shard is reported and left alone."""
    merged = []
    for shards_dir in sorted(Path(runs_dir).rglob(SHARDS)):
        if not shards_dir.is_dir() or not _shard_state(shards_dir):
            continue
        marker = shards_dir / MERGED
        try:
            if marker.exists() and read_json(marker).get("shards") == _shard_state(shards_dir):
                continue
            merge(shards_dir.parent)
            merged.append(shards_dir.parent)
        except PrbenchError as error:
            print(f"prbench-merge: {shards_dir.parent} not merged: {error}", file=sys.stderr)
    return merged


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_FOLDER", help="a run folder holding shards/")
    args = parser.parse_args(argv)
    with cli_errors("prbench-merge"):
        for run_dir in args.runs:
            try:
                merge(run_dir)
            except OSError as error:
                raise (disk_full(error, run_dir) or error) from None
            print(f"merged {run_dir}")


if __name__ == "__main__":
    main()
