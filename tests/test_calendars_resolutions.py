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


# --- calendar_sessions: the session dates, kept on disk between processes ----------------------------------------


@pytest.fixture
def fresh_sessions_cache(monkeypatch, tmp_path):
    """Empty in-process caches and a cache directory of this test's own."""
    from rustybt import calendars

    monkeypatch.setenv("RUSTYBT_CACHE_DIR", str(tmp_path / "cache"))
    calendars._sessions_cached.cache_clear()
    yield tmp_path / "cache" / "calendars"
    calendars._sessions_cached.cache_clear()


def test_calendar_sessions_match_exchange_calendars_and_are_saved(fresh_sessions_cache):
    import exchange_calendars as xcals

    from rustybt.calendars import calendar_sessions

    got = calendar_sessions("XNYS", "2005-03-01", "2006-06-30")
    reference = xcals.get_calendar("XNYS", start="1990-01-01", end=got[-1]).sessions
    assert got.tz is None and got.equals(pd.DatetimeIndex(reference))
    (saved,) = fresh_sessions_cache.glob("XNYS-19900101-*.npy")
    assert xcals.__version__ in saved.name


def test_calendar_sessions_are_read_back_without_building_the_calendar(fresh_sessions_cache, monkeypatch):
    from rustybt import calendars

    first = calendars.calendar_sessions("XLON")
    calendars._sessions_cached.cache_clear()  # as in a new process

    def no_build(*args):
        raise AssertionError("the calendar was built again")

    monkeypatch.setattr(calendars, "_cached", no_build)
    assert calendars.calendar_sessions("XLON").equals(first)


def test_unreadable_sessions_file_is_rebuilt(fresh_sessions_cache):
    from rustybt import calendars

    first = calendars.calendar_sessions("XNYS")
    (saved,) = fresh_sessions_cache.glob("XNYS-*.npy")
    saved.write_bytes(b"not a numpy file")
    calendars._sessions_cached.cache_clear()
    assert calendars.calendar_sessions("XNYS").equals(first)
    assert saved.read_bytes()[:6] == b"\x93NUMPY"  # written again


def test_calendar_sessions_files_can_be_turned_off(fresh_sessions_cache, monkeypatch):
    from rustybt import calendars

    monkeypatch.setenv("RUSTYBT_CALENDAR_CACHE", "0")
    assert len(calendars.calendar_sessions("XNYS")) > 8000
    assert not fresh_sessions_cache.exists()


def test_calendar_sessions_unknown_name_is_a_calendar_error(fresh_sessions_cache):
    from rustybt.calendars import calendar_sessions

    with pytest.raises(CalendarError, match="XNYZ"):
        calendar_sessions("XNYZ")


def test_a_new_sessions_file_replaces_the_ones_it_supersedes(fresh_sessions_cache):
    from rustybt import calendars

    calendars.calendar_sessions("XNYS")  # writes today's file
    (current,) = fresh_sessions_cache.glob("XNYS-*.npy")
    start = current.name.split("-")[1]
    older = [
        fresh_sessions_cache / f"XNYS-{start}-20200101-xcals4.0.0.npy",  # an earlier end and version
        fresh_sessions_cache / f"XNYS-{start}-20990101-xcals{calendars.xcals.__version__}.npy",
    ]
    kept = [fresh_sessions_cache / "XNYS-19800101-20990101-xcals4.0.0.npy", fresh_sessions_cache / "XLON-x.npy"]
    for f in older + kept:
        f.write_bytes(b"old")
    current.unlink()
    calendars._sessions_cached.cache_clear()
    calendars.calendar_sessions("XNYS")  # rebuilt, written again
    assert current.exists() and not any(f.exists() for f in older) and all(f.exists() for f in kept)


@pytest.mark.parametrize(
    ("start", "end"),
    [("2023-01-01 00:00", "2023-12-31 23:00"), ("2024-01-01 00:30", "2024-03-01 00:00"), ("2024-01-01", "2024-01-01")],
)
def test_bar_labels_of_a_24_7_calendar_keep_the_last_bar(start, end):
    """Every hour from the first whole hour to the end inclusive, as pandas' date_range counts them (a float64 length
    in np.arange used to drop the last bar of a year of hourly bars)."""
    from rustybt.calendars import bar_labels

    got = bar_labels("24/7", "1h", pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))
    expected = pd.date_range(pd.Timestamp(start, tz="UTC").ceil("1h"), pd.Timestamp(end, tz="UTC"), freq="1h")
    assert got.equals(expected.as_unit("ns"))
