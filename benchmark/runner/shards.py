"""One run split over N jobs: `shard.count=N shard.index=i`.

A user belongs to shard `sha256(user_id) mod N` (stable across processes and machines, unlike Python's
salted `hash`), so a user's fit and judgments always land in the same shard. Shards of a run share its
folder without clobbering one another:

    <run>/shards/<i>-of-<N>/   this shard's items.jsonl, fit/, config.yaml, provenance.json; part.json when done
    <run>/shards/setup.json    the method's global `setup` state (e.g. a trained reward model's path)
    <run>/method/              files a method saves (the trained model), shared by every shard

Global `setup` runs once: the first shard to get there takes the lock on `shards/setup.lock`
(benchmark/locks.py: it works across the nodes of a cluster on NFS and Lustre), computes and writes the state;
the others wait on the lock, then read it. The kernel releases it when a job dies, so a killed first shard
leaves no stale lock (the next one to get the lock computes the state).
`prbench-merge <run>` (runner/merge.py) then writes the run's own items.jsonl, per_user.csv and summary.json.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmark.config import ShardConfig
from benchmark.errors import RunError
from benchmark.locks import file_lock
from benchmark.runner.finish import Outcome
from benchmark.runner.folder import RunFolder, differing_keys, result_config
from benchmark.runs import PART, SETUP_STATE, SHARDS, shard_name, write_json
from benchmark.splits import UserSplit


def shard_of(user_id: str, count: int) -> int:
    return int(hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:16], 16) % count


def users_digest(user_ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(user_ids)).encode("utf-8")).hexdigest()[:16]


def setup_key(config: dict[str, Any], data_digest: str) -> str:
    """What a global setup depends on: the config that binds a run folder (folder.result_config), and the data."""
    subset = {**result_config(config), "data_digest": data_digest}
    return hashlib.sha256(json.dumps(subset, sort_keys=True, default=str).encode()).hexdigest()[:16]


class ShardLayout:
    """Where one job of a run writes, and which users it judges. count=1 is the plain unsharded run."""

    def __init__(self, run_dir: Path, shard: ShardConfig):
        self.run_dir, self.shard = run_dir, shard
        self.sharded = shard.count > 1
        self.name = shard_name(shard.index, shard.count)
        self.folder = run_dir / SHARDS / self.name if self.sharded else run_dir

    def select(self, splits: list[UserSplit]) -> list[UserSplit]:
        if not self.sharded:
            return splits
        return [s for s in splits if shard_of(s.user_id, self.shard.count) == self.shard.index]

    def method_dir(self, folder: RunFolder) -> Path:
        return self.run_dir / "method" if self.sharded else folder.method_dir

    def check_setup(self, config: dict[str, Any], data_digest: str) -> None:
        """Refuse, before anything is written, a shard whose run's setup was computed from another config or
        data (the config that binds a run folder: folder.result_config)."""
        path = self.run_dir / SHARDS / SETUP_STATE
        if not self.sharded or not path.exists():
            return
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored["setup_key"] == setup_key(config, data_digest):
            return
        changed = differing_keys(stored.get("config"), result_config(config)) if "config" in stored else []
        why = f"{', '.join(changed)} changed" if changed else "the config or the data changed"
        raise RunError(f"shard {self.name}: the run's method setup ({path}) was computed by shards with another "
                       f"config ({why}); run this shard with theirs, or give this run another run_name=")

    def setup(self, folder: RunFolder, config: dict[str, Any], data_digest: str,
              compute: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
        """The method's global state, computed once per run (not once per shard), bound to config and data."""
        if not self.sharded:
            return folder.shared_state(compute)
        path = self.run_dir / SHARDS / SETUP_STATE
        key = setup_key(config, data_digest)
        with file_lock(path.with_suffix(".lock"), f"shard {self.name}: waiting for another shard's method setup",
                       across_hosts=True):
            if path.exists():
                self.check_setup(config, data_digest)  # a shard may have written it since the check
                stored = json.loads(path.read_text(encoding="utf-8"))
                return stored["state"], stored["seconds"]
            start = time.perf_counter()
            state = compute()
            seconds = time.perf_counter() - start
            write_json(path, {"state": state, "seconds": seconds, "setup_key": key, "by_shard": self.name,
                              "config": result_config(config)})
            return state, seconds

    def write_part(self, folder: RunFolder, outcome: Outcome, expected: list[tuple[str, str]],
                   all_users: list[str]) -> None:
        """The shard is done: what the merge needs besides its items (written last: its presence = complete)."""
        write_json(folder.path / PART, {
            "shard": self.name, "outcome": asdict(outcome), "expected": [list(k) for k in expected],
            "n_users_total": len(all_users), "users_digest": users_digest(all_users)})
        print(f"[prbench] shard {self.name} done ({len(outcome.sizes)} users); when every shard is done: "
              f"prbench-merge {self.run_dir}")
