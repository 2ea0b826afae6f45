"""Plotly charts, checked against expectations computed from the shipped CSV files with plain Python/pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rustybt.assets import Equity
from rustybt.data.readers import DataPortal
from rustybt.errors import InvalidArgument, NoDataForRange, ResolutionError, SymbolNotFound
from rustybt.notebook import plots


def _csv_frame(read, symbol: str, folder: str = "equities/daily") -> pd.DataFrame:
    rows = read(symbol, folder)
    key = "date" if "date" in rows[0] else "timestamp"
    frame = pd.DataFrame(rows)
    frame.index = pd.to_datetime(frame.pop(key), utc=True).dt.tz_localize(None)
    return frame[["open", "high", "low", "close", "volume"]].astype(float)


# --- candlestick -----------------------------------------------------------------------------------------


def test_candlestick_matches_the_csv(sample_catalog, sample_csv):
    expected = _csv_frame(sample_csv, "IBM").loc["2013-03-01":"2013-05-31"]
    fig = plots.candlestick(sample_catalog.bundle("sample"), "IBM", "2013-03-01", "2013-05-31", adjusted=False)
    candles, volume = fig.data[2:4]  # the raw view (shown first with adjusted=False)
    assert candles.visible is not False and fig.data[0].visible is False
    assert fig.layout.meta["candles"] == len(expected) and fig.layout.meta["frequency"] == "1d"
    assert list(pd.DatetimeIndex(candles.x)) == list(expected.index)
    for field in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(np.asarray(getattr(candles, field)), expected[field].to_numpy())
    np.testing.assert_array_equal(np.asarray(volume.y), expected["volume"].to_numpy())
    assert fig.layout.xaxis.rangeslider.visible is False


def test_candlestick_from_a_data_portal(sample_catalog):
    portal = DataPortal.from_catalog(sample_catalog, "sample")
    fig = plots.candlestick(portal, "MSFT", "2014-01-01", "2014-01-31")
    assert fig.layout.meta["candles"] == 21 and fig.layout.meta["symbol"] == "MSFT"


def test_candlestick_hides_weekends_and_holidays(sample_catalog):
    fig = plots.candlestick(sample_catalog.bundle("sample"), "KO", "2014-06-01", "2014-07-31")
    breaks = fig.layout.xaxis.rangebreaks
    assert breaks[0].bounds == ("sat", "mon")
    assert "2014-07-04" in breaks[1]["values"]


def test_long_ranges_are_coarsened_to_fit(sample_catalog, sample_csv):
    bundle = sample_catalog.bundle("sample")
    fig = plots.candlestick(bundle, "AAPL", "2013-01-01", "2013-12-31", max_candles=100, adjusted=False)
    assert fig.layout.meta["frequency"] == "1w" and fig.layout.meta["candles"] <= 100
    # weekly bars = the CSV grouped by ISO week, labelled by the week's first session
    daily = _csv_frame(sample_csv, "AAPL").loc["2013-01-01":"2013-12-31"]
    week = daily.index.to_period("W-SUN")
    expected = daily.groupby(week).agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    expected.index = daily.index.to_series().groupby(week).min().to_numpy()
    candles = fig.data[2]  # raw view
    assert len(candles.x) == len(expected)
    np.testing.assert_allclose(np.asarray(candles.close), expected["close"].to_numpy())
    np.testing.assert_allclose(np.asarray(candles.high), expected["high"].to_numpy())
    np.testing.assert_allclose(np.asarray(fig.data[3].y), expected["volume"].to_numpy())
    # 2013-01-01 is a holiday: the first week is labelled Monday 2012-12-31, the first session of that week
    assert pd.Timestamp(candles.x[0]) == pd.Timestamp("2012-12-31")


def test_hourly_bundle_coarsening_steps(sample_catalog):
    bundle = sample_catalog.bundle("sample_crypto")
    assert plots.candlestick(bundle, "BTC-USDT").layout.meta["frequency"] == "2h"  # 2,184 hours > 2,000
    assert plots.candlestick(bundle, "BTC-USDT", max_candles=600).layout.meta["frequency"] == "4h"
    fig = plots.candlestick(bundle, "BTC-USDT", max_candles=100)
    assert (fig.layout.meta["frequency"], fig.layout.meta["candles"]) == ("1d", 91)
    explicit = plots.candlestick(bundle, "ETH-USDT", "2024-02-01", "2024-02-01", frequency="1h")
    assert explicit.layout.meta["candles"] == 24 and not fig.layout.xaxis.rangebreaks


def test_explicit_frequency_is_honoured(sample_catalog):
    fig = plots.candlestick(sample_catalog.bundle("sample"), "KO", frequency="1M", max_candles=10)
    assert (fig.layout.meta["frequency"], fig.layout.meta["candles"]) == ("1M", 36)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"symbol": "APPL"}, SymbolNotFound, "Close matches: AAPL"),
        ({"symbol": "AAPL", "start": "2014-02-30"}, InvalidArgument, "is not a date"),
        ({"symbol": "AAPL", "start": "2014-05-01", "end": "2014-04-01"}, InvalidArgument, "after end"),
        ({"symbol": "AAPL", "start": "2010-01-01", "end": "2011-01-01"}, NoDataForRange, "2012-01-03 .. 2014-12-31"),
        ({"symbol": "ZZX", "start": "2012-01-01", "end": "2012-12-31"}, NoDataForRange, "2013-04-18"),
        ({"symbol": "AAPL", "frequency": "1h"}, ResolutionError, "stores 1d bars"),
        ({"symbol": "AAPL", "frequency": "3d"}, ResolutionError, "unknown resolution"),
    ],
)
def test_candlestick_errors(sample_catalog, kwargs, error, match):
    with pytest.raises(error, match=match):
        plots.candlestick(sample_catalog.bundle("sample"), **kwargs)


def test_candlestick_rejects_other_sources(sample_catalog):
    with pytest.raises(InvalidArgument, match="Bundle or a DataPortal"):
        plots.candlestick(sample_catalog, "AAPL")


# --- coverage --------------------------------------------------------------------------------------------


def test_coverage_heatmap(sample_catalog, sample_csv):
    fig = plots.coverage_heatmap(sample_catalog.bundle("sample"))
    meta = fig.layout.meta
    assert (meta["bucket"], meta["assets"], meta["assets_shown"]) == ("week", 30, 30)
    assert meta["gaps"] == {"ZZK": 3}
    heat = fig.data[0]
    z = np.asarray(heat.customdata, dtype=float)[:, :, 2] / 100  # the share of bars present (hover text)
    bands = np.asarray(heat.z, dtype=float)  # the colour: none / some missing / all
    assert set(np.unique(bands[np.isfinite(bands)])) <= {1 / 6, 1 / 2, 5 / 6}
    assert np.array_equal(np.isnan(bands), np.isnan(z))
    assert (bands[z == 1.0] == 5 / 6).all() and (bands[(z > 0) & (z < 1)] == 1 / 2).all()
    assert list(heat.colorbar.ticktext) == ["none", "some missing", "all"]
    symbols = list(heat.y)
    x = pd.DatetimeIndex(heat.x)
    assert z.shape == (30, meta["buckets"])
    # ZZK in the week of 2013-09-16: bars on the 16th and 20th of 5 sessions (from the CSV)
    zzk_rows = [r["date"] for r in sample_csv("ZZK") if "2013-09-16" <= r["date"] <= "2013-09-20"]
    week = x.get_loc(pd.Timestamp("2013-09-16"))
    assert z[symbols.index("ZZK"), week] == pytest.approx(len(zzk_rows) / 5) == pytest.approx(0.4)
    # ZZX starts on 2013-04-18: blank before, full from the week after
    zzx = z[symbols.index("ZZX")]
    assert np.isnan(zzx[x < pd.Timestamp("2013-04-15")]).all()
    assert (zzx[x >= pd.Timestamp("2013-04-22")] == 1.0).all()
    # a gap-free asset is full everywhere
    assert (z[symbols.index("AAPL")] == 1.0).all()


def test_coverage_heatmap_buckets_and_limits(sample_catalog):
    crypto = plots.coverage_heatmap(sample_catalog.bundle("sample_crypto"))
    assert (crypto.layout.meta["bucket"], crypto.layout.meta["buckets"]) == ("day", 91)
    assert crypto.layout.meta["gaps"] == {}
    monthly = plots.coverage_heatmap(sample_catalog.bundle("sample"), bucket="month", max_assets=5)
    assert (monthly.layout.meta["buckets"], monthly.layout.meta["assets_shown"]) == (36, 5)
    assert "first 5 of 30" in monthly.layout.title.text
    with pytest.raises(InvalidArgument, match="bucket 'fortnight'"):
        plots.coverage_heatmap(sample_catalog.bundle("sample"), bucket="fortnight")


# --- pipeline results ------------------------------------------------------------------------------------


def _result(assets, dates, values) -> pd.DataFrame:
    index = pd.MultiIndex.from_product([pd.DatetimeIndex(dates), assets])
    return pd.DataFrame({"factor": np.asarray(values, dtype=float).ravel()}, index=index)


@pytest.fixture
def toy_result():
    assets = [Equity(sid=i, symbol=f"A{i}") for i in range(6)]
    dates = pd.date_range("2014-01-02", periods=4, freq="B")
    values = np.arange(24.0).reshape(4, 6)
    values[1, 2] = np.nan
    return _result(assets, dates, values)


def test_factor_timeseries(toy_result):
    fig = plots.factor_timeseries(toy_result, "factor", ["A1", 3])
    assert [t.name for t in fig.data] == ["A1", "A3"]
    np.testing.assert_array_equal(np.asarray(fig.data[0].y), [1.0, 7.0, 13.0, 19.0])
    assert len(plots.factor_timeseries(toy_result, "factor", max_assets=4).data) == 4
    with pytest.raises(InvalidArgument, match="asset 'ZZZ' is not in the result"):
        plots.factor_timeseries(toy_result, "factor", ["ZZZ"])
    with pytest.raises(InvalidArgument, match="no column 'nope'"):
        plots.factor_timeseries(toy_result, "nope")


def test_factor_histogram(toy_result):
    last = plots.factor_histogram(toy_result, "factor")
    assert last.layout.meta["date"] == "2014-01-07" and last.layout.meta["n"] == 6
    np.testing.assert_array_equal(np.sort(np.asarray(last.data[0].x)), np.arange(18.0, 24.0))
    second = plots.factor_histogram(toy_result, "factor", "2014-01-03")
    assert second.layout.meta["n"] == 5  # one NaN left out
    with pytest.raises(InvalidArgument, match="2014-01-01 is not in the result"):
        plots.factor_histogram(toy_result, "factor", "2014-01-01")
    with pytest.raises(InvalidArgument, match="indexed by \\(date, asset\\)"):
        plots.factor_histogram(toy_result.reset_index(), "factor")


NO_EVENTS = ["ZZD", "ZZG", "ZZJ", "ZZM", "ZZO", "ZZQ", "ZZS", "ZZU", "ZZW", "ZZZ"]  # no split or dividend


def test_quantile_returns_chart_draws_the_analysis_table(sample_catalog, sample_csv):
    """The numbers are rustybt.pipeline.analysis's (tested against raw closes in tests/pipeline/test_analysis.py)."""
    from rustybt.pipeline.analysis import quantile_returns_table

    bundle = sample_catalog.bundle("sample")
    assets = [bundle.asset_finder.lookup_symbol(s) for s in NO_EVENTS]
    dates = _csv_frame(sample_csv, "ZZD").loc["2013-03-01":"2013-04-30"].index
    rng = np.random.default_rng(7)
    result = _result(assets, dates, rng.normal(size=(len(dates), len(assets))))
    table = quantile_returns_table(result, "factor", bundle, quantiles=5, periods=(1, 5))
    fig = plots.quantile_returns(result, "factor", bundle, quantiles=5, periods=(1, 5))
    assert [t.name for t in fig.data] == ["1D forward", "5D forward"]
    np.testing.assert_allclose(np.asarray(fig.data[1].y), table["5D"].to_numpy() * 1e4)
