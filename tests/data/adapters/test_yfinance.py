"""YFinanceAdapter offline: Yahoo's v8 chart JSON served by ``responses`` to a real ``requests.Session``.

The adapter sends its requests with the session and reads the answers with yfinance's own parsers, so
everything but the network runs. Real sockets are blocked as a safety net, and ``responses`` refuses any URL
that was not registered.

Fixtures (``tests/resources/yahoo``; :func:`build_fixtures` writes them and
``test_fixtures_are_built_from_the_real_csv`` checks they still match):

``AAPL_1d_2014.json``
    Yahoo's answer for AAPL daily bars 2014-03-03..2014-08-29, as Yahoo serves it today: the real unadjusted
    bars of ``tests/resources/yahoo-2014-raw/AAPL.csv`` divided by the splits after each session (7:1 on
    2014-06-09, 4:1 on 2020-08-31) and stored as float32 like Yahoo's; volumes multiplied by the 4:1 split
    (the CSV's volumes already carry the 7:1); the real dividends (3.29 on 2014-05-08 and 0.47 on
    2014-08-07, from ``data/sample``) on the same split-adjusted basis (0.1175 each, Yahoo's figure);
    ``adjclose`` with the two dividends; ``events.splits`` with the 7:1 split.
``AAPL_1mo_events_after_2014.json``
    The answer to the follow-up request for the events after the range, trimmed to its 4:1 split of
    2020-08-31 (the adapter reads only the events of that answer).
``not_found_404.json``, ``unauthorized_401.json``, ``no_data_400.json``, ``empty_range_200.json``
    Yahoo's error and empty answers.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import polars as pl
import pytest
import requests
import responses

from rustybt import Catalog
from rustybt.data.adapters import YFinanceAdapter
from rustybt.data.adapters import yfinance as yf_adapter
from rustybt.data.adapters.base import ADJUSTMENT_SCHEMA, adapter_class
from rustybt.data.readers import DataPortal
from rustybt.errors import (
    AdapterError,
    AuthenticationError,
    InvalidArgument,
    RateLimitError,
    SymbolNotFound,
)

ROOT = Path(__file__).resolve().parents[3]
RESOURCES = ROOT / "tests" / "resources"
FIXTURES = RESOURCES / "yahoo"
RAW_CSV = RESOURCES / "yahoo-2014-raw" / "AAPL.csv"
SAMPLE_CSV = ROOT / "data" / "sample" / "equities" / "daily" / "AAPL.csv"
CHART = "https://query2.finance.yahoo.com/v8/finance/chart/"
NY = ZoneInfo("America/New_York")
SPLIT_2014 = date(2014, 6, 9)
SPLIT_2020 = date(2020, 8, 31)
DIVIDENDS = {date(2014, 5, 8): 3.29, date(2014, 8, 7): 0.47}  # real, unadjusted (data/sample AAPL.csv)
START, END = "2014-03-03", "2014-08-29"
PRICES = ("open", "high", "low", "close")
YAHOO_PRECISION = 2.0**-22  # relative: Yahoo's prices are float32


# --- fixtures built from the real data ---------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def open_epoch(day: date) -> int:
    """Yahoo stamps a daily bar and its events with the session's 09:30 exchange time."""
    return int(datetime(day.year, day.month, day.day, 9, 30, tzinfo=NY).timestamp())


def yahoo_factor(day: date) -> int:
    """What Yahoo divides a price of ``day`` by today: the splits after it."""
    return (7 if day < SPLIT_2014 else 1) * 4


def f32(x: float) -> float:
    return float(np.float32(x))


def meta(granularity: str) -> dict:
    return {
        "currency": "USD",
        "symbol": "AAPL",
        "exchangeName": "NMS",
        "fullExchangeName": "NasdaqGS",
        "instrumentType": "EQUITY",
        "firstTradeDate": 345479400,
        "gmtoffset": -14400,
        "timezone": "EDT",
        "exchangeTimezoneName": "America/New_York",
        "longName": "Apple Inc.",
        "shortName": "Apple Inc.",
        "priceHint": 2,
        "dataGranularity": granularity,
        "range": "",
        "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
    }


