"""Plotly charts of bundles and pipeline results (the front door; each kind of chart has its own module).

Bars and coverage
    :func:`candlestick` (candles plus a volume panel, coarsened automatically so a long range stays at most
    ``max_candles`` candles) and :func:`coverage_heatmap` (assets x time, share of calendar bars present; gaps
    stand out in amber and red).
Pipeline results
    :func:`factor_timeseries`, :func:`factor_histogram` and :func:`quantile_returns` take a pandas DataFrame
    indexed by (date, asset), what ``engine.run_pipeline`` returns. Forward returns for :func:`quantile_returns`
    come from the bundle's adjusted closes through the :class:`~rustybt.data.readers.DataPortal`
    (:func:`forward_returns`).

Every function returns a ``plotly.graph_objects.Figure`` whose ``layout.meta`` says what it shows (bundle, symbol,
frequency, counts), so code and tests can check a figure without rendering it. Bad arguments raise
:class:`~rustybt.errors.InvalidArgument`, :class:`~rustybt.errors.SymbolNotFound` or
:class:`~rustybt.errors.NoDataForRange` with a message that says what to do.
"""

from __future__ import annotations

# ``_name as _name``: private helpers the widgets and the factor tear sheet reach through ``plots``
from rustybt.notebook.candles import MAX_CANDLES, candle_bars, candlestick, candlestick_figure, corporate_actions
from rustybt.notebook.candles import _x as _x
from rustybt.notebook.chart_args import _bundle_of as _bundle_of
from rustybt.notebook.chart_args import parse_date
from rustybt.notebook.coverage import coverage_heatmap
from rustybt.notebook.result_plots import _cross_section as _cross_section
from rustybt.notebook.result_plots import _label as _label
from rustybt.notebook.result_plots import _match_assets as _match_assets
from rustybt.notebook.result_plots import _naive_dates as _naive_dates
from rustybt.notebook.result_plots import (
    factor_histogram,
    factor_timeseries,
    quantile_returns,
)
from rustybt.notebook.theme import AUTO_TEMPLATE, set_template, template, use_html_fallback

__all__ = [
    "AUTO_TEMPLATE",
    "MAX_CANDLES",
    "candle_bars",
    "candlestick",
    "candlestick_figure",
    "corporate_actions",
    "coverage_heatmap",
    "factor_histogram",
    "factor_timeseries",
    "parse_date",
    "quantile_returns",
    "set_template",
    "template",
    "use_html_fallback",
]
