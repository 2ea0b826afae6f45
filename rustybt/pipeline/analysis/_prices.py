"""Factor analysis of pipeline results, with alphalens' names and semantics and no plotting.

:func:`forward_returns` gives each (date, asset) of a result its forward returns from the bundle's adjusted closes;
:func:`quantile_returns_table` the mean forward return by factor quantile. The notebook layer's charts
(:func:`rustybt.notebook.plots.quantile_returns`) draw these numbers; here they need neither plotly nor Jupyter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rustybt.errors import InvalidArgument, NoDataForRange

__all__ = ["factor_column", "forward_returns", "quantile_returns_table"]


def factor_column(result: pd.DataFrame, column: str) -> pd.Series:
    """Column ``column`` of a pipeline result (a DataFrame indexed by (date, asset)).

    Raises
    ------
    InvalidArgument
        ``result`` is not a (date, asset)-indexed DataFrame, or has no such column (the message lists them).
    """
    if not isinstance(result, pd.DataFrame) or not isinstance(result.index, pd.MultiIndex):
        raise InvalidArgument(
            "expected a pipeline result: a pandas DataFrame indexed by (date, asset), as run_pipeline returns"
        )
    if column not in result.columns:
        raise InvalidArgument(f"no column {column!r} in the result; columns: {', '.join(map(str, result.columns))}")
    return result[column]


def _naive_dates(values: Any) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(values)
    return idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx


def _portal(source: Any) -> Any:
    """A DataPortal from a DataPortal, a Bundle, or anything with a ``bundle``."""
    from rustybt.data.readers.data_portal import DataPortal

    if isinstance(source, DataPortal):
        return source
    bundle = getattr(source, "bundle", source)
    if not hasattr(bundle, "bars") or not hasattr(bundle, "asset_finder"):
        raise InvalidArgument(
            f"expected a Bundle or a DataPortal, got {type(source).__name__}; use catalog.bundle(NAME)"
        )
    return DataPortal(bundle)


def forward_returns(source: Any, result_index: pd.MultiIndex, periods: Sequence[int] = (1, 5)) -> pd.DataFrame:
    """Forward returns over ``periods`` bars for every (date, asset) of ``result_index``.

    The return for period ``p`` on date ``d`` is ``close[d + p] / close[d] - 1`` with closes adjusted for
    splits and dividends (taken from :meth:`DataPortal.get_history_window` as of the last bar needed, so the
    ratio is a total return). NaN where either close is missing or ``d + p`` is past the bundle's end.
    Columns are ``"1D"``, ``"5D"``... (bars of the bundle's resolution).
    """
    periods = sorted({int(p) for p in periods})
    if not periods or periods[0] < 1:
        raise InvalidArgument(f"periods must be positive bar counts, got {periods}")
    portal = _portal(source)
    bundle = portal.bundle
    dates = _naive_dates(result_index.get_level_values(0))
    assets = result_index.get_level_values(1)
    unique_assets = list(dict.fromkeys(assets))
    resolved = [portal.asset_finder.lookup_symbol(a) if isinstance(a, str) else a for a in unique_assets]
    sids = [int(a) for a in resolved]
    first = dates.min().tz_localize("UTC")
    labels = portal.reader.labels(first, bundle.end)
    if len(labels) == 0:
        raise NoDataForRange(f"bundle {bundle.name!r} has no bars after {first.date()}")
    last_pos = int(np.searchsorted(labels, dates.max().tz_localize("UTC"), side="right")) - 1
    end_pos = min(max(last_pos, 0) + periods[-1], len(labels) - 1)
    closes = portal.get_history_window(sids, labels[end_pos], end_pos + 1, bundle.resolution, "close")
    closes.index = _naive_dates(closes.index)
    closes.columns = sids
    grid = pd.MultiIndex.from_product([closes.index, closes.columns])
    values = closes.to_numpy(dtype="float64")
    n = len(values)
    columns = {}
    for p in periods:
        later = np.full_like(values, np.nan)
        if p < n:
            later[: n - p] = values[p:]
        with np.errstate(divide="ignore", invalid="ignore"):
            columns[f"{p}D"] = (later / values - 1.0).ravel()
    table = pd.DataFrame(columns, index=grid)
    sid_of = {a: int(r) for a, r in zip(unique_assets, resolved, strict=True)}
    keys = pd.MultiIndex.from_arrays([dates, pd.Index(assets).map(sid_of)])
    aligned = table.reindex(keys)
    aligned.index = result_index
    return aligned


def quantile_returns_table(
    result: pd.DataFrame, column: str, bundle: Any, quantiles: int = 5, periods: Sequence[int] = (1, 5)
) -> pd.DataFrame:
    """Mean forward return by factor quantile: rows ``1..quantiles`` (1 = lowest factor), one column per period.

    Each date's assets with a finite factor value are split into ``quantiles`` equal-count buckets by ordinal
    rank (ties broken by order); dates with fewer assets than buckets are skipped. The value is the mean of the
    forward returns (:func:`forward_returns`) of every (date, asset) in the bucket. ``attrs["observations"]``
    holds the count per bucket.
    """
    if int(quantiles) < 2:
        raise InvalidArgument(f"quantiles must be at least 2, got {quantiles}")
    factor = factor_column(result, column).astype("float64")
    factor = factor[np.isfinite(factor.to_numpy())]
    if factor.empty:
        raise NoDataForRange(f"column {column!r} has no finite values to bucket")
    dates = factor.index.get_level_values(0)
    rank = factor.groupby(dates).rank(method="first")
    count = factor.groupby(dates).transform("count")
    keep = (count >= quantiles).to_numpy()
    factor, rank, count = factor[keep], rank[keep], count[keep]
    bucket = ((rank - 1) * quantiles // count).astype("int64") + 1
    fwd = forward_returns(bundle, factor.index, periods)
    fwd["quantile"] = bucket.to_numpy()
    table = fwd.groupby("quantile").mean()
    table.attrs["observations"] = fwd.groupby("quantile").size().to_dict()
    table.index.name = "quantile"
    return table
