"""``schedule_function`` rules: zipline's ``date_rules`` and ``time_rules``.

Date rules pick sessions by their position in the calendar's week or month (counted on the full calendar, not
the simulation's range, as zipline does); time rules pick bars within a session by an offset from its open or
close. On daily bars every time rule fires at the session's one bar (zipline ignores them there too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rustybt.errors import InvalidArgument

__all__ = ["DateRule", "EventManager", "ScheduledFunction", "TimeRule", "date_rules", "time_rules"]


@dataclass(frozen=True)
class DateRule:
    """Which sessions fire: ``kind`` in every_day / week_start / week_end / month_start / month_end."""

    kind: str
    days_offset: int = 0

    def mask(self, sessions: pd.DatetimeIndex) -> np.ndarray:
        """Boolean per session of ``sessions`` (a complete run of calendar sessions)."""
        n = len(sessions)
        if self.kind == "every_day":
            return np.ones(n, dtype=bool)
        if self.kind in ("week_start", "week_end"):
            iso = sessions.isocalendar()
            keys = (iso["year"].to_numpy() * 100 + iso["week"].to_numpy()).astype(np.int64)
        else:
            keys = (sessions.year * 100 + sessions.month).to_numpy().astype(np.int64)
        change = np.ones(n, dtype=bool)
        change[1:] = keys[1:] != keys[:-1]
        group = np.cumsum(change) - 1
        starts = np.flatnonzero(change)
        ends = np.append(starts[1:], n) - 1
        pos = np.arange(n)
        if self.kind.endswith("start"):
            target = starts + self.days_offset
            ok = target <= ends
            return ok[group] & (pos == target[group])
        target = ends - self.days_offset
        ok = target >= starts
        return ok[group] & (pos == target[group])


_ZERO = pd.Timedelta(0)


@dataclass(frozen=True)
class TimeRule:
    """Which bar of a session fires: the first bar closing at or after ``open + offset`` (``anchor="open"``), the
    last bar closing at or before ``close - offset`` (``"close"``), or every bar (``"every_bar"``)."""

    anchor: str
    offset: pd.Timedelta = _ZERO


class date_rules:  # noqa: N801  (zipline's name)
    """Factories of date rules (zipline's ``date_rules``)."""

    @staticmethod
    def every_day() -> DateRule:
        return DateRule("every_day")

    @staticmethod
    def month_start(days_offset: int = 0) -> DateRule:
        return DateRule("month_start", _offset(days_offset, 22))

    @staticmethod
    def month_end(days_offset: int = 0) -> DateRule:
        return DateRule("month_end", _offset(days_offset, 22))

    @staticmethod
    def week_start(days_offset: int = 0) -> DateRule:
        return DateRule("week_start", _offset(days_offset, 4))

    @staticmethod
    def week_end(days_offset: int = 0) -> DateRule:
        return DateRule("week_end", _offset(days_offset, 4))


class time_rules:  # noqa: N801  (zipline's name)
    """Factories of time rules (zipline's ``time_rules``)."""

    @staticmethod
    def market_open(offset: pd.Timedelta | None = None, hours: int | None = None, minutes: int | None = None):
        return TimeRule("open", _time_offset(offset, hours, minutes, default_minutes=1))

    @staticmethod
    def market_close(offset: pd.Timedelta | None = None, hours: int | None = None, minutes: int | None = None):
        return TimeRule("close", _time_offset(offset, hours, minutes, default_minutes=1))

    @staticmethod
    def every_minute() -> TimeRule:
        return TimeRule("every_bar")

    every_bar = every_minute


def _offset(days_offset: int, most: int) -> int:
    if not isinstance(days_offset, int | np.integer) or not 0 <= days_offset <= most:
        raise InvalidArgument(f"days_offset must be an integer in [0, {most}], got {days_offset!r}")
    return int(days_offset)


def _time_offset(offset, hours, minutes, default_minutes: int) -> pd.Timedelta:
    if offset is not None:
        if hours is not None or minutes is not None:
            raise InvalidArgument("pass either offset or hours/minutes to a time rule, not both")
        td = pd.Timedelta(offset)
    elif hours is None and minutes is None:
        td = pd.Timedelta(minutes=default_minutes)
    else:
        td = pd.Timedelta(hours=hours or 0, minutes=minutes or 0)
    if td < pd.Timedelta(0) or td > pd.Timedelta(hours=24):
        raise InvalidArgument(f"a time rule's offset must be between 0 and 24 hours, got {td}")
    return td


@dataclass
class ScheduledFunction:
    """A function with the sessions (boolean per simulation session) and rule that trigger it."""

    func: object
    date_rule: DateRule
    time_rule: TimeRule
    sessions: np.ndarray | None = None  # bool per simulation session
    bars: dict | None = None  # session index -> set of bar rows (intraday)


class EventManager:
    """Scheduled functions in the order they were registered (zipline runs them after ``handle_data``)."""

    def __init__(self) -> None:
        self.events: list[ScheduledFunction] = []

    def add(self, event: ScheduledFunction) -> None:
        self.events.append(event)
