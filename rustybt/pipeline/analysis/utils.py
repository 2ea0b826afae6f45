"""Forward returns, quantile bucketing and the clean ``factor_data`` frame, as alphalens-reloaded's ``utils``.

Names, signatures and results follow alphalens-reloaded 0.5 (``alphalens.utils``) so research code ports by
changing the import; the computations are vectorised over the whole (date, asset) index instead of a Python call
per date. Differences: the ``Dropped ...`` summary is logged (logger ``rustybt.pipeline.analysis``), not printed,
and the errors are :class:`~rustybt.errors.InvalidArgument` subclasses that keep alphalens' names.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BaseOffset, BusinessDay, CustomBusinessDay, Day

from rustybt.errors import InvalidArgument

__all__ = [
    "MaxLossExceededError",
    "NonMatchingTimezoneError",
    "compute_forward_returns",
    "demean_forward_returns",
    "get_clean_factor",
    "get_clean_factor_and_forward_returns",
    "get_forward_returns_columns",
    "infer_trading_calendar",
    "quantize_factor",
    "rate_of_return",
    "std_conversion",
    "timedelta_to_string",
]

log = logging.getLogger("rustybt.pipeline.analysis")

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class MaxLossExceededError(InvalidArgument):
    """More of the factor was dropped (no forward return, no bucket) than ``max_loss`` allows."""


class NonMatchingTimezoneError(InvalidArgument):
    """The factor's dates and the prices' dates are not in the same time zone."""


def infer_trading_calendar(factor_idx: pd.DatetimeIndex, prices_idx: pd.DatetimeIndex) -> CustomBusinessDay:
    """The trading calendar of the dates seen: their weekdays, and as holidays every such weekday not seen.

    As ``alphalens.utils.infer_trading_calendar``, in one pass over the calendar days instead of one per weekday.
    """
    full = factor_idx.union(prices_idx)
    days = full.normalize()
    traded = sorted(set(days.dayofweek))
    span = pd.date_range(days.min(), days.max(), freq="D")
    span = span[np.isin(span.dayofweek, traded)]
    holidays = [ts.date() for ts in span.difference(days)]
    return CustomBusinessDay(weekmask=" ".join(_WEEKDAYS[d] for d in traded), holidays=holidays)


def timedelta_to_string(timedelta: pd.Timedelta) -> str:
    """``pd.Timedelta('1 days 2 hours')`` -> ``'1D2h'`` (alphalens' column labels)."""
    c = pd.Timedelta(timedelta).components
    parts = [
        (c.days, "D", c.days != 0),
        (c.hours, "h", c.hours > 0),
        (c.minutes, "m", c.minutes > 0),
        (c.seconds, "s", c.seconds > 0),
        (c.milliseconds, "ms", c.milliseconds > 0),
        (c.microseconds, "us", c.microseconds > 0),
        (c.nanoseconds, "ns", c.nanoseconds > 0),
    ]
    return "".join(f"{v}{unit}" for v, unit, shown in parts if shown)


def _weekmask_holidays(freq: BaseOffset) -> tuple[str | None, Any]:
    weekmask = getattr(freq, "weekmask", None)
    holidays = getattr(freq, "holidays", None)
    if weekmask is None and holidays is None:
        if isinstance(freq, Day):
            return "Mon Tue Wed Thu Fri Sat Sun", []
        if isinstance(freq, BusinessDay):
            return "Mon Tue Wed Thu Fri", []
    return weekmask, holidays


def _period_label(prices_index: pd.DatetimeIndex, starts: np.ndarray, period: int, freq: BaseOffset) -> str:
    """The column label of ``period`` bars: the elapsed time with non-trading days removed (alphalens' rule:
    the most common trading-day count over the first 30 factor dates)."""
    weekmask, holidays = _weekmask_holidays(freq)
    naive = prices_index.tz_localize(None) if prices_index.tz is not None else prices_index
    diffs = []
    for p_idx in starts[:30]:
        if p_idx < 0 or p_idx + period >= len(prices_index):
            continue
        start, end = naive[p_idx], naive[p_idx + period]
        if weekmask is not None and holidays is not None:
            actual = int(
                np.busday_count(
                    np.datetime64(start, "D"), np.datetime64(end, "D"), weekmask=weekmask, holidays=holidays
                )
            )
        else:
            actual = len(pd.date_range(start, end, freq=freq)) - 1 - (0 if freq.is_on_offset(start) else 1)
        timediff = end - start
        diffs.append(timediff - pd.Timedelta(days=timediff.components.days - actual))
    if not diffs:
        raise InvalidArgument(
            f"Not enough price data to compute {period}-period forward returns. Prices must extend past the "
            "factor dates by at least that many observations (prices_for(bundle, assets, start, end) with an "
            "end that many sessions later)."
        )
    days = pd.Series([d.components.days for d in diffs])
    mode = int(days.mode().iloc[0])
    last = diffs[-1]
    return timedelta_to_string(last - pd.Timedelta(days=last.components.days - mode))


def _check_factor(factor: Any) -> pd.Series:
    if isinstance(factor, pd.DataFrame) and factor.shape[1] == 1:
        factor = factor.iloc[:, 0]
    if not isinstance(factor, pd.Series) or not isinstance(factor.index, pd.MultiIndex) or factor.index.nlevels != 2:
        raise InvalidArgument(
            "factor must be a pandas Series indexed by (date, asset), e.g. result['column'] of run_pipeline"
        )
    return factor


def compute_forward_returns(
    factor: pd.Series,
    prices: pd.DataFrame,
    periods: Sequence[int] = (1, 5, 10),
    filter_zscore: float | None = None,
    cumulative_returns: bool = True,
) -> pd.DataFrame:
    """Forward returns of every (date, asset) of ``factor`` over ``periods`` rows of ``prices``.

    As ``alphalens.utils.compute_forward_returns``: ``prices.ffill().pct_change(p).shift(-p)`` on the factor's
    dates (``cumulative_returns=False``: the one-period return ``p`` rows ahead), values more than
    ``filter_zscore`` standard deviations from an asset's mean set to NaN, columns labelled by the elapsed
    trading time (``"1D"``, ``"5D"``...), the date level carrying the inferred trading calendar as its ``freq``.

    Parameters
    ----------
    factor : pd.Series
        Factor values indexed by (date, asset).
    prices : pd.DataFrame
        Prices (dates x assets), e.g. :func:`prices_for`; they must extend ``max(periods)`` rows past the
        factor's last date.
    periods : sequence of int
        Horizons in rows of ``prices``.
    filter_zscore : float, optional
        Outlier cut-off in standard deviations per asset (None: keep all).
    cumulative_returns : bool
        Whether a period's return is compounded over the period (True) or the single row ``p`` ahead.

    Returns
    -------
    pd.DataFrame
        Indexed like ``factor`` (levels named ``date`` and ``asset``), one column per period.
    """
    factor = _check_factor(factor)
    if not isinstance(prices, pd.DataFrame) or not isinstance(prices.index, pd.DatetimeIndex):
        raise InvalidArgument("prices must be a DataFrame of dates x assets (see prices_for)")
    factor_dateindex = pd.DatetimeIndex(factor.index.levels[0])
    if factor_dateindex.tz != prices.index.tz:
        raise NonMatchingTimezoneError(
            f"The timezone of 'factor' ({factor_dateindex.tz}) is not the same as the timezone of 'prices' "
            f"({prices.index.tz}). See the pandas methods tz_localize and tz_convert."
        )
    if isinstance(factor_dateindex.freq, Day | BusinessDay | CustomBusinessDay):
        freq = factor_dateindex.freq
    else:
        freq = infer_trading_calendar(factor_dateindex, prices.index)
    factor_dateindex = factor_dateindex.intersection(prices.index)
    if len(factor_dateindex) == 0:
        raise InvalidArgument(
            "Factor and prices indices don't match: make sure they have the same convention in terms of "
            "datetimes and symbol-names"
        )
    prices = prices.filter(items=factor.index.levels[1])
    filled = prices.ffill().to_numpy(dtype="float64")
    n = len(filled)
    rows = prices.index.get_indexer(factor_dateindex)
    one = _pct_change(filled, 1)
    columns: dict[str, np.ndarray] = {}
    for period in sorted(int(p) for p in periods):
        if period < 1:
            raise InvalidArgument(f"periods must be positive row counts, got {period}")
        returns = _pct_change(filled, period) if cumulative_returns else one
        shifted = np.full_like(returns, np.nan)
        if period < n:
            shifted[: n - period] = returns[period:]
        if filter_zscore is not None:
            # alphalens filters on the factor dates' forward returns, per asset (column) mean and std
            picked = shifted[rows]
            mean = np.nanmean(picked, axis=0)
            std = np.nanstd(picked, axis=0, ddof=1) if len(picked) > 1 else np.full(picked.shape[1], np.nan)
            with np.errstate(invalid="ignore"):
                picked = np.where(np.abs(picked - mean) > filter_zscore * std, np.nan, picked)
        else:
            picked = shifted[rows]
        label = _period_label(prices.index, rows, period, freq)
        columns[label] = picked.ravel()
    grid = pd.MultiIndex.from_product([factor_dateindex, prices.columns], names=["date", "asset"])
    df = pd.DataFrame(columns, index=grid).reindex(factor.index)
    try:
        date_index = pd.DatetimeIndex(df.index.levels[0], freq=freq)
        df.index = df.index.set_levels(date_index, level=0)
    except ValueError:
        log.warning("factor dates do not conform to the inferred trading calendar; keeping their observed dates")
    df.index = df.index.set_names(["date", "asset"])
    return df


def _pct_change(values: np.ndarray, period: int) -> np.ndarray:
    out = np.full_like(values, np.nan)
    if period < len(values):
        with np.errstate(divide="ignore", invalid="ignore"):
            out[period:] = values[period:] / values[:-period] - 1.0
    return out


def _cells(keys: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """One integer per distinct combination of ``keys`` (the date, and the group when binning by group)."""
    if len(keys) == 1:
        codes, uniques = pd.factorize(keys[0], sort=True)
        return codes, len(uniques)
    codes, uniques = pd.MultiIndex.from_arrays(keys).factorize(sort=True)
    return codes, len(uniques)


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    # numpy.quantile's linear interpolation, written the same way so the edges are the same floats
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def _quantile_edges(values: np.ndarray, codes: np.ndarray, ncells: int, probs: np.ndarray) -> np.ndarray:
    """``np.quantile(values of cell c, probs)`` for every cell c at once: an (ncells, len(probs)) array.

    The cells' values are laid out as the rows of a (cells x widest cell) matrix and sorted row by row: many
    short sorts instead of one sort of every value.
    """
    if len(values) == 0:
        return np.full((ncells, len(probs)), np.nan)
    counts = np.bincount(codes, minlength=ncells)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    if np.all(codes[1:] >= codes[:-1]):  # rows grouped by cell already (a factor sorted by date)
        slots = np.arange(len(codes)) - starts[codes]
    else:
        order = np.argsort(codes, kind="stable")
        slots = np.empty(len(codes), dtype="int64")
        slots[order] = np.arange(len(codes)) - starts[codes[order]]
    matrix = np.full((ncells, int(counts.max())), np.inf)  # +inf pads the short rows at their end
    matrix[codes, slots] = values
    matrix.sort(axis=1)
    n = counts[:, None].astype("float64")
    virtual = (n - 1) * probs[None, :]
    lo = np.floor(virtual)
    gamma = virtual - lo
    lo = np.clip(lo.astype("int64"), 0, None)
    hi = np.clip(np.minimum(lo + 1, counts[:, None] - 1), 0, None)
    rows = np.arange(ncells)[:, None]
    edges = _lerp(matrix[rows, lo], matrix[rows, hi], gamma)
    edges[counts == 0] = np.nan
    return edges


def _qcut_probs(quantiles: int | Sequence[float]) -> np.ndarray:
    if isinstance(quantiles, int | np.integer):
        probs = np.linspace(0, 1, int(quantiles) + 1)
        # pandas' qcut: round up probabilities not representable in base 2 (pandas >= 3)
        np.putmask(probs, int(quantiles) * probs != np.arange(int(quantiles) + 1), np.nextafter(probs, 1))
        return probs
    return np.asarray(quantiles, dtype="float64")


def _bucket(values: np.ndarray, codes: np.ndarray, edges: np.ndarray, include_lowest: bool) -> np.ndarray:
    """Right-closed bucket (0-based) of each value among its cell's edges, -1 outside (pandas' cut)."""
    own = edges[codes]
    k = (values[:, None] > own).sum(axis=1) - 1
    if include_lowest:
        k = np.where(values == own[:, 0], 0, k)
    outside = (k < 0) | (k >= own.shape[1] - 1) | np.isnan(values) | np.isnan(own).any(axis=1)
    return np.where(outside, -1, k)


def _cut_edges(values: np.ndarray, codes: np.ndarray, ncells: int, bins: int) -> np.ndarray:
    """``pd.cut(x, bins)`` edges per cell: ``bins`` equal-width intervals over the cell's range, the first edge
    lowered by 0.1 % of the range (right-closed bins); a constant cell gets a +-0.1 % range."""
    lo = np.full(ncells, np.inf)
    hi = np.full(ncells, -np.inf)
    np.minimum.at(lo, codes, values)
    np.maximum.at(hi, codes, values)
    edges = np.empty((ncells, bins + 1))
    for c in range(ncells):  # np.linspace per cell: the same floats as pandas (a few thousand cells at most)
        mn, mx = lo[c], hi[c]
        if mn == mx:
            mn -= 0.001 * abs(mn) if mn != 0 else 0.001
            mx += 0.001 * abs(mx) if mx != 0 else 0.001
            edges[c] = np.linspace(mn, mx, bins + 1)
        else:
            edges[c] = np.linspace(mn, mx, bins + 1)
            edges[c, 0] -= (mx - mn) * 0.001
    return edges


def quantize_factor(
    factor_data: pd.DataFrame,
    quantiles: int | Sequence[float] | None = 5,
    bins: int | Sequence[float] | None = None,
    by_group: bool = False,
    no_raise: bool = False,
    zero_aware: bool = False,
) -> pd.Series:
    """The factor quantile (1 = lowest) of each row of ``factor_data``, computed per date (and group).

    As ``alphalens.utils.quantize_factor``: ``quantiles`` equal-count buckets (``pd.qcut``) or ``bins``
    equal-width buckets or given edges (``pd.cut``); ``zero_aware`` buckets positive and negative values
    separately. A date whose buckets cannot be formed (repeated edges) raises, or with ``no_raise`` is dropped.
    """
    if not ((quantiles is not None and bins is None) or (quantiles is None and bins is not None)):
        raise InvalidArgument("Either quantiles or bins should be provided")
    if zero_aware and not (isinstance(quantiles, int) or isinstance(bins, int)):
        raise InvalidArgument("zero_aware should only be True when quantiles or bins is an integer")
    values = factor_data["factor"].to_numpy(dtype="float64")
    keys = [np.asarray(factor_data.index.get_level_values("date"))]
    if by_group:
        keys.append(np.asarray(factor_data["group"]))
    if zero_aware:
        half_q = quantiles // 2 if quantiles is not None else None
        half_b = bins // 2 if bins is not None else None
        out = np.full(len(values), np.nan)
        for sign_mask, offset in ((values >= 0, (half_q or half_b)), (values < 0, 0)):
            sub = factor_data[sign_mask]
            part = _quantize(sub, values[sign_mask], [k[sign_mask] for k in keys], half_q, half_b, no_raise)
            out[sign_mask] = part + offset
        result = pd.Series(out, index=factor_data.index, name="factor_quantile")
    else:
        out = _quantize(factor_data, values, keys, quantiles, bins, no_raise)
        result = pd.Series(out, index=factor_data.index, name="factor_quantile")
    # integral buckets are ints, as pandas' qcut/cut labels (a date left out becomes NaN only when assigned back)
    return result.dropna().astype("int64")


def _quantize(frame: pd.DataFrame, values: np.ndarray, keys: list[np.ndarray], quantiles, bins, no_raise) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) == 0:
        return out
    codes, ncells = _cells(keys)
    if quantiles is not None:
        edges = _quantile_edges(values, codes, ncells, _qcut_probs(quantiles))
        include_lowest = True
    elif isinstance(bins, int | np.integer):
        edges = _cut_edges(values, codes, ncells, int(bins))
        include_lowest = False
    else:
        fixed = np.asarray(bins, dtype="float64")
        if np.any(np.diff(fixed) <= 0):
            raise InvalidArgument("bins must increase monotonically")
        edges = np.broadcast_to(fixed, (ncells, len(fixed)))
        include_lowest = False
    bad = np.any(np.diff(edges, axis=1) == 0, axis=1)  # pandas: "Bin edges must be unique"
    if bad.any() and not no_raise:
        first = np.flatnonzero(bad)[0]
        date = pd.Timestamp(keys[0][np.flatnonzero(codes == first)[0]])
        raise InvalidArgument(
            f"Bin edges must be unique on {date.date()}: too many equal factor values for {len(edges[0]) - 1} "
            "buckets (use fewer quantiles, bins=, or max_loss > 0 to drop such dates)"
        )
    k = _bucket(values, codes, edges, include_lowest)
    ok = (k >= 0) & ~bad[codes]
    out[ok] = k[ok] + 1
    return out


def get_clean_factor(
    factor: pd.Series,
    forward_returns: pd.DataFrame,
    groupby: pd.Series | Mapping[Any, Any] | None = None,
    binning_by_group: bool = False,
    quantiles: int | Sequence[float] | None = 5,
    bins: int | Sequence[float] | None = None,
    groupby_labels: Mapping[Any, Any] | None = None,
    max_loss: float = 0.35,
    zero_aware: bool = False,
) -> pd.DataFrame:
    """Join the factor, its forward returns, its quantile (and group) into alphalens' ``factor_data`` frame.

    As ``alphalens.utils.get_clean_factor``: non-finite factor values and rows without every forward return
    are dropped, then the buckets are formed; more than ``max_loss`` of the rows dropped raises
    :class:`MaxLossExceededError` (``max_loss=0`` also re-raises a date whose buckets cannot be formed).
    """
    factor = _check_factor(factor)
    initial_amount = float(len(factor.index))
    factor_copy = factor.copy()
    factor_copy.index = factor_copy.index.rename(["date", "asset"])
    factor_copy = factor_copy[np.isfinite(factor_copy.to_numpy(dtype="float64", na_value=np.nan))]
    merged_data = forward_returns.copy()
    merged_data["factor"] = factor_copy
    if groupby is not None:
        if isinstance(groupby, Mapping):
            missing = set(factor_copy.index.get_level_values("asset")) - set(groupby.keys())
            if missing:
                raise InvalidArgument(f"Assets {sorted(map(str, missing))} not in group mapping")
            mapping = pd.Series(groupby)
            groupby = pd.Series(
                mapping[factor_copy.index.get_level_values("asset")].to_numpy(), index=factor_copy.index
            )
        if groupby_labels is not None:
            missing = set(groupby.to_numpy()) - set(groupby_labels.keys())
            if missing:
                raise InvalidArgument(f"groups {sorted(map(str, missing))} not in passed group names")
            names = pd.Series(groupby_labels)
            groupby = pd.Series(names[groupby.to_numpy()].to_numpy(), index=groupby.index)
        merged_data["group"] = groupby.astype("category")
    merged_data = merged_data.dropna()
    fwdret_amount = float(len(merged_data.index))
    no_raise = max_loss != 0
    merged_data["factor_quantile"] = quantize_factor(
        merged_data, quantiles, bins, binning_by_group, no_raise, zero_aware
    )
    merged_data = merged_data.dropna()
    binning_amount = float(len(merged_data.index))
    tot_loss = (initial_amount - binning_amount) / initial_amount if initial_amount else 0.0
    fwdret_loss = (initial_amount - fwdret_amount) / initial_amount if initial_amount else 0.0
    log.info(
        "Dropped %.1f%% entries from factor data: %.1f%% in forward returns computation and %.1f%% in binning "
        "phase (set max_loss=0 to see potentially suppressed Exceptions).",
        tot_loss * 100,
        fwdret_loss * 100,
        (tot_loss - fwdret_loss) * 100,
    )
    if tot_loss > max_loss:
        raise MaxLossExceededError(
            f"max_loss ({max_loss * 100:.1f}%) exceeded {tot_loss * 100:.1f}%, consider increasing it."
        )
    return merged_data


def get_clean_factor_and_forward_returns(
    factor: pd.Series,
    prices: pd.DataFrame,
    groupby: pd.Series | Mapping[Any, Any] | None = None,
    binning_by_group: bool = False,
    quantiles: int | Sequence[float] | None = 5,
    bins: int | Sequence[float] | None = None,
    periods: Sequence[int] = (1, 5, 10),
    filter_zscore: float | None = 20,
    groupby_labels: Mapping[Any, Any] | None = None,
    max_loss: float = 0.35,
    zero_aware: bool = False,
    cumulative_returns: bool = True,
) -> pd.DataFrame:
    """alphalens' entry point: forward returns (:func:`compute_forward_returns`) and buckets
    (:func:`get_clean_factor`) of ``factor`` in one frame.

    Returns
    -------
    pd.DataFrame
        Indexed by (date, asset): one column per period (``"1D"``, ``"5D"``...), ``factor``, ``group`` (when
        ``groupby`` is given) and ``factor_quantile``.
    """
    forward_returns = compute_forward_returns(factor, prices, periods, filter_zscore, cumulative_returns)
    return get_clean_factor(
        factor,
        forward_returns,
        groupby=groupby,
        groupby_labels=groupby_labels,
        quantiles=quantiles,
        bins=bins,
        binning_by_group=binning_by_group,
        max_loss=max_loss,
        zero_aware=zero_aware,
    )


def get_forward_returns_columns(columns: pd.Index, require_exact_day_multiple: bool = False) -> pd.Index:
    """The forward-return columns among ``columns`` (labels such as ``1D``, ``4h``, ``1D30m``)."""
    if require_exact_day_multiple:
        pattern = re.compile(r"^(\d+([D]))+$", re.IGNORECASE)
    else:
        pattern = re.compile(r"^(\d+([Dhms]|ms|us|ns))+$", re.IGNORECASE)
    columns = pd.Index(columns)
    valid = [isinstance(c, str) and pattern.match(c) is not None for c in columns]
    if require_exact_day_multiple and not all(valid):
        log.warning("Skipping return periods that aren't exact multiples of days.")
    return columns[valid]


def demean_forward_returns(factor_data: pd.DataFrame, grouper: Any = None) -> pd.DataFrame:
    """Forward returns minus their mean per date (or per ``grouper``, e.g. ``[dates, "group"]``)."""
    factor_data = factor_data.copy()
    cols = get_forward_returns_columns(factor_data.columns)
    if grouper is None or (isinstance(grouper, list) and not grouper):
        pos = factor_data.index.names.index("date")
        codes = np.asarray(factor_data.index.codes[pos], dtype="int64")
        n = np.bincount(codes, minlength=len(factor_data.index.levels[pos])).astype("float64")
        for c in cols:
            values = factor_data[c].to_numpy(dtype="float64")
            ok = ~np.isnan(values)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.bincount(codes[ok], values[ok], len(n)) / np.bincount(codes[ok], minlength=len(n))
            factor_data[c] = values - mean[codes]
        return factor_data
    means = factor_data.groupby(grouper, observed=False)[cols].transform("mean")
    factor_data[cols] = factor_data[cols] - means
    return factor_data


def std_conversion(period_std: pd.Series, base_period: str) -> pd.Series:
    """A ``period_std.name``-period standard deviation scaled to ``base_period`` (square-root rule)."""
    factor = pd.Timedelta(period_std.name) / pd.Timedelta(base_period)
    return period_std / np.sqrt(factor)


def rate_of_return(period_ret: pd.Series, base_period: str) -> pd.Series:
    """A ``period_ret.name``-period return as a ``base_period`` rate (geometric)."""
    factor = pd.Timedelta(base_period) / pd.Timedelta(period_ret.name)
    return period_ret.add(1).pow(factor).sub(1)
