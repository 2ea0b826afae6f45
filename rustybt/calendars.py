"""Trading calendars, from ``exchange_calendars`` (never hand-written).

``get_calendar("XNYS")`` for US equities, ``get_calendar("24/7")`` for crypto. Calendars are cached per
(name, start, end) because building one costs tens of milliseconds.
"""

from __future__ import annotations

from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

from rustybt.errors import CalendarError

__all__ = ["ExchangeCalendar", "calendar_names", "get_calendar", "sessions_in_range"]

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
    start_ts = (
        _DEFAULT_START if start is None else min(pd.Timestamp(start).tz_localize(None).normalize(), _DEFAULT_START)
    )
    # one calendar object for every end up to a year ahead: building XNYS costs ~0.3 s, so requests that differ
    # only in an end date it already covers must share the cached instance
    default_end = pd.Timestamp.now().normalize() + pd.Timedelta(days=366)
    end_ts = default_end if end is None else max(pd.Timestamp(end).tz_localize(None).normalize(), default_end)
    return _cached(name, start_ts, end_ts)


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
    """Sessions of calendar ``name`` from ``start`` to ``end`` (inclusive, naive dates)."""
    start = pd.Timestamp(start).tz_localize(None).normalize() if pd.Timestamp(start).tzinfo else pd.Timestamp(start)
    end = pd.Timestamp(end).tz_localize(None).normalize() if pd.Timestamp(end).tzinfo else pd.Timestamp(end)
    cal = get_calendar(name, start, end)
    start = max(start.normalize(), cal.first_session)
    end = min(end.normalize(), cal.last_session)
    if start > end:
        return pd.DatetimeIndex([])
    return cal.sessions_in_range(start, end)
