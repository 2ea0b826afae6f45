"""Yahoo's chart JSON to raw bars: parsing with yfinance's own parsers, session dates, regular hours, and undoing
Yahoo's split adjustment (see :mod:`rustybt.data.adapters.yfinance` for why and how).
"""

from __future__ import annotations

import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from rustybt.data.adapters._vendor import decimal_text
from rustybt.data.resolution import parse_resolution
from rustybt.data.schema import TIMESTAMP_DTYPE
from rustybt.errors import AdapterError

__all__ = [
    "YAHOO_RELATIVE_PRECISION",
    "Chart",
    "build_frame",
    "empty_frame",
    "epoch_seconds",
    "exchange_tz",
    "merge_charts",
    "parse_chart",
    "regular_hours",
    "resolution_seconds",
    "split_range",
]

#: Relative precision of Yahoo's prices (float32: 2**-24 per rounding, with room for Yahoo's own arithmetic).
YAHOO_RELATIVE_PRECISION = 2.0**-22
_MAX_DECIMALS = 12


@dataclass
class Chart:
    """One chart response, parsed: bars as float arrays plus the events and metadata."""

    epoch_s: np.ndarray  # int64 seconds, sorted
    values: dict[str, np.ndarray]  # open high low close volume, float64 (NaN = missing)
    splits: list[tuple[date, float]]  # (session date, factor: 7.0 for a 7-for-1 split)
    dividends: list[tuple[date, float]]  # (session date, split-adjusted amount)
    meta: dict[str, Any]


# --- parsing ---------------------------------------------------------------------------------------------


