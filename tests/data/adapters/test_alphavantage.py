"""AlphaVantageAdapter against recorded Alpha Vantage answers, through its real httpx code (replayed with respx).

Sockets are blocked as a safety net; the recorded answers in ``tests/resources/alphavantage`` follow the
vendor's documented JSON (``"Time Series (Daily)"`` objects with ``"1. open"`` strings, in-body errors).
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import polars as pl
import pytest

from rustybt.data.adapters.alphavantage import BASE_URL, OVERVIEW_FIELDS, AlphaVantageAdapter, AlphaVantageSettings
from rustybt.data.adapters.base import adapter_from_config
from rustybt.data.adapters.network import TransientError
from rustybt.errors import (
    AdapterError,
    AuthenticationError,
    InvalidArgument,
    QuotaExceeded,
    RateLimitError,
    SymbolNotFound,
)

respx = pytest.importorskip("respx")

RES = Path(__file__).parents[2] / "resources" / "alphavantage"
FAKE_KEY = "AVFAKEKEY0123456"


def load(name: str) -> dict:
    return json.loads((RES / name).read_text().replace("__APIKEY__", FAKE_KEY))


def ok(name: str) -> httpx.Response:
    return httpx.Response(200, json=load(name))


@pytest.fixture
def av(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("RUSTYBT_OFFLINE", "0")
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", FAKE_KEY)
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def adapter(**kwargs) -> AlphaVantageAdapter:
    kwargs.setdefault("requests_per_minute", None)
    kwargs.setdefault("requests_per_day", None)
    return AlphaVantageAdapter(backoff_base=0.001, backoff_max=0.05, rate_limit=1000, **kwargs)


def params_of(route, i: int = 0) -> dict[str, str]:
    return dict(route.calls[i].request.url.params)


def ts(*values: str) -> list:
    return [pd.Timestamp(v, tz="UTC").to_pydatetime() for v in values]


# --- bars ------------------------------------------------------------------------------------------------


def test_daily_equity_bars_keep_vendor_strings_and_session_dates(av):
    route = av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY", "symbol": "IBM"}).mock(
        return_value=ok("time_series_daily_ibm.json")
    )
    frame = adapter().fetch_sync(["IBM"], "2024-01-02", "2024-01-05", "1d")

    assert frame.columns == ["timestamp", "symbol", "open", "high", "low", "close", "volume"]
    assert frame.schema["timestamp"] == pl.Datetime("ns", "UTC")
    assert frame["timestamp"].to_list() == ts("2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05")
    assert frame["open"].to_list() == ["161.5000", "161.0000", "160.4800", "159.2300"]
    assert frame["volume"].to_list()[0] == "3716286"
    assert params_of(route) == {
        "function": "TIME_SERIES_DAILY",
        "symbol": "IBM",
        "outputsize": "full",
        "datatype": "json",
        "apikey": FAKE_KEY,
    }


def test_intraday_equity_bars_page_by_month_and_convert_from_new_york(av):
    base = {"function": "TIME_SERIES_INTRADAY", "symbol": "IBM", "interval": "5min"}
    jan = av.get(BASE_URL, params={**base, "month": "2024-01"}).mock(
        return_value=ok("time_series_intraday_ibm_5min_2024-01.json")
    )
    feb = av.get(BASE_URL, params={**base, "month": "2024-02"}).mock(
        return_value=ok("time_series_intraday_ibm_5min_2024-02.json")
    )
    start, end = pd.Timestamp("2024-01-31 20:50", tz="UTC"), pd.Timestamp("2024-02-01 14:35", tz="UTC")
    frame = adapter().fetch_sync("IBM", start, end, "5m")

    # 15:50 and 15:55 New York (EST, UTC-5) on Jan 31, then 09:30 and 09:35 on Feb 1; 15:45 and 09:40 fall outside
    assert frame["timestamp"].to_list() == ts(
        "2024-01-31 20:50", "2024-01-31 20:55", "2024-02-01 14:30", "2024-02-01 14:35"
    )
    assert frame["close"].to_list() == ["183.9850", "183.6600", "184.6000", "184.3000"]
    for route in (jan, feb):
        sent = params_of(route)
        assert sent["outputsize"] == "full" and sent["adjusted"] == "false" and sent["extended_hours"] == "false"
    assert jan.call_count == feb.call_count == 1


def test_weekly_bars_are_labelled_by_the_first_session_of_the_week(av):
    av.get(BASE_URL, params={"function": "TIME_SERIES_WEEKLY"}).mock(return_value=ok("time_series_weekly_ibm.json"))
    frame = adapter().fetch_sync("IBM", "2024-01-01", "2024-01-12", "1w")
    # Alpha Vantage labels weeks by their last trading day (Jan 5, Jan 12); Jan 1 is a holiday
    assert frame["timestamp"].to_list() == ts("2024-01-02", "2024-01-08")


def test_forex_daily_bars_have_zero_volume(av):
    route = av.get(BASE_URL, params={"function": "FX_DAILY"}).mock(return_value=ok("fx_daily_eurusd.json"))
    fx = adapter(asset_class="forex")
    frame = fx.fetch_sync("EUR/USD", "2024-01-02", "2024-01-04", "1d")
    assert frame["open"].to_list() == ["1.10380", "1.09420", "1.09220"]
    assert frame["volume"].to_list() == ["0", "0", "0"]
    assert params_of(route)["from_symbol"] == "EUR" and params_of(route)["to_symbol"] == "USD"
    assert fx.asset_info("EUR/USD") == {"asset_class": "forex", "base": "EUR", "quote": "USD"}


def test_crypto_daily_bars_new_and_old_layouts(av):
    route = av.get(BASE_URL, params={"function": "DIGITAL_CURRENCY_DAILY"})
    old = {
        "Meta Data": {"7. Time Zone": "UTC"},
        "Time Series (Digital Currency Daily)": {
            "2024-01-02": {
                "1a. open (EUR)": "40000.1",
                "1b. open (USD)": "44179.55000000",
                "2a. high (EUR)": "41000.1",
                "2b. high (USD)": "45899.99000000",
                "3a. low (EUR)": "39000.1",
                "3b. low (USD)": "44175.01000000",
                "4a. close (EUR)": "40900.1",
                "4b. close (USD)": "45166.23000000",
                "5. volume": "2563.04511620",
                "6. market cap (USD)": "2563.04511620",
            }
        },
    }
    route.side_effect = [ok("digital_currency_daily_btc.json"), httpx.Response(200, json=old)]
    crypto = adapter(asset_class="crypto")
    new = crypto.fetch_sync("BTC/USD", "2024-01-02", "2024-01-03", "1d")
    assert new["close"].to_list() == ["45166.23000000", "42836.99000000"]
    assert params_of(route) == {
        "function": "DIGITAL_CURRENCY_DAILY",
        "symbol": "BTC",
        "market": "USD",
        "datatype": "json",
        "apikey": FAKE_KEY,
    }
    legacy = crypto.fetch_sync("BTC/USD", "2024-01-02", "2024-01-02", "1d")
    assert legacy.row(0)[2:] == (
        "44179.55000000",
        "45899.99000000",
        "44175.01000000",
        "45166.23000000",
        "2563.04511620",
    )
    assert crypto.to_config()["asset_class"] == "crypto"


def test_empty_range_is_an_empty_frame(av):
    av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY"}).mock(return_value=ok("time_series_daily_ibm.json"))
    frame = adapter().fetch_sync("IBM", "2024-01-06", "2024-01-07", "1d")
    assert frame.height == 0 and frame.columns[:2] == ["timestamp", "symbol"]


# --- errors ----------------------------------------------------------------------------------------------


def test_http_429_with_retry_after_is_retried(av):
    route = av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY"})
    route.side_effect = [
        httpx.Response(429, json={"Information": "Too many requests"}, headers={"Retry-After": "3"}),
        ok("time_series_daily_ibm.json"),
    ]
    alpha = adapter()
    waits = []
    original = alpha._wait
    alpha._wait = lambda state: waits.append((state.outcome.exception(), original(state))) or waits[-1][1]
    assert alpha.fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d").height == 4
    assert route.call_count == 2
    ((exc, wait),) = waits
    assert isinstance(exc, RateLimitError) and 2 < (exc.reset_at - pd.Timestamp.now(tz="UTC")).total_seconds() <= 3
    assert wait == pytest.approx(0.05)


@pytest.mark.parametrize("name", ["note_rate_limit.json", "information_burst.json"])
def test_rate_limit_notes_in_a_200_body_are_retried(av, name):
    route = av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY"})
    route.side_effect = [ok(name), ok("time_series_daily_ibm.json")]
    assert adapter().fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d").height == 4
    assert route.call_count == 2


def test_daily_quota_message_is_quota_exceeded_and_not_retried(av):
    route = av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY"}).mock(
        return_value=ok("information_daily_quota.json")
    )
    with pytest.raises(QuotaExceeded, match="daily request quota") as info:
        adapter().fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
    assert route.call_count == 1
    assert FAKE_KEY not in str(info.value) and FAKE_KEY not in info.value.vendor_message
    assert "detected your API key as ***" in info.value.vendor_message


def test_premium_only_answer_is_an_adapter_error(av):
    av.get(BASE_URL, params={"function": "FX_INTRADAY"}).mock(return_value=ok("information_premium.json"))
    with pytest.raises(AdapterError, match="premium"):
        adapter(asset_class="forex").fetch_sync("EUR/USD", None, None, "5m")


def test_5xx_and_timeouts_are_retried(av):
    route = av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY"})
    route.side_effect = [
        httpx.Response(503, text="<html>Service Unavailable</html>"),
        httpx.ReadTimeout("timed out"),
        ok("time_series_daily_ibm.json"),
    ]
    assert adapter().fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d").height == 4
    assert route.call_count == 3


def test_persistent_network_failure_is_transient_error(av):
    route = av.get(BASE_URL).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(TransientError, match="ConnectError"):
        adapter(max_retries=2).fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
    assert route.call_count == 2


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_not_retried(av, status):
    route = av.get(BASE_URL).mock(return_value=httpx.Response(status, json={"message": "Forbidden"}))
    with pytest.raises(AuthenticationError, match=f"HTTP {status}"):
        adapter().fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
    assert route.call_count == 1


def test_invalid_key_in_a_200_body_is_an_authentication_error(av):
    route = av.get(BASE_URL).mock(return_value=ok("error_invalid_key.json"))
    with pytest.raises(AuthenticationError, match="ALPHAVANTAGE_API_KEY"):
        adapter().fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
    assert route.call_count == 1


def test_unknown_symbol_raises_symbol_not_found(av):
    route = av.get(BASE_URL, params={"symbol": "NOSUCH"}).mock(return_value=ok("error_invalid_symbol.json"))
    with pytest.raises(SymbolNotFound, match="NOSUCH.*Invalid API call"):
        adapter().fetch_sync("NOSUCH", "2024-01-02", "2024-01-05", "1d")
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(200, text="<html>maintenance</html>"), "not JSON.*maintenance"),
        (httpx.Response(200, json=load("malformed_no_series.json")), "no time series"),
        (httpx.Response(200, json=["a", "list"]), "expected a JSON object"),
        (
            httpx.Response(200, json={"Time Series (Daily)": {"2024-01-02": {"1. open": "1", "2. high": "1"}}}),
            "malformed bar",
        ),
        (
            httpx.Response(
                200,
                json={
                    "Time Series (Daily)": {
                        "2024-01-02": {"1. open": "x", "2. high": "1", "3. low": "1", "4. close": "1", "5. volume": "1"}
                    }
                },
            ),
            "malformed bar",
        ),
        (httpx.Response(200, json={"Error Message": "Something else went wrong"}), "Something else went wrong"),
    ],
)
def test_malformed_payload_is_an_adapter_error_with_the_vendor_text(av, response, match):
    route = av.get(BASE_URL).mock(return_value=response)
    with pytest.raises(AdapterError, match=match) as info:
        adapter().fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
    assert info.value.vendor_message
    assert route.call_count == 1


def test_missing_key_fails_before_any_request(av, monkeypatch):
    monkeypatch.delenv("ALPHAVANTAGE_API_KEY")
    route = av.get(BASE_URL).mock(return_value=ok("time_series_daily_ibm.json"))
    with pytest.raises(AuthenticationError, match="ALPHAVANTAGE_API_KEY"):
        adapter().fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
    with pytest.raises(AuthenticationError, match="ALPHAVANTAGE_API_KEY"):
        adapter().company_overview(["IBM"])
    assert route.call_count == 0


def test_offline_switch_refuses_before_any_request(av, monkeypatch):
    monkeypatch.setenv("RUSTYBT_OFFLINE", "1")
    route = av.get(BASE_URL).mock(return_value=ok("time_series_daily_ibm.json"))
    with pytest.raises(AdapterError, match="RUSTYBT_OFFLINE"):
        adapter().fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
    with pytest.raises(AdapterError, match="RUSTYBT_OFFLINE"):
        adapter().company_overview("IBM")
    assert route.call_count == 0


def test_daily_quota_is_enforced_locally(av):
    route = av.get(BASE_URL).mock(return_value=ok("time_series_daily_ibm.json"))
    alpha = adapter(requests_per_day=1)
    with pytest.raises(QuotaExceeded, match="per-day"):
        alpha.fetch_sync(["IBM", "MSFT"], "2024-01-02", "2024-01-05", "1d")
    assert route.call_count == 1
    assert AlphaVantageAdapter().requests_per_day == 25 and AlphaVantageAdapter().requests_per_minute == 5


def test_key_never_leaks(av, caplog):
    caplog.set_level(logging.DEBUG)
    route = av.get(BASE_URL)
    route.side_effect = [
        ok("time_series_daily_ibm.json"),
        httpx.Response(500, text=f"internal error for apikey={FAKE_KEY}"),
        ok("information_daily_quota.json"),
        ok("error_invalid_symbol.json"),
        httpx.Response(401, json={"message": f"key {FAKE_KEY} revoked"}),
    ]
    alpha = adapter(max_retries=1)
    alpha.fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
    errors = []
    for _ in range(4):
        with pytest.raises(Exception) as info:
            alpha.fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
        errors.append(info.value)
    assert [type(e) for e in errors] == [TransientError, QuotaExceeded, SymbolNotFound, AuthenticationError]
    assert "HTTP Request" in caplog.text  # httpx's request log ran, with the key scrubbed
    texts = [caplog.text, repr(alpha), json.dumps(alpha.to_config()), str(alpha.metadata)]
    texts += [str(e) for e in errors] + [str(getattr(e, "vendor_message", "")) for e in errors]
    assert all(FAKE_KEY not in t for t in texts)
    assert "apikey=***" in caplog.text


def test_to_config_round_trip_and_arguments():
    alpha = AlphaVantageAdapter(asset_class="forex", outputsize="compact", requests_per_day=None)
    params = alpha.to_config()
    expected = AlphaVantageSettings(
        asset_class="forex", outputsize="compact", requests_per_minute=5, requests_per_day=None
    )
    assert params == expected.to_dict()  # every setting, the free plan's per-minute quota resolved
    assert adapter_from_config("alphavantage", params).to_config() == params
    with pytest.raises(InvalidArgument, match="asset_class"):
        AlphaVantageAdapter(asset_class="bonds")
    with pytest.raises(InvalidArgument, match="pairs like EUR/USD"):
        AlphaVantageAdapter(asset_class="crypto").asset_info("BTCUSD")


# --- fundamentals ----------------------------------------------------------------------------------------


def test_company_overview_is_a_point_in_time_dataset(av, tmp_path):
    av.get(BASE_URL, params={"function": "OVERVIEW", "symbol": "IBM"}).mock(return_value=ok("overview_ibm.json"))
    av.get(BASE_URL, params={"function": "OVERVIEW", "symbol": "AAPL"}).mock(return_value=ok("overview_aapl.json"))
    frame = adapter().company_overview(["IBM", "AAPL"], sids={"IBM": 3, "AAPL": 0}, as_of="2024-02-01")

    assert frame["symbol"].to_list() == ["IBM", "AAPL"]
    assert frame.schema["as_of"] == pl.Date and frame.schema["sid"] == pl.Int64
    assert frame["as_of"].to_list() == [pd.Timestamp("2024-02-01").date()] * 2
    assert frame["latest_quarter"].to_list() == [pd.Timestamp("2023-12-31").date()] * 2
    assert frame["market_capitalization"].to_list() == [149873213000.0, 2866190000000.0]
    assert frame["pe_ratio"].to_list() == [22.34, 29.47]
    assert frame["peg_ratio"].to_list() == [3.834, None]  # "None" and "-" are missing values
    assert frame["forward_pe"].to_list() == [17.3, None]
    assert frame["sector"].to_list() == ["TECHNOLOGY", "TECHNOLOGY"]
    assert set(OVERVIEW_FIELDS.values()) <= set(frame.columns)

    # written to Parquet, the pipeline's ParquetLoader serves it from the next session on
    from rustybt.pipeline.data import Column, DataSet
    from rustybt.pipeline.loaders.parquet import ParquetLoader

    class Fundamentals(DataSet):
        pe_ratio = Column(float)
        market_capitalization = Column(float)

    path = tmp_path / "fundamentals.parquet"
    frame.write_parquet(path)
    loader = ParquetLoader(path, date_column="as_of", sid_column="sid")
    dates = pd.DatetimeIndex(["2024-01-31", "2024-02-01", "2024-02-02"])
    out = loader.load_adjusted_array(None, [Fundamentals.pe_ratio], dates, np.array([0, 3]), None)
    values = out[Fundamentals.pe_ratio].data
    assert np.isnan(values[:2]).all()  # known on Feb 1: not visible before the session after it
    assert values[2].tolist() == [29.47, 22.34]


def test_company_overview_unknown_symbol(av):
    av.get(BASE_URL, params={"function": "OVERVIEW", "symbol": "IBM"}).mock(return_value=ok("overview_ibm.json"))
    av.get(BASE_URL, params={"function": "OVERVIEW", "symbol": "NOSUCH"}).mock(return_value=ok("overview_unknown.json"))
    with pytest.raises(SymbolNotFound, match="NOSUCH"):
        adapter().company_overview(["IBM", "NOSUCH"])
    frame = adapter().company_overview(["IBM", "NOSUCH"], on_error="skip")
    assert frame["symbol"].to_list() == ["IBM"] and "sid" not in frame.columns


def test_ingest_into_a_catalog_bundle(av, catalog):
    av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY"}).mock(return_value=ok("time_series_daily_ibm.json"))
    # the ingest asks for the corporate actions too (issue 17); none in this range
    for function in ("SPLITS", "DIVIDENDS"):
        av.get(BASE_URL, params={"function": function}).mock(
            return_value=httpx.Response(200, json={"symbol": "IBM", "data": []})
        )
    catalog.register("av", adapter(), symbols=["IBM"], start_date="2024-01-02", end_date="2024-01-05", resolution="1d")
    catalog.ingest("av", progress=False)
    bars = catalog.bundle("av").bars()
    assert bars.height == 4
    assert [float(v) for v in bars["close"]] == [161.45, 160.1, 159.85, 159.16]


# --- issue 17: replies classified by meaning, periods within the range, bad keys named --------------------


@pytest.mark.parametrize(
    "name",
    ["information_per_second.json", "information_burst.json", "note_rate_limit.json"],
)
def test_every_throttle_text_waits_and_retries_then_is_a_rate_limit_error(av, name):
    # the per-second text quotes the daily figure too ("25 requests per day"): it is still a throttle
    route = av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY"}).mock(return_value=ok(name))
    with pytest.raises(RateLimitError, match="too close together") as info:
        adapter(max_retries=3).fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
    assert route.call_count == 3  # waited and retried, then gave up
    assert not isinstance(info.value, QuotaExceeded)
    route.side_effect = [ok(name), ok("time_series_daily_ibm.json")]
    assert adapter().fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d").height == 4


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [
        ("information_daily_quota.json", QuotaExceeded, "daily request quota"),
        ("information_premium.json", AdapterError, "premium"),
        ("information_premium_outputsize.json", AdapterError, "premium"),
        ("error_invalid_symbol.json", SymbolNotFound, "unknown symbol"),
        ("error_invalid_key.json", AuthenticationError, "API key was refused"),
    ],
)
def test_every_other_documented_reply_is_not_retried(av, name, error, match):
    route = av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY"}).mock(return_value=ok(name))
    with pytest.raises(error, match=match) as info:
        adapter(max_retries=3).fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
    assert not isinstance(info.value, RateLimitError)
    assert route.call_count == 1


def test_classify_notice_reads_words_not_numbers():
    from rustybt.data.adapters.alphavantage import classify_notice

    assert classify_notice(load("information_per_second.json")["Information"]) == ("throttle", 1.0)
    assert classify_notice(load("note_rate_limit.json")["Note"]) == ("throttle", 60.0)
    assert classify_notice(load("information_daily_quota.json")["Information"])[0] == "quota"
    assert classify_notice(load("information_premium.json")["Information"])[0] == "other"


@pytest.mark.parametrize(
    ("function", "name", "resolution", "expected"),
    [
        (
            "TIME_SERIES_WEEKLY",
            "time_series_weekly_ibm_2024q1.json",
            "1w",
            # the first session of each week from the week of Jan 1 to the week of Feb 19 (Presidents' Day)
            [
                "2024-01-02",
                "2024-01-08",
                "2024-01-16",
                "2024-01-22",
                "2024-01-29",
                "2024-02-05",
                "2024-02-12",
                "2024-02-20",
            ],
        ),
        ("TIME_SERIES_MONTHLY", "time_series_monthly_ibm.json", "1M", ["2024-01-02", "2024-02-01"]),
    ],
)
def test_weekly_and_monthly_bars_honour_the_date_range(av, function, name, resolution, expected):
    av.get(BASE_URL, params={"function": function}).mock(return_value=ok(name))
    frame = adapter().fetch_sync(["IBM"], "2024-01-01", "2024-02-25", resolution)
    assert frame["timestamp"].to_list() == ts(*expected)
    # a start inside a period keeps that period (labelled by its first session)
    later = adapter().fetch_sync(["IBM"], "2024-01-10", "2024-02-25", resolution)
    assert later["timestamp"].to_list()[0] == ts(expected[1] if resolution == "1w" else expected[0])[0]


def test_a_bad_timestamp_key_is_named_in_the_error(av):
    av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY"}).mock(return_value=ok("malformed_bad_date_key.json"))
    with pytest.raises(AdapterError, match=r"timestamp key '2024-01-32' in 'Time Series \(Daily\)'"):
        adapter().fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")


@pytest.mark.parametrize("threads", [1, 2])
def test_rate_limit_holds_across_separate_calls_and_threads(av, threads, timed_calls):
    av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY"}).mock(return_value=ok("time_series_daily_ibm.json"))
    alpha = AlphaVantageAdapter(rate_limit=10, requests_per_minute=None, requests_per_day=None)
    calls = [lambda: alpha.fetch_sync(["IBM"], "2024-01-02", "2024-01-05", "1d") for _ in range(4)]
    elapsed = timed_calls(calls, threads)
    assert alpha.requests_made == 4
    assert elapsed >= (4 - 1) / 10 - 0.01  # before issue 17: every fetch_sync had a fresh limiter
    # a second adapter with the same key shares the budget (Alpha Vantage counts per key)
    other = AlphaVantageAdapter(rate_limit=10, requests_per_minute=None, requests_per_day=None)
    assert other.limits is alpha.limits


def test_no_key_in_any_log_record_of_the_client_libraries(av, caplog, capsys, library_logs_hide):
    caplog.set_level(logging.DEBUG)
    av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY"}).mock(return_value=ok("time_series_daily_ibm.json"))
    adapter().fetch_sync("IBM", "2024-01-02", "2024-01-05", "1d")
    assert all(k not in caplog.text + capsys.readouterr().out for k in (FAKE_KEY,))
    library_logs_hide(FAKE_KEY)


# --- issue 17: corporate actions from SPLITS and DIVIDENDS -------------------------------------------------


def acme_routes(av):
    av.get(BASE_URL, params={"function": "TIME_SERIES_DAILY", "symbol": "ACME"}).mock(
        return_value=ok("time_series_daily_acme.json")
    )
    av.get(BASE_URL, params={"function": "SPLITS", "symbol": "ACME"}).mock(return_value=ok("splits_acme.json"))
    av.get(BASE_URL, params={"function": "DIVIDENDS", "symbol": "ACME"}).mock(return_value=ok("dividends_acme.json"))


def test_adjustments_are_the_vendors_splits_reverse_splits_and_dividends(av):
    acme_routes(av)
    alpha = adapter()
    alpha.fetch_sync("ACME", "2024-01-02", "2024-01-12", "1d")
    frame = alpha.adjustments()
    rows = [
        (k, d.date().isoformat(), r, a)
        for k, d, r, a in frame.select("kind", "effective_date", "ratio", "amount").rows()
    ]
    # the 2020 split and the 2023 dividends lie before the fetched range: they adjust no stored bar
    assert rows == [
        ("dividend", "2024-01-04", None, 2.0),
        ("split", "2024-01-05", 0.25, None),  # split_factor 4.0000
        ("split", "2024-01-09", pytest.approx(10.0), None),  # split_factor 0.1000 (1-for-10 reverse)
        ("dividend", "2024-01-11", None, 50.0),  # a special dividend
    ]


def test_no_corporate_action_requests_when_switched_off_or_not_equities(av):
    acme_routes(av)
    alpha = adapter(corporate_actions=False)
    alpha.fetch_sync("ACME", "2024-01-02", "2024-01-12", "1d")
    assert alpha.adjustments().height == 0 and alpha.requests_made == 1


def test_ingest_stores_corporate_actions_and_history_is_point_in_time_adjusted(av, catalog, acme):
    acme_routes(av)
    catalog.register("av_acme", adapter(), symbols=["ACME"], start_date="2024-01-02", end_date="2024-01-12")
    catalog.ingest("av_acme", progress=False)
    acme.check(catalog, "av_acme")
