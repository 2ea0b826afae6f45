"""The ``rustybt`` command line: bundles, ingest, info, verify, clean, pipeline, run, migrate, config, demo.

Every subcommand calls the public Python API; errors print one readable message on stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from rustybt._commands import add_global_options, positive_int, run
from rustybt._utils import format_bytes, to_utc
from rustybt.errors import BundleNotFound

__all__ = ["main"]


def _catalog(args: argparse.Namespace):
    from rustybt.data.catalog import Catalog

    return Catalog(root=args.root)


def _print_table(frame: pl.DataFrame) -> None:
    with pl.Config(tbl_rows=200, tbl_cols=20, tbl_hide_dataframe_shape=True, fmt_str_lengths=40, tbl_width_chars=160):
        print(frame)


def cmd_bundles(args: argparse.Namespace) -> int:
    summary = _catalog(args).summary()
    if summary.height == 0:
        print("no bundles registered; try `rustybt demo` or `rustybt ingest NAME --csvdir DIR`")
        return 0
    _print_table(
        summary.select(
            "bundle",
            "adapter",
            "calendar",
            "resolution",
            "assets",
            "rows",
            "start",
            "end",
            "last_ingest",
            "warnings",
        ).with_columns(pl.col("start").str.slice(0, 10), pl.col("end").str.slice(0, 10))
    )
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from rustybt.data.adapters.csv import CSVAdapter

    catalog = _catalog(args)
    adapter = None
    if args.csvdir:
        adapter = CSVAdapter.from_csvdir(args.csvdir)
    elif args.csv:
        adapter = CSVAdapter([Path(p) for p in args.csv], resolution=args.resolution or "1d")
    registered = args.name in catalog
    previous = catalog.store.get_bundle(args.name) if registered else None
    changed = False
    if adapter is not None:
        if previous is None or previous.adapter_params != adapter.to_config():
            catalog.register(
                args.name,
                adapter,
                calendar=args.calendar,
                resolution=args.resolution,
                validation="lenient" if args.lenient else "strict",
                overwrite=registered,
            )
            changed = True
    elif not registered:
        raise BundleNotFound(
            f"bundle {args.name!r} is not registered; give its source the first time, e.g. "
            f"`rustybt ingest {args.name} --csvdir DIR` or `--csv FILE ...`"
        )
    try:
        result = catalog.ingest(
            args.name,
            mode=args.mode,
            n_workers=args.workers,
            progress=not args.no_progress,
            validation="lenient" if args.lenient else None,
        )
    except BaseException as exc:
        if changed:  # the new registration stands or falls with its ingestion
            _restore_registration(catalog, args.name, previous)
        if isinstance(exc, KeyboardInterrupt):
            live = catalog.store.get_bundle(args.name).live_ingestion if args.name in catalog else None
            before = previous.live_ingestion if previous is not None else None
            if live is not None and live != before:
                print(f"interrupted after the commit: ingestion {live} is live", file=sys.stderr)
            else:
                kept = f"ingestion {before} stays live" if before else "the bundle has no ingestion"
                print(f"interrupted; nothing was changed ({kept})", file=sys.stderr)
            return 130
        raise
    print(repr(result))
    if result.report.warning_count:
        print(f"validation warnings by rule: {json.dumps(result.report.counts(), sort_keys=True)}")
    return 0


def _restore_registration(catalog, name: str, previous) -> None:
    """Put back the registration ``previous`` (None: the bundle was new; forget it unless an ingestion of it was
    committed after all)."""
    if previous is not None:
        catalog.store.add_bundle(previous, overwrite=True)
    elif catalog.store.get_bundle(name).live_ingestion is None:
        catalog.unregister(name, delete_data=True)


def cmd_info(args: argparse.Namespace) -> int:
    bundle = _catalog(args).bundle(args.name)
    info = bundle.summary()
    print(f"bundle      {info['name']}  (ingestion {info['ingestion']}, {info['ingestions']} in history)")
    print(f"source      {info['source']['adapter']} {json.dumps(info['source']['params'])}")
    print(f"calendar    {info['calendar']}   resolution {info['resolution']}")
    print(f"range       {info['start']} .. {info['end']}")
    print(f"size        {info['rows']:,} rows, {info['assets']} assets, {format_bytes(info['size_bytes'])} on disk")
    q = info["quality"]
    print(f"quality     {q['errors']} errors, {q['warnings']} warnings, {q['rows_dropped']} rows dropped")
    for rule, count in sorted(q["by_rule"].items()):
        print(f"              {rule}: {count}")
    adjustments = ", ".join(f"{n} {kind}s" for kind, n in info["adjustments"]) or "none"
    print(f"adjustments {adjustments}")
    _print_table(bundle.date_ranges.drop("asset_class"))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    report = _catalog(args).verify(args.name, ingestion=args.ingestion)
    print(repr(report))
    return 0 if report.ok else 1


def cmd_clean(args: argparse.Namespace) -> int:
    # without --keep-last/--before/--after: only what interrupted ingestions left behind
    removed = _catalog(args).clean(args.name, keep_last=args.keep_last, before=args.before, after=args.after)
    print(f"removed {len(removed)} ingestion(s)" + (": " + ", ".join(removed) if removed else ""))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from rustybt.algorithm.script import run_file

    result = run_file(
        args.file,
        bundle=args.bundle,
        start=args.start,
        end=args.end,
        capital_base=args.capital_base,
        data_frequency=args.data_frequency,
        catalog=_catalog(args),
        out=args.out,
    )
    print(repr(result))
    if args.out:
        print(f"wrote {len(result.perf):,} sessions to {args.out}")
    return 0


def cmd_pipeline(args: argparse.Namespace) -> int:
    import runpy

    import rustybt.pipeline as pipeline_api
    from rustybt.errors import InvalidArgument
    from rustybt.pipeline import Pipeline, run_chunked_pipeline, run_pipeline

    path = Path(args.file)
    if not path.exists():
        raise InvalidArgument(f"pipeline file {path} does not exist")
    if args.out and not Path(args.out).expanduser().parent.is_dir():
        raise InvalidArgument(f"--out {args.out}: folder {Path(args.out).expanduser().parent} does not exist")
    start, end = to_utc(args.start, "--start"), to_utc(args.end, "--end")
    if end < start:
        raise InvalidArgument(f"--end {args.end} is before --start {args.start}")
    namespace = runpy.run_path(str(path), init_globals={"pipeline": pipeline_api})
    pipe = namespace.get("pipe")
    if not isinstance(pipe, Pipeline):
        found = [v for v in namespace.values() if isinstance(v, Pipeline)]
        if not found:
            raise InvalidArgument(f"{path} defines no Pipeline; assign one to a variable named `pipe`")
        pipe = found[-1]
    bundle = _catalog(args).bundle(args.bundle)
    if args.chunksize:
        result = run_chunked_pipeline(pipe, args.start, args.end, args.chunksize, bundle=bundle)
    else:
        result = run_pipeline(pipe, args.start, args.end, bundle=bundle)
    if args.out:
        from rustybt.pipeline import to_polars

        to_polars(result).write_parquet(args.out)
        print(f"wrote {len(result):,} rows x {len(result.columns)} columns to {args.out}")
    with pl.Config(tbl_rows=20):
        print(result.head(args.head).to_string())
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from rustybt.config import describe_config, describe_switches

    for label, value in describe_config(root=args.root):
        print(f"{label:<16} {value}")
    print("\nruntime switches (environment; on/off values: 1/true/yes/on, 0/false/no/off):")
    for name, value, source, what in describe_switches():
        print(f"  {name:<23} {value:<9} {source:<12} {what}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from rustybt.data.catalog import Catalog
    from rustybt.sample import ingest_sample

    with tempfile.TemporaryDirectory(prefix="rustybt-demo-") as tmp:
        keep = bool(args.root or args.keep)
        catalog = Catalog(root=args.root) if keep else Catalog(root=Path(tmp))
        root = catalog.root
        print(f"RustyBT demo: ingesting the shipped sample data into {root}")
        results = ingest_sample(catalog, progress=not args.no_progress)
        for result in results.values():
            print(f"  {result!r}")
        print()
        _print_table(catalog.summary().select("bundle", "calendar", "resolution", "assets", "rows", "start", "end"))
        bundle = catalog.bundle("sample")
        print(f"\n{bundle!r}")
        print("\nAAPL around its 7:1 split (raw bars, as traded):")
        _print_table(bundle.bars("AAPL", start="2014-06-04", end="2014-06-11"))
        print("\nadjustments recorded for AAPL:")
        _print_table(bundle.adjustments().filter(pl.col("symbol") == "AAPL").tail(4))
        print("\nweekly bars resampled on the fly from daily (MSFT, Jan 2014):")
        _print_table(bundle.bars("MSFT", start="2014-01-01", end="2014-01-31", frequency="1w"))
        q = bundle.quality
        print(f"\nvalidation: {q['errors']} errors, {q['warnings']} warnings; by rule: {q['by_rule']}")
        report = catalog.verify("sample")
        print(f"verify: {report.files_checked} files, {'all checksums match' if report.ok else report.problems}")
        _demo_extras(catalog)
        if keep:
            print(f"\nThe sample bundles stay in {root}: try `rustybt info sample`.")
        else:
            configured = Catalog(root=None).root
            print(
                f"\nThe demo used a temporary catalog, removed now. `rustybt demo --keep` ingests the sample bundles "
                f"into your catalog ({configured}) and keeps them, so that `rustybt info sample` works."
            )
    return 0


def _demo_extras(catalog) -> None:
    """The pipeline and the DataPortal on the sample bundle."""
    from rustybt.data.readers import DataPortal
    from rustybt.pipeline import Pipeline, run_pipeline
    from rustybt.pipeline.data import EquityPricing
    from rustybt.pipeline.factors import RSI, Returns, SimpleMovingAverage

    portal = DataPortal.from_catalog(catalog, "sample")
    print("\nDataPortal: AAPL closes for the 5 sessions to 2014-06-10, adjusted as of 2014-06-10:")
    print(portal.get_history_window(["AAPL"], "2014-06-10", 5, "1d", "close").round(4).to_string())
    returns = Returns(window_length=20)
    pipe = Pipeline(
        columns={
            "sma_20": SimpleMovingAverage(inputs=[EquityPricing.close], window_length=20),
            "rsi": RSI(),
            "returns_20": returns,
            "rank": returns.rank(ascending=False),
        },
        screen=returns.top(5),
    )
    result = run_pipeline(pipe, "2014-12-01", "2014-12-31", bundle=catalog.bundle("sample"), progress=False)
    print("\nPipeline: top 5 assets by 20-day returns, last session of 2014:")
    print(result.loc[result.index.get_level_values(0).max()].sort_values("rank").round(4).to_string())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rustybt", description="RustyBT data catalog and research tools.")
    add_global_options(parser)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("bundles", help="list bundles").set_defaults(func=cmd_bundles)

    ingest = sub.add_parser("ingest", help="ingest a bundle (registers it on first use)")
    ingest.add_argument("name")
    source = ingest.add_mutually_exclusive_group()
    source.add_argument("--csvdir", help="zipline csvdir layout: DIR/daily/<SYM>.csv")
    source.add_argument("--csv", nargs="+", metavar="FILE", help="CSV files, one symbol per file (name = symbol)")
    ingest.add_argument("--calendar", default="XNYS", help="exchange_calendars name (default XNYS; 24/7 for crypto)")
    ingest.add_argument("--resolution", default=None, help="bar resolution of the files (default 1d)")
    ingest.add_argument("--mode", choices=("replace", "append"), default="replace")
    ingest.add_argument("--lenient", action="store_true", help="drop invalid rows instead of failing")
    ingest.add_argument("--workers", type=positive_int, default=None, help="parallel workers for parsing")
    ingest.add_argument("--no-progress", action="store_true")
    ingest.set_defaults(func=cmd_ingest)

    info = sub.add_parser("info", help="describe a bundle")
    info.add_argument("name")
    info.set_defaults(func=cmd_info)

    verify = sub.add_parser("verify", help="recompute checksums of a bundle's files")
    verify.add_argument("name")
    verify.add_argument("--ingestion", default=None, help="ingestion id (default: the live one)")
    verify.set_defaults(func=cmd_verify)

    clean = sub.add_parser("clean", help="remove old ingestions and what interrupted ingestions left behind")
    clean.add_argument("name")
    clean.add_argument("--keep-last", type=positive_int, default=None)
    clean.add_argument("--before", default=None, help="remove ingestions created before this time")
    clean.add_argument("--after", default=None, help="remove ingestions created after this time")
    clean.set_defaults(func=cmd_clean)

    pipe = sub.add_parser("pipeline", help="run a pipeline defined in a Python file (variable `pipe`)")
    pipe.add_argument("file")
    pipe.add_argument("--bundle", required=True)
    pipe.add_argument("--start", required=True)
    pipe.add_argument("--end", required=True)
    pipe.add_argument("--out", default=None, help="write the result as Parquet")
    pipe.add_argument("--chunksize", type=positive_int, default=None)
    pipe.add_argument("--head", type=int, default=20, help="rows to print")
    pipe.set_defaults(func=cmd_pipeline)

    backtest = sub.add_parser("run", help="backtest an algorithm file (zipline functions or a TradingAlgorithm)")
    backtest.add_argument("file")
    backtest.add_argument("--bundle", required=True)
    backtest.add_argument("--start", required=True)
    backtest.add_argument("--end", required=True)
    backtest.add_argument("--capital-base", type=float, default=100_000.0)
    backtest.add_argument("--data-frequency", default=None, help="daily, 1h, 1m (default: the bundle's)")
    backtest.add_argument("--out", default=None, help="write the perf frame as Parquet")
    backtest.set_defaults(func=cmd_run)

    from rustybt.data.legacy.cli import add_migrate_command

    add_migrate_command(sub)

    sub.add_parser("config", help="show the configuration and every runtime switch with its source").set_defaults(
        func=cmd_config
    )

    demo = sub.add_parser("demo", help="ingest the shipped sample data and show what RustyBT does")
    demo.add_argument("--no-progress", action="store_true")
    demo.add_argument(
        "--keep", action="store_true", help="ingest into the configured catalog and keep the sample bundles there"
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rustybt`` command."""
    return run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
