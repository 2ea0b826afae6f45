"""PolygonAdapter against recorded Polygon/Massive answers, through the real ``massive`` SDK and urllib3.

The SDK talks to urllib3 directly (not requests), so the replay sits at urllib3's connection-pool level
(``HTTPConnectionPool._make_request``): the SDK, its pool manager, urllib3's ``urlopen`` and retry handling all
run for real; only the bytes on the wire come from ``tests/resources/polygon``. Sockets are blocked as a
safety net.
"""

from __future__ import annotations

import json
import logging
import socket
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import polars as pl
import pytest
import urllib3

from rustybt.data.adapters.base import adapter_from_config
from rustybt.data.adapters.network import TransientError
from rustybt.data.adapters.polygon import PolygonAdapter, PolygonSettings, polygon_asset_info
from rustybt.errors import AdapterError, AuthenticationError, RateLimitError, SymbolNotFound

pytest.importorskip("massive")

RES = Path(__file__).parents[2] / "resources" / "polygon"
FAKE_KEY = "pk_FAKE_0123456789abcdef"
AGGS = "/v2/aggs/ticker/{ticker}/range/{mult}/{span}/{frm}/{to}"


def body(name: str) -> bytes:
    return (RES / name).read_bytes()


class Replay:
    """Answers urllib3 requests from a queue of recorded responses per (path, query subset)."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, dict[str, str], list[tuple[int, bytes, dict[str, str]] | Exception]]] = []
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def add(self, path: str, *answers, params: dict[str, str] | None = None) -> None:
        """``answers``: (status, body, headers) tuples or exceptions, served in order (the last one repeats)."""
        self.routes.append((path, dict(params or {}), list(answers)))

    def __call__(self, pool, conn, method, url, body=None, headers=None, **kwargs):
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.calls.append((parts.path, parts.query, dict(headers or {})))
        for path, params, answers in self.routes:
            if path == parts.path and all(query.get(k) == v for k, v in params.items()):
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if isinstance(answer, Exception):
                    raise answer
                status, data, extra = answer
                return urllib3.HTTPResponse(
                    body=data,
                    status=status,
                    headers={"Content-Type": "application/json", **extra},
                    preload_content=True,
                    request_method=method,
                    request_url=url,
                )
        raise AssertionError(f"unexpected request {method} {url}")


@pytest.fixture
def replay(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("RUSTYBT_OFFLINE", "0")
    monkeypatch.setenv("POLYGON_API_KEY", FAKE_KEY)
    monkeypatch.delenv("MASSIVE_API_KEY", raising=False)
    fake = Replay()
    # a plain function, so that it binds to the pool like the method it replaces
    monkeypatch.setattr(
        urllib3.connectionpool.HTTPConnectionPool, "_make_request", lambda pool, *a, **kw: fake(pool, *a, **kw)
    )
    return fake


def adapter(**kwargs) -> PolygonAdapter:
    kwargs.setdefault("requests_per_minute", None)
    return PolygonAdapter(backoff_base=0.001, backoff_max=0.05, rate_limit=1000, **kwargs)


def day_route(replay: Replay, ticker="AAPL", frm="2024-01-02", to="2024-01-08", *answers):
    replay.add(AGGS.format(ticker=ticker, mult=1, span="day", frm=frm, to=to), *answers)


# --- success paths ---------------------------------------------------------------------------------------


def test_daily_bars_follow_next_url_across_pages(replay):
    day_route(replay, "AAPL", "2024-01-02", "2024-01-08", (200, body("aggs_aapl_day_page1.json"), {}))
    replay.add(
        "/v2/aggs/ticker/AAPL/range/1/day/1704344400000/2024-01-08",
        (200, body("aggs_aapl_day_page2.json"), {}),
        params={"cursor": "bGltaXQ9MiZzb3J0PWFzYw"},
    )
    replay.add(
        "/v2/aggs/ticker/AAPL/range/1/day/1704690000000/2024-01-08",
        (200, body("aggs_aapl_day_page3.json"), {}),
        params={"cursor": "bGltaXQ9MiZzb3J0PWFzYyZwYWdlPTM"},
    )
    frame = adapter().fetch_sync(["AAPL"], "2024-01-02", "2024-01-08", "1d")

    assert frame.columns == ["timestamp", "symbol", "open", "high", "low", "close", "volume"]
    assert frame.schema["timestamp"] == pl.Datetime("ns", "UTC")
    # daily bars sit at the session date, midnight UTC (Polygon stamps them at midnight New York)
    assert frame["timestamp"].to_list() == [
        pd.Timestamp(d, tz="UTC").to_pydatetime()
        for d in ("2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08")
    ]
    assert frame["open"].to_list() == ["187.15", "184.22", "182.15", "181.99", "182.085"]
    assert frame["high"].to_list()[3] == "182.76"
    # exponent written out, the vendor's digits kept
    assert frame["volume"].to_list()[:2] == ["82488674", "58414460"]
    assert frame["symbol"].unique().to_list() == ["AAPL"]
    assert len(replay.calls) == 3
    _first_path, first_query, headers = replay.calls[0]
    assert dict(parse_qsl(first_query)) == {"adjusted": "false", "sort": "asc", "limit": "50000"}
    assert headers["Authorization"] == f"Bearer {FAKE_KEY}"


def test_minute_crypto_bars_keep_shortest_float_repr(replay):
    start, end = pd.Timestamp("2024-01-02 00:00", tz="UTC"), pd.Timestamp("2024-01-02 00:02", tz="UTC")
    replay.add(
        AGGS.format(ticker="X:BTCUSD", mult=1, span="minute", frm=start.value // 10**6, to=end.value // 10**6),
        (200, body("aggs_btcusd_minute.json"), {}),
    )
    frame = adapter().fetch_sync("X:BTCUSD", start, end, "1m")
    assert frame["timestamp"].to_list() == [(start + pd.Timedelta(minutes=i)).to_pydatetime() for i in range(3)]
    assert frame["high"].to_list() == ["44225", "44215.1", "44236.4"]
    assert frame["volume"].to_list() == ["12.48305412", "0.000031", "7.00891"]
    assert {Decimal(v) for v in frame["close"]} == {Decimal("44214.67"), Decimal("44215.1"), Decimal("44230.12")}


def test_forex_hour_and_option_day_bars(replay):
    start, end = pd.Timestamp("2024-01-02 00:00", tz="UTC"), pd.Timestamp("2024-01-02 01:00", tz="UTC")
    replay.add(
        AGGS.format(ticker="C:EURUSD", mult=1, span="hour", frm=start.value // 10**6, to=end.value // 10**6),
        (200, body("aggs_eurusd_hour.json"), {}),
    )
    fx = adapter().fetch_sync("C:EURUSD", start, end, "1h")
    assert fx["open"].to_list() == ["1.10395", "1.104"]
    assert fx["timestamp"][1] == (start + pd.Timedelta(hours=1)).to_pydatetime()

    day_route(replay, "O:AAPL240119C00150000", "2024-01-02", "2024-01-02", (200, body("aggs_option_day.json"), {}))
    opt = adapter().fetch_sync("O:AAPL240119C00150000", "2024-01-02", "2024-01-02", "1d")
    assert opt.row(0) == (
        pd.Timestamp("2024-01-02", tz="UTC").to_pydatetime(),
        "O:AAPL240119C00150000",
        "35.8",
        "37",
        "34",
        "35.7",
        "75",
    )


def test_weekly_bars_are_labelled_by_the_first_session_of_the_week(replay):
    replay.add(
        AGGS.format(ticker="AAPL", mult=1, span="week", frm="2024-01-01", to="2024-01-12"),
        (200, body("aggs_aapl_week.json"), {}),
    )
    frame = adapter().fetch_sync("AAPL", "2024-01-01", "2024-01-12", "1w")
    # Polygon starts weeks on Sunday (2023-12-31, 2024-01-07); Jan 1 is a holiday, so the first week is Jan 2
    assert frame["timestamp"].dt.date().to_list() == [
        pd.Timestamp("2024-01-02").date(),
        pd.Timestamp("2024-01-08").date(),
    ]


def test_iter_bars_reports_asset_info_per_ticker(replay):
    day_route(replay, "O:AAPL240119C00150000", "2024-01-02", "2024-01-02", (200, body("aggs_option_day.json"), {}))
    (item,) = list(adapter().iter_bars(["O:AAPL240119C00150000"], "2024-01-02", "2024-01-02", "1d"))
    assert item.error is None and item.bars.height == 1
    assert item.info == {
        "asset_class": "option",
        "underlying": "AAPL",
        "expiration_date": "2024-01-19",
        "right": "call",
        "strike": 150.0,
        "multiplier": 100.0,
    }
    assert polygon_asset_info("X:BTCUSD") == {"asset_class": "crypto_spot", "base": "BTC", "quote": "USD"}
    assert polygon_asset_info("C:EURUSD") == {"asset_class": "forex", "base": "EUR", "quote": "USD"}
    assert polygon_asset_info("AAPL") == {"asset_class": "equity"}


def test_empty_range_is_an_empty_frame(replay):
    day_route(replay, "AAPL", "2024-01-06", "2024-01-07", (200, body("aggs_empty.json"), {}))
    replay.add("/v3/reference/tickers/AAPL", (200, body("ticker_details_aapl.json"), {}))
    frame = adapter().fetch_sync("AAPL", "2024-01-06", "2024-01-07", "1d")
    assert frame.height == 0
    assert frame.columns == ["timestamp", "symbol", "open", "high", "low", "close", "volume"]


# --- errors ----------------------------------------------------------------------------------------------


def test_429_is_retried_after_retry_after(replay):
    day_route(
        replay,
        "AAPL",
        "2024-01-02",
        "2024-01-08",
        (429, body("error_429.json"), {"Retry-After": "3"}),
        (200, body("aggs_aapl_day_page3.json"), {}),
    )
    poly = adapter()
    waits = []
    original = poly._wait
    poly._wait = lambda state: waits.append((state.outcome.exception(), original(state))) or waits[-1][1]
    frame = poly.fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert frame.height == 1
    assert len(replay.calls) == 2
    ((exc, wait),) = waits
    assert isinstance(exc, RateLimitError)
    assert 2 < (exc.reset_at - pd.Timestamp.now(tz="UTC")).total_seconds() <= 3
    assert wait == pytest.approx(0.05)  # Retry-After (3 s) capped at backoff_max, not the 1 ms backoff


def test_5xx_and_timeouts_are_retried(replay):
    day_route(
        replay,
        "AAPL",
        "2024-01-02",
        "2024-01-08",
        (502, b"<html><body>502 Bad Gateway</body></html>", {"Content-Type": "text/html"}),
        urllib3.exceptions.ReadTimeoutError(None, "/v2/aggs", "Read timed out. (read timeout=30.0)"),
        (200, body("aggs_aapl_day_page3.json"), {}),
    )
    assert adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d").height == 1
    assert len(replay.calls) == 3


def test_persistent_5xx_gives_up_with_a_transient_error(replay):
    day_route(
        replay, "AAPL", "2024-01-02", "2024-01-08", (503, b'{"status":"ERROR","error":"service unavailable"}', {})
    )
    with pytest.raises(TransientError, match="HTTP 503.*service unavailable"):
        adapter(max_retries=3).fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert len(replay.calls) == 3


@pytest.mark.parametrize(("status", "name"), [(401, "error_401.json"), (403, "error_403.json")])
def test_401_and_403_are_not_retried(replay, status, name):
    day_route(replay, "AAPL", "2024-01-02", "2024-01-08", (status, body(name), {}))
    with pytest.raises(AuthenticationError, match=f"HTTP {status}") as info:
        adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert len(replay.calls) == 1
    assert info.value.vendor_message == json.loads(body(name)).get("error", json.loads(body(name)).get("message"))


def test_unknown_ticker_raises_symbol_not_found(replay):
    day_route(replay, "NOSUCHTICKER", "2024-01-02", "2024-01-08", (200, body("aggs_unknown_ticker.json"), {}))
    replay.add("/v3/reference/tickers/NOSUCHTICKER", (404, body("ticker_details_not_found.json"), {}))
    with pytest.raises(SymbolNotFound, match="NOSUCHTICKER.*Ticker not found"):
        adapter().fetch_sync("NOSUCHTICKER", "2024-01-02", "2024-01-08", "1d")
    assert [c[0] for c in replay.calls] == [
        AGGS.format(ticker="NOSUCHTICKER", mult=1, span="day", frm="2024-01-02", to="2024-01-08"),
        "/v3/reference/tickers/NOSUCHTICKER",
    ]
    assert dict(parse_qsl(replay.calls[1][1]))["date"] == "2024-01-02"


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"<html>upstream hiccup</html>", "not JSON.*upstream hiccup"),
        (None, "'results' is not a list"),
        (
            b'{"status":"OK","results":[{"t":1704171600000,"o":187.15,"h":188.44,"l":183.885,"v":1}]}',
            "malformed aggregate",
        ),
        (b'{"status":"OK","results":[{"t":1704171600000,"o":"abc","h":1,"l":1,"c":1,"v":1}]}', "malformed aggregate"),
        (b'{"status":"ERROR","error":"something odd"}', "status ERROR: something odd"),
    ],
)
def test_malformed_payload_is_an_adapter_error_with_the_vendor_text(replay, payload, match):
    day_route(replay, "AAPL", "2024-01-02", "2024-01-08", (200, payload or body("aggs_malformed.json"), {}))
    with pytest.raises(AdapterError, match=match) as info:
        adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert info.value.vendor_message
    assert len(replay.calls) == 1


def test_missing_key_fails_before_any_request(replay, monkeypatch):
    monkeypatch.delenv("POLYGON_API_KEY")
    with pytest.raises(AuthenticationError, match="POLYGON_API_KEY"):
        adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert replay.calls == []


def test_key_from_config_file(replay, monkeypatch, tmp_path):
    monkeypatch.delenv("POLYGON_API_KEY")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"adapters:\n  polygon:\n    api_key: {FAKE_KEY}\n    requests_per_minute: 7\n")
    monkeypatch.setenv("RUSTYBT_CONFIG", str(cfg))
    day_route(replay, "AAPL", "2024-01-02", "2024-01-08", (200, body("aggs_aapl_day_page3.json"), {}))
    poly = PolygonAdapter(rate_limit=1000)
    assert poly.requests_per_minute == 7
    assert poly.fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d").height == 1
    assert replay.calls[0][2]["Authorization"] == f"Bearer {FAKE_KEY}"
    assert FAKE_KEY not in repr(poly) and FAKE_KEY not in repr(poly.adapter_config)


def test_offline_switch_refuses_before_any_request(replay, monkeypatch):
    monkeypatch.setenv("RUSTYBT_OFFLINE", "1")
    with pytest.raises(AdapterError, match="RUSTYBT_OFFLINE"):
        adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert replay.calls == []


def test_key_never_leaks(replay, caplog):
    caplog.set_level(logging.DEBUG)
    poly = adapter()
    day_route(replay, "AAPL", "2024-01-02", "2024-01-08", (200, body("aggs_aapl_day_page3.json"), {}))
    poly.fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    errors = []
    for status, payload in (
        (401, body("error_401.json")),
        (429, body("error_429.json")),
        (500, f"bad key {FAKE_KEY}".encode()),
    ):
        replay.routes.clear()
        day_route(replay, "AAPL", "2024-01-02", "2024-01-08", (status, payload, {}))
        with pytest.raises(Exception) as info:
            adapter(max_retries=1).fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
        errors.append(info.value)
    texts = [caplog.text, repr(poly), str(poly.metadata), json.dumps(poly.to_config())]
    texts += [str(e) for e in errors] + [str(getattr(e, "vendor_message", "")) for e in errors]
    assert all(FAKE_KEY not in t for t in texts)
    assert "***" in str(errors[-1])


def test_to_config_round_trip():
    poly = PolygonAdapter(requests_per_minute=None, limit=5000, verify_symbols=False, timeout=10)
    # every setting is stored (a former name, limit=, under its current one)
    expected = PolygonSettings(requests_per_minute=None, page_size=5000, verify_symbols=False, timeout=10.0)
    assert poly.to_config() == expected.to_dict()
    again = adapter_from_config("polygon", poly.to_config())
    assert isinstance(again, PolygonAdapter) and again.to_config() == poly.to_config()
    assert PolygonAdapter().requests_per_minute == 5  # the free plan's quota by default
    assert PolygonAdapter().metadata.requires_auth


def test_ingest_into_a_catalog_bundle(replay, catalog):
    replay.add(
        AGGS.format(ticker="O:AAPL240119C00150000", mult=1, span="day", frm="2024-01-02", to="2024-01-08"),
        (200, body("aggs_option_day.json"), {}),
    )
    day_route(replay, "AAPL", "2024-01-02", "2024-01-08", (200, body("aggs_aapl_day_page3.json"), {}))
    # the ingest asks for the stock's corporate actions too (issue 17); none in this range, none for the option
    for path in ("/v3/reference/splits", "/v3/reference/dividends"):
        replay.add(path, (200, b'{"results": [], "status": "OK", "request_id": "x"}', {}), params={"ticker": "AAPL"})
    catalog.register(
        "poly",
        adapter(),
        symbols=["AAPL", "O:AAPL240119C00150000"],
        start_date="2024-01-02",
        end_date="2024-01-08",
        resolution="1d",
    )
    catalog.ingest("poly", progress=False)
    bundle = catalog.bundle("poly")
    kinds = {a.symbol: type(a).__name__ for a in bundle.assets}
    assert kinds == {"AAPL": "Equity", "O:AAPL240119C00150000": "Option"}
    option = next(a for a in bundle.assets if a.symbol.startswith("O:"))
    assert (option.underlying, option.strike, option.right) == ("AAPL", 150.0, "call")
    assert bundle.rows == 2


def test_weekly_bars_of_a_range_starting_on_a_monday_include_that_week(replay):
    replay.add(
        AGGS.format(ticker="AAPL", mult=1, span="week", frm="2024-01-08", to="2024-01-19"),
        (200, body("aggs_aapl_week_from_monday.json"), {}),
    )
    frame = adapter().fetch_sync("AAPL", "2024-01-08", "2024-01-19", "1w")
    # Polygon stamps the weeks on their Sunday (Jan 7, Jan 14); Jan 15 is Martin Luther King Day
    assert frame["timestamp"].dt.date().to_list() == [
        pd.Timestamp("2024-01-08").date(),
        pd.Timestamp("2024-01-16").date(),
    ]
    assert frame["open"].to_list() == ["182.085", "186.06"]


def test_rate_limit_holds_across_separate_calls_and_threads(replay, timed_calls):
    day_route(replay, "AAPL", "2024-01-02", "2024-01-08", (200, body("aggs_aapl_day_page3.json"), {}))
    poly = PolygonAdapter(rate_limit=10, requests_per_minute=None)

    def call():
        poly.fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")

    elapsed = timed_calls([call, call]) + timed_calls([call, call], threads=2)
    assert poly.requests_made == 4
    assert elapsed >= (4 - 1) / 10 - 0.01


def test_no_key_in_any_log_record_of_the_client_libraries(replay, caplog, capsys, library_logs_hide):
    caplog.set_level(logging.DEBUG)
    day_route(replay, "AAPL", "2024-01-02", "2024-01-08", (200, body("aggs_aapl_day_page3.json"), {}))
    adapter().fetch_sync("AAPL", "2024-01-02", "2024-01-08", "1d")
    assert all(k not in caplog.text + capsys.readouterr().out for k in (FAKE_KEY,))
    library_logs_hide(FAKE_KEY)


# --- issue 17: corporate actions through the SDK's reference endpoints -----------------------------------


def acme_routes(replay):
    day_route(replay, "ACME", "2024-01-02", "2024-01-12", (200, body("aggs_acme_day.json"), {}))
    replay.add(
        "/v3/reference/splits",
        (200, body("splits_acme.json"), {}),
        params={"ticker": "ACME", "execution_date.gte": "2024-01-02", "execution_date.lte": "2024-01-12"},
    )
    replay.add(
        "/v3/reference/dividends",
        (200, body("dividends_acme_page2.json"), {}),
        params={"cursor": "YWN0aXZlPXRydWUmZGF0ZT0yMDI0"},
    )
    replay.add(
        "/v3/reference/dividends",
        (200, body("dividends_acme_page1.json"), {}),
        params={"ticker": "ACME", "ex_dividend_date.gte": "2024-01-02", "ex_dividend_date.lte": "2024-01-12"},
    )


def test_adjustments_are_the_vendors_splits_reverse_splits_and_dividends(replay, acme):
    acme_routes(replay)
    poly = adapter()
    poly.fetch_sync("ACME", "2024-01-02", "2024-01-12", "1d")
    frame = poly.adjustments(["ACME"])
    rows = [
        (k, d.date().isoformat(), r, a)
        for k, d, r, a in frame.select("kind", "effective_date", "ratio", "amount").rows()
    ]
    assert rows == [
        ("dividend", "2024-01-04", None, 2.0),
        ("split", "2024-01-05", 0.25, None),  # 4-for-1: split_from 1, split_to 4
        ("split", "2024-01-09", 10.0, None),  # 1-for-10 reverse: split_from 10, split_to 1
        ("dividend", "2024-01-11", None, 50.0),  # special (SC), from the second page (next_url)
    ]
    assert [c[0] for c in replay.calls].count("/v3/reference/dividends") == 2


def test_ingest_stores_corporate_actions_and_history_is_point_in_time_adjusted(replay, catalog, acme):
    acme_routes(replay)
    catalog.register("poly_acme", adapter(), symbols=["ACME"], start_date="2024-01-02", end_date="2024-01-12")
    catalog.ingest("poly_acme", progress=False)
    acme.check(catalog, "poly_acme")
