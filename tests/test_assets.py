"""Assets and AssetFinder: lookups by sid and symbol-as-of-date, lifetimes, records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rustybt.assets import (
    AssetFinder,
    CryptoPerpetual,
    CryptoSpot,
    Equity,
    ForexPair,
    Future,
    Option,
    asset_from_record,
)
from rustybt.errors import SidNotFound, SymbolNotFound

T = pd.Timestamp


@pytest.fixture
def finder() -> AssetFinder:
    old = Equity(0, "FB", start_date=T("2012-05-18"), end_date=T("2022-06-08"))
    new = Equity(1, "META", start_date=T("2012-05-18"), end_date=T("2024-12-31"))
    other = Equity(2, "FB2", start_date=T("2023-01-03"), end_date=T("2024-12-31"))
    history = [
        ("FB", 0, T("2012-05-18"), T("2022-06-08")),
        ("META", 1, T("2022-06-09"), T("2024-12-31")),
        ("FB", 2, T("2023-01-03"), T("2024-12-31")),
    ]
    return AssetFinder([old, new, other], symbol_history=history)


def test_retrieve_asset_and_unknown_sid(finder):
    assert finder.retrieve_asset(1).symbol == "META"
    with pytest.raises(SidNotFound, match="sid 9"):
        finder.retrieve_asset(9)
    assert finder.retrieve_asset(9, default_none=True) is None


def test_lookup_symbol_as_of_date(finder):
    assert finder.lookup_symbol("fb", as_of_date="2015-01-02").sid == 0
    assert finder.lookup_symbol("FB", as_of_date="2023-06-01").sid == 2
    assert finder.lookup_symbol("FB").sid == 2  # latest holder without a date
    with pytest.raises(SymbolNotFound, match="not held by any asset on 2022-12-01"):
        finder.lookup_symbol("FB", as_of_date="2022-12-01")


def test_unknown_symbol_lists_close_matches(finder):
    with pytest.raises(SymbolNotFound, match="Close matches: META"):
        finder.lookup_symbol("METAA")


def test_lifetimes_follow_zipline_start_rule():
    a = Equity(0, "A", start_date=T("2014-01-03"), end_date=T("2014-01-07"))
    b = Equity(1, "B", start_date=T("2014-01-02"), end_date=T("2014-01-08"))
    dates = pd.DatetimeIndex(["2014-01-02", "2014-01-03", "2014-01-06", "2014-01-07", "2014-01-08"])
    got = AssetFinder([a, b]).lifetimes(dates)
    assert got[0].tolist() == [False, False, True, True, False]
    assert got[1].tolist() == [False, True, True, True, True]
    with_start = AssetFinder([a, b]).lifetimes(dates, include_start_date=True)
    assert with_start[0].tolist() == [False, True, True, True, False]


@pytest.mark.parametrize("include_start_date", [False, True])
@pytest.mark.parametrize("shuffled", [False, True])
def test_lifetimes_match_plain_date_comparisons(include_start_date, shuffled):
    rng = np.random.default_rng(3)
    days = pd.bdate_range("2015-01-01", periods=60)
    assets = []
    for sid in range(40):
        start, end = sorted(rng.choice(len(days) + 20, size=2, replace=False) - 10)
        start_date = None if sid % 7 == 0 else days[0] + pd.Timedelta(days=int(start))
        end_date = None if sid % 5 == 0 else days[0] + pd.Timedelta(days=int(end))
        assets.append(Equity(sid, f"S{sid}", start_date=start_date, end_date=end_date))
    dates = pd.DatetimeIndex(rng.permutation(days)) if shuffled else days
    got = AssetFinder(assets).lifetimes(dates, include_start_date=include_start_date)
    for a in assets:
        after_start = np.ones(len(dates), bool)
        if a.start_date is not None:
            after_start = dates >= a.start_date if include_start_date else dates > a.start_date
        before_end = np.ones(len(dates), bool) if a.end_date is None else dates <= a.end_date
        assert got[a.sid].tolist() == list(after_start & before_end), a
    assert got.index.equals(dates)


def test_assets_compare_and_hash_by_sid():
    a = Equity(5, "X")
    assert a == 5 and a == Equity(5, "Y") and hash(a) == hash(5)
    assert {a: 1}[5] == 1
    assert sorted([Equity(3, "C"), Equity(1, "A")]) == [1, 3]


@pytest.mark.parametrize(
    "asset",
    [
        Equity(1, "AAPL", exchange="NASDAQ", start_date=T("2012-01-03"), end_date=T("2014-12-31")),
        CryptoSpot(2, "BTC/USDT", base="BTC", quote="USDT"),
        CryptoPerpetual(3, "BTC/USDT:USDT", base="BTC", quote="USDT", settle="USDT"),
        Future(4, "CLF14", root_symbol="CL", expiration_date=T("2013-12-19"), multiplier=1000.0),
        ForexPair(5, "EUR/USD", base="EUR", quote="USD"),
        Option(6, "AAPL140621C00500000", underlying="AAPL", strike=500.0, expiration_date=T("2014-06-21")),
    ],
)
def test_records_round_trip_every_asset_class(asset):
    back = asset_from_record(asset.to_record())
    assert type(back) is type(asset)
    assert back.__dict__ == asset.__dict__


def test_crypto_defaults_to_24_7_calendar():
    assert CryptoSpot(1, "ETH/USDT").calendar_name == "24/7"
    assert Equity(1, "X").calendar_name == "XNYS"
