"""File locks: one exclusive lock per lock file, released by closing it, and by the kernel when the process
dies (kill -9 included), so a crash never leaves a stale lock. Used for one writer per run folder and one opener
of a fresh request cache at a time (`flock`: held per open file, so two openers in one process exclude each
other too), and one method setup per sharded run (`across_hosts=True`: a POSIX `lockf` lock, the kind cluster
filesystems (NFS, GPFS, Lustre with its `flock` mount option) keep across hosts, which its shards run on).
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HELD = (errno.EAGAIN, errno.EACCES)  # what a lock attempt that must wait fails with (lockf may give either)


def _lock(fd: int, *, wait: bool, across_hosts: bool) -> None:
    (fcntl.lockf if across_hosts else fcntl.flock)(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))


def try_lock(path: Path, *, across_hosts: bool = False) -> int | None:
    """The lock on `path` (created if missing) without waiting: its descriptor, to `os.close` to release it, or
    None while another holds it. An OSError if the file cannot be opened or locked."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock(fd, wait=False, across_hosts=across_hosts)
    except OSError as error:
        os.close(fd)
        if error.errno in HELD:
            return None
        raise
    return fd


@contextmanager
def file_lock(path: Path, waiting: str | None = None, *, optional: bool = False,
              across_hosts: bool = False) -> Iterator[None]:
    """The lock on `path` (created if missing) for the `with` block, waiting for it; `waiting` is printed first
    when another holds it. `optional`: a lock file that cannot be made or locked (a read-only folder, a
    filesystem without locks) means no lock. `across_hosts`: held across hosts (see the module docstring)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = try_lock(path, across_hosts=across_hosts)
        if fd is None:
            if waiting:
                print(f"[prbench] {waiting}", flush=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                _lock(fd, wait=True, across_hosts=across_hosts)
            except OSError:
                os.close(fd)
                raise
    except OSError:
        if not optional:
            raise
        yield
        return
    try:
        yield
    finally:
        os.close(fd)  # releases the lock
