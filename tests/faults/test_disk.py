"""A full disk (here: a file-size limit, so that a write fails with EFBIG as it would with ENOSPC) stops the run
with one line naming the folder (exit 1), leaves no temporary file, and keeps what was written: the re-run
with `resume=true` gives the numbers of a run that never failed. Temporary files of a process killed
mid-write are removed by the next one."""

import resource
import signal

import pytest

from tests.faults.servers import assert_same_results, last_line, prbench

MOCK = ("backend=mock", "split.max_users=3", "method=plain")  # 52 judgments, about 340 bytes each


def file_size_limit(max_bytes: int):
    """preexec_fn: no file of the child may grow past `max_bytes`; write() then fails with EFBIG (SIGXFSZ,
    which would kill the process instead, is ignored)."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return limit


def temporary_files(folder):
    return sorted(str(p) for p in folder.rglob(".*.tmp"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    results = tmp_path_factory.mktemp("reference")
    done = prbench(results, *MOCK, "run_name=plain")
    assert done.returncode == 0, done.stderr[-3000:]
    return results / "runs" / "plain"


@pytest.mark.parametrize("max_bytes, full", [(9_000, "items.jsonl"), (3_000, "provenance.json")],
                         ids=["items.jsonl", "a json file"])
def test_a_full_disk_stops_the_run_keeps_what_was_written_and_resumes(tmp_path, reference, max_bytes, full):
    run_dir = tmp_path / "runs" / "plain"
    failed = prbench(tmp_path, *MOCK, "run_name=plain", preexec_fn=file_size_limit(max_bytes))
    assert failed.returncode == 1, failed.stderr[-3000:]
    line = last_line(failed.stderr)
    assert line.startswith(f"prbench: error: cannot write the run folder {run_dir}: File too large"), line
    assert f"{run_dir / full})" in line and "resume=true" in line
    assert temporary_files(tmp_path) == []
    assert not (run_dir / "summary.json").exists()
    if full == "items.jsonl":
        assert 0 < (run_dir / full).stat().st_size <= max_bytes

    resumed = prbench(tmp_path, *MOCK, "run_name=plain", "resume=true")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_results(run_dir, reference)


def test_temporary_files_of_a_killed_process_are_removed(tmp_path, reference):
    """What `kill -9` during an atomic write leaves (`.NAME.pid.thread.tmp`) is removed by the next run."""
    run_dir = tmp_path / "runs" / "plain"
    done = prbench(tmp_path, *MOCK, "run_name=plain")
    assert done.returncode == 0, done.stderr[-3000:]
    (run_dir / ".summary.json.999999.1.tmp").write_text('{"half": ')
    (run_dir / "fit" / ".u1.json.999999.2.tmp").write_text("")
    resumed = prbench(tmp_path, *MOCK, "run_name=plain", "resume=true")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert temporary_files(tmp_path) == []
    assert_same_results(run_dir, reference)
