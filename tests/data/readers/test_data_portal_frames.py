"""History results built on pandas' blocks directly (rustybt._frames) are ordinary, independent pandas objects.

The reference is the same window read with plain pandas from the CSV file the bundle was ingested from (AAPL's 7:1
split of 2014-06-09 divides earlier prices by 7 as of a later date).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_data_portal import yahoo_as_csvdir

from rustybt import Catalog
from rustybt._frames import datetime_index, frame, series
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.readers import DataPortal

AS_OF = pd.Timestamp("2014-06-20", tz="UTC")


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    return yahoo_as_csvdir(tmp_path_factory.mktemp("frames") / "src")


@pytest.fixture(scope="module")
def portal(src, tmp_path_factory):
    catalog = Catalog(root=tmp_path_factory.mktemp("frames-cat"))
    catalog.register("y", adapter=CSVAdapter.from_csvdir(src), validation="lenient")
    catalog.ingest("y", progress=False)
    return DataPortal.from_catalog(catalog, "y")


def _expected_close(src, symbol: str, n: int) -> pd.Series:
    raw = pd.read_csv(src / "daily" / f"{symbol}.csv", parse_dates=["date"]).set_index("date")
    raw.index = raw.index.tz_localize("UTC")
    close = raw["close"].loc[:AS_OF].iloc[-n:].astype(float)
    if symbol == "AAPL":
        close[close.index < pd.Timestamp("2014-06-09", tz="UTC")] /= 7.0
    return close


def test_history_series_is_an_ordinary_series(portal, src):
    aapl = portal.asset_finder.lookup_symbol("AAPL")
    got = portal.history(aapl, "close", 20, "1d", dt=AS_OF)
    want = _expected_close(src, "AAPL", 20)
    assert type(got) is pd.Series and got.name == aapl and got.dtype == np.float64
    assert isinstance(got.index, pd.DatetimeIndex) and str(got.index.tz) == "UTC"
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-6)
    assert got.index.equals(want.index)
    # usual operations, and the caller's own copy: changing it does not change the next call's window
    assert got.pct_change().iloc[1:].notna().all()
    got.iloc[-1] = -1.0
    assert portal.history(aapl, "close", 20, "1d", dt=AS_OF).iloc[-1] == pytest.approx(want.iloc[-1], rel=1e-6)


def test_history_window_frame_is_an_ordinary_frame(portal, src):
    assets = [portal.asset_finder.lookup_symbol(s) for s in ("AAPL", "MSFT")]
    got = portal.get_history_window(assets, AS_OF, 15, "1d", "close")
    assert type(got) is pd.DataFrame and list(got.columns) == assets and got.shape == (15, 2)
    for asset in assets:
        np.testing.assert_allclose(got[asset].to_numpy(), _expected_close(src, asset.symbol, 15).to_numpy(), rtol=1e-6)
    same = pd.DataFrame(got.to_numpy(), index=got.index, columns=pd.Index(assets, dtype=object))
    pd.testing.assert_frame_equal(got, same)
    got.iloc[0, 0] = -1.0  # a copy of its own
    assert portal.get_history_window(assets, AS_OF, 15, "1d", "close").iloc[0, 0] > 0
    price = portal.get_history_window(assets, AS_OF, 15, "1d", "price")
    pd.testing.assert_frame_equal(price, portal.get_history_window(assets, AS_OF, 15, "1d", "close"))


def test_frame_helpers_equal_the_public_constructors():
    days = pd.date_range("2024-01-01", periods=4, tz="UTC")
    index = datetime_index(days.array._ndarray, days.dtype)
    assert index.equals(days)
    values = np.arange(8.0).reshape(2, 4)
    cols = pd.Index(["a", "b"], dtype=object)
    pd.testing.assert_frame_equal(frame(values.copy(), index, cols), pd.DataFrame(values.T, index=index, columns=cols))
    pd.testing.assert_series_equal(series(values[0].copy(), index, "x"), pd.Series(values[0], index=index, name="x"))
