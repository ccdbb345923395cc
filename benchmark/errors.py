"""Errors that tell the user exactly what to fix: which file, which row, which field."""

from __future__ import annotations


class PrbenchError(Exception):
    """Base class for every error prbench raises on purpose."""


class DataError(PrbenchError):
    """Bad input data, located by source (file or hub id), row and field."""

    def __init__(self, message: str, *, source: str | None = None, row: object = None,
                 field: str | None = None):
        self.source, self.row, self.field = source, row, field
        where = ", ".join(
            part for part in (
                f"file {source}" if source else "",
                f"row {row}" if row is not None else "",
                f"field '{field}'" if field else "",
            ) if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(PrbenchError):
    """A config value that is missing or of the wrong type, named by its dotted key."""


class ServerUnreachable(PrbenchError):
    """A model server that refused or dropped every connection so far: the run stops (exit code 1)."""

    exit_code = 1


class RunError(PrbenchError):
    """A run folder that cannot be used as asked (e.g. results exist and resume is off)."""


def utf8(data: bytes, source: str) -> str:
    """`data` decoded; bytes that are not UTF-8 are a DataError naming the file, the line and the byte in it
    (never replaced)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, start = data.count(b"\n", 0, error.start) + 1, data.rfind(b"\n", 0, error.start) + 1
        raise DataError(f"not UTF-8 text (line {line}, byte {error.start - start + 1})", source=source) from None


class RequestsFailed(PrbenchError):
    """Too many requests to the model server failed (the run's failure budget), or a fit had a failed request:
    the run stops without tables, keeping what it judged; `resume=true` sends the failed requests again."""

    exit_code = 1


class CheckFailed(PrbenchError):
    """A check the user asked for failed (prbench-regress's gate): exit code 1."""

    exit_code = 1


class DiskFull(PrbenchError):
    """The run folder's disk is full, or a file reached the size limit (ENOSPC / EFBIG / EDQUOT)."""

    exit_code = 1


class Interrupted(PrbenchError):
    """The run was stopped by a signal after saving what it had; exit code 128 + the signal's number."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum


class Signalled(BaseException):
    """Raised in the main thread by SIGINT / SIGTERM (benchmark/runner/control.py) so that a run can save and
    stop; a BaseException, like KeyboardInterrupt, so no `except Exception` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
