"""What each ``%rustybt`` / ``%%rustybt`` subcommand does (a mixin of :class:`~rustybt.notebook.magics.RustyBTMagics`),
the session cache they share and the running of a ``%%rustybt pipeline`` cell."""

from __future__ import annotations

import ast
import traceback
from typing import Any

from IPython.core.error import UsageError

from rustybt import _html
from rustybt.notebook.magic_errors import _sentence

__all__ = ["session_cache"]

_CELL_NAME = "<rustybt pipeline cell>"

# --- session cache ---------------------------------------------------------------------------------------

_SESSION_CACHE: Any = None


def session_cache() -> Any:
    """The CacheManager shared by the DataPortals and pipeline runs the magics and widgets create."""
    global _SESSION_CACHE
    if _SESSION_CACHE is None:
        from rustybt.data.cache import CacheManager

        _SESSION_CACHE = CacheManager()
    return _SESSION_CACHE


class _Subcommands:
    """The ``_do_<subcommand>`` handlers; ``RustyBTMagics`` provides ``catalog``, ``shell`` and the settings."""

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


def _plots_template() -> str:
    from rustybt.notebook.plots import template

    return template()


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


def _cell_line(exc: BaseException) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == _CELL_NAME:
            line = lineno
    return line
