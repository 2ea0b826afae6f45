"""Prices from a bundle for factor analysis, and the quick forward-return helpers the notebook charts use.

:func:`prices_for` gives alphalens' ``prices`` frame (adjusted closes, dates x assets) from a bundle;
:func:`forward_returns` gives each (date, asset) of a result its forward returns from the bundle's adjusted closes;
:func:`quantile_returns_table` the mean forward return by factor quantile (simple equal-count buckets).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rustybt.errors import InvalidArgument, NoDataForRange

__all__ = ["factor_column", "forward_returns", "prices_for", "quantile_returns_table"]


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


def prices_for(
    bundle: Any, assets: Any = None, start: Any = None, end: Any = None, *, field: str = "close"
) -> pd.DataFrame:
    """Closes adjusted for splits and dividends as of ``end``: alphalens' ``prices`` frame (dates x assets).

    Point in time as alphalens expects: every close is adjusted as of the last date of the frame, so the ratio
    of two closes is the total return between them and no adjustment announced after ``end`` leaks in.

    Parameters
    ----------
    bundle : Bundle or DataPortal
        Where the bars come from (``catalog.bundle(NAME)``).
    assets : sequence, pd.Index, pd.DataFrame or pd.Series, optional
        Assets, sids or symbols; a pipeline result (or its factor column) gives its assets. Default: every asset.
    start, end : date-like, optional
        First and last session (default: the bundle's). For forward returns of ``p`` periods, ``end`` must lie
        ``p`` sessions after the factor's last date (:func:`factor_tearsheet` does this for you).
    field : str
        ``"close"`` (default) or another history field (``"open"``, ``"price"``...).

    Returns
    -------
    pd.DataFrame
        Indexed by session (tz-naive, as pipeline results are), one column per asset (the Asset objects, so the
        frame's columns match a pipeline result's asset level), NaN where an asset did not trade.
    """
    portal = _portal(bundle)
    b = portal.bundle
    if isinstance(assets, pd.DataFrame | pd.Series) and isinstance(assets.index, pd.MultiIndex):
        assets = assets.index.get_level_values(1).unique()
    if assets is None:
        resolved = portal.asset_finder.retrieve_all(portal.asset_finder.sids)
    else:
        resolved = [portal._asset(a) for a in assets]
    first = b.start if start is None else pd.Timestamp(start)
    last = b.end if end is None else pd.Timestamp(end)
    first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
    last = last.tz_localize("UTC") if last.tzinfo is None else last.tz_convert("UTC")
    if last < first:
        raise InvalidArgument(f"end {last.date()} is before start {first.date()}")
    labels = portal.reader.labels(max(first, b.start), min(last, b.end))
    if len(labels) == 0:
        raise NoDataForRange(
            f"bundle {b.name!r} has no bars from {first.date()} to {last.date()}; it covers "
            f"{b.start.date()} .. {b.end.date()}"
        )
    window = portal.get_history_window([a.sid for a in resolved], labels[-1], len(labels), b.resolution, field)
    frame = pd.DataFrame(window.to_numpy(dtype="float64"), index=_naive_dates(window.index), columns=resolved)
    frame.index.name = "date"
    frame.columns.name = "asset"
    return frame


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
