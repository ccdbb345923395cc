"""File locks: one exclusive `flock` per lock file, released by closing it, and by the kernel when the process
dies (kill -9 included), so a crash never leaves a stale lock. Used for one writer per run folder, one method
setup per sharded run (its shards on a cluster: Linux's NFS client, v4 included, maps flock to whole-file POSIX
locks; Lustre needs its `flock` mount option for either kind) and one opener of a fresh request cache at a time.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def try_lock(path: Path) -> int | None:
    """The lock on `path` (created if missing) without waiting: its descriptor, to `os.close` to release it, or
    None while another holds it. An OSError if the file cannot be opened."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextmanager
def file_lock(path: Path, waiting: str | None = None, *, optional: bool = False) -> Iterator[None]:
    """The lock on `path` (created if missing) for the `with` block, waiting for it; `waiting` is printed first
    when another holds it. `optional`: a lock file that cannot be made (a read-only folder) means no lock."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = try_lock(path)
    except OSError:
        if not optional:
            raise
        yield
        return
    try:
        if fd is None:
            if waiting:
                print(f"[prbench] {waiting}", flush=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock
