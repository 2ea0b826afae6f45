"""The bcolz (daily, minute) and HDF5 readers against the csvdir source files and zipline's own reader output."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest
from _legacy_data import HDF5, INGESTION, MINUTE_INGESTION, SYMBOLS, ZIPLINE, read_csv_ints

from rustybt.calendars import get_calendar
from rustybt.data.legacy import (
    BcolzDailyBarReader,
    BcolzMinuteBarReader,
    CorruptLegacyData,
    HDF5DailyBarReader,
    NotAZiplineBundle,
    UnsupportedLegacyVersion,
)
from rustybt.data.readers.base import OHLCV_FIELDS, BarReader
from rustybt.errors import NoDataForSid, NoDataOnDate, RustyBTError

FIELDS = list(OHLCV_FIELDS)


@pytest.fixture(scope="module")
def bcolz_reader() -> BcolzDailyBarReader:
    return BcolzDailyBarReader(INGESTION / "daily_equities.bcolz")


@pytest.fixture(scope="module")
def hdf5_reader():
    with HDF5DailyBarReader(HDF5) as reader:
        yield reader


def test_daily_readers_are_bar_readers_with_zipline_properties(bcolz_reader, hdf5_reader):
    for reader in (bcolz_reader, hdf5_reader):
        assert isinstance(reader, BarReader)
        assert reader.data_frequency == "daily" and reader.resolution == "1d"
        assert reader.sids == [0, 1, 2, 3]
        assert reader.first_trading_day == pd.Timestamp("2012-01-03", tz="UTC")
        assert reader.last_available_dt == pd.Timestamp("2014-12-31", tz="UTC")
        assert reader.trading_calendar.name == "XNYS"
        assert len(reader.sessions) == 754
    assert (
        bcolz_reader.scaling_factors
        == hdf5_reader.scaling_factors
        == {"open": 1000.0, "high": 1000.0, "low": 1000.0, "close": 1000.0, "volume": 1.0}
    )


def test_bcolz_values_equal_the_csv_files_to_zipline_precision(bcolz_reader):
    sessions = bcolz_reader.sessions
    raw = bcolz_reader.load_raw_integers(FIELDS, sessions[0], sessions[-1], [0, 1, 2, 3])
    floats = bcolz_reader.load_raw_arrays(FIELDS, sessions[0], sessions[-1], [0, 1, 2, 3])
    for j, symbol in enumerate(SYMBOLS):
        expected = read_csv_ints(symbol)
        assert len(expected) == 754
        for i, day in enumerate(sessions.strftime("%Y-%m-%d")):
            for k, f in enumerate(FIELDS):
                assert int(raw[k][i, j]) == expected[day][f], (symbol, day, f)
                want = expected[day][f] / (1 if f == "volume" else 1000)
                assert floats[k][i, j] == want  # the float nearest the 3-decimal value, as Parquet's view gives


def test_bcolz_and_hdf5_readers_give_identical_arrays(bcolz_reader, hdf5_reader):
    sessions = bcolz_reader.sessions
    for start, end, sids in [
        (sessions[0], sessions[-1], [0, 1, 2, 3]),
        (sessions[100], sessions[130], [3, 0]),
        ("2014-06-05", "2014-06-10", [0, 2, 99]),  # 99 is unknown: an empty column in both
    ]:
        a = bcolz_reader.load_raw_arrays(FIELDS, start, end, sids)
        b = hdf5_reader.load_raw_arrays(FIELDS, start, end, sids)
        for x, y in zip(a, b, strict=True):
            assert x.dtype == y.dtype == np.float64
            np.testing.assert_array_equal(x, y)


def test_load_raw_arrays_rows_are_the_xnys_sessions(bcolz_reader, hdf5_reader):
    cal = get_calendar("XNYS")
    sessions = cal.sessions_in_range("2014-06-02", "2014-07-08")  # spans the July 4th holiday
    expected = {s.strftime("%Y-%m-%d"): read_csv_ints("KO")[s.strftime("%Y-%m-%d")] for s in sessions}
    for reader in (bcolz_reader, hdf5_reader):
        close, volume = reader.load_raw_arrays(["close", "volume"], sessions[0], sessions[-1], [2, 99])
        assert close.shape == volume.shape == (len(sessions), 2)
        assert [close[i, 0] for i in range(len(sessions))] == [e["close"] / 1000 for e in expected.values()]
        assert np.isnan(close[:, 1]).all() and (volume[:, 1] == 0).all()  # unknown sid: no bar, volume 0


def test_load_raw_arrays_rejects_dates_that_are_not_sessions(bcolz_reader, hdf5_reader):
    for reader in (bcolz_reader, hdf5_reader):
        with pytest.raises(NoDataOnDate, match="not a XNYS session"):
            reader.load_raw_arrays(["close"], "2014-07-04", "2014-07-08", [0])
        with pytest.raises(NoDataOnDate, match="outside"):
            reader.load_raw_arrays(["close"], "2014-12-31", "2015-01-05", [0])
        with pytest.raises(NoDataForSid):
            reader.load_raw_arrays(["close"], "2014-12-30", "2014-12-31", [42])


def test_get_value_and_last_traded_dt(bcolz_reader, hdf5_reader):
    aapl = read_csv_ints("AAPL")
    for reader in (bcolz_reader, hdf5_reader):
        assert reader.get_value(0, pd.Timestamp("2014-06-09", tz="UTC"), "close") == aapl["2014-06-09"]["close"] / 1000
        assert reader.get_value(0, "2014-06-09", "volume") == aapl["2014-06-09"]["volume"]
        assert reader.get_last_traded_dt(0, pd.Timestamp("2014-07-04")) == pd.Timestamp("2014-07-03", tz="UTC")
        assert reader.get_last_traded_dt(0, pd.Timestamp("2020-01-01")) == pd.Timestamp("2014-12-31", tz="UTC")
        assert reader.get_last_traded_dt(0, pd.Timestamp("2011-01-01")) is None
        with pytest.raises(NoDataOnDate):
            reader.get_value(0, "2014-07-04", "close")
        with pytest.raises(NoDataForSid):
            reader.get_value(42, "2014-07-03", "close")
        with pytest.raises(ValueError, match="unknown field"):
            reader.get_value(0, "2014-07-03", "vwap")


def test_bcolz_missing_bars_read_as_nan_and_stop_last_traded(tmp_path):
    """A 0 in the table is no bar: NaN price, volume 0, skipped by get_last_traded_dt."""
    bcolz = pytest.importorskip("bcolz")
    import shutil

    target = tmp_path / "daily_equities.bcolz"
    shutil.copytree(INGESTION / "daily_equities.bcolz", target)
    table = bcolz.ctable(rootdir=str(target), mode="a")
    row = 753  # AAPL's last row, 2014-12-31
    for col in OHLCV_FIELDS:
        table.cols[col][row] = 0
    table.flush()
    reader = BcolzDailyBarReader(target)
    assert np.isnan(reader.get_value(0, "2014-12-31", "close"))
    assert reader.get_value(0, "2014-12-31", "volume") == 0
    assert reader.get_last_traded_dt(0, "2014-12-31") == pd.Timestamp("2014-12-30", tz="UTC")
    assert reader.raw_frame([0]).height == 753


def test_bcolz_reader_refuses_a_directory_that_is_not_a_table(tmp_path):
    (tmp_path / "daily_equities.bcolz" / "open").mkdir(parents=True)
    with pytest.raises(NotAZiplineBundle, match=r"missing __attrs__, high, low, close, volume, day, id"):
        BcolzDailyBarReader(tmp_path / "daily_equities.bcolz")


@pytest.mark.parametrize("damage", ["half", "ten-bytes", "deleted"])
def test_truncated_blp_file_is_a_clear_error(ingestion_copy, damage):
    """bcolz itself may decompress past the end of a short chunk and return garbage; the reader checks first."""
    blp = ingestion_copy / "daily_equities.bcolz" / "close" / "data" / "__0.blp"
    data = blp.read_bytes()
    if damage == "deleted":
        blp.unlink()
    else:
        blp.write_bytes(data[: len(data) // 2] if damage == "half" else data[:10])
    with pytest.raises(CorruptLegacyData, match=r"close/data/__0.blp: .*(truncated|missing)") as err:
        BcolzDailyBarReader(ingestion_copy / "daily_equities.bcolz")
    assert isinstance(err.value, RustyBTError)


def test_inconsistent_attributes_are_a_clear_error(ingestion_copy):
    attrs_path = ingestion_copy / "daily_equities.bcolz" / "__attrs__"
    attrs = json.loads(attrs_path.read_text())
    attrs["last_row"]["3"] = 99999
    attrs_path.write_text(json.dumps(attrs))
    with pytest.raises(CorruptLegacyData, match="sid 3 claims rows"):
        BcolzDailyBarReader(ingestion_copy / "daily_equities.bcolz")


# --- HDF5 specifics ---------------------------------------------------------------------------------------------


def test_hdf5_reader_refuses_unknown_versions_and_layouts(tmp_path):
    bad_version = tmp_path / "v9.h5"
    with h5py.File(bad_version, "w") as f:
        f.attrs["version"] = 9
    with pytest.raises(UnsupportedLegacyVersion, match=r"v9.h5: HDF5 daily bar file version 9 is not supported"):
        HDF5DailyBarReader(bad_version)
    partial = tmp_path / "partial.h5"
    with h5py.File(partial, "w") as f:
        f.attrs["version"] = 0
        f.create_dataset("US/data/close", data=np.zeros((1, 1), dtype=np.uint32))
    with pytest.raises(NotAZiplineBundle, match=r"missing /US/data/open.*/US/index/sid"):
        HDF5DailyBarReader(partial)
    two = tmp_path / "two.h5"
    with h5py.File(two, "w") as f:
        f.attrs["version"] = 0
        f.create_group("US")
        f.create_group("CA")
    with pytest.raises(NotAZiplineBundle, match="2 country groups.*country_code"):
        HDF5DailyBarReader(two)
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(NotAZiplineBundle, match="not a readable HDF5 file"):
        HDF5DailyBarReader(text)


def test_hdf5_currency_codes(hdf5_reader):
    assert hdf5_reader.currency_codes([0, 3, 9]) == ["USD", "USD", None]


# --- minute bars ------------------------------------------------------------------------------------------------

ONE_MINUTE = pd.Timedelta(minutes=1)


@pytest.fixture(scope="module")
def minute_reader() -> BcolzMinuteBarReader:
    return BcolzMinuteBarReader(MINUTE_INGESTION / "minute_equities.bcolz")


@pytest.fixture(scope="module")
def zipline_minute() -> dict:
    """What zipline-reloaded's BcolzMinuteBarReader returned (make_minute_fixture.py); zipline labels."""
    return json.loads((ZIPLINE / "minute_expected.json").read_text())