def split_event(day: date, ratio: int) -> dict:
    return {"date": open_epoch(day), "numerator": ratio, "denominator": 1, "splitRatio": f"{ratio}:1"}


def build_fixtures() -> dict[str, dict]:
    rows = read_csv(RAW_CSV)
    days = [date.fromisoformat(r["day"]) for r in rows]
    quote = {c: [f32(float(r[c]) / yahoo_factor(d)) for r, d in zip(rows, days, strict=True)] for c in PRICES}
    quote["volume"] = [int(r["volume"]) * 4 for r in rows]
    dividends = {d: round(amount / yahoo_factor(d), 10) for d, amount in DIVIDENDS.items()}
    adjclose = []
    for i, day in enumerate(days):
        mult = 1.0
        for ex, amount in dividends.items():
            if ex > day:
                prev = quote["close"][days.index(ex) - 1]
                mult *= 1.0 - amount / prev
        adjclose.append(f32(quote["close"][i] * mult))
    bars = {
        "chart": {
            "result": [
                {
                    "meta": meta("1d"),
                    "timestamp": [open_epoch(d) for d in days],
                    "events": {
                        "dividends": {
                            str(open_epoch(d)): {"amount": a, "date": open_epoch(d)} for d, a in dividends.items()
                        },
                        "splits": {str(open_epoch(SPLIT_2014)): split_event(SPLIT_2014, 7)},
                    },
                    "indicators": {"quote": [quote], "adjclose": [{"adjclose": adjclose}]},
                }
            ],
            "error": None,
        }
    }
    tail = {
        "chart": {
            "result": [
                {
                    "meta": meta("1mo"),
                    "events": {"splits": {str(open_epoch(SPLIT_2020)): split_event(SPLIT_2020, 4)}},
                    "indicators": {"quote": [{}], "adjclose": [{}]},
                }
            ],
            "error": None,
        }
    }
    not_found = {
        "chart": {
            "result": None,
            "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
        }
    }
    unauthorized = {
        "finance": {
            "result": None,
            "error": {
                "code": "Unauthorized",
                "description": "User is unable to access this feature - https://bit.ly/yahoo-finance-api-feedback",
            },
        }
    }
    no_data = {
        "chart": {
            "result": None,
            "error": {
                "code": "Bad Request",
                "description": "Data doesn't exist for startDate = 1404000000, endDate = 1404100000",
            },
        }
    }
    empty = {
        "chart": {
            "result": [{"meta": meta("1d"), "indicators": {"quote": [{}], "adjclose": [{}]}}],
            "error": None,
        }
    }
    return {
        "AAPL_1d_2014.json": bars,
        "AAPL_1mo_events_after_2014.json": tail,
        "not_found_404.json": not_found,
        "unauthorized_401.json": unauthorized,
        "no_data_400.json": no_data,
        "empty_range_200.json": empty,
    }


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


# --- a small Yahoo: serves the recorded answers for the asked range ---------------------------------------------


