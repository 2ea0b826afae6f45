"""AlpacaAdapter against recorded Alpaca Market Data answers, through the real ``alpaca-py`` SDK.

alpaca-py sends its requests with a ``requests.Session``, so ``responses`` replays them at the transport
adapter: the SDK's request models, URL building, auth headers and error handling all run for real. Sockets are
blocked as a safety net.
"""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
import requests

from rustybt.data.adapters.alpaca import AlpacaAdapter, AlpacaSettings
from rustybt.data.adapters.base import adapter_from_config
from rustybt.data.adapters.network import TransientError
from rustybt.errors import AdapterError, AuthenticationError, InvalidArgument, RateLimitError, SymbolNotFound

pytest.importorskip("alpaca")
responses = pytest.importorskip("responses")
from responses import matchers  # noqa: E402

RES = Path(__file__).parents[2] / "resources" / "alpaca"
FAKE_KEY = "AKFAKEKEY0123456789"
FAKE_SECRET = "fakeSecret0123456789abcdefghijklmnop"
STOCKS = "https://data.alpaca.markets/v2/stocks/bars"
CRYPTO = "https://data.alpaca.markets/v1beta3/crypto/us/bars"


def load(name: str) -> dict:
    return json.loads((RES / name).read_text())


@pytest.fixture
def http(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("RUSTYBT_OFFLINE", "0")
    monkeypatch.setenv("ALPACA_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ALPACA_API_SECRET", FAKE_SECRET)
    for name in ("APCA_API_KEY_ID", "APCA_API_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def adapter(**kwargs) -> AlpacaAdapter:
    kwargs.setdefault("requests_per_minute", None)
    return AlpacaAdapter(backoff_base=0.001, backoff_max=0.05, rate_limit=1000, **kwargs)


def _pairs(url: str) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(url).query))


# --- success paths ---------------------------------------------------------------------------------------


def test_stock_day_bars_follow_page_tokens(http):
    token1 = load("bars_aapl_day_page1.json")["next_page_token"]
    token2 = load("bars_aapl_day_page2.json")["next_page_token"]
    # registered in order: responses serves them one after the other; the tokens sent are checked below
    http.get(
        STOCKS,
        json=load("bars_aapl_day_page1.json"),
        match=[
            matchers.query_param_matcher(
                {"symbols": "AAPL", "timeframe": "1Day", "adjustment": "raw", "feed": "iex", "limit": "10000"},
                strict_match=False,
            ),
            matchers.header_matcher({"APCA-API-KEY-ID": FAKE_KEY, "APCA-API-SECRET-KEY": FAKE_SECRET}),
        ],
    )
    http.get(STOCKS, json=load("bars_aapl_day_page2.json"))
    http.get(STOCKS, json=load("bars_aapl_day_page3.json"))
    frame = adapter(feed="iex").fetch_sync(["AAPL"], "2024-01-02", "2024-01-08", "1d")

    assert frame.columns == ["timestamp", "symbol", "open", "high", "low", "close", "volume"]
    assert frame.schema["timestamp"] == pl.Datetime("ns", "UTC")
    # Alpaca stamps daily bars at midnight New York; the catalog wants the session date at midnight UTC
    assert [str(d) for d in frame["timestamp"].dt.date()] == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
    ]
    assert frame["timestamp"].dt.hour().to_list() == [0] * 5
    assert frame["open"].to_list() == ["187.15", "184.22", "182.15", "181.99", "182.085"]
    assert frame["high"].to_list()[2] == "183.0872"
    assert frame["volume"].to_list()[0] == "82496943"
    assert len(http.calls) == 3
    first = _pairs(http.calls[0].request.url)
    assert "page_token" not in first
    assert first["start"].startswith("2024-01-02T00:00:00") and first["end"].startswith("2024-01-08T23:59:59")
    assert [_pairs(c.request.url).get("page_token") for c in http.calls[1:]] == [token1, token2]


def test_crypto_minute_bars_need_no_key(http, monkeypatch):
    monkeypatch.delenv("ALPACA_API_KEY")
    monkeypatch.delenv("ALPACA_API_SECRET")
    http.get(
        CRYPTO,
        json=load("bars_btcusd_minute.json"),
        match=[matchers.query_param_matcher({"symbols": "BTC/USD", "timeframe": "1Min"}, strict_match=False)],
    )
    start = pd.Timestamp("2024-01-02 00:00", tz="UTC")
    frame = adapter().fetch_sync("BTC/USD", start, start + pd.Timedelta(minutes=1), "1m")
    assert frame["timestamp"].to_list() == [start.to_pydatetime(), (start + pd.Timedelta(minutes=1)).to_pydatetime()]
    assert frame["volume"].to_list() == ["0.251434106", "0.000031"]
    assert frame["high"].to_list() == ["44225", "44215.1"]
    assert "APCA-API-KEY-ID" not in http.calls[0].request.headers
    assert adapter().asset_info("BTC/USD") == {"asset_class": "crypto_spot", "base": "BTC", "quote": "USD"}


