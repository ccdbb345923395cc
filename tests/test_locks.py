"""benchmark.locks, both kinds (`flock` per open file; POSIX `lockf`, kept across hosts, for the sharded setup):
a lock another process holds is refused without waiting, and is free again once that process exits."""

import os
import subprocess
import sys

import pytest

from benchmark.locks import file_lock, try_lock

HOLDER = """import sys
from pathlib import Path
from benchmark.locks import try_lock
fd = try_lock(Path(sys.argv[1]), across_hosts=sys.argv[2] == "1")
print("held" if fd is not None else "busy", flush=True)
sys.stdin.read()  # holds the lock until its stdin closes
"""


@pytest.mark.parametrize("across_hosts", [False, True])
def test_a_lock_another_process_holds_is_refused_until_it_exits(tmp_path, across_hosts):
    path = tmp_path / "setup.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(int(across_hosts))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert try_lock(path, across_hosts=across_hosts) is None
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    fd = try_lock(path, across_hosts=across_hosts)
    assert fd is not None
    os.close(fd)


def test_a_second_opener_in_the_same_process_is_refused(tmp_path):
    """flock is held per open file: two run folders or cache openers in one process exclude each other."""
    path = tmp_path / ".lock"
    with file_lock(path):
        assert try_lock(path) is None
    fd = try_lock(path)
    assert fd is not None
    os.close(fd)


def test_an_optional_lock_that_cannot_be_made_is_no_lock(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    with file_lock(blocked / "x.lock", optional=True):  # its folder cannot be made: a file is in the way
        pass
    with pytest.raises(OSError), file_lock(blocked / "x.lock"):
        pass
