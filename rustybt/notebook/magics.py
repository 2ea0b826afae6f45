"""The ``%rustybt`` line magic and the ``%%rustybt pipeline`` / ``%%rustybt backtest`` cell magics.

Load them with ``%load_ext rustybt``. Every subcommand is a thin call into the public API (the call is shown in
each subcommand's help), so anything a magic does can be done by hand:

=========================================  ==================================================================
``%rustybt bundles``                       ``Catalog(root)`` (its HTML view lists the bundles)
``%rustybt ingest NAME``                   ``catalog.ingest(NAME)`` (sample bundles are registered first)
``%rustybt info NAME``                     ``catalog.bundle(NAME)``
``%rustybt show NAME SYMBOL``              ``plots.candlestick(catalog.bundle(NAME), SYMBOL, ...)``
``%rustybt browse [NAME]``                 ``widgets.BundleBrowser(catalog, NAME)``
``%rustybt cache stats|clear``             ``CacheManager.stats`` / ``CacheManager.clear()``
``%rustybt config``                        the settings below, the catalog root's source, every RUSTYBT_* switch
``%%rustybt pipeline --bundle ...``        ``run_pipeline(pipe, start, end, bundle=...)``
``%%rustybt backtest --start --end ...``   ``run_algorithm(...)`` / ``MyAlgo(bundle=..., ...).run()``
=========================================  ==================================================================

Settings (traitlets, ``%config RustyBTMagics.<name> = value``): ``catalog_root`` (default: empty, meaning
``RUSTYBT_DATA_DIR``, else the config file, else ``~/.rustybt/data``), ``default_bundle`` (used when a subcommand's
NAME is left out), ``show_progress`` and ``max_candles``.

Errors are shown as one readable paragraph saying what to do (an IPython ``UsageError``: the cell fails, no
traceback); add ``--debug`` to any subcommand to get the full traceback instead.
"""

from __future__ import annotations

import ast
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Int, Unicode, observe

from rustybt import _html, errors

__all__ = ["RustyBTMagics", "load_ipython_extension", "unload_ipython_extension"]

_CELL_NAME = "<rustybt pipeline cell>"
_MAX_MESSAGE = 700


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


# --- session cache ---------------------------------------------------------------------------------------

_SESSION_CACHE: Any = None


def session_cache() -> Any:
    """The CacheManager shared by the DataPortals and pipeline runs the magics and widgets create."""
    global _SESSION_CACHE
    if _SESSION_CACHE is None:
        from rustybt.data.cache import CacheManager

        _SESSION_CACHE = CacheManager()
    return _SESSION_CACHE


# --- errors ----------------------------------------------------------------------------------------------

_HINTS: tuple[tuple[type[BaseException], str], ...] = (
    (errors.BundleNotFound, "List bundles with `%rustybt bundles`; `%rustybt ingest sample` creates the sample one."),
    (errors.SymbolNotFound, "`%rustybt info NAME` lists the bundle's symbols."),
    (errors.ValidationError, "Fix the source, or ingest with --lenient to drop the bad rows and keep the rest."),
    (errors.ResolutionError, "Ask for the bundle's stored resolution or a coarser one (1d, 1w, 1M)."),
)


