"""Trading calendars, from ``exchange_calendars`` (never hand-written).

``get_calendar("XNYS")`` for US equities, ``get_calendar("24/7")`` for crypto. Calendars are cached per
(name, start, end) because building one costs up to 0.3 s (XNYS over 1990 to next year).

Code that needs only the session dates (the pipeline, daily bar labels) asks :func:`calendar_sessions`, which
also keeps them on disk, under the configured cache directory (``cache.disk_cache_dir``, default
``~/.rustybt/cache``) in ``calendars/``: a later process then reads a few kilobytes instead of building the
calendar. The file name holds the calendar, its span and the ``exchange_calendars`` version, so a new version's
holiday rules are never answered from an old file. ``RUSTYBT_CALENDAR_CACHE=0`` turns the files off.

:func:`bar_labels` gives the labels of a calendar's bars at a resolution, the rows every reader aligns its arrays
to: daily (and coarser) bars are labelled by session (midnight UTC of the session date), intraday bars by their
start, ``open + k * resolution`` for each session before its close (for 1m on XNYS exactly the calendar's trading
minutes); a 24/7 calendar gives a plain regular grid.
"""

from __future__ import annotations

import contextlib
import logging
import re
from functools import lru_cache
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from rustybt._cache_files import cache_subdir, write_atomically
from rustybt._utils import to_utc
from rustybt.data.resolution import Resolution, parse_resolution
from rustybt.errors import CalendarError

__all__ = [
    "ExchangeCalendar",
    "bar_labels",
    "calendar_names",
    "calendar_sessions",
    "get_calendar",
    "session_labels",
    "sessions_in_range",
]

log = logging.getLogger(__name__)

ExchangeCalendar = xcals.ExchangeCalendar

# Wide enough for decades of research data; exchange_calendars defaults to ~20 years back only.
_DEFAULT_START = pd.Timestamp("1990-01-01")


def calendar_names() -> list[str]:
    """Every calendar name (and alias) ``exchange_calendars`` knows."""
    return sorted(xcals.get_calendar_names(include_aliases=True))


def get_calendar(name: str, start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None):
    """The ``exchange_calendars`` calendar ``name`` covering ``start``..``end``.

    Raises
    ------
    CalendarError
        Unknown name (the message lists close matches).
    """
    return _cached(name, *_span(start, end))


def calendar_sessions(
    name: str, start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None
) -> pd.DatetimeIndex:
    """The sessions (naive midnight dates) of ``get_calendar(name, start, end)``, kept on disk between processes.

    Raises
    ------
    CalendarError
        Unknown name (the message lists close matches).
    """
    return _sessions_cached(name, *_span(start, end))