def test_minute_reader_properties(minute_reader):
    assert minute_reader.data_frequency == "minute" and minute_reader.resolution == "1m"
    assert minute_reader.sids == [1, 12345]
    assert minute_reader.first_trading_day == pd.Timestamp("2014-11-25", tz="UTC")
    assert minute_reader.last_available_dt == pd.Timestamp("2014-12-01 20:59", tz="UTC")  # start label


def test_minute_arrays_match_zipline_across_a_holiday_and_an_early_close(minute_reader, zipline_minute):
    w = zipline_minute["window"]
    start, end = pd.Timestamp(w["start"]) - ONE_MINUTE, pd.Timestamp(w["end"]) - ONE_MINUTE
    labels, _ = minute_reader.load_raw_integers(["close"], start, end, w["sids"])
    assert list(labels + ONE_MINUTE) == list(pd.DatetimeIndex(w["minutes"]))  # zipline labels bars by their end
    arrays = minute_reader.load_raw_arrays(["open", "close", "volume"], start, end, w["sids"])
    for name, got in zip(["open", "close", "volume"], arrays, strict=True):
        want = np.array([[np.nan if v is None else v for v in row] for row in zipline_minute[name]], dtype=float)
        # zipline multiplies by 1/1000, RustyBT divides by 1000: at most one unit in the last place apart
        np.testing.assert_allclose(got, want, rtol=2e-16, atol=0)
        assert np.array_equal(np.isnan(got), np.isnan(want))


