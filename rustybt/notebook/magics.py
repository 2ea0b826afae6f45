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

from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import parse_argstring
from traitlets import Bool, Int, Unicode, observe

from rustybt.notebook.magic_commands import _Subcommands, session_cache
from rustybt.notebook.magic_errors import _errors_reported_once, explain
from rustybt.notebook.magic_parsers import _CELL_SUBCOMMANDS, _LINE_SUBCOMMANDS, complete, overview

__all__ = [
    "RustyBTMagics",
    "complete",
    "explain",
    "load_ipython_extension",
    "overview",
    "session_cache",
    "strip_comment",
    "unload_ipython_extension",
]


# --- the magics ------------------------------------------------------------------------------------------


@magics_class
class RustyBTMagics(_Subcommands, Magics):
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


def _wants_help(rest: str) -> bool:
    return any(tok in ("-h", "--help") for tok in rest.split())


# --- extension hooks -------------------------------------------------------------------------------------


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
