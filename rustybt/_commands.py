"""What every RustyBT command line shares: the global options and how a parsed command runs.

``rustybt`` (:mod:`rustybt.cli`) and the standalone ``python -m rustybt.data.legacy.cli`` both build their parser
with :func:`add_global_options` and run it with :func:`run`, so neither imports the other (no cycle) and both
report errors the same way: one line on stderr, exit status 2 for a mistake in the request, 1 for a failed
operation, 130 for Ctrl-C (see :func:`run`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence

from rustybt.errors import (
    CalendarError,
    ConfigError,
    InvalidArgument,
    InvalidBundleName,
    NoDataForRange,
    NoDataOnDate,
    ResolutionError,
    RustyBTError,
)

__all__ = ["USER_ERRORS", "add_global_options", "positive_int", "run"]

log = logging.getLogger(__name__)


def positive_int(text: str) -> int:
    """An argparse ``type``: an integer >= 1 (``--workers``, ``--chunksize``, ``--keep-last``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """``--root DIR`` (the catalog root) and ``-v`` / ``-vv`` (logging)."""
    parser.add_argument("--root", help="catalog root directory (default: RUSTYBT_DATA_DIR or the config file)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)")


#: errors in what the user asked for (exit status 2, like argparse's own); other RustyBT errors are failed
#: operations (exit status 1)
USER_ERRORS: tuple[type[BaseException], ...] = (
    InvalidArgument,
    InvalidBundleName,
    ConfigError,
    CalendarError,
    ResolutionError,
    NoDataOnDate,
    NoDataForRange,
)
#: a path the user gave that cannot be used
_PATH_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError, PermissionError)


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` with ``parser`` and call the chosen subcommand's ``func(args)``; the exit status.

    No traceback for a mistake: one ``error: ...`` line on stderr and exit status 2 for a mistake in the request
    (:data:`USER_ERRORS`, a path that cannot be used, a value that does not parse), 1 for an operation that failed
    (any other :class:`~rustybt.errors.RustyBTError`, a damaged ``catalog.sqlite``), 130 for Ctrl-C. ``-vv`` logs
    the traceback too. A closed output pipe (``rustybt info x | head -1``) ends quietly.
    """
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        return _fail(exc, 2)
    except RustyBTError as exc:
        return _fail(exc, 1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away: point stdout at /dev/null so the exit flush does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except sqlite3.DatabaseError as exc:
        return _fail(f"the catalog database is damaged or not SQLite ({exc}); restore catalog.sqlite from a copy", 1)
    except _PATH_ERRORS as exc:
        return _fail(exc, 2)
    except OSError as exc:
        return _fail(exc, 1)
    except (ValueError, TypeError) as exc:  # a value that does not parse (a date, a number), named by the message
        return _fail(exc, 2)


def _fail(exc: BaseException | str, status: int) -> int:
    log.debug("command failed", exc_info=isinstance(exc, BaseException))
    print(f"error: {exc}", file=sys.stderr)
    return status