def parse_chart(symbol: str, result: dict[str, Any]) -> Chart:
    """``chart.result[0]`` through yfinance's parsers into float arrays and dated events."""
    from yfinance import utils as yf_utils

    meta = result.get("meta") if isinstance(result.get("meta"), dict) else {}
    empty = Chart(np.empty(0, np.int64), {c: np.empty(0) for c in _VALUES}, [], [], meta)
    try:
        tz = None
        if result.get("timestamp") or (result.get("events") or {}):
            tz = exchange_tz(meta, symbol)
        if result.get("timestamp"):
            quotes = yf_utils.parse_quotes(result)
            epoch_s = np.asarray((quotes.index - pd.Timestamp(0)) // pd.Timedelta(seconds=1), dtype=np.int64)
            values = {c: quotes[c.capitalize()].to_numpy(dtype=np.float64, na_value=np.nan) for c in _VALUES}
        else:
            epoch_s, values = empty.epoch_s, empty.values
        dividends, splits, _ = yf_utils.parse_actions(result)
    except AdapterError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise AdapterError(
            f"yfinance: {symbol}: Yahoo's chart data is malformed ({type(exc).__name__}: {exc})",
            vendor_message=str(exc),
            source="yfinance",
        ) from exc
    split_rows = []
    div_rows = []
    if tz is not None:
        split_rows = [
            (d, float(f)) for d, f in zip(_session_dates(splits.index, tz), splits["Stock Splits"], strict=True)
        ]
        split_rows = [(d, f) for d, f in split_rows if math.isfinite(f) and f > 0 and f != 1.0]
        div_rows = [
            (d, float(a)) for d, a in zip(_session_dates(dividends.index, tz), dividends["Dividends"], strict=True)
        ]
    return Chart(epoch_s, values, split_rows, div_rows, meta)


_VALUES = ("open", "high", "low", "close", "volume")


def exchange_tz(meta: dict[str, Any], symbol: str) -> zoneinfo.ZoneInfo:
    name = meta.get("exchangeTimezoneName")
    try:
        return zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise AdapterError(
            f"yfinance: {symbol}: Yahoo's chart metadata has no usable exchangeTimezoneName ({name!r})",
            vendor_message=str(name),
            source="yfinance",
        ) from None


def _session_dates(index, tz, dst_fix: bool = True) -> list[date]:
    """Session dates of Yahoo timestamps (naive UTC) in the exchange's zone.

    With ``dst_fix`` (daily bars and events), like yfinance's ``fix_Yahoo_dst_issue``: a time of exactly 22:00
    or 23:00 local is Yahoo's midnight off by a DST hour, so it belongs to the next day.
    """
    if len(index) == 0:
        return []
    local = pd.DatetimeIndex(index).tz_localize("UTC").tz_convert(tz)
    if not dst_fix:
        return list(local.date)
    shift = np.where((local.minute == 0) & np.isin(local.hour, (22, 23)), 24 - local.hour, 0)
    local = local + pd.to_timedelta(shift, unit="h")
    return list(local.date)


def merge_charts(charts: Sequence[Chart]) -> Chart:
    if len(charts) == 1:
        return charts[0]
    epoch = np.concatenate([c.epoch_s for c in charts])
    order = np.argsort(epoch, kind="stable")
    epoch = epoch[order]
    values = {k: np.concatenate([c.values[k] for c in charts])[order] for k in _VALUES}
    keep = np.ones(epoch.size, dtype=bool)
    keep[:-1] = epoch[1:] != epoch[:-1]  # pieces overlap at their edges: keep the later copy
    meta = next((c.meta for c in charts if c.meta), {})
    splits = sorted(set(s for c in charts for s in c.splits))
    dividends = sorted(set(d for c in charts for d in c.dividends))
    return Chart(epoch[keep], {k: v[keep] for k, v in values.items()}, splits, dividends, meta)


def build_frame(symbol, chart: Chart, splits, tz, resolution, start, end) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """The adapter frame (raw prices as decimal text) and the events inside the requested range."""
    epoch = chart.epoch_s
    vals = {k: v.copy() for k, v in chart.values.items()}
    utc_index = pd.to_datetime(epoch, unit="s")
    keep = ~np.all(np.isnan(np.vstack([vals[c] for c in _VALUES[:4]])), axis=0)  # Yahoo's all-null rows
    intraday = parse_resolution(resolution).is_intraday
    if intraday:
        times = epoch[keep]
        vals = {k: v[keep] for k, v in vals.items()}
        if resolution == "30m":
            times, vals = _resample(times, vals, 1800)
        ts = pl.from_epoch(pl.Series("timestamp", times, dtype=pl.Int64), time_unit="s").dt.replace_time_zone("UTC")
        days = _session_dates(pd.to_datetime(times, unit="s"), tz, dst_fix=False)
        inside = np.ones(times.size, dtype=bool)
        if start is not None:
            inside &= times >= epoch_seconds(start)
        if end is not None:
            inside &= times <= epoch_seconds(end)
    else:
        days_all = _session_dates(utc_index, tz)
        days_all = np.array([_period_start(d, resolution) for d in days_all], dtype="datetime64[D]")
        days_arr, vals = _one_row_per_period(days_all[keep], {k: v[keep] for k, v in vals.items()}, resolution)
        days = [d.astype(object) for d in days_arr]
        inside = np.ones(len(days), dtype=bool)
        if start is not None:
            inside &= days_arr >= np.datetime64(_period_start(start.date(), resolution))
        if end is not None:
            inside &= days_arr <= np.datetime64(end.date())
        ts = pl.Series("timestamp", days_arr.astype("datetime64[ns]")).dt.replace_time_zone("UTC")

    factors = _split_factors(days, splits)
    price_text = {
        c: [_unadjust(v, f) for v, f in zip(vals[c][inside], factors[inside], strict=True)] for c in _VALUES[:4]
    }
    volume_text = [_raw_volume(v, f) for v, f in zip(vals["volume"][inside], factors[inside], strict=True)]
    frame = pl.DataFrame(
        {
            "timestamp": ts.filter(pl.Series(inside)).cast(TIMESTAMP_DTYPE),
            "symbol": [symbol] * int(inside.sum()),
            **{c: pl.Series(c, price_text[c], dtype=pl.String) for c in _VALUES[:4]},
            "volume": pl.Series("volume", volume_text, dtype=pl.String),
        }
    )

    first = start.date() if start is not None else (min(days) if days else None)
    last = end.date() if end is not None else None
    events: list[dict[str, Any]] = []
    for day, factor in chart.splits:
        if _within(day, first, last):
            events.append(_event(symbol, "split", day, ratio=1.0 / factor))
    for day, amount in chart.dividends:
        if _within(day, first, last) and math.isfinite(amount) and amount > 0:
            raw = _clean(amount * float(_split_factors([day], splits)[0]))
            events.append(_event(symbol, "dividend", day, amount=raw))
    return frame, events


def _within(day: date, first: date | None, last: date | None) -> bool:
    return (first is None or day >= first) and (last is None or day <= last)


def _event(symbol: str, kind: str, day: date, ratio: float | None = None, amount: float | None = None):
    return {
        "symbol": symbol,
        "kind": kind,
        "effective_date": datetime(day.year, day.month, day.day),
        "ratio": ratio,
        "amount": amount,
    }


def _period_start(day: date, resolution: str) -> date:
    if resolution == "1w":
        return day - timedelta(days=day.weekday())
    if resolution == "1M":
        return day.replace(day=1)
    return day


def _one_row_per_period(days: np.ndarray, vals: dict[str, np.ndarray], resolution: str):
    """One row per session (week, month), as yfinance's ``fix_Yahoo_returning_live_separate`` does.

    While a period is in progress Yahoo may add a separate 'live' row for it: a daily one repeats the session
    (the last row wins), a weekly or monthly one holds the latest days (merged into the period's row).
    """
    if days.size < 2 or bool(np.all(days[1:] > days[:-1])):
        return days, vals
    frame = pl.DataFrame({"day": days, **vals})
    if resolution == "1d":
        aggs = [pl.col(c).last() for c in _VALUES]
    else:
        aggs = [
            pl.col("open").drop_nans().first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").drop_nans().last(),
            pl.col("volume").sum(),
        ]
    merged = frame.group_by("day", maintain_order=True).agg(aggs).sort("day")
    merged = merged.with_columns(pl.col(c).fill_null(float("nan")) for c in _VALUES)
    return merged.get_column("day").to_numpy(), {c: merged.get_column(c).to_numpy() for c in _VALUES}


def regular_hours(chart: Chart) -> Chart:
    keep = _in_trading_periods(chart.epoch_s, chart.meta)
    if keep.all():
        return chart
    values = {k: v[keep] for k, v in chart.values.items()}
    return Chart(chart.epoch_s[keep], values, chart.splits, chart.dividends, chart.meta)


def _in_trading_periods(epoch: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
    """Rows inside Yahoo's regular trading periods (yfinance drops the pre/post bars Yahoo sends unasked)."""
    periods = meta.get("tradingPeriods")
    if not isinstance(periods, list):
        return np.ones(epoch.size, dtype=bool)
    bounds = []
    for day in periods:
        for p in day if isinstance(day, list) else [day]:
            if isinstance(p, dict) and isinstance(p.get("start"), int) and isinstance(p.get("end"), int):
                bounds.append((p["start"], p["end"]))
    if not bounds:
        return np.ones(epoch.size, dtype=bool)
    bounds.sort()
    starts = np.array([b[0] for b in bounds], dtype=np.int64)
    ends = np.array([b[1] for b in bounds], dtype=np.int64)
    i = np.searchsorted(starts, epoch, side="right") - 1
    ok = i >= 0
    ok[ok] = epoch[ok] < ends[i[ok]]
    return ok


def _resample(times: np.ndarray, vals: dict[str, np.ndarray], seconds: int):
    """Aggregate bars into ``seconds``-long bars aligned to the epoch (yfinance's 30m-from-15m workaround)."""
    if times.size == 0:
        return times, vals
    frame = pl.DataFrame({"t": times // seconds * seconds, **vals})
    out = (
        frame.group_by("t", maintain_order=True)
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
        )
        .sort("t")
    )
    return out.get_column("t").to_numpy(), {c: out.get_column(c).to_numpy().astype(np.float64) for c in _VALUES}


def _split_factors(days: Sequence[date], splits: Sequence[tuple[date, float]]) -> np.ndarray:
    """For each session: the product of the factors of the splits after it (what Yahoo divided prices by)."""
    if not splits:
        return np.ones(len(days))
    by_day: dict[date, float] = {}
    for d, f in splits:
        by_day[d] = f  # the same split seen by two requests counts once
    split_days = np.array(sorted(by_day), dtype="datetime64[D]")
    factors = np.array([by_day[d.astype(object)] for d in split_days], dtype=np.float64)
    after = np.append(np.cumprod(factors[::-1])[::-1], 1.0)  # after[i]: product of factors[i:]
    idx = np.searchsorted(split_days, np.array(days, dtype="datetime64[D]"), side="right")
    return after[idx]


def _clean(value: float) -> float:
    """``value`` with the fewest decimals that stay within Yahoo's precision of it."""
    tol = abs(value) * YAHOO_RELATIVE_PRECISION
    for digits in range(_MAX_DECIMALS + 1):
        rounded = round(value, digits)
        if abs(rounded - value) <= tol:
            return rounded
    return value


def _unadjust(value: float, factor: float) -> str | None:
    value, factor = float(value), float(factor)
    if not math.isfinite(value):
        return None
    if factor == 1.0:
        return decimal_text(value)
    return decimal_text(_clean(value * factor))


def _raw_volume(value: float, factor: float) -> str:
    value, factor = float(value), float(factor)
    if not math.isfinite(value):
        return "0"
    raw = value / factor
    if factor != 1.0 or raw.is_integer():
        return str(round(raw))
    return decimal_text(raw)


def empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema={"timestamp": TIMESTAMP_DTYPE, "symbol": pl.String, **dict.fromkeys(_VALUES, pl.String)})


def epoch_seconds(ts: pd.Timestamp) -> int:
    return int(pd.Timestamp(ts).timestamp())


def resolution_seconds(resolution: str) -> int:
    return parse_resolution(resolution).nominal_seconds


def split_range(start: pd.Timestamp, end: pd.Timestamp, span: timedelta) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    pieces = []
    cursor = start
    step = pd.Timedelta(span)
    while True:
        stop = min(cursor + step, end)
        pieces.append((cursor, stop))
        if stop >= end:
            return pieces
        cursor = stop