def test_empty_range_is_an_empty_frame(http):
    http.get(STOCKS, json=load("bars_empty.json"))
    frame = adapter().fetch_sync("AAPL", "2024-01-06", "2024-01-07", "1d")
    assert frame.height == 0 and frame.columns[:2] == ["timestamp", "symbol"]


# --- errors ----------------------------------------------------------------------------------------------


def test_429_is_retried_after_the_reset_header(http):
    reset = int(pd.Timestamp.now(tz="UTC").timestamp()) + 3
    http.get(STOCKS, status=429, json=load("error_429.json"), headers={"X-RateLimit-Reset": str(reset)})
    http.get(STOCKS, json=load("bars_aapl_day_page3.json"))
    alp = adapter()
    waits = []
    original = alp._wait
    alp._wait = lambda state: waits.append((state.outcome.exception(), original(state))) or waits[-1][1]
    frame = alp.fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert frame.height == 1 and len(http.calls) == 2
    ((exc, wait),) = waits
    assert isinstance(exc, RateLimitError) and exc.reset_at == pd.Timestamp(reset, unit="s", tz="UTC")
    assert wait == pytest.approx(0.05)  # the reset time (capped at backoff_max), not the 1 ms backoff


def test_retry_after_header_wins(http):
    http.get(STOCKS, status=429, json=load("error_429.json"), headers={"Retry-After": "2"})
    http.get(STOCKS, json=load("bars_aapl_day_page3.json"))
    alp = adapter()
    seen = []
    original = alp._wait
    alp._wait = lambda state: seen.append(state.outcome.exception()) or original(state)
    assert alp.fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d").height == 1
    assert 1 < (seen[0].reset_at - pd.Timestamp.now(tz="UTC")).total_seconds() <= 2


def test_5xx_and_connection_errors_are_retried(http):
    http.get(STOCKS, status=504, body="<html>Gateway Time-out</html>")
    http.get(STOCKS, body=requests.exceptions.ReadTimeout("read timed out"))
    http.get(STOCKS, json=load("bars_aapl_day_page3.json"))
    assert adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d").height == 1
    assert len(http.calls) == 3


def test_persistent_5xx_gives_up_with_a_transient_error(http):
    http.get(STOCKS, status=500, json={"message": "internal server error"})
    with pytest.raises(TransientError, match="HTTP 500.*internal server error"):
        adapter(max_retries=3).fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert len(http.calls) == 3


@pytest.mark.parametrize(("status", "name"), [(401, "error_401.json"), (403, "error_403.json")])
def test_401_and_403_are_not_retried(http, status, name):
    http.get(STOCKS, status=status, json=load(name))
    with pytest.raises(AuthenticationError, match=f"HTTP {status}") as info:
        adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert len(http.calls) == 1
    assert info.value.vendor_message == load(name)["message"]


def test_invalid_symbol_raises_symbol_not_found(http):
    http.get(STOCKS, status=400, json=load("error_invalid_symbol.json"))
    with pytest.raises(SymbolNotFound, match=r"NO\$UCH"):
        adapter().fetch_sync("NO$UCH", "2024-01-02", "2024-01-08", "1d")
    assert len(http.calls) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"json": load("bars_malformed.json")}, "expected 'bars' as an object"),
        ({"body": "<html>maintenance</html>"}, "not JSON"),
        (
            {"json": {"bars": {"AAPL": [{"t": "2024-01-02T05:00:00Z", "o": 1, "h": 1, "l": 1, "v": 1}]}}},
            "malformed bar",
        ),
        ({"json": {"bars": {"AAPL": [{"t": "yesterday", "o": 1, "h": 1, "l": 1, "c": 1, "v": 1}]}}}, "malformed bar"),
        ({"json": ["not", "an", "object"]}, "expected a JSON object"),
    ],
)
def test_malformed_payload_is_an_adapter_error_with_the_vendor_text(http, kwargs, match):
    http.get(STOCKS, **kwargs)
    with pytest.raises(AdapterError, match=match) as info:
        adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert info.value.vendor_message
    assert len(http.calls) == 1


def test_missing_keys_fail_before_any_request(http, monkeypatch):
    monkeypatch.delenv("ALPACA_API_SECRET")
    with pytest.raises(AuthenticationError, match="ALPACA_API_SECRET"):
        adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert len(http.calls) == 0


def test_keys_from_config_file(http, monkeypatch, tmp_path):
    monkeypatch.delenv("ALPACA_API_KEY")
    monkeypatch.delenv("ALPACA_API_SECRET")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"adapters:\n  alpaca:\n    api_key: {FAKE_KEY}\n    api_secret: {FAKE_SECRET}\n")
    monkeypatch.setenv("RUSTYBT_CONFIG", str(cfg))
    http.get(
        STOCKS, json=load("bars_aapl_day_page3.json"), match=[matchers.header_matcher({"APCA-API-KEY-ID": FAKE_KEY})]
    )
    alp = adapter()
    assert alp.fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d").height == 1
    assert FAKE_SECRET not in repr(alp) and FAKE_SECRET not in repr(alp.adapter_config)


