"""Calendars come from exchange_calendars; resolutions parse and order."""

from __future__ import annotations

import pandas as pd
import pytest

from rustybt.calendars import get_calendar, sessions_in_range
from rustybt.data.resolution import RESOLUTIONS, parse_resolution
from rustybt.errors import CalendarError, ResolutionError


def test_xnys_sessions_match_exchange_calendars():
    import exchange_calendars as xcals

    expected = xcals.get_calendar("XNYS").sessions_in_range("2014-06-30", "2014-07-08")
    got = sessions_in_range("XNYS", pd.Timestamp("2014-06-30"), pd.Timestamp("2014-07-08"))
    assert list(got) == list(expected)
    assert pd.Timestamp("2014-07-04") not in got


def test_24_7_calendar_has_every_day():
    assert len(sessions_in_range("24/7", pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-31"))) == 31


def test_unknown_calendar_suggests_names():
    with pytest.raises(CalendarError, match="XNYS"):
        get_calendar("XNYZ")


def test_resolutions_parse_and_order():
    parsed = [parse_resolution(r) for r in RESOLUTIONS]
    assert parsed == sorted(parsed)
    assert parse_resolution("daily").name == "1d"
    assert parse_resolution("minute").name == "1m"
    assert parse_resolution("1M").name == "1M" and parse_resolution("1m").name == "1m"
    assert parse_resolution("1h").is_intraday and not parse_resolution("1d").is_intraday


def test_unknown_resolution_lists_supported():
    with pytest.raises(ResolutionError, match="supported: 1m, 5m"):
        parse_resolution("3m")
