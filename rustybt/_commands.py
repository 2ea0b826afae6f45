"""What every RustyBT command line shares: the global options and how a parsed command runs.

``rustybt`` (:mod:`rustybt.cli`) and the standalone ``python -m rustybt.data.legacy.cli`` both build their parser
with :func:`add_global_options` and run it with :func:`run`, so neither imports the other (no cycle) and both
report errors the same way: a :class:`~rustybt.errors.RustyBTError` prints one line on stderr and exits 1,
Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from rustybt.errors import RustyBTError

__all__ = ["add_global_options", "run"]


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """``--root DIR`` (the catalog root) and ``-v`` / ``-vv`` (logging)."""
    parser.add_argument("--root", help="catalog root directory (default: RUSTYBT_DATA_DIR or the config file)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)")


def run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` with ``parser`` and call the chosen subcommand's ``func(args)``; the exit status."""
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except RustyBTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the previous ingestion stays live", file=sys.stderr)
        return 130
