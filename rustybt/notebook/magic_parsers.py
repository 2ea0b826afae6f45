"""The ``%rustybt`` subcommands' argument parsers (their help is what ``--help`` prints), the overview
``%rustybt --help`` prints, and tab completion of subcommands, options, bundles and symbols."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from IPython.core.magic_arguments import argument, magic_arguments

__all__ = ["complete", "overview"]


# --- argument parsers (one per subcommand; their help is what `--help` prints) -------------------------------


def _debug(func: Callable[..., Any]) -> Callable[..., Any]:
    return argument("--debug", action="store_true", help="show the full traceback of an error")(func)


@magic_arguments(name="rustybt bundles")
@_debug
def _bundles_parser() -> None:
    """List the catalog's bundles: frequency, assets, date range, rows, size, last ingest, quality.

    Python: ``Catalog(root)`` (its HTML view) or ``catalog.summary()``.
    """


@magic_arguments(name="rustybt ingest")
@argument("name", help="bundle name (sample, sample_crypto and sample_futures are registered on first use)")
@argument("--csvdir", default=None, help="register NAME as a zipline csvdir (DIR/daily/<SYM>.csv) first")
@argument("--calendar", default="XNYS", help="trading calendar for --csvdir (default XNYS; 24/7 for crypto)")
@argument("--mode", choices=("replace", "append"), default="replace", help="replace (default) or append")
@argument("--lenient", action="store_true", help="drop invalid rows instead of failing the ingest")
@argument("--progress", action="store_true", help="show a progress bar")
@_debug
def _ingest_parser() -> None:
    """Ingest bundle NAME atomically and show the ingestion with its validation report.

    Python: ``catalog.ingest(NAME, mode=..., validation=...)`` (``rustybt.sample.register_sample(catalog)``
    registers the sample bundles).
    """


@magic_arguments(name="rustybt info")
@argument("name", nargs="?", default=None, help="bundle name (default: RustyBTMagics.default_bundle)")
@_debug
def _info_parser() -> None:
    """Describe a bundle: source, calendar, range, per-asset coverage, ingestion history, adjustments, quality.

    Python: ``catalog.bundle(NAME)``.
    """


@magic_arguments(name="rustybt show")
@argument("name", metavar="NAME", help="bundle; with one word only, the symbol in RustyBTMagics.default_bundle")
@argument("symbol", metavar="SYMBOL", nargs="?", default=None, help="symbol of the asset")
@argument("--start", default=None, help="first day, YYYY-MM-DD (default: the asset's first bar)")
@argument("--end", default=None, help="last day, YYYY-MM-DD, inclusive (default: the asset's last bar)")
@argument("--frequency", default=None, help="bar resolution: stored or coarser (default: automatic)")
@argument("--max-candles", type=int, default=None, help="most candles for the automatic resolution")
@_debug
def _show_parser() -> None:
    """Candlestick chart with volume of SYMBOL in bundle NAME.

    Python: ``rustybt.notebook.plots.candlestick(catalog.bundle(NAME), SYMBOL, start, end, frequency)``.
    """


@magic_arguments(name="rustybt browse")
@argument("name", nargs="?", default=None, help="bundle to open (default: default_bundle, else the first)")
@_debug
def _browse_parser() -> None:
    """Open a BundleBrowser: bundle, symbol search, date range and resolution, chart, bars and validation.

    Python: ``rustybt.notebook.widgets.BundleBrowser(catalog, NAME)``.
    """


@magic_arguments(name="rustybt explore")
@argument("name", nargs="?", default=None, help="bundle to build on (default: default_bundle, else the first)")
@_debug
def _explore_parser() -> None:
    """Open a PipelineBuilder: pick built-in factors, combine, screen, run; explore and analyse the result.

    Python: ``rustybt.notebook.builder.PipelineBuilder(catalog, NAME)``; its code view shows the pipeline's Python.
    """


@magic_arguments(name="rustybt cache")
@argument("action", choices=("stats", "clear"), help="stats: show the counters; clear: empty the cache")
@_debug
def _cache_parser() -> None:
    """The session cache (a CacheManager shared by every DataPortal and pipeline run the magics create).

    Python: ``rustybt.notebook.magics.session_cache().stats`` / ``.clear()``.
    """


@magic_arguments(name="rustybt config")
@_debug
def _config_parser() -> None:
    """Show the settings: catalog root (and where it comes from), default bundle, cache and every RUSTYBT_* switch.

    Change them with ``%config RustyBTMagics.catalog_root = "/path"`` or ``%config RustyBTMagics.default_bundle
    = "sample"``.
    """


@magic_arguments(name="%rustybt pipeline")
@argument("--bundle", default=None, help="bundle to run on (default: RustyBTMagics.default_bundle)")
@argument("--start", default=None, help="first day, YYYY-MM-DD (default: the bundle's first session)")
@argument("--end", default=None, help="last day, YYYY-MM-DD (default: the bundle's last session)")
@argument("--out", default=None, help="store the result in this variable of the notebook")
@argument("--chunksize", type=int, default=None, help="run in chunks of N sessions (long ranges)")
@_debug
def _pipeline_parser() -> None:
    """Run the Pipeline the cell builds (a variable ``pipe``, or the cell's last expression).

    Names of rustybt.pipeline, .factors, .filters, .classifiers and .data are available in the cell. Python:
    ``run_pipeline(pipe, start, end, bundle=catalog.bundle(NAME))``.
    """


@magic_arguments(name="%%rustybt backtest")
@argument("--bundle", default=None, help="bundle to run on (default: RustyBTMagics.default_bundle)")
@argument("--start", required=True, help="first session, YYYY-MM-DD")
@argument("--end", required=True, help="last session, YYYY-MM-DD")
@argument("--capital-base", type=float, default=100_000.0, help="starting cash (default 100000)")
@argument("--data-frequency", default=None, help="daily, 1h or 1m (default: what the bundle stores)")
@argument("--out", default=None, help="store the BacktestResult in this variable of the notebook")
@_debug
def _backtest_parser() -> None:
    """Backtest the algorithm the cell defines: zipline functions (initialize, handle_data, ...) or a
    TradingAlgorithm subclass. Python: ``run_algorithm(...)`` or ``MyAlgo(bundle=..., start=..., end=...).run()``.
    """


_LINE_SUBCOMMANDS: dict[str, Callable[..., Any]] = {
    "bundles": _bundles_parser,
    "ingest": _ingest_parser,
    "info": _info_parser,
    "show": _show_parser,
    "browse": _browse_parser,
    "explore": _explore_parser,
    "cache": _cache_parser,
    "config": _config_parser,
}
_CELL_SUBCOMMANDS: dict[str, Callable[..., Any]] = {"pipeline": _pipeline_parser, "backtest": _backtest_parser}


def _first_line(func: Callable[..., Any]) -> str:
    desc = func.parser.description or ""
    return desc.strip().splitlines()[0] if desc.strip() else ""


def overview() -> str:
    """The text ``%rustybt --help`` prints."""
    lines = ["RustyBT magics. Usage: %rustybt SUBCOMMAND [ARGS]   (%rustybt SUBCOMMAND --help for details)", ""]
    for name, func in _LINE_SUBCOMMANDS.items():
        lines.append(f"  %rustybt {name:<9} {_first_line(func)}")
    lines.append(f"  %%rustybt pipeline  {_first_line(_pipeline_parser)}")
    lines.append(f"  %%rustybt backtest  {_first_line(_backtest_parser)}")
    lines += [
        "",
        "Settings: %config RustyBTMagics.catalog_root = '/path'   %config RustyBTMagics.default_bundle = 'sample'",
        "Errors show a short message; add --debug to any subcommand for the full traceback.",
    ]
    return "\n".join(lines)


_NEEDS_BUNDLE = {"info", "show", "browse", "explore", "ingest"}


def complete(line: str, catalog: Any = None) -> list[str]:
    """Completions for the last word of ``line`` (``%rustybt ...`` or ``%%rustybt ...``): subcommands, then the
    subcommand's ``--options``, bundle names (first argument, ``--bundle``) and the bundle's symbols (``show``)."""
    cell = line.lstrip().startswith("%%")
    words = line.split()
    if line.endswith((" ", "\t")) or not words:
        words.append("")
    table = _CELL_SUBCOMMANDS if cell else _LINE_SUBCOMMANDS
    if len(words) <= 2:
        return sorted(table) + ([] if cell else ["--help"])
    sub, current, before = words[1], words[-1], words[-2]
    if sub not in table:
        return []
    parser = table[sub].parser
    if current.startswith("-"):
        return sorted(opt for action in parser._actions for opt in action.option_strings if opt.startswith("--"))
    position = len([w for w in words[2:-1] if not w.startswith("-")])
    bundles = _bundle_names(catalog)
    if before == "--bundle" or (sub in _NEEDS_BUNDLE and position == 0 and not before.startswith("-")):
        return bundles
    if sub == "show" and position == 1 and words[2] in bundles:
        return _symbols(catalog, words[2])
    return []


def _bundle_names(catalog: Any) -> list[str]:
    try:
        return sorted(catalog.bundles()) if catalog is not None else []
    except Exception:  # a broken catalog completes nothing rather than raising into the completer
        return []


def _symbols(catalog: Any, name: str) -> list[str]:
    try:
        finder = catalog.bundle(name).asset_finder
        return sorted(a.symbol for a in finder.retrieve_all(finder.sids))
    except Exception:  # unknown or empty bundle: nothing to offer
        return []
