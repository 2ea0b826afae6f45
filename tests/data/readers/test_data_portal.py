"""DataPortal and readers against independent references (plain pandas, real data, zipline's own numbers)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rustybt import Catalog
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.readers import DataPortal
from rustybt.errors import (
    InvalidArgument,
    LookaheadError,
    NoDataAfterDate,
    NoDataBeforeDate,
    ResolutionError,
    SidNotFound,
    SymbolNotFound,
)
from rustybt.sample import sample_data_dir

RESOURCES = Path(__file__).parents[2] / "resources"
REFERENCE = Path(__file__).parents[2] / "reference"


def yahoo_as_csvdir(dst: Path) -> Path:
    """The raw Yahoo bars with the AAPL 7:1 split of 2014-06-09 marked, in csvdir layout."""
    (dst / "daily").mkdir(parents=True)
    for f in (RESOURCES / "yahoo-2014-raw").glob("*.csv"):
        with open(f) as fh:
            rows = list(csv.DictReader(fh))
        with open(dst / "daily" / f.name, "w", newline="") as out:
            w = csv.writer(out)
            w.writerow(["date", "open", "high", "low", "close", "volume", "dividend", "split"])
            for r in rows:
                split = "7.0" if (f.stem == "AAPL" and r["day"] == "2014-06-09") else "1.0"
                w.writerow([r["day"], r["open"], r["high"], r["low"], r["close"], r["volume"], "0.0", split])
    return dst


@pytest.fixture(scope="module")
def yahoo_portal(tmp_path_factory):
    root = tmp_path_factory.mktemp("yahoo")
    catalog = Catalog(root=root / "cat")
    catalog.register("y", adapter=CSVAdapter.from_csvdir(yahoo_as_csvdir(root / "src")), validation="lenient")
    catalog.ingest("y", progress=False)
    return DataPortal.from_catalog(catalog, "y")


@pytest.fixture(scope="module")
def sample_catalog(tmp_path_factory):
    catalog = Catalog(root=tmp_path_factory.mktemp("sample"))
    catalog.register("s", adapter=CSVAdapter.from_csvdir(sample_data_dir() / "equities"), validation="lenient")
    catalog.ingest("s", progress=False)
    return catalog


@pytest.fixture(scope="module")
def sample_portal(sample_catalog):
    return DataPortal.from_catalog(sample_catalog, "s")


def plain_sample(symbol: str) -> pd.DataFrame:
    frame = pd.read_csv(sample_data_dir() / "equities" / "daily" / f"{symbol}.csv", parse_dates=["date"])
    return frame.set_index("date")


def test_aapl_split_windows_match_plain_pandas_for_every_end_and_length(yahoo_portal):
    raw = pd.read_csv(RESOURCES / "yahoo-2014-raw" / "AAPL.csv", parse_dates=["day"]).set_index("day")["close"]
    split = pd.Timestamp("2014-06-09")
    aapl = yahoo_portal.asset_finder.lookup_symbol("AAPL")
    ends = raw.loc["2014-06-02":"2014-06-16"].index
    for end in ends:
        for n in range(1, 9):
            window = raw.loc[:end].tail(n)
            expected = window.where(~((window.index < split) & (split <= end)), window / 7)
            got = yahoo_portal.get_history_window([aapl], end, n, "1d", "close")[aapl]
            np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12, err_msg=f"{end} {n}")
            # the backtest hot paths: a Series on the session labels, and a bare array
            series = yahoo_portal.history(aapl, "close", n, "1d", dt=end)
            np.testing.assert_allclose(series.to_numpy(), expected.to_numpy(), rtol=1e-12, err_msg=f"{end} {n}")
            pd.testing.assert_index_equal(
                series.index, pd.DatetimeIndex(window.index.to_numpy(), tz="UTC").as_unit("ns")
            )
            assert series.name == aapl
            array = yahoo_portal.history_array(aapl, "close", n, dt=end)
            np.testing.assert_allclose(array, expected.to_numpy(), rtol=1e-12, err_msg=f"{end} {n}")


def test_split_and_dividends_window_matches_plain_pandas(sample_portal):
    """AAPL in the sample: dividend 2014-05-08, split 2014-06-09, dividend 2014-08-07."""
    raw = plain_sample("AAPL")
    events = []
    closes = raw["close"]
    for day, row in raw.iterrows():
        prev = closes.loc[:day].iloc[:-1]
        if row["split"] != 1.0:
            events.append((day, 1.0 / row["split"], 1.0))
        if row["dividend"] > 0:
            events.append((day, 1.0 - row["dividend"] / prev.iloc[-1], None))
    aapl = sample_portal.asset_finder.lookup_symbol("AAPL")
    for end in raw.loc["2014-05-01":"2014-08-20"].index[::3]:
        for n in (1, 5, 40):
            window = raw.loc[:end].tail(n)
            price = window["close"].copy()
            volume = window["volume"].astype(float).copy()
            for day, ratio, vol_kind in events:
                if day <= end:
                    before = window.index < day
                    price[before] *= ratio
                    if vol_kind is not None:  # splits only
                        volume[before] /= ratio
            got_p = sample_portal.get_history_window([aapl], end, n, "1d", "close")[aapl]
            got_v = sample_portal.get_history_window([aapl], end, n, "1d", "volume")[aapl]
            np.testing.assert_allclose(got_p.to_numpy(), price.to_numpy(), rtol=1e-12)
            np.testing.assert_allclose(got_v.to_numpy(), volume.to_numpy(), rtol=1e-12)


def test_history_matches_zipline_on_the_csvdir_fixture(tmp_path):
    """zipline-reloaded's own DataPortal numbers (tests/reference), up to its 1/1000 storage rounding."""
    catalog = Catalog(root=tmp_path)
    catalog.register("zl", adapter=CSVAdapter.from_csvdir(RESOURCES / "zipline-csvdir"))
    catalog.ingest("zl", progress=False)
    portal = DataPortal.from_catalog(catalog, "zl")
    ref = pd.read_csv(REFERENCE / "zipline_csvdir_history.csv", parse_dates=["end_date", "date"])
    for (end, field), group in ref.groupby(["end_date", "field"]):
        assets = [portal.asset_finder.lookup_symbol(s) for s in sorted(group["symbol"].unique())]
        got = portal.get_history_window(assets, end, 10, "1d", field)
        for asset in assets:
            expected = group[group["symbol"] == asset.symbol].sort_values("date")
            assert list(got.index.tz_localize(None)) == list(expected["date"])
            tol = {"rtol": 1e-9} if field == "volume" else {"atol": 1.5e-3}
            np.testing.assert_allclose(got[asset].to_numpy(), expected["value"].to_numpy(), **tol)