def explain(subcommand: str, exc: BaseException, magic: str = "%rustybt") -> str:
    """One paragraph for a failed subcommand: the error, what to do, and how to see the traceback."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, errors.RustyBTError | UsageError):
        text = f"{type(exc).__name__}: {text}"
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1].rstrip() + "…"
    hint = next((h for cls, h in _HINTS if isinstance(exc, cls)), "")
    hint = f" {hint}" if hint and hint not in text else ""
    return f"{magic} {subcommand}: {_sentence(text)}{hint} (Add --debug for the full traceback.)"


# --- the magics ------------------------------------------------------------------------------------------


@magics_class
class RustyBTMagics(Magics):
    """``%rustybt`` (line) and ``%%rustybt`` (cell) magics. See the module docstring."""

    catalog_root = Unicode(
        "",
        help="Catalog root directory. Empty: RUSTYBT_DATA_DIR, else data.root_dir of the config file, "
        "else ~/.rustybt/data.",
    ).tag(config=True)
    default_bundle = Unicode("", help="Bundle used when a subcommand's NAME is left out.").tag(config=True)
    show_progress = Bool(True, help="Show progress bars while ingesting.").tag(config=True)
    max_candles = Int(2000, help="Most candles `%rustybt show` draws before coarsening the resolution.").tag(
        config=True
    )

    plotly_template = Unicode(
        "auto",
        help="Plotly template of every chart (plotly_white, plotly_dark, ...); auto follows JupyterLab's theme.",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._catalog: Any = None

    @observe("plotly_template")
    def _template_changed(self, change: dict[str, Any]) -> None:
        from rustybt.notebook.plots import set_template

        set_template(change["new"])

    @observe("catalog_root")
    def _root_changed(self, change: dict[str, Any]) -> None:
        self._catalog = None

    # --- shared state ------------------------------------------------------------------------------------
    @property
    def catalog(self) -> Any:
        """The catalog at :attr:`catalog_root` (or the configured default root)."""
        if self._catalog is None:
            from rustybt.data.catalog import Catalog

            self._catalog = Catalog(root=self.catalog_root or None)
        return self._catalog

    def _bundle_name(self, name: str | None) -> str:
        if name:
            return name
        if self.default_bundle:
            return self.default_bundle
        raise UsageError(
            "no bundle given and RustyBTMagics.default_bundle is not set; name the bundle, or run "
            "%config RustyBTMagics.default_bundle = 'sample'"
        )

    # --- entry point -------------------------------------------------------------------------------------
    @line_cell_magic
    def rustybt(self, line: str, cell: str | None = None) -> Any:
        """RustyBT: ``%rustybt SUBCOMMAND [ARGS]``, ``%%rustybt pipeline [ARGS]``; ``%rustybt --help``."""
        if cell is None:
            line = strip_comment(line)
        sub, _, rest = line.strip().partition(" ")
        table = _LINE_SUBCOMMANDS if cell is None else _CELL_SUBCOMMANDS
        if sub in ("", "help", "-h", "--help"):
            print(overview())
            return None
        if sub not in table:
            other = _CELL_SUBCOMMANDS if cell is None else _LINE_SUBCOMMANDS
            if sub in other:
                form = "%%rustybt" if cell is None else "%rustybt"
                raise UsageError(f"`{sub}` is a {form} subcommand: write it as `{form} {sub} ...`.")
            import difflib

            close = difflib.get_close_matches(sub, list(table), n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise UsageError(
                f"%rustybt: unknown subcommand {sub!r}.{hint} Use one of {', '.join(table)}; "
                "`%rustybt --help` explains each."
            )
        parser_func = table[sub]
        if _wants_help(rest):
            print(parser_func.parser.format_help())
            return None
        try:
            args = parse_argstring(parser_func, rest)
        except ValueError as exc:  # unbalanced quotes
            raise UsageError(f"%rustybt {sub}: cannot split the arguments ({exc}); check the quotes.") from None
        except UsageError as exc:
            magic = "%rustybt" if cell is None else "%%rustybt"
            raise UsageError(f"{magic} {sub}: {exc}. `{magic} {sub} --help` shows the arguments.") from None
        handler = getattr(self, f"_do_{sub}")
        try:
            with _errors_reported_once(keep=bool(args.debug)):
                return handler(args) if cell is None else handler(args, cell)
        except UsageError:
            raise
        except Exception as exc:
            if args.debug:
                raise
            raise UsageError(explain(sub, exc, "%rustybt" if cell is None else "%%rustybt")) from None

    # --- subcommands -------------------------------------------------------------------------------------
    def _do_bundles(self, args: Any) -> Any:
        return self.catalog

    def _do_ingest(self, args: Any) -> Any:
        from rustybt.sample import SAMPLE_BUNDLES, register_sample

        catalog = self.catalog
        if args.csvdir:
            from rustybt.data.adapters.csv import CSVAdapter

            catalog.register(
                args.name,
                CSVAdapter.from_csvdir(args.csvdir),
                calendar=args.calendar,
                validation="lenient" if args.lenient else "strict",
                overwrite=args.name in catalog,
            )
        elif args.name not in catalog and args.name in SAMPLE_BUNDLES:
            register_sample(catalog, overwrite=True)
        return catalog.ingest(
            args.name,
            mode=args.mode,
            progress=bool(args.progress or self.show_progress),
            validation="lenient" if args.lenient else None,
        )

    def _do_info(self, args: Any) -> Any:
        return self.catalog.bundle(self._bundle_name(args.name))

    def _do_show(self, args: Any) -> Any:
        from rustybt.notebook import plots

        name, symbol = (None, args.name) if args.symbol is None else (args.name, args.symbol)
        bundle = self.catalog.bundle(self._bundle_name(name))
        return plots.candlestick(
            bundle,
            symbol,
            start=args.start,
            end=args.end,
            frequency=args.frequency,
            max_candles=args.max_candles or self.max_candles,
        )

    def _do_browse(self, args: Any) -> Any:
        from rustybt.notebook.widgets import BundleBrowser

        name = args.name or self.default_bundle or None
        if name is not None:
            self.catalog.bundle(name)  # a clear error for an unknown or empty bundle
        return BundleBrowser(self.catalog, bundle=name, max_candles=self.max_candles)

    def _do_explore(self, args: Any) -> Any:
        from rustybt.notebook.builder import PipelineBuilder

        name = args.name or self.default_bundle or None
        if name is not None:
            self.catalog.bundle(name)  # a clear error for an unknown or empty bundle
        return PipelineBuilder(self.catalog, name)

    def _do_cache(self, args: Any) -> Any:
        cache = session_cache()
        if args.action == "clear":
            cache.clear()
            print("session cache cleared (memory and disk)")
        return cache.stats

    def _do_config(self, args: Any) -> Any:
        from rustybt import __version__
        from rustybt.config import describe_config, describe_switches

        catalog = self.catalog
        rows = describe_config(catalog.config, root=self.catalog_root or None)
        if self.catalog_root:
            rows[1] = ("root comes from", "RustyBTMagics.catalog_root")
        rows += [
            ("bundles", ", ".join(catalog.bundles()) or "none"),
            ("default bundle", self.default_bundle or "(not set)"),
            ("show progress", str(self.show_progress)),
            ("max candles", str(self.max_candles)),
            ("plotly template", f"{self.plotly_template} (in use: {_plots_template()})"),
            ("rustybt", __version__),
        ]
        rows += [(name, f"{value} ({source})") for name, value, source, _ in describe_switches()]
        return _html.HTMLView(
            "RustyBT settings",
            rows,
            note="Change with %config RustyBTMagics.catalog_root = '/path' or "
            "%config RustyBTMagics.default_bundle = 'sample'; the RUSTYBT_* switches are environment variables "
            "(on/off: 1/true/yes/on, 0/false/no/off), see `rustybt config`.",
        )

    # --- %%rustybt pipeline ------------------------------------------------------------------------------
    def _do_pipeline(self, args: Any, cell: str) -> Any:
        from rustybt.notebook import pipeline_support as support

        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"%%rustybt pipeline: --out {args.out!r} is not a valid Python variable name.")
        bundle = self.catalog.bundle(self._bundle_name(args.bundle))
        namespace = support.cell_namespace()
        namespace.update({k: v for k, v in self.shell.user_ns.items() if k != "pipe"})
        pipe = _run_cell(cell, namespace, debug=args.debug)
        if not support.is_pipeline(pipe):
            got = "nothing" if pipe is None else f"a {type(pipe).__name__}"
            raise UsageError(
                f"%%rustybt pipeline: the cell defines no Pipeline (got {got}); assign one to `pipe` "
                "(pipe = Pipeline(columns={...})) or end the cell with a Pipeline expression."
            )
        _check_in_range(bundle, args.start, args.end)
        result = support.run(
            pipe, bundle, start=args.start, end=args.end, chunksize=args.chunksize, cache=session_cache()
        )
        if args.out:
            from IPython.display import HTML, display

            display(HTML(_html.pipeline_result_html(result)))
            self.shell.user_ns[args.out] = result
            return None
        return result  # shown once, by the DataFrame's own repr

    # --- %%rustybt backtest ------------------------------------------------------------------------------
    def _do_backtest(self, args: Any, cell: str) -> Any:
        from rustybt.algorithm.script import run_namespace

        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"%%rustybt backtest: --out {args.out!r} is not a valid Python variable name.")
        before = dict(self.shell.user_ns)
        namespace = dict(before)
        exec(compile(cell, "<%%rustybt backtest cell>", "exec"), namespace)  # the user's own cell
        defined = {k: v for k, v in namespace.items() if k not in before or before[k] is not v}
        result = run_namespace(
            defined,
            bundle=self._bundle_name(args.bundle),
            start=args.start,
            end=args.end,
            capital_base=args.capital_base,
            data_frequency=args.data_frequency,
            catalog=self.catalog,
            where="the cell",
        )
        if args.out:
            self.shell.user_ns[args.out] = result
            from IPython.display import display

            display(result)
            return None
        return result


@contextmanager
def _errors_reported_once(*, keep: bool = False) -> Iterator[None]:
    """Hold back RustyBT's ERROR log records while a magic runs: if it fails, its one-line message says it all
    (the records would repeat it as a stderr box under it); if it succeeds, they are emitted after all."""
    held: list[logging.LogRecord] = []

    def hold(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.name.startswith("rustybt"):
            if not any(r is record for r in held):
                held.append(record)
            return False
        return True

    handlers = [*logging.getLogger().handlers, *logging.getLogger("rustybt").handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    if keep:  # --debug: the full story, logs included
        yield
        return
    for h in handlers:
        h.addFilter(hold)
    ok = False
    try:
        yield
        ok = True
    finally:
        for h in handlers:
            h.removeFilter(hold)
        if ok:
            for record in held:
                logging.getLogger(record.name).handle(record)


def _plots_template() -> str:
    from rustybt.notebook.plots import template

    return template()


def strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` outside quotes that starts a word), as Python reads it."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def _check_in_range(bundle: Any, start: str | None, end: str | None) -> None:
    """A --start/--end outside the bundle's sessions is named with the bundle's range (not the engine's words)."""
    from rustybt.notebook.plots import parse_date

    first, last = bundle.start.tz_localize(None).normalize(), bundle.end.tz_localize(None).normalize()
    for flag, value in (("--start", start), ("--end", end)):
        ts = parse_date(value, flag)
        if ts is None:
            continue
        ts = ts.tz_localize(None)
        if (flag == "--start" and ts > last) or (flag == "--end" and ts < first):
            raise UsageError(
                f"%%rustybt pipeline: {flag} {ts.date()} is outside bundle {bundle.name!r}, which covers "
                f"{first.date()} .. {last.date()}; choose dates inside that range."
            )


def _wants_help(rest: str) -> bool:
    return any(tok in ("-h", "--help") for tok in rest.split())


def _run_cell(cell: str, namespace: dict[str, Any], *, debug: bool) -> Any:
    """Execute the cell in ``namespace``; return ``pipe`` if it defines one, else its last expression's value."""
    try:
        tree = ast.parse(cell, filename=_CELL_NAME)
    except SyntaxError as exc:
        if debug:
            raise
        raise UsageError(
            f"%%rustybt pipeline: the cell is not valid Python: {exc.msg} (line {exc.lineno}). Fix the cell."
        ) from None
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    try:
        exec(compile(tree, _CELL_NAME, "exec"), namespace)
        value = eval(compile(last, _CELL_NAME, "eval"), namespace) if last is not None else None
    except Exception as exc:
        if debug:
            raise
        line = _cell_line(exc)
        where = f" at line {line}" if line else ""
        raise UsageError(
            f"%%rustybt pipeline: the cell raised {type(exc).__name__}{where}: {_sentence(str(exc))} "
            "Fix the cell (add --debug for the full traceback)."
        ) from None
    return namespace.get("pipe", value) if "pipe" in namespace else value


def _sentence(text: str) -> str:
    """``text`` on one line, ending with exactly one sentence mark."""
    text = " ".join(text.split())
    return text if text.endswith((".", "?", "!", "…")) else text + "."


def _cell_line(exc: BaseException) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == _CELL_NAME:
            line = lineno
    return line


# --- extension hooks -------------------------------------------------------------------------------------


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


def _completer(magics: RustyBTMagics) -> Callable[..., list[str]]:
    def hook(_shell: Any, event: Any) -> list[str]:
        try:
            catalog = magics.catalog
        except Exception:  # the catalog root may not exist yet: still complete subcommands and options
            catalog = None
        line = getattr(event, "text_until_cursor", None) or event.line
        words = line.split()
        current = "" if line.endswith((" ", "\t")) or not words else words[-1]
        symbol = getattr(event, "symbol", current) or ""
        # IPython splits words at "-": it replaces only ``symbol``, so offer the rest of each completion
        prefix = current[: len(current) - len(symbol)] if current.endswith(symbol) else ""
        return [c[len(prefix) :] for c in complete(line, catalog) if c.startswith(prefix)]

    return hook


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext rustybt``: register the magics and their settings.

    No HTML formatters are registered: every RustyBT object renders itself with :mod:`rustybt._html` from its own
    ``_repr_html_``, so a view looks the same whether or not the extension is loaded.
    """
    magics = RustyBTMagics(shell=ipython)
    RustyBTMagics.rustybt.__doc__ = overview()  # what `%rustybt?` shows
    ipython.register_magics(magics)
    for key in ("%rustybt", "%%rustybt"):
        ipython.set_hook("complete_command", _completer(magics), str_key=key)
    if all(type(c) is not RustyBTMagics for c in ipython.configurables):
        ipython.configurables.append(magics)
    else:
        ipython.configurables[:] = [c for c in ipython.configurables if type(c) is not RustyBTMagics] + [magics]


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext rustybt``: remove the magics."""
    manager = ipython.magics_manager
    for kind in ("line", "cell"):
        manager.magics[kind].pop("rustybt", None)
    manager.registry.pop("RustyBTMagics", None)
    ipython.configurables[:] = [c for c in ipython.configurables if type(c) is not RustyBTMagics]
