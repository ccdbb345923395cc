"""What every console script shares: `main(argv=None)` (argv: the arguments after the program's name, None for
the command line), and the way it ends.

- **exit 2**, bad input: a missing or unreadable file or folder, a bad config or option. One line on stderr,
  `<program>: error: <what, naming the file>`, and no traceback;
- **exit 1**, a check that failed or a run that could not finish: `prbench-regress`'s gate (CheckFailed), a run
  whose requests failed or whose disk filled up (the error's `exit_code`);
- **128 + N**, stopped by signal N after saving what it had.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from benchmark.errors import Interrupted, PrbenchError

BAD_INPUT = 2


@contextmanager
def cli_errors(program: str) -> Iterator[None]:
    """A PrbenchError (or an OSError: a file named on the command line) becomes one line on stderr and its exit
    code."""
    try:
        yield
    except PrbenchError as error:
        label = "" if isinstance(error, Interrupted) else "error: "
        print(f"{program}: {label}{error}", file=sys.stderr)
        raise SystemExit(getattr(error, "exit_code", BAD_INPUT)) from None
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"{program}: error: {where}{error.strerror or error}", file=sys.stderr)
        raise SystemExit(BAD_INPUT) from None