def test_spot_values_and_price_forward_fill_across_a_halt(sample_portal):
    zzk = sample_portal.asset_finder.lookup_symbol("ZZK")  # halted 2013-09-17..19
    raw = plain_sample("ZZK")
    assert np.isnan(sample_portal.get_spot_value(zzk, "close", "2013-09-18"))
    assert sample_portal.get_spot_value(zzk, "volume", "2013-09-18") == 0.0
    assert sample_portal.get_spot_value(zzk, "price", "2013-09-18") == raw.loc["2013-09-16", "close"]
    assert sample_portal.get_last_traded_dt(zzk, "2013-09-19") == pd.Timestamp("2013-09-16", tz="UTC")
    window = sample_portal.get_history_window([zzk], "2013-09-20", 5, "1d", "price")[zzk]
    assert window.tolist()[1:4] == [raw.loc["2013-09-16", "close"]] * 3
    closes = sample_portal.get_history_window([zzk], "2013-09-20", 5, "1d", "close")[zzk]
    assert closes.isna().tolist() == [False, True, True, True, False]


def test_spot_value_snaps_to_last_session(sample_portal):
    aapl = sample_portal.asset_finder.lookup_symbol("AAPL")
    friday = sample_portal.get_spot_value(aapl, "close", "2014-06-06")
    assert sample_portal.get_spot_value(aapl, "close", "2014-06-07 15:00") == friday  # Saturday -> Friday
    assert friday == plain_sample("AAPL").loc["2014-06-06", "close"]


