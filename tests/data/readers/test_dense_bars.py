"""The dense copy of a daily bundle's bars in the cache directory: written by the first wide read, mapped by later
readers (as a later process would), always equal to a plain pandas pivot of the CSVs the bundle came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _gapped import ingest_gapped_daily

from rustybt.calendars import sessions_in_range
from rustybt.data.readers import ParquetDailyBarReader, _dense, parquet

SYMBOLS = ("AAA", "BBB", "CCC")
START, END = pd.Timestamp("2012-01-03"), pd.Timestamp("2014-12-31")


@pytest.fixture(scope="module")
def bundle_and_frames(tmp_path_factory):
    """Three assets over three years with gaps and a late listing, and the frames the CSVs were written from."""
    sessions = sessions_in_range("XNYS", START, END)
    catalog, frames = ingest_gapped_daily(
        tmp_path_factory.mktemp("dense"),
        SYMBOLS,
        sessions,
        seed=21,
        drop=lambda k: 0.05,
        listing_step=60,
        price=30.0,
        step_sd=0.4,
        spread=0.25,
        volumes=(100, 10_000),
    )
    return catalog.bundle("d"), frames, sessions


def _expected(frames, symbols, days, field):
    """The reference: a pandas reindex of each CSV's column onto the sessions, NaN where the CSV has no row."""
    return np.column_stack([frames[s][field].reindex(days).to_numpy(float) for s in symbols])


def _copies(home: Path) -> list[Path]:
    return sorted((home / ".rustybt" / "cache" / "bars").rglob("*.npy"))


def _home() -> Path:
    import os

    return Path(os.environ["HOME"])


def test_the_first_wide_read_writes_the_copy_and_later_readers_map_it(bundle_and_frames):
    bundle, frames, sessions = bundle_and_frames
    sids = [bundle.asset_finder.lookup_symbol(s).sid for s in SYMBOLS]
    first = ParquetDailyBarReader(bundle).load_raw_arrays(["close", "volume"], START, END, sids)
    assert [p.name for p in _copies(_home())] == ["close.npy", "volume.npy"]
    np.testing.assert_array_equal(first[0], _expected(frames, SYMBOLS, sessions, "close"))
    np.testing.assert_array_equal(first[1], _expected(frames, SYMBOLS, sessions, "volume"))

    # a later reader (another process would do the same): the same values, read from the map
    start, end = pd.Timestamp("2013-02-01"), pd.Timestamp("2014-06-30")
    days = sessions[(sessions >= start) & (sessions <= end)]
    again = ParquetDailyBarReader(bundle)
    (close,) = again.load_raw_arrays(["close"], start, end, sids)
    np.testing.assert_array_equal(close, _expected(frames, SYMBOLS, days, "close"))
    assert not close.flags.owndata and close.strides[0] == 8  # a view whose columns are contiguous
    # every sid in sid order: a view of the mapped file, shared by every read of it
    (whole,) = again.load_raw_arrays(["close"], START, END, sids)
    assert np.shares_memory(whole, close)
    # copy-on-write: a write changes this process's pages, never the file other readers map
    whole[:] = -1.0
    (fresh,) = ParquetDailyBarReader(bundle).load_raw_arrays(["close"], START, END, sids)
    np.testing.assert_array_equal(fresh, _expected(frames, SYMBOLS, sessions, "close"))
    # some sids, in another order: copied out of the map
    order = ["CCC", "AAA"]
    picked = [bundle.asset_finder.lookup_symbol(s).sid for s in order]
    (volume,) = again.load_raw_arrays(["volume"], start, end, picked)
    np.testing.assert_array_equal(volume, _expected(frames, order, days, "volume"))
    assert volume.flags.f_contiguous


def test_a_small_read_does_not_copy_the_bundle_but_is_served_by_an_existing_copy(bundle_and_frames, monkeypatch):
    bundle, frames, sessions = bundle_and_frames
    sids = [bundle.asset_finder.lookup_symbol(s).sid for s in SYMBOLS]
    start, end = pd.Timestamp("2013-03-01"), pd.Timestamp("2013-05-31")  # a tenth of the sessions
    days = sessions[(sessions >= start) & (sessions <= end)]
    (small,) = ParquetDailyBarReader(bundle).load_raw_arrays(["high"], start, end, sids)
    assert _copies(_home()) == []
    np.testing.assert_array_equal(small, _expected(frames, SYMBOLS, days, "high"))
    ParquetDailyBarReader(bundle).load_raw_arrays(["high"], START, END, sids)  # a wide read: copied
    placed = []
    monkeypatch.setattr(parquet, "place_bars", lambda *args: placed.append(args))  # Parquet is not read again
    (served,) = ParquetDailyBarReader(bundle).load_raw_arrays(["high"], start, end, sids)
    np.testing.assert_array_equal(served, small)
    assert placed == []


