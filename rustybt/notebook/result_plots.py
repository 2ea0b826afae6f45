"""Charts of pipeline results (a DataFrame indexed by (date, asset)): factor time series, a cross-section
histogram and mean forward returns by quantile."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rustybt.errors import InvalidArgument, NoDataForRange
from rustybt.notebook.chart_args import _bundle_of, parse_date
from rustybt.notebook.theme import template

__all__ = ["factor_histogram", "factor_timeseries", "quantile_returns"]


def _label(asset: Any) -> str:
    symbol = getattr(asset, "symbol", None)
    return str(symbol) if symbol is not None else str(asset)


def _naive_dates(values: Any) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(values)
    return idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx


def _match_assets(level: pd.Index, wanted: Sequence[Any]) -> list[Any]:
    """Index values of ``level`` for ``wanted`` (symbols, sids or assets), in the order given."""
    by_label = {_label(a).upper(): a for a in level}
    out = []
    for w in wanted:
        if isinstance(w, str):
            found = by_label.get(w.strip().upper())
        else:
            found = next((a for a in level if a == w), None)
        if found is None:
            raise InvalidArgument(
                f"asset {_label(w)!r} is not in the result; it holds {len(level)} assets, e.g. "
                f"{', '.join(_label(a) for a in list(level)[:8])}"
            )
        out.append(found)
    return out


def factor_timeseries(result: pd.DataFrame, column: str, assets: Sequence[Any] | None = None, *, max_assets: int = 10):
    """One line per asset: ``column`` over time. ``assets``: symbols, sids or assets (default: the first
    ``max_assets`` in the result)."""
    import plotly.graph_objects as go

    from rustybt.pipeline.analysis import factor_column  # a result exists, so the pipeline is loaded already

    series = factor_column(result, column)
    level = series.index.get_level_values(1).unique()
    chosen = _match_assets(level, assets) if assets is not None else list(level[:max_assets])
    fig = go.Figure()
    for asset in chosen:
        s = series.xs(asset, level=1)
        fig.add_trace(
            go.Scatter(x=_naive_dates(s.index), y=s.to_numpy(dtype="float64"), mode="lines", name=_label(asset))
        )
    fig.update_layout(
        title={"text": f"{column} of {', '.join(_label(a) for a in chosen[:4])}{' ...' if len(chosen) > 4 else ''}"},
        template=template(),
        height=380,
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
        meta={"kind": "factor_timeseries", "column": column, "assets": [_label(a) for a in chosen]},
    )
    return fig


def _cross_section(series: pd.Series, date: Any) -> tuple[pd.Series, pd.Timestamp]:
    dates = _naive_dates(series.index.get_level_values(0))
    unique = dates.unique().sort_values()
    if len(unique) == 0:
        raise NoDataForRange("the result is empty; run the pipeline over a range with data")
    if date is None:
        day = unique[-1]
    else:
        ts = parse_date(date, "date").tz_localize(None)
        if ts not in unique:
            raise InvalidArgument(
                f"date {ts.date()} is not in the result (it covers {unique[0].date()} .. {unique[-1].date()}, "
                f"{len(unique)} dates); pick one of its dates"
            )
        day = ts
    mask = np.asarray(dates == day)
    return series[mask].droplevel(0), day


def factor_histogram(result: pd.DataFrame, column: str, date: Any = None, *, bins: int = 40):
    """Histogram of ``column`` across assets on ``date`` (default: the last date of the result)."""
    import plotly.graph_objects as go

    from rustybt.pipeline.analysis import factor_column

    section, day = _cross_section(factor_column(result, column), date)
    values = section.to_numpy(dtype="float64", na_value=np.nan)
    finite = values[np.isfinite(values)]
    fig = go.Figure(go.Histogram(x=finite, nbinsx=bins, marker={"color": "#0969da"}, name=column))
    stats = f"n={finite.size}" + (f", mean={finite.mean():.4g}, std={finite.std():.4g}" if finite.size else "")
    fig.update_layout(
        title={"text": f"{column} on {day.date()} ({stats})"},
        template=template(),
        height=340,
        bargap=0.05,
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
        meta={"kind": "factor_histogram", "column": column, "date": str(day.date()), "n": int(finite.size)},
    )
    return fig


def quantile_returns(
    result: pd.DataFrame, column: str, bundle: Any, quantiles: int = 5, periods: Sequence[int] = (1, 5)
):
    """Grouped bars: mean forward return (in basis points) by factor quantile, one bar group per quantile and
    one colour per period. The numbers are :func:`rustybt.pipeline.analysis.quantile_returns_table`."""
    import plotly.graph_objects as go

    from rustybt.pipeline.analysis import quantile_returns_table

    table = quantile_returns_table(result, column, bundle, quantiles, periods)
    fig = go.Figure()
    for col in table.columns:
        fig.add_trace(go.Bar(x=[f"Q{q}" for q in table.index], y=table[col].to_numpy() * 1e4, name=f"{col} forward"))
    name = _bundle_of(bundle).name
    fig.update_layout(
        title={"text": f"Mean forward return by {column} quantile ({name}, adjusted closes)"},
        yaxis_title="basis points",
        barmode="group",
        template=template(),
        height=360,
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
        meta={
            "kind": "quantile_returns",
            "column": column,
            "bundle": name,
            "quantiles": int(quantiles),
            "periods": [str(c) for c in table.columns],
            "values_bps": {str(c): [float(v) * 1e4 for v in table[c]] for c in table.columns},
        },
    )
    return fig