def test_adjusted_value_from_a_later_perspective(sample_portal):
    aapl = sample_portal.asset_finder.lookup_symbol("AAPL")
    raw = plain_sample("AAPL").loc["2014-06-06", "close"]
    assert sample_portal.get_adjusted_value(aapl, "close", "2014-06-06", "2014-06-06") == raw
    assert sample_portal.get_adjusted_value(aapl, "close", "2014-06-06", "2014-06-09") == pytest.approx(raw / 7)


def test_load_raw_arrays_is_calendar_aligned_with_nan_for_no_bar(sample_catalog):
    from rustybt.calendars import sessions_in_range
    from rustybt.data.readers import ParquetDailyBarReader

    reader = ParquetDailyBarReader(sample_catalog.bundle("s"))
    finder = sample_catalog.bundle("s").asset_finder
    sids = [finder.lookup_symbol(s).sid for s in ("ZZX", "ZZK", "MSFT")]  # IPO 2013-04-18, halt, normal
    (close,) = reader.load_raw_arrays(["close"], pd.Timestamp("2013-04-15"), pd.Timestamp("2013-09-30"), sids)
    sessions = sessions_in_range("XNYS", pd.Timestamp("2013-04-15"), pd.Timestamp("2013-09-30"))
    assert close.shape == (len(sessions), 3) and close.flags.f_contiguous
    for j, symbol in enumerate(("ZZX", "ZZK", "MSFT")):
        expected = plain_sample(symbol)["close"].reindex(sessions)
        np.testing.assert_array_equal(close[:, j], expected.to_numpy())
    assert np.isnan(close[:3, 0]).all() and not np.isnan(close[3, 0])


def test_lookahead_guard(sample_portal):
    aapl = sample_portal.asset_finder.lookup_symbol("AAPL")
    with sample_portal.at("2014-06-06"):
        sample_portal.history(aapl, "close", 5, "1d")
        with pytest.raises(LookaheadError):
            sample_portal.get_spot_value(aapl, "close", "2014-06-09")
        with pytest.raises(LookaheadError):
            sample_portal.get_history_window([aapl], "2014-06-10", 5, "1d", "close")
    assert sample_portal.clock is None


def test_weekly_history_resampled_from_daily(sample_portal):
    msft = sample_portal.asset_finder.lookup_symbol("MSFT")
    got = sample_portal.get_history_window([msft], "2014-01-24", 2, "1w", "volume")[msft]
    raw = plain_sample("MSFT")["volume"]
    assert got.tolist() == [raw.loc["2014-01-13":"2014-01-17"].sum(), raw.loc["2014-01-21":"2014-01-24"].sum()]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda p, a: p.get_history_window([a], "2014-06-10", 5, "1d", "vwap"), InvalidArgument, "history field"),
        (lambda p, a: p.get_history_window([a], "2014-06-10", 0, "1d", "close"), InvalidArgument, "bar_count"),
        (lambda p, a: p.get_history_window([a], "2014-06-10", 5, "1h", "close"), ResolutionError, "cannot be derived"),
        (lambda p, a: p.get_history_window([a], "2012-01-05", 10, "1d", "close"), NoDataBeforeDate, "starts 7 bar"),
        (lambda p, a: p.get_spot_value(a, "close", "2011-06-01"), NoDataBeforeDate, "before the first bar"),
        (lambda p, a: p.get_spot_value(a, "close", "2016-06-01"), NoDataAfterDate, "after the last bar"),
        (lambda p, a: p.get_spot_value(a, "bid", "2014-06-10"), InvalidArgument, "unknown field"),
        (lambda p, a: p.get_spot_value(999, "close", "2014-06-10"), SidNotFound, "sid 999"),
        (lambda p, a: p.get_spot_value("NOPE", "close", "2014-06-10"), SymbolNotFound, "NOPE"),
    ],
)
def test_bad_requests(sample_portal, call, error, match):
    aapl = sample_portal.asset_finder.lookup_symbol("AAPL")
    with pytest.raises(error, match=match):
        call(sample_portal, aapl)