def test_a_sid_the_bundle_does_not_hold_is_read_from_parquet_as_nan(bundle_and_frames):
    bundle, frames, sessions = bundle_and_frames
    aaa = bundle.asset_finder.lookup_symbol("AAA").sid
    ParquetDailyBarReader(bundle).load_raw_arrays(["close"], START, END, [aaa])
    close, volume = ParquetDailyBarReader(bundle).load_raw_arrays(["close", "volume"], START, END, [aaa, 999])
    np.testing.assert_array_equal(close[:, 0], _expected(frames, ["AAA"], sessions, "close")[:, 0])
    assert np.isnan(close[:, 1]).all() and np.isnan(volume[:, 1]).all()


def test_turned_off_nothing_is_written(bundle_and_frames, monkeypatch):
    bundle, frames, sessions = bundle_and_frames
    monkeypatch.setenv("RUSTYBT_BARS_CACHE", "0")
    sids = [bundle.asset_finder.lookup_symbol(s).sid for s in SYMBOLS]
    (close,) = ParquetDailyBarReader(bundle).load_raw_arrays(["close"], START, END, sids)
    np.testing.assert_array_equal(close, _expected(frames, SYMBOLS, sessions, "close"))
    assert close.flags.owndata and not (_home() / ".rustybt" / "cache" / "bars").exists()


def test_a_damaged_copy_is_ignored_and_written_again(bundle_and_frames):
    bundle, frames, sessions = bundle_and_frames
    sids = [bundle.asset_finder.lookup_symbol(s).sid for s in SYMBOLS]
    ParquetDailyBarReader(bundle).load_raw_arrays(["close"], START, END, sids)
    (path,) = _copies(_home())
    for damage in (b"not numpy at all", path.read_bytes()[: path.stat().st_size // 2]):
        path.write_bytes(damage)
        (close,) = ParquetDailyBarReader(bundle).load_raw_arrays(["close"], START, END, sids)
        np.testing.assert_array_equal(close, _expected(frames, SYMBOLS, sessions, "close"))
        assert np.load(path).shape == close.shape  # whole again


def test_a_failed_build_leaves_neither_a_copy_nor_a_temporary_file(bundle_and_frames, monkeypatch):
    bundle, frames, sessions = bundle_and_frames
    sids = [bundle.asset_finder.lookup_symbol(s).sid for s in SYMBOLS]
    real, calls = parquet.place_bars, []

    def failing(*args):
        calls.append(1)
        if len(calls) == 3:  # part of the way through
            raise RuntimeError("interrupted")
        return real(*args)

    monkeypatch.setattr(parquet, "place_bars", failing)
    with pytest.raises(RuntimeError, match="interrupted"):
        ParquetDailyBarReader(bundle).load_raw_arrays(["close"], START, END, sids)
    left = [p for p in (_home() / ".rustybt" / "cache" / "bars").rglob("*") if p.is_file()]
    assert left == []
    monkeypatch.setattr(parquet, "place_bars", real)
    (close,) = ParquetDailyBarReader(bundle).load_raw_arrays(["close"], START, END, sids)
    np.testing.assert_array_equal(close, _expected(frames, SYMBOLS, sessions, "close"))


def test_an_unwritable_cache_directory_costs_only_the_speed_up(bundle_and_frames, monkeypatch, tmp_path):
    bundle, frames, sessions = bundle_and_frames
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache directory would be")
    monkeypatch.setenv("RUSTYBT_CACHE_DIR", str(blocked))
    sids = [bundle.asset_finder.lookup_symbol(s).sid for s in SYMBOLS]
    (close,) = ParquetDailyBarReader(bundle).load_raw_arrays(["close"], START, END, sids)
    np.testing.assert_array_equal(close, _expected(frames, SYMBOLS, sessions, "close"))
    assert close.flags.owndata  # read from Parquet


def test_too_large_a_field_is_not_copied(bundle_and_frames, monkeypatch):
    bundle, frames, sessions = bundle_and_frames
    monkeypatch.setattr(_dense, "MAX_BYTES", 1000)
    sids = [bundle.asset_finder.lookup_symbol(s).sid for s in SYMBOLS]
    (close,) = ParquetDailyBarReader(bundle).load_raw_arrays(["close"], START, END, sids)
    np.testing.assert_array_equal(close, _expected(frames, SYMBOLS, sessions, "close"))
    assert _copies(_home()) == []


def test_a_build_removes_copies_of_ingestions_the_catalog_no_longer_holds(bundle_and_frames):
    bundle = bundle_and_frames[0]
    sids = [bundle.asset_finder.lookup_symbol(s).sid for s in SYMBOLS]
    ParquetDailyBarReader(bundle).load_raw_arrays(["close"], START, END, sids)
    (close_copy,) = _copies(_home())
    ingestion_dir = close_copy.parent.parent
    dead = ingestion_dir.parent / "2020-01-01T00-00-00.000000Z-0123456789abcdef" / "v1-00" / "close.npy"
    stale_calendar = ingestion_dir / "v1-11" / "close.npy"  # this ingestion, other sessions
    for path in (dead, stale_calendar):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"an old copy")
    ParquetDailyBarReader(bundle).load_raw_arrays(["open"], START, END, sids)  # a build
    assert not dead.parent.parent.exists() and not stale_calendar.parent.exists()
    assert [p.name for p in _copies(_home())] == ["close.npy", "open.npy"]