def test_minute_get_value_and_last_traded_match_zipline(minute_reader, zipline_minute):
    for sid, dt, field, want in zipline_minute["get_value"]:
        got = minute_reader.get_value(sid, pd.Timestamp(dt) - ONE_MINUTE, field)
        if want is None:
            assert np.isnan(got)
        else:
            assert got == pytest.approx(want, rel=1e-15)
    for sid, dt, want in zipline_minute["last_traded"]:
        got = minute_reader.get_last_traded_dt(sid, pd.Timestamp(dt, tz="UTC") - ONE_MINUTE)
        assert (got is None) if want == "NaT" else (got + ONE_MINUTE == pd.Timestamp(want))


def test_minute_reader_errors(minute_reader, tmp_path):
    with pytest.raises(NoDataOnDate):
        minute_reader.get_value(1, pd.Timestamp("2014-11-28 18:30", tz="UTC"), "close")  # after the early close
    with pytest.raises(NoDataForSid):
        minute_reader.get_value(7, pd.Timestamp("2014-11-28 15:00", tz="UTC"), "close")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "metadata.json").write_text(json.dumps({"version": 4, "ohlc_ratio": 1000}))
    with pytest.raises(UnsupportedLegacyVersion, match="minute bar metadata version 4"):
        BcolzMinuteBarReader(tmp_path / "m")
    with pytest.raises(NotAZiplineBundle, match="metadata.json"):
        BcolzMinuteBarReader(tmp_path)