def test_portal_stays_pinned_when_bundle_is_reingested(tmp_path):
    catalog = Catalog(root=tmp_path)
    catalog.register("zl", adapter=CSVAdapter.from_csvdir(RESOURCES / "zipline-csvdir"))
    catalog.ingest("zl", progress=False)
    portal = DataPortal.from_catalog(catalog, "zl")
    before = portal.get_history_window(["MSFT"], "2014-12-31", 30, "1d", "close")
    catalog.ingest("zl", progress=False)
    catalog.clean("zl", keep_last=1)  # even the files of the pinned ingestion may be gone: data already loaded
    assert portal.get_history_window(["MSFT"], "2014-12-31", 30, "1d", "close").equals(before)


def test_crypto_minute_bars_across_midnight_and_a_missing_bar(tmp_path):
    src = tmp_path / "m"
    src.mkdir()
    minutes = pd.date_range("2024-01-01 23:55", "2024-01-02 00:05", freq="1min", tz="UTC")
    rows = [(t, 100 + i, 101 + i, 99 + i, 100.5 + i, 1.5) for i, t in enumerate(minutes) if i != 6]  # 00:01 missing
    with open(src / "BTC-USDT.csv", "w") as fh:
        fh.write("timestamp,open,high,low,close,volume\n")
        for t, o, h, lo, c, v in rows:
            fh.write(f"{t.isoformat()},{o},{h},{lo},{c},{v}\n")
    catalog = Catalog(root=tmp_path / "cat")
    catalog.register("c", adapter=CSVAdapter(src, resolution="1m", asset_class="crypto_spot"), calendar="24/7")
    catalog.ingest("c", progress=False)
    portal = DataPortal.from_catalog(catalog, "c")
    btc = portal.asset_finder.lookup_symbol("BTC-USDT")
    assert portal.get_spot_value(btc, "close", "2024-01-02 00:00") == 105.5
    assert np.isnan(portal.get_spot_value(btc, "close", "2024-01-02 00:01"))
    assert portal.get_spot_value(btc, "price", "2024-01-02 00:01:30") == 105.5
    window = portal.get_history_window([btc], "2024-01-02 00:02", 4, "1m", "close")[btc]
    assert window.index[0] == pd.Timestamp("2024-01-01 23:59", tz="UTC")
    np.testing.assert_array_equal(window.to_numpy(), [104.5, 105.5, np.nan, 107.5])
    hourly = portal.get_history_window([btc], "2024-01-02 00:05", 2, "1h", "volume")[btc]
    assert hourly.tolist() == [1.5 * 5, 1.5 * 5]  # 23:55-23:59 and 00:00-00:05 without 00:01


def test_portals_share_loaded_series_through_the_cache_manager(sample_catalog):
    from rustybt.data.cache import CacheManager

    cache = CacheManager(max_memory_mb=64)
    first = DataPortal.from_catalog(sample_catalog, "s", cache=cache)
    first.get_history_window(["AAPL", "KO"], "2014-06-10", 5, "1d", "close")
    misses = cache.stats.misses
    second = DataPortal.from_catalog(sample_catalog, "s", cache=cache)
    got = second.get_history_window(["AAPL", "KO"], "2014-06-10", 5, "1d", "close")
    assert cache.stats.misses == misses and cache.stats.hits >= 2  # no second read of the Parquet files
    assert got.equals(first.get_history_window(["AAPL", "KO"], "2014-06-10", 5, "1d", "close"))
    assert cache.stats.memory_bytes <= cache.stats.max_memory_bytes
