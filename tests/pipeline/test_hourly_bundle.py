"""Pipelines on an hourly bundle (the shipped 24/7 crypto sample): daily rows, bars resampled from the hourly ones.

The reference is a plain pandas resample of the sample's CSV files to UTC days (the 24/7 calendar's sessions):
open first, high max, low min, close last, volume sum; the row for day D shows the bar of D-1 (as on daily bundles).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rustybt import Catalog
from rustybt.pipeline import Pipeline
from rustybt.pipeline.bundle_engine import engine_for_bundle
from rustybt.pipeline.data import EquityPricing as P
from rustybt.pipeline.factors import AverageDollarVolume, Returns, SimpleMovingAverage
from rustybt.sample import register_sample

CSV_DIR = Path(__file__).resolve().parents[2] / "data" / "sample" / "crypto" / "1h"
SYMBOLS = ["BTC-USDT", "ETH-USDT"]
START, END = "2024-01-10", "2024-03-31"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    root = tmp_path_factory.mktemp("crypto-catalog")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RUSTYBT_CONFIG", str(root / "no-config.yaml"))
        catalog = Catalog(root=root)
        register_sample(catalog)
        catalog.ingest("sample_crypto", progress=False)
        yield catalog


@pytest.fixture(scope="module")
def bundle(catalog):
    return catalog.bundle("sample_crypto")


@pytest.fixture(scope="module")
def daily():
    """Daily bars per symbol from the hourly CSVs, with pandas alone."""
    out = {}
    for sym in SYMBOLS:
        df = pd.read_csv(CSV_DIR / f"{sym}.csv", float_precision="round_trip")
        df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("timestamp"), utc=True))
        agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
        out[sym] = df.resample("1D").agg(agg)
    return out


def _by_symbol(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    dates = pd.DatetimeIndex(frame.index.get_level_values(0))
    dates = dates.tz_localize("UTC") if dates.tz is None else dates.tz_convert("UTC")
    symbols = [a.symbol for a in frame.index.get_level_values(1)]
    return pd.Series(frame[column].to_numpy(), index=pd.MultiIndex.from_arrays([dates, symbols])).unstack()


def test_daily_rows_on_the_24_7_calendar(bundle):
    assert bundle.resolution == "1h" and bundle.calendar_name == "24/7"
    out = engine_for_bundle(bundle, progress=False).run_pipeline(Pipeline({"c": P.close.latest}), START, END)
    dates = pd.DatetimeIndex(out.index.get_level_values(0).unique())
    dates = dates.tz_localize("UTC") if dates.tz is None else dates.tz_convert("UTC")
    expected = pd.date_range(START, END, freq="D", tz="UTC")  # every calendar day, weekends included
    assert dates.equals(expected)
    assert sorted({a.symbol for a in out.index.get_level_values(1)}) == SYMBOLS


def test_latest_bars_equal_a_pandas_resample(bundle, daily):
    pipe = Pipeline({f: getattr(P, f).latest for f in ("open", "high", "low", "close", "volume")})
    out = engine_for_bundle(bundle, progress=False).run_pipeline(pipe, START, END)
    rows = pd.date_range(START, END, freq="D", tz="UTC")
    for field in ("open", "high", "low", "close", "volume"):
        got = _by_symbol(out, field)
        want = pd.DataFrame({s: daily[s][field].shift(1).reindex(rows) for s in SYMBOLS})  # row D: bar of D-1
        np.testing.assert_allclose(got[SYMBOLS].to_numpy(), want.to_numpy(), rtol=1e-12, err_msg=field)


def test_window_factors_equal_pandas(bundle, daily):
    pipe = Pipeline(
        {
            "sma_5": SimpleMovingAverage(inputs=[P.close], window_length=5),
            "adv_3": AverageDollarVolume(window_length=3),
            "ret_7": Returns(window_length=7),
        }
    )
    out = engine_for_bundle(bundle, progress=False).run_pipeline(pipe, START, END)
    rows = pd.date_range(START, END, freq="D", tz="UTC")
    close = pd.DataFrame({s: daily[s]["close"] for s in SYMBOLS}).shift(1)
    volume = pd.DataFrame({s: daily[s]["volume"] for s in SYMBOLS}).shift(1)
    expected = {
        "sma_5": close.rolling(5).mean(),
        "adv_3": (close * volume).rolling(3).mean(),
        "ret_7": (close - close.shift(6)) / close.shift(6),  # zipline's Returns: (last - first) / first
    }
    for name, want in expected.items():
        got = _by_symbol(out, name)[SYMBOLS]
        np.testing.assert_allclose(got.to_numpy(), want.reindex(rows).to_numpy(), rtol=1e-12, err_msg=name)


def test_first_rows_follow_the_bundle_start(bundle, daily):
    """Assets appear from the session after their first bar (as on daily bundles); that row shows the first bar."""
    out = engine_for_bundle(bundle, progress=False).run_pipeline(
        Pipeline({"c": P.close.latest}), "2024-01-01", "2024-01-03"
    )
    got = _by_symbol(out, "c")[SYMBOLS]
    assert list(got.index) == list(pd.date_range("2024-01-02", "2024-01-03", freq="D", tz="UTC"))
    for sym in SYMBOLS:
        assert got[sym].iloc[0] == daily[sym]["close"].iloc[0]  # the bar of 2024-01-01
        assert got[sym].iloc[1] == daily[sym]["close"].iloc[1]


def test_pipeline_output_in_an_hourly_algorithm(catalog, bundle):
    """An algorithm on the hourly bundle gets, for each session, the row run_pipeline gives for that session."""
    from rustybt import run_algorithm
    from rustybt.api import attach_pipeline, get_datetime, pipeline_output

    pipe = Pipeline({"close": P.close.latest, "sma_5": SimpleMovingAverage(inputs=[P.close], window_length=5)})
    seen = []

    def initialize(context):
        attach_pipeline(pipe, "daily")

    def before_trading_start(context, data):
        seen.append((get_datetime(), pipeline_output("daily")))

    run_algorithm(
        start=pd.Timestamp("2024-02-01"),
        end=pd.Timestamp("2024-02-05"),
        initialize=initialize,
        before_trading_start=before_trading_start,
        capital_base=100_000,
        data_frequency="1h",
        bundle=bundle.name,
        catalog=catalog,
    )
    expected = engine_for_bundle(bundle, progress=False).run_pipeline(pipe, "2024-02-01", "2024-02-05")
    days = pd.DatetimeIndex(expected.index.get_level_values(0))
    days = days.tz_localize("UTC") if days.tz is None else days.tz_convert("UTC")
    sessions = days.unique()
    assert len(seen) == len(sessions) == 5
    for session, (_, out) in zip(sessions, seen, strict=True):
        want = expected[days == session].droplevel(0)
        pd.testing.assert_frame_equal(out.sort_index(), want.sort_index(), check_exact=True)