def _span(start, end) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The (start, end) a calendar is built over: at least 1990-01-01 .. a year from today."""
    start_ts = _DEFAULT_START if start is None else min(_naive(start), _DEFAULT_START)
    # one calendar object for every end up to a year ahead: building XNYS costs ~0.3 s, so requests that differ
    # only in an end date it already covers must share the cached instance
    default_end = pd.Timestamp.now().normalize() + pd.Timedelta(days=366)
    end_ts = default_end if end is None else max(_naive(end), default_end)
    return start_ts, end_ts


def _naive(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return (ts.tz_convert(None) if ts.tzinfo is not None else ts).normalize()


@lru_cache(maxsize=32)
def _sessions_cached(name: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    path = _sessions_file(name, start, end)
    if path is not None and path.exists():
        try:
            values = np.load(path, allow_pickle=False)
            if values.dtype == np.int64 and values.ndim == 1:
                return pd.DatetimeIndex(values.view("datetime64[ns]"))
            log.debug("ignoring calendar sessions file %s: unexpected content", path)
        except (OSError, ValueError):
            log.debug("ignoring unreadable calendar sessions file %s", path, exc_info=True)
    sessions = pd.DatetimeIndex(_cached(name, start, end).sessions)
    if sessions.tz is not None:
        sessions = sessions.tz_convert(None)
    sessions = pd.DatetimeIndex(sessions.as_unit("ns"), freq=None)
    if path is not None:
        values = sessions.asi8
        write_atomically(path, lambda f: np.save(f, values, allow_pickle=False))
        _remove_superseded(path)
    return sessions


def _sessions_file(name: str, start: pd.Timestamp, end: pd.Timestamp) -> Path | None:
    root = cache_subdir("calendars", "RUSTYBT_CALENDAR_CACHE")
    if root is None:
        return None
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return root / f"{safe}-{start:%Y%m%d}-{end:%Y%m%d}-xcals{xcals.__version__}.npy"


def _remove_superseded(path: Path) -> None:
    """Delete the files this one replaces: same calendar and start, any other end or library version (the end
    moves with today's date, so without this a file would be left behind every day)."""
    calendar_and_start = path.name.split("-")[:2]
    for other in path.parent.glob(f"{calendar_and_start[0]}-{calendar_and_start[1]}-*.npy"):
        if other != path and other.name.split("-")[:2] == calendar_and_start:
            with contextlib.suppress(OSError):  # another process may have removed it first
                other.unlink()


@lru_cache(maxsize=32)
def _cached(name: str, start: pd.Timestamp, end: pd.Timestamp):
    try:
        return xcals.get_calendar(name, start=start, end=end)
    except xcals.errors.InvalidCalendarName as exc:
        import difflib

        close = difflib.get_close_matches(name, calendar_names(), n=5)
        hint = f" Did you mean: {', '.join(close)}?" if close else " See rustybt.calendars.calendar_names()."
        raise CalendarError(f"unknown trading calendar {name!r}.{hint}") from exc


def sessions_in_range(name: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Sessions of calendar ``name`` from ``start`` to ``end`` (inclusive, naive dates; from
    :func:`calendar_sessions`, so no calendar is built when its session file exists)."""
    start = pd.Timestamp(start).tz_localize(None).normalize() if pd.Timestamp(start).tzinfo else pd.Timestamp(start)
    end = pd.Timestamp(end).tz_localize(None).normalize() if pd.Timestamp(end).tzinfo else pd.Timestamp(end)
    sessions = calendar_sessions(name, start, end)
    lo, hi = sessions.slice_locs(start.normalize(), end.normalize())
    return sessions[lo:hi]


def session_labels(calendar_name: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Sessions from ``start`` to ``end`` inclusive as midnight-UTC timestamps (ns)."""
    return sessions_in_range(calendar_name, _naive(start), _naive(end)).tz_localize("UTC")


def bar_labels(
    calendar_name: str, resolution: str | Resolution, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DatetimeIndex:
    """Labels of bars of ``resolution`` whose start lies in ``[start, end]`` (UTC, ns)."""
    res = parse_resolution(resolution)
    if not res.is_intraday:
        return session_labels(calendar_name, start, end)
    start = to_utc(start)
    end = to_utc(end)
    cal = get_calendar(calendar_name, start, end)
    step = res.nominal_seconds * 1_000_000_000
    if calendar_name == "24/7":
        first = -(-start.value // step) * step
        # integer arithmetic: arange over ns epochs computes its length in float64 and can drop the last bar
        values = first + step * np.arange((end.value - first) // step + 1, dtype=np.int64)
        return pd.DatetimeIndex(values.view("datetime64[ns]")).tz_localize("UTC")
    sched = cal.schedule.loc[_naive(start) - pd.Timedelta(days=1) : _naive(end)]
    opens = sched["open"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]").array.asi8
    closes = sched["close"].dt.tz_convert("UTC").astype("datetime64[ns, UTC]").array.asi8
    counts = -(-(closes - opens) // step)  # bars per session, last one truncated at the close
    offsets = np.arange(counts.sum(), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    values = np.repeat(opens, counts) + offsets * step
    values = values[(values >= start.value) & (values <= end.value)]
    return pd.DatetimeIndex(values.view("datetime64[ns]")).tz_localize("UTC")
