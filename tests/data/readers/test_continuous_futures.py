"""Continuous futures: roll dates, stitched and adjusted prices, chains — against hand-computed expectations.

The tiny family ``TF`` (three contracts over 30 XNYS sessions, S[0] = 2024-01-02) is written as CSV files, ingested
through :class:`FuturesCSVAdapter` and checked against numbers worked out by hand below. The shipped
``sample_futures`` bundle is checked against plain pandas over its CSV files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from rustybt import Catalog
from rustybt.assets import Future
from rustybt.data.adapters import FuturesCSVAdapter
from rustybt.data.adapters.base import adapter_from_config
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.readers import ContinuousFuture, DataPortal, continuous_future, current_chain
from rustybt.errors import (
    DataFormatError,
    IngestionError,
    InvalidArgument,
    LookaheadError,
    NoDataBeforeDate,
    NoDataOnDate,
    ResolutionError,
    SymbolNotFound,
)
from rustybt.sample import register_sample, sample_data_dir

# --- the hand-made family ----------------------------------------------------------------------------------------
#
# Sessions S[0..29] are the first 30 XNYS sessions of 2024 (2024-01-15 is a holiday).
#
#   contract  bars           auto_close  expiration  close on S[i]   volume on S[i]
#   TFG24     S[0]..S[12]    S[10]       S[12]       100 + i         1000 (i <= 6), 300 (i = 7), 2000 (i = 8), 200 after
#   TFH24     S[0]..S[24]    S[20]       S[22]       110 + 2i        500 (i <= 6), 800 (i = 7), 900 (i = 8), 1500 after
#   TFJ24     S[5]..S[29]    2024-03-13  2024-03-15  130 + 3i        100; no bar on S[12]
#
# Calendar roll: G -> H on S[10] (G's auto-close), H -> J on S[20] (H's auto-close).
# Volume roll:   G -> H on S[8]  (on S[7] H traded 800 > G's 300; S[8] is the first session whose previous session
#                                 shows the back month ahead). On S[8] G trades 2000 > H's 900 again: no roll back.
#                H -> J on S[20] (J never out-trades H: the auto-close date forces the roll).

SESSIONS = xcals.get_calendar("XNYS").sessions_in_range("2024-01-02", "2024-03-29")[:30]
S = [pd.Timestamp(s.date()) for s in SESSIONS]  # naive session dates
U = [s.tz_localize("UTC") for s in S]  # the same sessions as portal labels (midnight UTC)


def g_close(i: int) -> float:
    return 100.0 + i


def h_close(i: int) -> float:
    return 110.0 + 2 * i


def j_close(i: int) -> float:
    return 130.0 + 3 * i


def g_volume(i: int) -> int:
    return 1000 if i <= 6 else {7: 300, 8: 2000}.get(i, 200)


def h_volume(i: int) -> int:
    return 500 if i <= 6 else {7: 800, 8: 900}.get(i, 1500)


FAMILY = {
    "TFG24": (range(0, 13), g_close, g_volume),
    "TFH24": (range(0, 25), h_close, h_volume),
    "TFJ24": ([i for i in range(5, 30) if i != 12], j_close, lambda i: 100),
}
CLOSE = {"TFG24": g_close, "TFH24": h_close, "TFJ24": j_close}
VOLUME = {"TFG24": g_volume, "TFH24": h_volume, "TFJ24": lambda i: 100}


def day(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")


def write_family(root: Path, extra_bars: tuple[str, ...] = ()) -> Path:
    (root / "daily").mkdir(parents=True)
    for symbol, (rows, close, volume) in FAMILY.items():
        with open(root / "daily" / f"{symbol}.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["date", "open", "high", "low", "close", "volume"])
            for i in rows:
                c = close(i)
                w.writerow([day(S[i]), c - 0.5, c + 1, c - 1, c, volume(i)])
    for symbol in extra_bars:  # a bar file with no row in contracts.csv
        (root / "daily" / f"{symbol}.csv").write_text("date,open,high,low,close,volume\n2024-01-02,1,1,1,1,1\n")
    with open(root / "contracts.csv", "w", newline="") as fh:
        fh.write("symbol,root_symbol,expiration_date,auto_close_date,first_notice_date,multiplier,exchange\n")
        w = csv.writer(fh)
        # deliberately not in expiration order
        w.writerow(["TFJ24", "TF", "2024-03-15", "2024-03-13", "", "50", "TEST"])
        w.writerow(["TFG24", "TF", day(S[12]), day(S[10]), day(S[13]), "50", "TEST"])
        w.writerow(["TFH24", "TF", day(S[22]), day(S[20]), day(S[23]), "50", "TEST"])
    return root


@pytest.fixture(scope="module")
def family_portal(tmp_path_factory):
    root = tmp_path_factory.mktemp("tf")
    catalog = Catalog(root=root / "catalog")
    catalog.register("tf", adapter=FuturesCSVAdapter(write_family(root / "src")), calendar="XNYS")
    catalog.ingest("tf", progress=False)
    return DataPortal.from_catalog(catalog, "tf")


@pytest.fixture
def portal(family_portal):
    family_portal.set_clock(None)
    yield family_portal
    family_portal.set_clock(None)


def contract(portal, symbol: str) -> Future:
    return portal.asset_finder.lookup_symbol(symbol)


def rolls_as_symbols(cf: ContinuousFuture, *args) -> list[tuple[pd.Timestamp, str, str]]:
    return [(when, a.symbol, b.symbol) for when, a, b in cf.roll_dates(*args)]


# --- the adapter ---------------------------------------------------------------------------------------------


def test_ingested_contracts_are_futures_with_the_contract_file_metadata(portal):
    g = contract(portal, "TFG24")
    assert isinstance(g, Future)
    assert g.root_symbol == "TF"
    assert g.expiration_date == S[12]
    assert g.auto_close_date == S[10]
    assert g.first_notice_date == S[13]
    assert g.multiplier == 50.0
    assert g.exchange == "TEST"
    assert (g.start_date, g.end_date) == (S[0], S[12])
    j = contract(portal, "TFJ24")
    assert j.first_notice_date is None  # empty in the file
    assert j.auto_close_date == pd.Timestamp("2024-03-13")


def test_adapter_round_trips_through_the_registry(tmp_path):
    adapter = FuturesCSVAdapter(write_family(tmp_path / "src"))
    again = adapter_from_config("futures-csv", adapter.to_config())
    assert isinstance(again, FuturesCSVAdapter)
    assert again.to_config() == adapter.to_config()
    assert adapter.symbols() == ["TFG24", "TFH24", "TFJ24"]
    frame = adapter.fetch_sync(["TFG24"], None, None)
    assert frame.height == 13 and set(frame.get_column("symbol")) == {"TFG24"}


def test_bar_file_without_a_contract_row_is_an_error_naming_symbol_and_file(tmp_path):
    src = write_family(tmp_path / "src", extra_bars=("TFK24",))
    adapter = FuturesCSVAdapter(src)
    with pytest.raises(SymbolNotFound) as info:
        adapter.fetch_sync(["TFK24"], None, None)
    message = str(info.value)
    assert "TFK24" in message and str(src / "daily" / "TFK24.csv") in message and str(src / "contracts.csv") in message
    catalog = Catalog(root=tmp_path / "catalog")
    catalog.register("tf", adapter=adapter, calendar="XNYS")
    with pytest.raises(IngestionError, match=r"TFK24.*TFK24\.csv"):
        catalog.ingest("tf", progress=False)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("symbol,root_symbol,expiration_date\nTFG24,TF,2024-01-18\n", r"line 1: missing column\(s\) auto_close_date"),
        (
            "symbol,root_symbol,expiration_date,auto_close_date\nTFG24,TF,2024-01-18,18/01/2024\n",
            r"line 2, field 'auto_close_date': '18/01/2024' is not a YYYY-MM-DD date",
        ),
        (
            "symbol,root_symbol,expiration_date,auto_close_date\nTFG24,TF,2024-01-18,2024-01-16\n"
            "TFG24,TF,2024-01-18,2024-01-16\n",
            r"line 3: contract 'TFG24' is listed twice \(first on line 2\)",
        ),
        (
            "symbol,root_symbol,expiration_date,auto_close_date,multiplier\nTFG24,TF,2024-01-18,2024-01-16,-5\n",
            r"line 2, field 'multiplier'",
        ),
    ],
)
def test_malformed_contracts_file_names_file_line_and_field(tmp_path, text, match):
    write_family(tmp_path / "src")
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    with pytest.raises(DataFormatError, match=match) as info:
        FuturesCSVAdapter(tmp_path / "src", contracts=bad)
    assert str(bad) in str(info.value)


# --- chains and rolls ----------------------------------------------------------------------------------------


def test_chain_is_ordered_by_expiration(portal):
    cf = continuous_future(portal, "TF")
    assert [c.symbol for c in cf.chain] == ["TFG24", "TFH24", "TFJ24"]


def test_current_chain_lists_started_contracts_not_yet_auto_closed(portal):
    def symbols(session):
        return [c.symbol for c in current_chain(portal, "TF", session)]

    assert symbols(S[0]) == ["TFG24", "TFH24"]  # J starts on S[5]
    assert symbols(S[5]) == ["TFG24", "TFH24", "TFJ24"]
    assert symbols(S[9]) == ["TFG24", "TFH24", "TFJ24"]
    assert symbols(S[10]) == ["TFH24", "TFJ24"]  # G auto-closes on S[10] (it still trades until S[12])
    assert symbols(S[20]) == ["TFJ24"]
    assert symbols(S[29]) == ["TFJ24"]
    assert [c.symbol for c in portal.current_chain("tf", S[10])] == ["TFH24", "TFJ24"]  # the DataPortal method


def test_calendar_roll_dates_are_the_auto_close_dates(portal):
    cf = continuous_future(portal, "TF", roll="calendar")
    assert rolls_as_symbols(cf) == [(U[10], "TFG24", "TFH24"), (U[20], "TFH24", "TFJ24")]
    assert rolls_as_symbols(cf, S[11], S[29]) == [(U[20], "TFH24", "TFJ24")]
    assert rolls_as_symbols(cf, S[0], S[9]) == []
    expected = ["TFG24"] * 10 + ["TFH24"] * 10 + ["TFJ24"] * 10
    assert [cf.contract_at(s).symbol for s in S] == expected


def test_volume_roll_on_the_first_session_after_the_back_month_traded_more(portal):
    cf = continuous_future(portal, "TF", roll="volume")
    assert rolls_as_symbols(cf) == [(U[8], "TFG24", "TFH24"), (U[20], "TFH24", "TFJ24")]
    assert cf.contract_at(S[7]).symbol == "TFG24"  # on S[6] G still traded more (1000 > 500)
    assert cf.contract_at(S[8]).symbol == "TFH24"  # S[7]: 800 > 300
    assert cf.contract_at(S[9]).symbol == "TFH24"  # S[8]: G 2000 > H 900 again, but a roll is never undone
    assert cf.contract_at(S[19]).symbol == "TFH24"  # J (100) never out-trades H (1500)
    assert cf.contract_at(S[20]).symbol == "TFJ24"  # forced on H's auto-close date


def test_offset_takes_the_later_contracts_when_they_have_started(portal):
    second = continuous_future(portal, "TF", offset=1, roll="calendar")
    assert [second.contract_at(S[i]).symbol for i in (0, 4, 9, 10, 19)] == ["TFH24"] * 3 + ["TFJ24"] * 2
    with pytest.raises(NoDataOnDate, match="no contract on 2024-01-31"):
        second.contract_at(S[20])  # the primary is J, the last contract
    assert rolls_as_symbols(second) == [(U[10], "TFH24", "TFJ24")]
    third = continuous_future(portal, "TF", offset=2)
    with pytest.raises(NoDataOnDate):
        third.contract_at(S[4])  # J starts trading on S[5]
    assert third.contract_at(S[5]).symbol == "TFJ24"
    assert third.roll_dates() == []


def test_contract_at_snaps_a_non_session_back_to_the_previous_session(portal):
    cf = continuous_future(portal, "TF")
    assert S[9] == pd.Timestamp("2024-01-16")  # the session after the MLK holiday
    assert cf.contract_at("2024-01-15") == cf.contract_at(S[8])


# --- stitched and adjusted history ---------------------------------------------------------------------------

# Calendar rolls: S[10] G -> H, closes on S[9]: G 109, H 128  -> ratio 128/109, difference 19
#                 S[20] H -> J, closes on S[19]: H 148, J 187 -> ratio 187/148, difference 39
# Volume rolls:   S[8]  G -> H, closes on S[7]:  G 107, H 124 -> ratio 124/107, difference 17
#                 S[20] as above.


def test_calendar_mul_adjusted_close_as_of_the_last_session(portal):
    got = continuous_future(portal, "TF", roll="calendar", adjustment="mul").history(S[29], 30, "close")
    expected = []
    for i in range(30):
        if i < 10:
            expected.append((100 + i) * (128 / 109) * (187 / 148))
        elif i < 20:
            expected.append((110 + 2 * i) * (187 / 148))
        else:
            expected.append(130 + 3 * i)
    assert list(got.index) == U
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)
    assert got.iloc[0] == pytest.approx(100 * 128 / 109 * 187 / 148)  # 148.3686...


def test_calendar_add_adjusted_close_as_of_the_last_session(portal):
    got = continuous_future(portal, "TF", roll="calendar", adjustment="add").history(S[29], 30, "close")
    expected = [(100 + i) + 19 + 39 if i < 10 else (110 + 2 * i) + 39 if i < 20 else 130 + 3 * i for i in range(30)]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)
    # the price continues across each roll without the jump between contracts
    assert got.iloc[9] == 109 + 58 and got.iloc[10] == 130 + 39


def test_volume_roll_mul_and_add_adjustments(portal):
    mul = continuous_future(portal, "TF", roll="volume", adjustment="mul").history(S[29], 30, "close")
    add = continuous_future(portal, "TF", roll="volume", adjustment="add").history(S[29], 30, "close")
    for i in range(30):
        if i < 8:
            assert mul.iloc[i] == pytest.approx((100 + i) * (124 / 107) * (187 / 148), rel=1e-12)
            assert add.iloc[i] == pytest.approx((100 + i) + 17 + 39, rel=1e-12)
        elif i < 20:
            assert mul.iloc[i] == pytest.approx((110 + 2 * i) * (187 / 148), rel=1e-12)
            assert add.iloc[i] == pytest.approx((110 + 2 * i) + 39, rel=1e-12)
        else:
            assert mul.iloc[i] == add.iloc[i] == 130 + 3 * i


def test_no_adjustment_gives_the_raw_stitched_prices(portal):
    got = continuous_future(portal, "TF", adjustment=None).history(S[29], 30, "close")
    expected = [100 + i if i < 10 else 110 + 2 * i if i < 20 else 130 + 3 * i for i in range(30)]
    np.testing.assert_array_equal(got.to_numpy(), expected)


def test_open_high_low_are_adjusted_with_the_close_ratio_and_volume_is_not(portal):
    cf = continuous_future(portal, "TF", adjustment="mul")
    high = cf.history(S[29], 30, "high")
    volume = cf.history(S[29], 30, "volume")
    assert high.iloc[0] == pytest.approx((100 + 1) * (128 / 109) * (187 / 148), rel=1e-12)
    assert high.iloc[15] == pytest.approx((110 + 30 + 1) * (187 / 148), rel=1e-12)
    assert list(volume) == [g_volume(i) for i in range(10)] + [h_volume(i) for i in range(10, 20)] + [100] * 10


def test_a_roll_after_end_dt_never_affects_the_window(portal):
    cf = continuous_future(portal, "TF", roll="calendar", adjustment="mul")
    # as of S[9], the day before the first roll: raw G prices
    np.testing.assert_array_equal(cf.history(S[9], 10, "close").to_numpy(), [100 + i for i in range(10)])
    # as of S[15]: the S[10] roll is known, the S[20] one is not
    got = cf.history(S[15], 16, "close")
    expected = [(100 + i) * 128 / 109 for i in range(10)] + [110 + 2 * i for i in range(10, 16)]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-12)
    # a window that starts on the roll session has no row before it: nothing to adjust
    np.testing.assert_array_equal(cf.history(S[15], 6, "close").to_numpy(), [110 + 2 * i for i in range(10, 16)])
    # the volume roll decides from the previous session's volumes only: the same rolls whatever the window end
    vol = continuous_future(portal, "TF", roll="volume", adjustment=None)
    assert [c.symbol for c in vol.history(S[8], 9, "contract")] == ["TFG24"] * 8 + ["TFH24"]


def test_contract_field_and_price_fill_on_a_session_the_active_contract_did_not_trade(portal):
    cf = continuous_future(portal, "TF", offset=1, adjustment=None)  # J is the second contract on S[10..19]
    contracts = cf.history(S[19], 10, "contract")
    assert [c.symbol for c in contracts] == ["TFJ24"] * 10
    close = cf.history(S[19], 10, "close")
    price = cf.history(S[19], 10, "price")
    volume = cf.history(S[19], 10, "volume")
    assert np.isnan(close[U[12]])  # J has no bar on S[12]
    assert price[U[12]] == j_close(11)  # the last close of the same contract
    assert volume[U[12]] == 0
    assert price[U[13]] == close[U[13]] == j_close(13)


def test_history_stops_at_the_portal_clock(portal):
    cf = continuous_future(portal, "TF")
    portal.set_clock(S[15].tz_localize("UTC"))
    with pytest.raises(LookaheadError):
        cf.history(S[20], 5, "close")
    assert rolls_as_symbols(cf) == [(U[10], "TFG24", "TFH24")]  # default end: the clock
    with pytest.raises(LookaheadError):
        cf.roll_dates(S[0], S[20])
    portal.set_clock(None)
    assert len(cf.roll_dates("2023-01-01", "2030-12-31")) == 2  # bounds beyond the data are fine
    with pytest.raises(NoDataBeforeDate):
        cf.history(S[3], 5, "close")


# --- the object ----------------------------------------------------------------------------------------------


def test_continuous_future_is_a_hashable_value_with_reprs(portal):
    a = continuous_future(portal, "tf", roll="volume", adjustment="add")
    b = portal.continuous_future("TF", roll="volume", adjustment="add")
    c = continuous_future(portal, "TF", roll="volume", adjustment="mul")
    assert a == b and hash(a) == hash(b) and a != c
    assert {a: 1}[b] == 1
    assert repr(a) == "ContinuousFuture('TF', offset=0, roll='volume', adjustment='add', bundle='tf')"
    page = a._repr_html_()
    assert page.startswith('<div class="rbt ') and "TFG24, TFH24, TFJ24" in page and "volume" in page
    assert a.history(S[29], 3, "close").name == a


def test_repr_html_escapes(portal):
    cf = continuous_future(portal, "TF")
    odd = Future(99, "<b>X&Y</b>", expiration_date=cf.chain[0].expiration_date)
    cf.__dict__["chain"] = (odd, *cf.chain)  # this instance only (the cached chain)
    page = cf._repr_html_()
    assert "<b>X" not in page and "&lt;b&gt;X&amp;Y&lt;/b&gt;" in page


# --- bad input -----------------------------------------------------------------------------------------------


def test_unknown_root_symbol_lists_the_known_roots(portal):
    with pytest.raises(SymbolNotFound, match=r"'ZZ'.*known roots: TF"):
        continuous_future(portal, "ZZ")
    with pytest.raises(SymbolNotFound, match="known roots: TF"):
        current_chain(portal, "ZZ", S[0])


def test_offset_beyond_the_chain(portal):
    with pytest.raises(InvalidArgument, match=r"offset 3 is beyond the chain of 'TF'.*3 contract\(s\)"):
        continuous_future(portal, "TF", offset=3)
    with pytest.raises(InvalidArgument, match="non-negative"):
        continuous_future(portal, "TF", offset=-1)


def test_unknown_roll_and_adjustment_styles(portal):
    with pytest.raises(InvalidArgument, match=r"unknown roll style 'open_interest'.*'calendar', 'volume'"):
        continuous_future(portal, "TF", roll="open_interest")
    with pytest.raises(InvalidArgument, match=r"unknown adjustment style 'ratio'.*'mul', 'add' or None"):
        continuous_future(portal, "TF", adjustment="ratio")


def test_bad_history_arguments(portal):
    cf = continuous_future(portal, "TF")
    with pytest.raises(InvalidArgument, match="unknown field 'vwap'"):
        cf.history(S[29], 5, "vwap")
    with pytest.raises(InvalidArgument, match="bar_count"):
        cf.history(S[29], 0, "close")


def test_intraday_bundle_is_refused(tmp_path):
    path = tmp_path / "TFG24.csv"
    path.write_text("timestamp,open,high,low,close,volume\n2024-01-02T15:00:00Z,1,1,1,1,1\n")
    catalog = Catalog(root=tmp_path / "catalog")
    catalog.register("h", adapter=CSVAdapter(path, resolution="1h", asset_class="future"), calendar="24/7")
    catalog.ingest("h", progress=False)
    with pytest.raises(ResolutionError, match="daily"):
        continuous_future(DataPortal.from_catalog(catalog, "h"), "TF")


# --- the shipped sample --------------------------------------------------------------------------------------

FUTURES = sample_data_dir() / "futures"


@pytest.fixture(scope="module")
def sample_portal(tmp_path_factory):
    catalog = Catalog(root=tmp_path_factory.mktemp("sample-futures"))
    register_sample(catalog)
    catalog.ingest("sample_futures", progress=False)
    return DataPortal.from_catalog(catalog, "sample_futures")


def sample_contracts() -> pd.DataFrame:
    return pd.read_csv(FUTURES / "contracts.csv", parse_dates=["expiration_date", "auto_close_date"])


def sample_bars(field: str) -> pd.DataFrame:
    """Sessions x contracts of one field, plain pandas over the CSV files (NaN where no bar)."""
    columns = {}
    for symbol in sample_contracts()["symbol"]:
        frame = pd.read_csv(FUTURES / "daily" / f"{symbol}.csv", parse_dates=["date"]).set_index("date")
        columns[symbol] = frame[field]
    return pd.DataFrame(columns).sort_index()


def test_sample_calendar_rolls_are_the_auto_close_dates(sample_portal):
    cf = continuous_future(sample_portal, "XF", roll="calendar")
    contracts = sample_contracts().sort_values("expiration_date")
    expected = [
        (acd.tz_localize("UTC"), front, back)
        for acd, front, back in zip(
            contracts["auto_close_date"][:-1], contracts["symbol"][:-1], contracts["symbol"][1:], strict=True
        )
    ]
    assert rolls_as_symbols(cf) == expected
    assert len(expected) == 5


def test_sample_volume_rolls_are_the_first_sessions_with_more_back_month_volume(sample_portal):
    cf = continuous_future(sample_portal, "XF", roll="volume")
    volume = sample_bars("volume").fillna(0)
    sessions = volume.index  # every XNYS session of the sample has a bar of some contract
    contracts = sample_contracts().sort_values("expiration_date")
    expected = []
    after = sessions[0]
    for (_, front), (_, back) in zip(contracts.iloc[:-1].iterrows(), contracts.iloc[1:].iterrows(), strict=True):
        back_ahead = volume[back["symbol"]].shift(1) > volume[front["symbol"]].shift(1)  # on the previous session
        candidates = back_ahead[(back_ahead.index > after) & back_ahead]
        first = candidates.index[0]
        assert first < front["auto_close_date"]  # the sample's volume always moves before the auto-close date
        expected.append((first.tz_localize("UTC"), front["symbol"], back["symbol"]))
        after = first
    assert rolls_as_symbols(cf) == expected


def test_sample_mul_adjusted_close_matches_plain_pandas(sample_portal):
    cf = continuous_future(sample_portal, "XF", roll="calendar", adjustment="mul")
    close = sample_bars("close")
    contracts = sample_contracts().sort_values("expiration_date")
    end = close.index[-1]
    # which contract is active on each session: the first whose auto-close date is later (the last one at the end)
    active = pd.Series(contracts["symbol"].iloc[-1], index=close.index)
    for symbol, acd in zip(contracts["symbol"][::-1], contracts["auto_close_date"][::-1], strict=True):
        active[close.index < acd] = symbol
    raw = pd.Series([close.at[d, s] for d, s in active.items()], index=close.index)
    adjusted = raw.copy()
    for front, back, acd in zip(
        contracts["symbol"][:-1], contracts["symbol"][1:], contracts["auto_close_date"][:-1], strict=True
    ):
        before = close.index[close.index < acd][-1]
        adjusted[close.index < acd] *= close.at[before, back] / close.at[before, front]
    got = cf.history(end, len(close), "close")
    np.testing.assert_allclose(got.to_numpy(), adjusted.to_numpy(), rtol=1e-12)
    assert got.index[0] == close.index[0].tz_localize("UTC")
