"""ipywidgets browsers: :class:`BundleBrowser` (bars of a catalog) and :class:`PipelineExplorer` (a pipeline result).

Both are driven by their controls in the notebook and just as well from Python, which is how tests drive them::

    browser = BundleBrowser(catalog)
    browser.update(bundle="sample", symbol="AAPL", start="2014-01-01", end="2014-06-30")
    browser.figure.layout.meta["candles"]      # what the chart shows
    browser.error                              # None, or the one-paragraph message shown instead of a chart

Every change of a control recomputes the views once; :meth:`BundleBrowser.update` changes several settings with
a single recomputation. The chart is a plotly figure rendered into an ``Output`` widget when a kernel is running;
the bar table and the validation summary are ``HTML`` widgets (their ``value`` is the HTML shown).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as ipw
import pandas as pd
import polars as pl

from rustybt import _html
from rustybt.data.resolution import RESOLUTIONS, parse_resolution
from rustybt.errors import RustyBTError
from rustybt.notebook import plots

__all__ = ["AUTO", "BundleBrowser", "PipelineExplorer"]

#: The resolution choice that lets :func:`~rustybt.notebook.plots.candle_bars` pick one.
AUTO = "auto"
_TABLE_ROWS = 15
_TOP_N = 10


def _has_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _show(output: ipw.Output, obj: Any) -> None:
    """Replace what ``output`` shows with ``obj`` (a list: each in turn; None: nothing).

    The outputs are set on the widget's model in the kernel, not captured with ``with output:`` and
    ``clear_output(wait=True)``: a wait-clear with nothing displayed after it left the old chart in place, and
    the capture depends on the front end routing messages back (headless nbconvert waited for them). Only with a
    kernel: elsewhere there is no front end to show it.
    """
    if not _has_kernel():
        return
    items = [] if obj is None else list(obj) if isinstance(obj, list | tuple) else [obj]
    output.outputs = tuple(_display_data(item) for item in items)


def _display_data(obj: Any) -> dict[str, Any]:
    """One ``display_data`` output for ``obj``: its own mime bundle when it has one (plotly figures and widgets
    display themselves through ``_ipython_display_``, which IPython's formatter then reports as empty)."""
    bundle = getattr(obj, "_repr_mimebundle_", None)
    data: Any = bundle() if callable(bundle) else None
    metadata: dict[str, Any] = {}
    if isinstance(data, tuple):
        data, metadata = data
    if not data:
        from IPython.core.interactiveshell import InteractiveShell

        data, metadata = InteractiveShell.instance().display_formatter.format(obj)
    return {"output_type": "display_data", "data": data, "metadata": metadata or {}}


def _message(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _to_date(value: Any, name: str) -> _dt.date | None:
    ts = plots.parse_date(value, name)
    return None if ts is None else ts.date()


class BundleBrowser(ipw.VBox):
    """Browse the bars of a catalog: bundle -> symbol (search, select) -> date range -> resolution.

    Shows a candlestick chart with volume, a table of the bars and the bundle's validation summary for the
    symbol, recomputed on every change.

    Parameters
    ----------
    catalog
        A :class:`~rustybt.data.catalog.Catalog`.
    bundle, symbol, start, end, resolution
        Initial settings (default: the first ingested bundle, its first symbol, its whole range, automatic).

    Attributes
    ----------
    figure
        The plotly figure of the chart (None when there is nothing to draw).
    bars
        The polars DataFrame of the bars drawn.
    error
        None, or the message shown instead of the chart (unknown symbol, no data in the range...).
    """

    def __init__(
        self,
        catalog: Any,
        bundle: str | None = None,
        symbol: str | None = None,
        start: Any = None,
        end: Any = None,
        resolution: str = AUTO,
        *,
        max_candles: int = plots.MAX_CANDLES,
    ) -> None:
        self.catalog = catalog
        self.max_candles = max_candles
        self.figure: Any = None
        self.bars: pl.DataFrame | None = None
        self.error: str | None = None
        self.refreshes = 0  # how many times the views were recomputed (tests check batching)
        self._bundle: Any = None
        self._quiet = 0
        names = self._bundle_names()

        self.bundle_dropdown = ipw.Dropdown(options=names, value=None, description="bundle")
        self.resolution_dropdown = ipw.Dropdown(options=[AUTO], value=AUTO, description="resolution")
        self.search_box = ipw.Text(value="", placeholder="type to filter", description="search")
        self.symbol_select = ipw.Select(options=[], rows=8, description="symbol")
        self.start_picker = ipw.DatePicker(description="from")
        self.end_picker = ipw.DatePicker(description="to")
        self.status = ipw.HTML()
        self.chart = ipw.Output()
        self.table = ipw.HTML()
        self.quality = ipw.HTML()
        details = ipw.Accordion(children=[self.table, self.quality], titles=("Bars", "Validation"))
        super().__init__(
            [
                ipw.HBox([self.bundle_dropdown, self.resolution_dropdown]),
                ipw.HBox(
                    [ipw.VBox([self.search_box, self.symbol_select]), ipw.VBox([self.start_picker, self.end_picker])]
                ),
                self.status,
                self.chart,
                details,
            ]
        )
        self.bundle_dropdown.observe(self._on_bundle, names="value")
        self.search_box.observe(self._on_search, names="value")
        for control in (self.symbol_select, self.start_picker, self.end_picker, self.resolution_dropdown):
            control.observe(self._on_change, names="value")

        with self._batch():
            if bundle is None and names:
                bundle = names[0]
            if bundle is not None:
                self.bundle = bundle
            if symbol is not None:
                self.symbol = symbol
            if start is not None:
                self.start = start
            if end is not None:
                self.end = end
            self.resolution = resolution
        if not names:
            self._fail("The catalog has no ingested bundle yet; run `%rustybt ingest sample` or catalog.ingest(NAME).")

    # --- settings (each settable from Python) ----------------------------------------------------------------
    @property
    def bundle(self) -> str | None:
        """Name of the bundle shown."""
        return self.bundle_dropdown.value

    @bundle.setter
    def bundle(self, name: str) -> None:
        if name not in self.bundle_dropdown.options:
            self.bundle_dropdown.options = self._bundle_names()
        if name not in self.bundle_dropdown.options:
            self.catalog.bundle(name)  # raises BundleNotFound / IngestionNotFound with the catalog's message
        self.bundle_dropdown.value = name

    @property
    def symbol(self) -> str | None:
        """Symbol shown."""
        return self.symbol_select.value

    @symbol.setter
    def symbol(self, value: str) -> None:
        if self._bundle is None:
            raise RustyBTError("choose a bundle before a symbol (browser.bundle = NAME)")
        asset = self._bundle.asset_finder.lookup_symbol(value)  # raises SymbolNotFound with close matches
        if asset.symbol not in self.symbol_select.options:
            with self._batch(refresh=False):
                self.search_box.value = ""
        self.symbol_select.value = asset.symbol

    @property
    def start(self) -> _dt.date | None:
        """First day shown (inclusive)."""
        return self.start_picker.value

    @start.setter
    def start(self, value: Any) -> None:
        self.start_picker.value = _to_date(value, "start")

    @property
    def end(self) -> _dt.date | None:
        """Last day shown (inclusive)."""
        return self.end_picker.value

    @end.setter
    def end(self, value: Any) -> None:
        self.end_picker.value = _to_date(value, "end")

    @property
    def resolution(self) -> str:
        """``"auto"`` or a resolution (the stored one or coarser)."""
        return self.resolution_dropdown.value

    @resolution.setter
    def resolution(self, value: str) -> None:
        name = AUTO if value in (None, AUTO) else parse_resolution(value).name
        if name not in self.resolution_dropdown.options:
            raise RustyBTError(
                f"resolution {value!r} is not available for bundle {self.bundle!r}; "
                f"choose one of {', '.join(self.resolution_dropdown.options)}"
            )
        self.resolution_dropdown.value = name

    @property
    def search(self) -> str:
        """The symbol filter text."""
        return self.search_box.value

    @search.setter
    def search(self, text: str) -> None:
        self.search_box.value = text

    def update(self, **settings: Any) -> BundleBrowser:
        """Change several settings (bundle, symbol, start, end, resolution, search) with one recomputation."""
        order = ("bundle", "search", "symbol", "start", "end", "resolution")
        unknown = set(settings) - set(order)
        if unknown:
            raise TypeError(f"unknown setting(s) {sorted(unknown)}; use {', '.join(order)}")
        with self._batch():
            for key in order:
                if key in settings:
                    setattr(self, key, settings[key])
        return self

    # --- events ----------------------------------------------------------------------------------------------
    @contextmanager
    def _batch(self, refresh: bool = True) -> Iterator[None]:
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1
        if refresh and not self._quiet:
            self.refresh()

    def _bundle_names(self) -> list[str]:
        summary = self.catalog.summary()
        return summary.filter(pl.col("ingestion").is_not_null()).get_column("bundle").to_list()

    def _on_bundle(self, change: dict[str, Any]) -> None:
        with self._batch():
            name = change["new"]
            self._bundle = self.catalog.bundle(name) if name else None
            if self._bundle is None:
                return
            b = self._bundle
            stored = parse_resolution(b.resolution)
            self.resolution_dropdown.options = [AUTO] + [r for r in RESOLUTIONS if parse_resolution(r) >= stored]
            self.resolution_dropdown.value = AUTO
            self.search_box.value = ""
            self.symbol_select.options = b.symbols
            self.symbol_select.value = b.symbols[0] if b.symbols else None
            self.start_picker.value = b.start.date()
            self.end_picker.value = b.end.date()

    def _on_search(self, change: dict[str, Any]) -> None:
        if self._bundle is None:
            return
        text = (change["new"] or "").strip().upper()
        matches = [s for s in self._bundle.symbols if text in s.upper()] if text else self._bundle.symbols
        current = self.symbol_select.value
        with self._batch(refresh=current not in matches):
            self.symbol_select.options = matches
            self.symbol_select.value = current if current in matches else (matches[0] if matches else None)

    def _on_change(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self.refresh()

    # --- views -----------------------------------------------------------------------------------------------
    def _fail(self, message: str) -> None:
        self.error = message
        self.figure = None
        self.bars = None
        self.status.value = _html.error_html("Nothing to show", message)
        self.table.value = ""
        _show(self.chart, None)

    def refresh(self) -> None:
        """Recompute the chart, the bar table and the validation summary from the current settings."""
        self.refreshes += 1
        bundle, symbol = self._bundle, self.symbol
        if bundle is None or symbol is None:
            self._fail("Choose a bundle and a symbol." if bundle is None else "No symbol matches the search.")
            return
        frequency = None if self.resolution == AUTO else self.resolution
        end = self.end
        try:
            bars, resolution = plots.candle_bars(
                bundle, symbol, self.start, end, frequency, max_candles=self.max_candles
            )
            # adjusted as of the range's end; the chart's buttons switch to raw prices; events are marked
            raw, _ = plots.candle_bars(
                bundle, symbol, self.start, end, frequency or resolution, max_candles=self.max_candles, adjusted=False
            )
            x = plots._x(bars)
            events = plots.corporate_actions(bundle, symbol, x[0], x[-1])
            figure = plots.candlestick_figure(bundle, bars, resolution, raw=raw, events=events)
        except (RustyBTError, ValueError) as exc:
            self._fail(_message(exc))
            self.quality.value = _html.validation_summary_html(bundle.report, symbol)
            return
        self.error = None
        self.figure, self.bars = figure, bars
        self.status.value = _html.bars_caption_html(bundle.name, symbol, resolution, bars.height)
        self.table.value = _html.bars_html(bars, limit=_TABLE_ROWS)
        self.quality.value = _html.validation_summary_html(bundle.report, symbol)
        _show(self.chart, figure)


class PipelineExplorer(ipw.VBox):
    """Explore a pipeline result (a DataFrame indexed by (date, asset)): pick a column, a date and an asset.

    Shows the column's cross-section on the date as a histogram, the asset's time series, and the top and bottom
    ``top_n`` assets on the date. Settable from Python: ``explorer.column``, ``.date``, ``.asset``, or
    :meth:`update`.

    Attributes
    ----------
    histogram, timeseries
        The plotly figures shown.
    top, bottom
        pandas Series of the ``top_n`` highest and lowest values on the date (index: asset).
    """

    def __init__(
        self,
        result: pd.DataFrame,
        column: str | None = None,
        date: Any = None,
        asset: Any = None,
        *,
        top_n: int = _TOP_N,
    ) -> None:
        if not isinstance(result, pd.DataFrame) or not isinstance(result.index, pd.MultiIndex):
            raise RustyBTError("PipelineExplorer needs a pipeline result: a DataFrame indexed by (date, asset)")
        numeric = [c for c in result.columns if pd.api.types.is_numeric_dtype(result[c].dtype)]
        if not numeric:
            raise RustyBTError("the result has no numeric column to explore; add a factor to the pipeline")
        self.result = result
        self.top_n = top_n
        self.histogram: Any = None
        self.timeseries: Any = None
        self.top: pd.Series | None = None
        self.bottom: pd.Series | None = None
        self.error: str | None = None
        self.refreshes = 0
        self._quiet = 0
        dates = plots._naive_dates(result.index.get_level_values(0)).unique().sort_values()
        self._dates = list(dates)
        self._assets = list(result.index.get_level_values(1).unique())
        self._asset_labels = [plots._label(a) for a in self._assets]

        self.column_dropdown = ipw.Dropdown(options=numeric, value=numeric[0], description="column")
        # the slider's own readout clipped dates ("2014-06-3("): a label beside it shows the date in full
        self.date_slider = ipw.SelectionSlider(
            options=[(str(d.date()), d) for d in self._dates],
            value=self._dates[-1],
            description="date",
            readout=False,
            layout={"width": "60%"},
        )
        self.date_label = ipw.Label(str(self._dates[-1].date()), layout={"min_width": "7em"})
        self.asset_dropdown = ipw.Dropdown(
            options=list(zip(self._asset_labels, range(len(self._assets)), strict=True)), value=0, description="asset"
        )
        self.histogram_out = ipw.Output()
        self.timeseries_out = ipw.Output()
        self.table = ipw.HTML()
        super().__init__(
            [
                ipw.HBox([self.column_dropdown, self.asset_dropdown]),
                ipw.HBox([self.date_slider, self.date_label]),
                ipw.HBox([self.histogram_out, self.table]),
                self.timeseries_out,
            ]
        )
        for control in (self.column_dropdown, self.date_slider, self.asset_dropdown):
            control.observe(self._on_change, names="value")
        self.update(column=column, date=date, asset=asset)

    @property
    def column(self) -> str:
        """The column shown."""
        return self.column_dropdown.value

    @column.setter
    def column(self, name: str) -> None:
        if name not in self.column_dropdown.options:
            raise RustyBTError(
                f"no numeric column {name!r} in the result; choose one of {', '.join(self.column_dropdown.options)}"
            )
        self.column_dropdown.value = name

    @property
    def date(self) -> pd.Timestamp:
        """The date of the cross-section."""
        return self.date_slider.value

    @date.setter
    def date(self, value: Any) -> None:
        ts = plots.parse_date(value, "date").tz_localize(None)
        if ts not in self._dates:
            raise RustyBTError(
                f"date {ts.date()} is not in the result ({self._dates[0].date()} .. {self._dates[-1].date()})"
            )
        self.date_slider.value = ts

    @property
    def asset(self) -> Any:
        """The asset of the time series (as it appears in the result's index)."""
        return self._assets[self.asset_dropdown.value]

    @asset.setter
    def asset(self, value: Any) -> None:
        found = plots._match_assets(pd.Index(self._assets), [value])[0]
        self.asset_dropdown.value = self._assets.index(found)

    def update(self, **settings: Any) -> PipelineExplorer:
        """Change column, date and asset with one recomputation (None leaves a setting as it is)."""
        unknown = set(settings) - {"column", "date", "asset"}
        if unknown:
            raise TypeError(f"unknown setting(s) {sorted(unknown)}; use column, date, asset")
        self._quiet += 1
        try:
            for key in ("column", "date", "asset"):
                if settings.get(key) is not None:
                    setattr(self, key, settings[key])
        finally:
            self._quiet -= 1
        self.refresh()
        return self

    def _on_change(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self.refresh()

    def refresh(self) -> None:
        """Recompute the histogram, the time series and the top/bottom table."""
        self.refreshes += 1
        column, date, asset = self.column, self.date, self.asset
        self.date_label.value = str(date.date())
        try:
            self.histogram = plots.factor_histogram(self.result, column, date)
            self.timeseries = plots.factor_timeseries(self.result, column, [asset])
            section, _ = plots._cross_section(self.result[column], date)
            section = section.dropna().sort_values(ascending=False, kind="stable")
        except (RustyBTError, ValueError) as exc:
            self.error = _message(exc)
            self.table.value = _html.error_html("Nothing to show", self.error)
            return
        self.error = None
        self.top = section.head(self.top_n)
        self.bottom = section.tail(self.top_n).iloc[::-1]
        self.table.value = _html.ranking_html(column, date, self.top, self.bottom, total=len(section))
        _show(self.histogram_out, self.histogram)
        _show(self.timeseries_out, self.timeseries)
