"""Bar labels of a calendar at a resolution: the rows every reader aligns its arrays to.

Daily (and coarser) bars are labelled by session (midnight UTC of the session date). Intraday bars are labelled by
their start: ``open + k * resolution`` for each session, before its close (for 1m on XNYS these are exactly the
calendar's trading minutes). A 24/7 calendar gives a plain regular grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rustybt.calendars import get_calendar, sessions_in_range
from rustybt.data.resolution import Resolution, parse_resolution

__all__ = ["bar_labels", "session_labels"]


def session_labels(calendar_name: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Sessions from ``start`` to ``end`` inclusive as midnight-UTC timestamps (ns)."""
    return sessions_in_range(calendar_name, _naive_day(start), _naive_day(end)).tz_localize("UTC")


def bar_labels(
    calendar_name: str, resolution: str | Resolution, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DatetimeIndex:
    """Labels of bars of ``resolution`` whose start lies in ``[start, end]`` (UTC, ns)."""
    res = parse_resolution(resolution)
    if not res.is_intraday:
        return session_labels(calendar_name, start, end)
    start = _utc(start)
    end = _utc(end)
    cal = get_calendar(calendar_name, start, end)
    step = res.nominal_seconds * 1_000_000_000
    if calendar_name == "24/7":
        first = -(-start.value // step) * step
        values = np.arange(first, end.value + 1, step, dtype=np.int64)
        return pd.DatetimeIndex(values.view("datetime64[ns]")).tz_localize("UTC")
    sched = cal.schedule.loc[_naive_day(start) - pd.Timedelta(days=1) : _naive_day(end)]
    opens = sched["open"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]").array.asi8
    closes = sched["close"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]").array.asi8
    counts = -(-(closes - opens) // step)  # bars per session, last one truncated at the close
    offsets = np.arange(counts.sum(), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    values = np.repeat(opens, counts) + offsets * step
    values = values[(values >= start.value) & (values <= end.value)]
    return pd.DatetimeIndex(values.view("datetime64[ns]")).tz_localize("UTC")


def _utc(ts: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.as_unit("ns")


def _naive_day(ts: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()