def test_offline_switch_refuses_before_any_request(http, monkeypatch):
    monkeypatch.setenv("RUSTYBT_OFFLINE", "1")
    with pytest.raises(AdapterError, match="RUSTYBT_OFFLINE"):
        adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert len(http.calls) == 0


def test_keys_never_leak(http, caplog):
    caplog.set_level(logging.DEBUG)
    errors = []
    for status, payload in (
        (401, load("error_401.json")),
        (429, load("error_429.json")),
        (500, {"message": f"bad {FAKE_KEY} {FAKE_SECRET}"}),
    ):
        http.reset()
        http.get(STOCKS, status=status, json=payload)
        with pytest.raises(Exception) as info:
            adapter(max_retries=1).fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
        errors.append(info.value)
    http.reset()
    http.get(STOCKS, json=load("bars_aapl_day_page3.json"))
    alp = adapter()
    alp.fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    texts = [caplog.text, repr(alp), json.dumps(alp.to_config()), str(alp.metadata)]
    texts += [str(e) for e in errors] + [str(getattr(e, "vendor_message", "")) for e in errors]
    for secret in (FAKE_KEY, FAKE_SECRET):
        assert all(secret not in t for t in texts)
    assert "***" in str(errors[-1])


def test_to_config_round_trip():
    alp = AlpacaAdapter(feed="sip", requests_per_minute=None, page_size=500, timeout=5)
    params = alp.to_config()
    assert params == AlpacaSettings(feed="sip", requests_per_minute=None, page_size=500, timeout=5.0).to_dict()
    assert adapter_from_config("alpaca", params).to_config() == params
    assert AlpacaAdapter().requests_per_minute == 200
    with pytest.raises(InvalidArgument, match="unknown feed"):
        AlpacaAdapter(feed="nasdaq")


def test_rate_limit_holds_across_separate_calls_and_threads(http, timed_calls):
    http.get(STOCKS, json=load("bars_aapl_day_page3.json"))
    alpaca = AlpacaAdapter(rate_limit=10, requests_per_minute=None)

    def call():
        alpaca.fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")

    elapsed = timed_calls([call, call]) + timed_calls([call, call], threads=2)
    assert alpaca.requests_made == 4
    assert elapsed >= (4 - 1) / 10 - 0.01


def test_no_key_in_any_log_record_of_the_client_libraries(http, caplog, capsys, library_logs_hide):
    caplog.set_level(logging.DEBUG)
    http.get(STOCKS, json=load("bars_aapl_day_page3.json"))
    adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert all(
        k not in caplog.text + capsys.readouterr().out
        for k in (
            FAKE_KEY,
            FAKE_SECRET,
        )
    )
    library_logs_hide(FAKE_KEY, FAKE_SECRET)


# --- issue 17: corporate actions through alpaca-py ---------------------------------------------------------

ACTIONS = "https://data.alpaca.markets/v1/corporate-actions"


def acme_routes(http):
    http.get(
        STOCKS,
        json=load("bars_acme_day.json"),
        match=[matchers.query_param_matcher({"symbols": "ACME"}, strict_match=False)],
    )
    http.get(
        ACTIONS,
        json=load("corporate_actions_acme_page2.json"),
        match=[matchers.query_param_matcher({"page_token": "QUNNRXwyMDI0LTAxLTA0"}, strict_match=False)],
    )
    http.get(
        ACTIONS,
        json=load("corporate_actions_acme_page1.json"),
        match=[
            matchers.query_param_matcher(
                {
                    "symbols": "ACME",
                    "types": "forward_split,reverse_split,cash_dividend",
                    "start": "2024-01-02",
                    "end": "2024-01-12",
                },
                strict_match=False,
            )
        ],
    )


def test_adjustments_are_the_vendors_splits_reverse_splits_and_dividends(http):
    acme_routes(http)
    alpaca = adapter()
    alpaca.fetch_sync("ACME", "2024-01-02", "2024-01-12", "1d")
    frame = alpaca.adjustments(["ACME"])
    rows = [
        (k, d.date().isoformat(), r, a)
        for k, d, r, a in frame.select("kind", "effective_date", "ratio", "amount").rows()
    ]
    assert rows == [
        ("dividend", "2024-01-04", None, 2.0),
        ("split", "2024-01-05", 0.25, None),  # forward split: old_rate 1, new_rate 4
        ("split", "2024-01-09", 10.0, None),  # reverse split: old_rate 10, new_rate 1
        ("dividend", "2024-01-11", None, 50.0),  # special: true, on the second page
    ]
    sent = [c.request for c in http.calls if c.request.url.startswith(ACTIONS)]
    assert len(sent) == 2 and all(r.headers["APCA-API-KEY-ID"] == FAKE_KEY for r in sent)


def test_ingest_stores_corporate_actions_and_history_is_point_in_time_adjusted(http, catalog, acme):
    acme_routes(http)
    catalog.register("alpaca_acme", adapter(), symbols=["ACME"], start_date="2024-01-02", end_date="2024-01-12")
    catalog.ingest("alpaca_acme", progress=False)
    acme.check(catalog, "alpaca_acme")
