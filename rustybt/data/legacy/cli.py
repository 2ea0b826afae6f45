"""The ``rustybt migrate`` command: copy a zipline bundle into the catalog.

``add_migrate_command(subparsers)`` adds the subcommand to ``rustybt``'s parser (``rustybt/cli.py`` wires it in);
:func:`main` runs it standalone (``python -m rustybt.data.legacy.cli migrate SOURCE --to NAME``), with the same
global options and error handling as ``rustybt`` (both come from :mod:`rustybt._commands`, so neither command line
imports the other): a :class:`~rustybt.errors.RustyBTError` prints one line on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from rustybt._commands import add_global_options, run

__all__ = ["add_migrate_command", "cmd_migrate", "main"]


def add_migrate_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``migrate SOURCE --to NAME [--overwrite] [--no-validate] [--compression zstd|snappy]`` to
    ``subparsers`` (the object ``ArgumentParser.add_subparsers`` returns); returns the new parser."""
    parser = subparsers.add_parser(
        "migrate",
        help="copy a zipline bundle (bcolz or HDF5) into a Parquet bundle and check every value",
        description=(
            "Migrate a zipline ingestion directory, zipline bundle directory (latest ingestion) or HDF5 daily bar "
            "file into the catalog as bundle NAME, atomically, then compare every value with the source."
        ),
    )
    parser.add_argument("source", metavar="SOURCE", help="zipline ingestion or bundle directory, or an HDF5 file")
    parser.add_argument("--to", dest="name", required=True, metavar="NAME", help="name of the RustyBT bundle")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing bundle NAME")
    parser.add_argument("--no-validate", action="store_true", help="skip the value-by-value comparison")
    parser.add_argument("--compression", choices=("zstd", "snappy"), default=None, help="Parquet compression")
    parser.add_argument("--frequency", choices=("daily", "minute"), default="daily", help="bar store to migrate")
    parser.add_argument("--assets-db", default=None, help="asset DB (default: the one in/beside SOURCE)")
    parser.add_argument("--adjustments-db", default=None, help="adjustment DB (default: the one in/beside SOURCE)")
    parser.add_argument("--country-code", default=None, help="country group of a multi-country HDF5 file")
    parser.add_argument("--calendar", default=None, help="calendar of an HDF5 file (default XNYS)")
    parser.add_argument(
        "--lenient", action="store_true", help="drop bars that fail validation (e.g. high < low) instead of failing"
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=cmd_migrate)
    return parser


def cmd_migrate(args: argparse.Namespace) -> int:
    """Run the migration described by ``args``; print the report. Exit status 0 when it validated (or was not
    asked to)."""
    from rustybt.data.catalog import Catalog
    from rustybt.data.legacy.migrate import migrate

    catalog = Catalog(root=getattr(args, "root", None))
    report = migrate(
        catalog,
        args.source,
        args.name,
        compression=args.compression,
        validate=not args.no_validate,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        frequency=args.frequency,
        assets_db=args.assets_db,
        adjustments_db=args.adjustments_db,
        country_code=args.country_code,
        calendar=args.calendar,
        validation="lenient" if args.lenient else "strict",
    )
    print(repr(report))
    return 0 if report.ok or not report.validated else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``[--root DIR] [-v] migrate SOURCE --to NAME ...``."""
    parser = argparse.ArgumentParser(prog="python -m rustybt.data.legacy.cli", description="Migrate zipline bundles.")
    add_global_options(parser)
    add_migrate_command(parser.add_subparsers(dest="command", required=True))
    return run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