def params_of(request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


def in_range(payload: dict, period1: int, period2: int) -> dict:
    """The recorded chart answer cut to ``period1 <= t < period2``, as Yahoo cuts its answers."""
    payload = json.loads(json.dumps(payload))
    result = payload["chart"]["result"][0]
    stamps = result.get("timestamp", [])
    keep = [i for i, t in enumerate(stamps) if period1 <= t < period2]
    if stamps:
        if not keep:
            return fixture("empty_range_200.json")
        result["timestamp"] = [stamps[i] for i in keep]
        q = result["indicators"]["quote"][0]
        for k in q:
            q[k] = [q[k][i] for i in keep]
        a = result["indicators"]["adjclose"][0]
        a["adjclose"] = [a["adjclose"][i] for i in keep]
    for kind, events in result.get("events", {}).items():
        result["events"][kind] = {k: v for k, v in events.items() if period1 <= v["date"] < period2}
    return payload


class Yahoo:
    """Registers chart answers on a ``responses`` mock and keeps the requests it saw."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps
        self.seen: list[tuple[str, dict[str, str]]] = []

    def serve(self, symbol: str, answer) -> None:
        """``answer(params) -> (status, headers, body)`` for every chart request of ``symbol``."""

        def callback(request):
            p = params_of(request)
            self.seen.append((urlsplit(request.url).path.rsplit("/", 1)[-1], p))
            status, headers, body = answer(p)
            return status, headers, body if isinstance(body, str) else json.dumps(body)

        self.rsps.add_callback(responses.GET, re.compile(re.escape(CHART + symbol) + r"(\?.*)?$"), callback=callback)

    def serve_aapl_2014(self, first: list | None = None) -> None:
        """AAPL's recorded answers; ``first`` lists answers given (in order) before the recorded ones."""
        queue = list(first or [])
        bars, tail = fixture("AAPL_1d_2014.json"), fixture("AAPL_1mo_events_after_2014.json")

        def answer(p):
            if queue:
                return queue.pop(0)
            if p["interval"] == "1mo":
                return 200, {}, tail
            return 200, {}, in_range(bars, int(p["period1"]), int(p["period2"]))

        self.serve("AAPL", answer)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Safety net: no real socket, no default (curl_cffi) session."""

    def refuse(*args, **kwargs):
        raise RuntimeError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(yf_adapter, "_default_session", refuse)


@pytest.fixture
def yahoo(monkeypatch):
    monkeypatch.setenv("RUSTYBT_OFFLINE", "0")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield Yahoo(rsps)


def adapter(**kwargs) -> YFinanceAdapter:
    kwargs.setdefault("session", requests.Session())
    kwargs.setdefault("backoff_base", 0.001)
    return YFinanceAdapter(**kwargs)


def aapl_2014(yahoo: Yahoo, **kwargs) -> tuple[YFinanceAdapter, pl.DataFrame]:
    yahoo.serve_aapl_2014()
    yfa = adapter(**kwargs)
    return yfa, yfa.fetch_sync(["AAPL"], START, END, "1d")


# --- the tests -------------------------------------------------------------------------------------------------


def test_fixtures_are_built_from_the_real_csv():
    for name, payload in build_fixtures().items():
        assert fixture(name) == json.loads(json.dumps(payload)), f"{name} differs from build_fixtures(); rebuild it"


def test_importing_rustybt_does_not_import_yfinance_and_the_registry_knows_the_adapter():
    code = (
        "import sys, rustybt, rustybt.data.adapters\n"
        "print('yfinance' in sys.modules)\n"
        "from rustybt.data.adapters.base import adapter_from_config\n"
        "print(type(adapter_from_config('yfinance', {'timeout': 5.0})).__name__, 'yfinance' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # a stored bundle's adapter is rebuilt in a fresh process, still without importing yfinance until used
    assert out.stdout.split() == ["False", "YFinanceAdapter", "False"]
    assert adapter_class("yfinance") is YFinanceAdapter
    assert YFinanceAdapter.asset_class == "equity"
    yfa = YFinanceAdapter(rate_limit=1.5, timeout=5.0)
    assert yfa.to_config() == yf_adapter.YFinanceSettings(rate_limit=1.5, timeout=5.0).to_dict()  # every setting
    assert YFinanceAdapter.from_config(yfa.to_config()).to_config() == yfa.to_config()
    json.dumps(yfa.to_config())


def test_daily_bars_are_the_raw_csv_bars(yahoo):
    _, bars = aapl_2014(yahoo)
    raw = read_csv(RAW_CSV)
    sample = {r["date"]: r for r in read_csv(SAMPLE_CSV)}
    assert bars.columns == ["timestamp", "symbol", "open", "high", "low", "close", "volume"]
    assert bars.schema["timestamp"] == pl.Datetime("ns", "UTC")
    assert bars.height == len(raw)
    expected_ts = [datetime.fromisoformat(r["day"] + "T00:00:00+00:00") for r in raw]
    assert bars.get_column("timestamp").to_list() == expected_ts  # session date at midnight UTC
    assert set(bars.get_column("symbol")) == {"AAPL"}
    for got, want in zip(bars.iter_rows(named=True), raw, strict=True):
        for c in PRICES:
            # equal to the CSV within Yahoo's float32 precision ...
            assert float(got[c]) == pytest.approx(float(want[c]), rel=YAHOO_PRECISION), (want["day"], c)
            # ... and exactly the raw exchange price (the 2-decimal sample data of the same days)
            assert got[c] == str(float(sample[want["day"]][c])), (want["day"], c)
        day = date.fromisoformat(want["day"])
        # raw share counts: the CSV's volumes carry the 7:1 split already
        assert int(got["volume"]) * (7 if day < SPLIT_2014 else 1) == int(want["volume"])
    # one bar request for the range, one for the splits between the range and today
    (s1, p1), (s2, p2) = yahoo.seen
    assert s1 == s2 == "AAPL"
    assert p1["interval"] == "1d" and p1["includePrePost"] == "false" and "splits" in p1["events"]
    assert int(p1["period1"]) <= open_epoch(date(2014, 3, 3)) and int(p1["period2"]) > open_epoch(date(2014, 8, 29))
    assert p2["interval"] == "1mo" and p2["period1"] == p1["period2"]
    assert int(p2["period2"]) >= time.time() - 60


def test_adjusted_close_is_never_used(yahoo):
    _, bars = aapl_2014(yahoo)
    adjclose = fixture("AAPL_1d_2014.json")["chart"]["result"][0]["indicators"]["adjclose"][0]["adjclose"]
    closes = [float(c) for c in bars.get_column("close")]
    assert closes[0] != pytest.approx(adjclose[0] * 28, rel=1e-6)  # before both dividends the two differ


def test_split_and_dividends_reach_adjustments(yahoo):
    yfa, _ = aapl_2014(yahoo)
    adj = yfa.adjustments(["AAPL", "MSFT"])
    assert adj.schema == pl.Schema(ADJUSTMENT_SCHEMA)
    rows = adj.sort("effective_date").to_dicts()
    utc = ZoneInfo("UTC")
    assert rows == [
        {
            "symbol": "AAPL",
            "kind": "dividend",
            "effective_date": datetime(2014, 5, 8, tzinfo=utc),
            "ratio": None,
            "amount": 3.29,
        },
        {
            "symbol": "AAPL",
            "kind": "split",
            "effective_date": datetime(2014, 6, 9, tzinfo=utc),
            "ratio": 1 / 7,
            "amount": None,
        },
        {
            "symbol": "AAPL",
            "kind": "dividend",
            "effective_date": datetime(2014, 8, 7, tzinfo=utc),
            "ratio": None,
            "amount": 0.47,
        },
    ]  # the 2020 split is outside the range: used to undo Yahoo's adjustment, not reported
    assert yfa.adjustments(["MSFT"]).height == 0


def test_a_shorter_range_reports_only_its_own_events(yahoo):
    yahoo.serve_aapl_2014()
    yfa = adapter()
    bars = yfa.fetch_sync(["AAPL"], "2014-06-02", "2014-06-13", "1d")
    assert bars.get_column("close").to_list()[4:6] == ["645.57", "93.7"]
    assert yfa.adjustments().select("kind", "ratio").rows() == [("split", 1 / 7)]


def test_catalog_history_window_from_this_adapter_matches_plain_pandas(yahoo, tmp_path):
    yahoo.serve_aapl_2014()
    catalog = Catalog(root=tmp_path / "cat")
    yfa = adapter()
    catalog.register("yahoo", adapter=yfa, symbols=["AAPL"], start_date=START, end_date=END)
    ingestion = catalog.ingest("yahoo", progress=False, adapter=yfa)
    assert ingestion.rows == len(read_csv(RAW_CSV))
    portal = DataPortal.from_catalog(catalog, "yahoo")
    aapl = portal.asset_finder.lookup_symbol("AAPL")
    assert aapl.exchange == "NMS" and aapl.asset_name == "Apple Inc."

    raw = pd.read_csv(RAW_CSV, parse_dates=["day"]).set_index("day")
    split = pd.Timestamp(SPLIT_2014)
    # as of 2014-06-10 the bars before the split are raw / 7
    got = portal.get_history_window([aapl], pd.Timestamp("2014-06-10"), 5, "1d", "close")[aapl]
    want = raw["close"].loc[:"2014-06-10"].tail(5)
    want = want.where(want.index >= split, want / 7)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=YAHOO_PRECISION)

    events = [(split, 1 / 7, True)]
    for ex, amount in DIVIDENDS.items():
        ex = pd.Timestamp(ex)
        events.append((ex, 1.0 - amount / raw["close"].loc[:ex].iloc[-2], False))
    for end in raw.loc["2014-05-01":"2014-08-20"].index[::3]:
        for n in (1, 5, 40):
            window = raw.loc[:end].tail(n)
            price = window["close"].copy()
            volume = window["volume"].astype(float) / np.where(window.index < split, 7, 1)  # raw share counts
            for day, ratio, is_split in events:
                if day <= end:
                    price[window.index < day] *= ratio
                    if is_split:
                        volume[window.index < day] /= ratio
            got_p = portal.get_history_window([aapl], end, n, "1d", "close")[aapl]
            got_v = portal.get_history_window([aapl], end, n, "1d", "volume")[aapl]
            np.testing.assert_allclose(got_p.to_numpy(), price.to_numpy(), rtol=YAHOO_PRECISION, err_msg=f"{end} {n}")
            np.testing.assert_allclose(got_v.to_numpy(), volume.to_numpy(), rtol=1e-12, err_msg=f"{end} {n}")


def weekly_answer() -> dict:
    """The recorded daily answer aggregated into Yahoo-style weekly bars (stamped at the week's first session)."""
    payload = fixture("AAPL_1d_2014.json")
    result = payload["chart"]["result"][0]
    q = result["indicators"]["quote"][0]
    weeks: dict[date, list[int]] = {}
    for i, t in enumerate(result["timestamp"]):
        day = datetime.fromtimestamp(t, NY).date()
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append(i)
    rows = list(weeks.values())
    result["timestamp"] = [result["timestamp"][r[0]] for r in rows]
    result["indicators"] = {
        "quote": [
            {
                "open": [q["open"][r[0]] for r in rows],
                "high": [max(q["high"][i] for i in r) for r in rows],
                "low": [min(q["low"][i] for i in r) for r in rows],
                "close": [q["close"][r[-1]] for r in rows],
                "volume": [sum(q["volume"][i] for i in r) for r in rows],
            }
        ]
    }
    result["meta"]["dataGranularity"] = "1wk"
    return payload


def test_weekly_bars_are_raw_and_labelled_with_the_weeks_monday(yahoo):
    weekly, tail = weekly_answer(), fixture("AAPL_1mo_events_after_2014.json")
    yahoo.serve("AAPL", lambda p: (200, {}, tail if p["interval"] == "1mo" else weekly))
    yfa = adapter()
    bars = yfa.fetch_sync(["AAPL"], START, END, "1w")
    assert [p["interval"] for _, p in yahoo.seen] == ["1wk", "1mo"]
    raw = pd.read_csv(RAW_CSV, parse_dates=["day"]).set_index("day")
    raw["volume"] = raw["volume"] / np.where(raw.index < pd.Timestamp(SPLIT_2014), 7, 1)
    want = raw.groupby(raw.index.to_period("W-SUN").start_time).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    got = bars.to_pandas().set_index("timestamp")
    assert list(got.index.tz_convert(None)) == list(want.index)
    for c in PRICES:
        np.testing.assert_allclose(got[c].astype(float), want[c], rtol=YAHOO_PRECISION)
    np.testing.assert_array_equal(got["volume"].astype(np.int64), want["volume"].astype(np.int64))
    assert yfa.adjustments().filter(pl.col("kind") == "split").get_column("ratio").to_list() == [1 / 7]


def test_a_separate_live_row_of_the_last_session_is_not_a_second_bar(yahoo):
    answer = fixture("AAPL_1d_2014.json")
    result = answer["chart"]["result"][0]
    q = result["indicators"]["quote"][0]
    result["timestamp"].append(result["timestamp"][-1] + 6 * 3600)  # 15:30 the same day: Yahoo's live row
    for k in q:
        q[k].append(q[k][-1] + (100 if k == "volume" else 0))
    result["indicators"]["adjclose"][0]["adjclose"].append(result["indicators"]["adjclose"][0]["adjclose"][-1])
    tail = fixture("AAPL_1mo_events_after_2014.json")
    yahoo.serve("AAPL", lambda p: (200, {}, tail if p["interval"] == "1mo" else answer))
    bars = adapter().fetch_sync(["AAPL"], START, END, "1d")
    assert bars.height == len(read_csv(RAW_CSV))
    assert bars.get_column("volume")[-1] == str(int(read_csv(RAW_CSV)[-1]["volume"]) + 25)  # the later row, /4


@pytest.mark.parametrize(
    ("resolution", "days_back", "limit"),
    [("1m", 31, "30 days"), ("5m", 61, "60 days"), ("30m", 61, "60 days"), ("1h", 731, "730 days")],
)
def test_intraday_lookback_limit_is_refused_before_any_request(yahoo, resolution, days_back, limit):
    yahoo.serve("AAPL", lambda p: (500, {}, "must not be asked"))
    start = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=days_back)
    with pytest.raises(InvalidArgument, match=f"{resolution} bars only for the last {limit}") as info:
        adapter().fetch_sync(["AAPL"], start, None, resolution)
    assert "coarser resolution" in str(info.value)
    if resolution == "1m":
        assert "7 days per request" in str(info.value)
    assert yahoo.seen == []


def synthetic_intraday(p: dict[str, str]):
    """A made-up but well-formed intraday answer: one bar per interval, 08:00-16:00 New York time (the
    08:00-09:30 bars are pre-market, which Yahoo sometimes sends unasked), regular periods in the metadata."""
    step = {"1m": 60, "15m": 900}[p["interval"]]
    p1, p2 = int(p["period1"]), int(p["period2"])
    stamps, periods = [], []
    day = datetime.fromtimestamp(p1, NY).date()
    while open_epoch(day) - 5400 < p2:
        if day.weekday() < 5:
            regular = (open_epoch(day), open_epoch(day) + 390 * 60)
            periods.append([{"timezone": "EDT", "start": regular[0], "end": regular[1], "gmtoffset": -14400}])
            t0 = (open_epoch(day) - 5400) // step * step
            stamps += [t for t in range(t0, regular[1], step) if p1 <= t < p2]
        day += timedelta(days=1)
    opens = {p[0]["start"] for p in periods}
    base = [229.8699951171875 if t in opens else 100 + (t // 60 % 97) / 100 for t in stamps]
    quote = {
        "open": base,
        "high": [b + 0.5 for b in base],
        "low": [b - 0.25 for b in base],
        "close": [b + 0.125 for b in base],
        "volume": [1000 + i for i in range(len(stamps))],
    }
    m = meta(p["interval"]) | {"tradingPeriods": periods}
    result = {"meta": m, "timestamp": stamps, "indicators": {"quote": [quote]}} if stamps else {"meta": m}
    return 200, {}, {"chart": {"result": [result], "error": None}}


def test_one_minute_bars_are_fetched_in_pieces_within_yahoos_limit(yahoo):
    yahoo.serve("AAPL", synthetic_intraday)
    now = pd.Timestamp.now(tz="UTC").floor("min")
    start, end = now - pd.Timedelta(days=10), now - pd.Timedelta(hours=12)
    bars = adapter().fetch_sync(["AAPL"], start, end, "1m")
    assert len(yahoo.seen) == 2  # 10 days of 1m bars: two requests, none for split history (range ends today)
    for _, p in yahoo.seen:
        assert p["interval"] == "1m"
        assert int(p["period2"]) - int(p["period1"]) <= 8 * 86_400
    ts = bars.get_column("timestamp")
    assert ts.dtype == pl.Datetime("ns", "UTC") and ts.is_sorted() and ts.n_unique() == bars.height
    assert ts.min() >= start.to_pydatetime() and ts.max() <= end.to_pydatetime()
    local = ts.dt.convert_time_zone("America/New_York")
    minutes = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
    assert minutes.min() >= 9 * 60 + 30 and minutes.max() < 16 * 60  # the pre-market bars were dropped
    expected = sum(
        1
        for t in pd.date_range(start, end, freq="1min")
        if t.tz_convert(NY).weekday() < 5 and 570 <= t.tz_convert(NY).hour * 60 + t.tz_convert(NY).minute < 960
    )
    assert bars.height == expected
    # no split touched these bars: Yahoo's floats are kept as sent (shortest repr)
    at_open = bars.filter(minutes == 9 * 60 + 30)
    assert at_open.height >= 5
    assert set(at_open.get_column("open")) == {"229.8699951171875"}
    assert set(at_open.get_column("high")) == {repr(229.8699951171875 + 0.5)}
    assert bars.get_column("volume").str.contains(r"^\d+$").all()


def test_thirty_minute_bars_are_built_from_fifteen_minute_bars(yahoo):
    yahoo.serve("AAPL", synthetic_intraday)
    now = pd.Timestamp.now(tz="UTC").floor("min")
    start, end = now - pd.Timedelta(days=5), now - pd.Timedelta(hours=12)
    bars = adapter().fetch_sync(["AAPL"], start, end, "30m")
    assert {p["interval"] for _, p in yahoo.seen} == {"15m"}
    stamps = bars.get_column("timestamp").dt.epoch("s").to_numpy()
    assert (stamps % 1800 == 0).all()
    # each 30m bar aggregates its two 15m bars: open of the first, close of the second, summed volume
    _, _, body = synthetic_intraday(
        {"interval": "15m", "period1": str(int(start.timestamp())), "period2": str(int(end.timestamp()) + 900)}
    )
    res = body["chart"]["result"][0]
    q = res["indicators"]["quote"][0]
    by_t = {t: i for i, t in enumerate(res["timestamp"])}
    t = int(stamps[1])
    i, j = by_t[t], by_t[t + 900]
    row = bars.row(1, named=True)
    assert (float(row["open"]), float(row["close"])) == (q["open"][i], q["close"][j])
    assert int(row["volume"]) == q["volume"][i] + q["volume"][j]


def test_rate_limit_is_retried_after_retry_after(yahoo):
    yahoo.serve_aapl_2014(first=[(429, {"Retry-After": "1"}, "Too Many Requests\r\n")])
    yfa = adapter(max_retries=3)
    t0 = time.perf_counter()
    bars = yfa.fetch_sync(["AAPL"], START, END, "1d")
    assert time.perf_counter() - t0 >= 0.9  # waited as Yahoo asked, not the 1 ms backoff
    assert bars.height == len(read_csv(RAW_CSV))
    assert [p["interval"] for _, p in yahoo.seen] == ["1d", "1d", "1mo"]


def test_rate_limit_that_persists_raises_rate_limit_error(yahoo):
    yahoo.serve("AAPL", lambda p: (429, {"Retry-After": "0"}, "Too Many Requests\r\n"))
    with pytest.raises(RateLimitError, match="HTTP 429") as info:
        adapter(max_retries=2).fetch_sync(["AAPL"], START, END, "1d")
    assert info.value.reset_at is not None
    assert len(yahoo.seen) == 2


def test_server_error_is_retried(yahoo):
    yahoo.serve_aapl_2014(first=[(503, {}, "Service Unavailable")])
    bars = adapter(max_retries=3).fetch_sync(["AAPL"], START, END, "1d")
    assert bars.height == len(read_csv(RAW_CSV))
    assert len(yahoo.seen) == 3


def test_unauthorized_is_not_retried(yahoo):
    yahoo.serve("AAPL", lambda p: (401, {}, fixture("unauthorized_401.json")))
    with pytest.raises(AuthenticationError, match="HTTP 401") as info:
        adapter(max_retries=5).fetch_sync(["AAPL"], START, END, "1d")
    assert info.value.vendor_message.startswith("User is unable to access this feature")
    assert len(yahoo.seen) == 1


def test_unknown_symbol_is_symbol_not_found_and_other_symbols_still_load(yahoo):
    yahoo.serve_aapl_2014()
    yahoo.serve("NOSUCH1", lambda p: (404, {}, fixture("not_found_404.json")))
    with pytest.raises(SymbolNotFound, match="NOSUCH1.*No data found, symbol may be delisted"):
        adapter().fetch_sync(["NOSUCH1"], START, END, "1d")
    results = {r.symbol: r for r in adapter().iter_bars(["AAPL", "NOSUCH1"], START, END, "1d")}
    assert isinstance(results["NOSUCH1"].error, SymbolNotFound)
    assert results["AAPL"].error is None and results["AAPL"].bars.height == len(read_csv(RAW_CSV))
    assert results["AAPL"].info["exchange"] == "NMS"
    assert sum(1 for s, _ in yahoo.seen if s == "NOSUCH1") == 2  # once per call: never retried


@pytest.mark.parametrize(
    "answer",
    [(200, {}, "empty_range_200.json"), (400, {}, "no_data_400.json")],
    ids=["200-no-timestamps", "400-data-doesnt-exist"],
)
def test_empty_range_gives_an_empty_frame_and_a_warning(yahoo, caplog, answer):
    status, headers, name = answer
    yahoo.serve("AAPL", lambda p: (status, headers, fixture(name)))
    with caplog.at_level(logging.WARNING, logger="rustybt.data.adapters.yfinance"):
        bars = adapter().fetch_sync(["AAPL"], "2014-06-28", "2014-06-29", "1d")
    assert bars.height == 0
    assert bars.columns == ["timestamp", "symbol", "open", "high", "low", "close", "volume"]
    assert any("no 1d bars for AAPL" in r.getMessage() for r in caplog.records)
    assert len(yahoo.seen) == 1


def test_range_between_recorded_bars_is_empty_too(yahoo, caplog):
    yahoo.serve_aapl_2014()
    with caplog.at_level(logging.WARNING, logger="rustybt.data.adapters.yfinance"):
        bars = adapter().fetch_sync(["AAPL"], "2014-06-07", "2014-06-08", "1d")  # a weekend
    assert bars.height == 0
    assert any("no 1d bars" in r.getMessage() for r in caplog.records)


def test_malformed_answers_are_adapter_errors_with_the_vendor_message(yahoo):
    page = "<html><body>Will be right back... Thank you for your patience.</body></html>"
    yahoo.serve("AAPL", lambda p: (200, {}, page))
    with pytest.raises(AdapterError, match="not chart data") as info:
        adapter().fetch_sync(["AAPL"], START, END, "1d")
    assert "Will be right back" in info.value.vendor_message
    assert len(yahoo.seen) == 1


def test_bars_with_mismatched_arrays_are_an_adapter_error(yahoo):
    broken = fixture("AAPL_1d_2014.json")
    broken["chart"]["result"][0]["indicators"]["quote"][0]["close"].pop()
    yahoo.serve("AAPL", lambda p: (200, {}, broken))
    with pytest.raises(AdapterError, match="malformed"):
        adapter().fetch_sync(["AAPL"], START, END, "1d")


def test_chart_without_time_zone_is_an_adapter_error(yahoo):
    broken = fixture("AAPL_1d_2014.json")
    del broken["chart"]["result"][0]["meta"]["exchangeTimezoneName"]
    yahoo.serve("AAPL", lambda p: (200, {}, broken))
    with pytest.raises(AdapterError, match="exchangeTimezoneName"):
        adapter().fetch_sync(["AAPL"], START, END, "1d")


def test_offline_switch_refuses_before_any_request():
    # conftest sets RUSTYBT_OFFLINE=1 for every test
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        with pytest.raises(AdapterError, match="RUSTYBT_OFFLINE"):
            adapter().fetch_sync(["AAPL"], START, END, "1d")
        with pytest.raises(AdapterError, match="RUSTYBT_OFFLINE"):
            list(adapter().iter_bars(["AAPL"], START, END, "1d"))
        assert len(rsps.calls) == 0


@pytest.mark.parametrize("threads", [1, 2])
def test_rate_limit_holds_across_separate_calls_and_threads(yahoo, threads, timed_calls):
    yahoo.serve_aapl_2014()
    yfa = adapter(rate_limit=10)

    def call():
        yfa.fetch_sync(["AAPL"], START, END, "1d")

    elapsed = timed_calls([call] * 4, threads)
    assert yfa.requests_made == 8  # each call: the bars, then the splits after the range
    assert elapsed >= (8 - 1) / 10 - 0.01
