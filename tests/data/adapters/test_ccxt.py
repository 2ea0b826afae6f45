"""CCXTAdapter offline, through the real ccxt library.

A real ``ccxt.async_support.binance()`` object, markets parsed by ccxt's own ``parse_market`` from a Binance
exchangeInfo subset and preloaded with ``set_markets``, and the exchange's one transport method ``fetch``
replaced by :class:`ReplayTransport` serving kline responses in Binance's wire format, so ccxt's request
building, ``handle_errors`` and ``parse_ohlcv`` all run. Sockets are blocked as a safety net.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import ccxt
import ccxt.async_support as ccxt_async
import pandas as pd
import polars as pl
import pytest

from rustybt.data.adapters._ccxt_wire import bars_frame as _bars_frame
from rustybt.data.adapters._vendor import decimal_texts as _decimal_text
from rustybt.data.adapters.ccxt import CCXTAdapter, CCXTSettings
from rustybt.data.adapters.network import TransientError
from rustybt.errors import (
    AdapterError,
    AuthenticationError,
    InvalidArgument,
    RateLimitError,
    ResolutionError,
    SymbolNotFound,
)
from rustybt.testing import ReplayTransport

RESOURCES = Path(__file__).parents[2] / "resources" / "ccxt"
T0 = pd.Timestamp("2024-01-01", tz="UTC")
H = pd.Timedelta(hours=1)
FAKE_KEY = "rbt-fake-api-key-7Q9Z"
FAKE_SECRET = "rbt-fake-secret-3K8W"


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def online(monkeypatch):
    """Lift RUSTYBT_OFFLINE (set for every test): the transport is a replayer and sockets are blocked."""
    monkeypatch.setenv("RUSTYBT_OFFLINE", "0")


def binance_exchange() -> ccxt_async.binance:
    """A real ccxt binance object with the recorded markets (spot BTC/USDT, ETH/USDT; perpetual BTC/USDT:USDT)."""
    info = json.loads((RESOURCES / "binance_exchange_info.json").read_text())
    exchange = ccxt_async.binance()
    exchange.options["crossMarginPairsData"] = []  # what fetch_markets sets before parsing
    exchange.options["isolatedMarginPairsData"] = []
    exchange.set_markets([exchange.parse_market(m) for m in info["spot"]["symbols"] + info["usdm"]["symbols"]])
    return exchange


def replay(exchange, *names: str) -> ReplayTransport:
    interactions = []
    for name in names:
        interactions += json.loads((RESOURCES / f"binance_klines_{name}.json").read_text())["interactions"]
    return ReplayTransport(exchange, interactions).install()


def wire_rows(name: str, path: str, symbol: str) -> list[list]:
    """Every kline of a fixture for one market, in the order served."""
    rows = []
    for item in json.loads((RESOURCES / f"binance_klines_{name}.json").read_text())["interactions"]:
        request = item["request"]
        if (
            request["path"] == path
            and request["params"]["symbol"] == symbol
            and isinstance(item["response"].get("body"), list)
        ):
            rows += item["response"]["body"]
    return rows


@pytest.fixture
def exchange():
    return binance_exchange()


# --- construction ------------------------------------------------------------------------------------------


def test_importing_rustybt_does_not_import_ccxt():
    code = (
        "import sys, rustybt, rustybt.data.adapters as a, rustybt.data.bundles\n"
        "assert 'ccxt' not in sys.modules, 'import rustybt imported ccxt'\n"
        "from rustybt.data.adapters.base import adapter_class\n"
        "cls = adapter_class('ccxt')\n"
        "assert 'ccxt' not in sys.modules, 'looking the adapter up imported ccxt'\n"
        "assert a.CCXTAdapter is cls\n"
        "cls('binance')\n"
        "assert 'ccxt' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_unknown_exchange_lists_close_matches():
    with pytest.raises(AdapterError, match=r"unknown exchange id 'binanse'.*binance"):
        CCXTAdapter("binanse")


def test_market_type_must_be_spot_or_swap():
    with pytest.raises(InvalidArgument, match="spot' or 'swap"):
        CCXTAdapter("binance", market_type="future")
    assert CCXTAdapter("binance", market_type="perpetual").asset_class == "crypto_perpetual"


def test_resolutions_are_those_the_exchange_lists():
    assert CCXTAdapter("binance").supported_resolutions == (
        "1m",
        "5m",
        "15m",
        "30m",
        "1h",
        "2h",
        "4h",
        "1d",
        "1w",
        "1M",
    )
    kraken = CCXTAdapter("kraken")  # kraken lists 1m 5m 15m 30m 1h 4h 1d 1w 2w
    assert kraken.supported_resolutions == ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")
    with pytest.raises(ResolutionError, match="2h"):
        kraken.fetch_sync(["BTC/USD"], "2024-01-01", "2024-01-02", "2h")


def test_rate_limit_is_the_lower_of_ours_and_the_exchanges(tmp_path, monkeypatch):
    assert CCXTAdapter("binance").rate_limit == 20.0  # binance: rateLimit 50 ms
    assert CCXTAdapter("binance", rate_limit=100).rate_limit == 20.0
    assert CCXTAdapter("binance", rate_limit=2).rate_limit == 2.0
    assert CCXTAdapter("kraken").rate_limit == 1.0  # kraken: 1000 ms
    config = tmp_path / "config.yaml"
    config.write_text("adapters: {ccxt: {rate_limit: 5}}\n")
    monkeypatch.setenv("RUSTYBT_CONFIG", str(config))
    adapter = CCXTAdapter("binance")
    assert adapter.rate_limit == 5.0
    assert adapter.exchange.enableRateLimit is True


def test_credentials_come_from_env_and_stay_out_of_config_and_repr(monkeypatch):
    monkeypatch.setenv("CCXT_BINANCE_API_KEY", FAKE_KEY)
    monkeypatch.setenv("CCXT_BINANCE_SECRET", FAKE_SECRET)
    adapter = CCXTAdapter("binance", market_type="swap", limit=500)
    assert adapter.exchange.apiKey == FAKE_KEY and adapter.exchange.secret == FAKE_SECRET
    stored = json.dumps(adapter.to_config())
    # every setting is stored (a former name, limit=, is stored under its current one)
    assert adapter.to_config() == CCXTSettings(exchange_id="binance", market_type="swap", page_size=500).to_dict()
    for text in (stored, repr(adapter), repr(adapter.settings)):
        assert FAKE_KEY not in text and FAKE_SECRET not in text
    assert adapter.redact(f"GET /x?apiKey={FAKE_KEY}&s={FAKE_SECRET}") == "GET /x?apiKey=***&s=***"
    rebuilt = CCXTAdapter.from_config(adapter.to_config())
    assert rebuilt.to_config() == adapter.to_config()
    assert rebuilt.exchange.apiKey == FAKE_KEY  # from the environment again, not from the stored parameters


def test_credentials_from_the_config_file(tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text(f"adapters:\n  ccxt:\n    binance: {{api_key: {FAKE_KEY}, secret: {FAKE_SECRET}}}\n")
    monkeypatch.setenv("RUSTYBT_CONFIG", str(config))
    adapter = CCXTAdapter("binance")
    assert adapter.exchange.apiKey == FAKE_KEY
    assert FAKE_KEY not in repr(adapter) and FAKE_SECRET not in adapter.redact(f"x {FAKE_SECRET} y")


def test_exchange_config_refuses_credentials():
    with pytest.raises(InvalidArgument, match="credential"):
        CCXTAdapter("binance", exchange_config={"apiKey": "abc"})
    with pytest.raises(InvalidArgument, match="credential"):
        CCXTAdapter("binance", exchange_config={"options": {"secret": "abc"}})
    adapter = CCXTAdapter("binance", exchange_config={"options": {"adjustForTimeDifference": False}})
    assert adapter.to_config()["exchange_config"] == {"options": {"adjustForTimeDifference": False}}


def test_offline_switch_refuses_any_request(exchange):
    transport = replay(exchange, "pages")
    adapter = CCXTAdapter(exchange=exchange, limit=3)
    with pytest.raises(AdapterError, match="RUSTYBT_OFFLINE"):
        adapter.fetch_sync(["BTC/USDT"], T0, T0 + 7 * H, "1h")
    assert transport.requests == []


# --- fetching through ccxt ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("online")
def test_pagination_spot_keeps_the_exchanges_exact_decimals(exchange):
    transport = replay(exchange, "pages")
    adapter = CCXTAdapter(exchange=exchange, limit=3)
    frame = adapter.fetch_sync(["BTC/USDT", "ETH/USDT"], "2024-01-01 00:00", "2024-01-01 07:00", "1h")

    spot = [r for r in transport.requests if r["path"] == "/api/v3/klines"]
    assert len(spot) == 6  # 3 pages of at most 3 bars per symbol
    starts = sorted(int(r["params"]["startTime"]) for r in spot if r["params"]["symbol"] == "BTCUSDT")
    ms = int(T0.timestamp() * 1000)
    assert starts == [ms, ms + 2 * 3_600_000 + 1, ms + 5 * 3_600_000 + 1]  # since = last open time + 1 ms
    assert {r["params"]["limit"] for r in spot} == {"3"}

    assert frame.columns == ["timestamp", "symbol", "open", "high", "low", "close", "volume"]
    assert frame.schema["timestamp"] == pl.Datetime("ns", "UTC")
    for symbol, market_id in (("BTC/USDT", "BTCUSDT"), ("ETH/USDT", "ETHUSDT")):
        got = frame.filter(pl.col("symbol") == symbol)
        wire = wire_rows("pages", "/api/v3/klines", market_id)
        assert got.height == len(wire) == 8
        assert got["timestamp"].to_list() == [(T0 + i * H).to_pydatetime() for i in range(8)]
        for row, raw in zip(got.iter_rows(), wire, strict=True):
            assert [Decimal(v) for v in row[2:]] == [Decimal(v) for v in raw[1:6]]
    # the exact text: shortest decimal, no float noise, no exponent (1e-05 is written out)
    btc = frame.filter(pl.col("symbol") == "BTC/USDT")
    assert btc["open"][0] == "42283.58"
    assert btc["volume"][4] == "0.00001"


@pytest.mark.usefixtures("online")
def test_perpetual_records_settle_and_contract_size(exchange):
    transport = replay(exchange, "pages")
    adapter = CCXTAdapter(exchange=exchange, market_type="swap", limit=3)
    bars = list(adapter.iter_bars(["BTC/USDT:USDT"], T0, T0 + 7 * H, "1h"))
    assert [r["path"] for r in transport.requests] == ["/fapi/v1/klines"] * 3
    (item,) = bars
    assert item.error is None and item.bars.height == 8
    wire = wire_rows("pages", "/fapi/v1/klines", "BTCUSDT")
    assert [Decimal(v) for v in item.bars["close"]] == [Decimal(r[4]) for r in wire]
    assert item.info == {
        "asset_class": "crypto_perpetual",
        "exchange": "binance",
        "base": "BTC",
        "quote": "USDT",
        "settle": "USDT",
        "contract_size": 1.0,
        "ccxt_symbol": "BTC/USDT:USDT",
        "exchange_symbol": "BTCUSDT",
        "asset_name": "BTC/USDT:USDT (binance swap)",
    }


@pytest.mark.usefixtures("online")
def test_symbols_by_exchange_id_and_perpetual_by_pair(exchange):
    replay(exchange, "pages")
    spot = CCXTAdapter(exchange=exchange, limit=3).fetch_sync(["BTCUSDT"], T0, T0 + 7 * H, "1h")
    assert spot.height == 8 and spot["symbol"].unique().to_list() == ["BTCUSDT"]  # stored as written
    swap = CCXTAdapter(exchange=exchange, market_type="swap", limit=3)
    frame = swap.fetch_sync(["BTC/USDT"], T0, T0 + 7 * H, "1h")
    assert frame.height == 8 and swap.asset_info("BTC/USDT")["ccxt_symbol"] == "BTC/USDT:USDT"


@pytest.mark.usefixtures("online")
def test_unknown_symbol_lists_close_matches_without_a_request(exchange):
    transport = replay(exchange, "pages")
    adapter = CCXTAdapter(exchange=exchange, limit=3)
    with pytest.raises(SymbolNotFound, match=r"unknown spot symbol 'BTC/USDC'.*close matches: BTC/USDT"):
        adapter.fetch_sync(["BTC/USDC"], T0, T0 + 7 * H, "1h")
    with pytest.raises(SymbolNotFound, match=r"swap market.*market_type='swap'"):
        adapter.fetch_sync(["BTC/USDT:USDT"], T0, T0 + 7 * H, "1h")
    assert transport.requests == []


@pytest.mark.usefixtures("online")
def test_exchange_bad_symbol_is_symbol_not_found(exchange):
    transport = replay(exchange, "bad_symbol")
    adapter = CCXTAdapter(exchange=exchange, limit=3, backoff_base=0.01)
    with pytest.raises(SymbolNotFound, match="does not know this symbol.*Invalid symbol"):
        adapter.fetch_sync(["ETH/USDT"], T0, T0 + 7 * H, "1h")
    assert len(transport.requests) == 1  # never retried


@pytest.mark.usefixtures("online")
def test_429_is_retried_after_retry_after(exchange):
    transport = replay(exchange, "rate_limited")
    adapter = CCXTAdapter(exchange=exchange, limit=3, backoff_base=0.01)
    started = time.perf_counter()
    frame = adapter.fetch_sync(["BTC/USDT"], T0, T0 + 2 * H, "1h")
    elapsed = time.perf_counter() - started
    assert frame.height == 3
    assert len(transport.requests) == 2
    assert elapsed >= 0.9  # Retry-After: 1 was honoured (the backoff alone would wait ~0.01 s)


@pytest.mark.usefixtures("online")
def test_rate_limit_error_carries_the_reset_time(exchange):
    replay(exchange, "rate_limited")
    adapter = CCXTAdapter(exchange=exchange, limit=3, max_retries=1)
    with pytest.raises(RateLimitError) as info:
        adapter.fetch_sync(["BTC/USDT"], T0, T0 + 2 * H, "1h")
    delay = (info.value.reset_at - pd.Timestamp.now(tz="UTC")).total_seconds()
    assert 0 < delay <= 1.0
    assert "-1003" in info.value.vendor_message


@pytest.mark.usefixtures("online")
def test_401_is_an_authentication_error_and_not_retried(exchange, monkeypatch):
    monkeypatch.setenv("CCXT_BINANCE_API_KEY", FAKE_KEY)
    transport = replay(exchange, "unauthorized")
    adapter = CCXTAdapter(exchange=exchange, limit=3, backoff_base=0.01)
    with pytest.raises(AuthenticationError, match="Invalid API-key") as info:
        adapter.fetch_sync(["BTC/USDT"], T0, T0 + 2 * H, "1h")
    assert len(transport.requests) == 1
    assert "CCXT_BINANCE_API_KEY" in str(info.value) and FAKE_KEY not in str(info.value)


@pytest.mark.usefixtures("online")
def test_transient_errors_are_retried(exchange):
    replay(exchange, "rate_limited")  # second interaction: the page
    transport = ReplayTransport(
        exchange,
        [
            {"request": {"path": "/api/v3/klines"}, "response": {"error": "RequestTimeout"}},
            {"request": {"path": "/api/v3/klines"}, "response": {"status": 503, "body": "Service Unavailable"}},
            *json.loads((RESOURCES / "binance_klines_rate_limited.json").read_text())["interactions"][1:],
        ],
    ).install()
    adapter = CCXTAdapter(exchange=exchange, limit=3, backoff_base=0.01)
    assert adapter.fetch_sync(["BTC/USDT"], T0, T0 + 2 * H, "1h").height == 3
    assert len(transport.requests) == 3


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ccxt.RateLimitExceeded, RateLimitError),
        (ccxt.DDoSProtection, RateLimitError),
        (ccxt.RequestTimeout, TransientError),
        (ccxt.ExchangeNotAvailable, TransientError),
        (ccxt.OnMaintenance, TransientError),
        (ccxt.NetworkError, TransientError),
        (ccxt.AuthenticationError, AuthenticationError),
        (ccxt.PermissionDenied, AuthenticationError),
        (ccxt.BadSymbol, SymbolNotFound),
        (ccxt.ExchangeError, AdapterError),
        (ccxt.NotSupported, AdapterError),
    ],
)
def test_ccxt_errors_map_to_ours(error, expected):
    from rustybt.data.adapters._ccxt_wire import Capture as _Capture

    mapped = CCXTAdapter("binance")._map_error(error("binance the vendor says no"), "BTC/USDT 1h", _Capture())
    assert type(mapped) is expected
    assert "the vendor says no" in str(mapped)
    if expected is AdapterError:
        assert not isinstance(mapped, TransientError | RateLimitError | AuthenticationError)


@pytest.mark.usefixtures("online")
def test_empty_range_gives_an_empty_frame(exchange):
    transport = replay(exchange, "empty")
    adapter = CCXTAdapter(exchange=exchange, limit=3)
    frame = adapter.fetch_sync(["BTC/USDT"], "2017-01-01", "2017-01-02", "1h")
    assert frame.height == 0
    assert frame.columns == ["timestamp", "symbol", "open", "high", "low", "close", "volume"]
    assert len(transport.requests) == 1


@pytest.mark.usefixtures("online")
@pytest.mark.parametrize(
    ("symbol", "detail"),
    [("BTC/USDT", "not a JSON list of candles.*Maintenance"), ("ETH/USDT", r"candle 1 .* has 3 field")],
)
def test_malformed_payload_is_a_clear_error_not_an_empty_range(exchange, symbol, detail):
    transport = replay(exchange, "malformed")
    adapter = CCXTAdapter(exchange=exchange, limit=3, backoff_base=0.01)
    with pytest.raises(AdapterError, match=f"malformed OHLCV response for {symbol} 1h.*{detail}"):
        adapter.fetch_sync([symbol], T0, T0 + 2 * H, "1h")
    assert len(transport.requests) == 1


@pytest.mark.usefixtures("online")
def test_iter_bars_keeps_going_past_a_failing_symbol_and_honours_starts(exchange):
    transport = replay(exchange, "network_failure")
    adapter = CCXTAdapter(exchange=exchange, limit=3, max_retries=2, backoff_base=0.01)
    items = {i.symbol: i for i in adapter.iter_bars(["BTC/USDT", "ETH/USDT"], T0, T0 + 7 * H, "1h", n_workers=2)}
    assert items["BTC/USDT"].error is None and items["BTC/USDT"].bars.height == 8
    error = items["ETH/USDT"].error
    assert isinstance(error, TransientError)
    assert "ExchangeNotAvailable" in str(error) and "page 2" in str(error)

    transport = replay(exchange, "incremental_second")  # BTCUSDT from 06:00
    later = T0 + 6 * H
    items = list(
        adapter.iter_bars(
            ["BTC/USDT", "ETH/USDT"], T0, T0 + 7 * H, "1h", starts={"BTC/USDT": later, "ETH/USDT": T0 + 8 * H}
        )
    )
    (btc,) = [i for i in items if i.symbol == "BTC/USDT"]
    (eth,) = [i for i in items if i.symbol == "ETH/USDT"]
    assert eth.error is None and eth.bars.height == 0  # its start is after the end: no request at all
    assert btc.bars["timestamp"].to_list() == [later.to_pydatetime(), (later + H).to_pydatetime()]
    assert [r["params"]["startTime"] for r in transport.requests] == [str(int(later.timestamp() * 1000))]


@pytest.mark.usefixtures("online")
def test_fetch_sync_twice_and_inside_a_running_loop(exchange):
    replay(exchange, "pages", "pages")
    adapter = CCXTAdapter(exchange=exchange, limit=3)
    assert adapter.fetch_sync(["BTC/USDT"], T0, T0 + 7 * H, "1h").height == 8

    async def notebook_cell():  # a Jupyter cell runs inside an event loop
        return adapter.fetch_sync(["BTC/USDT"], T0, T0 + 7 * H, "1h")

    assert asyncio.run(notebook_cell()).height == 8


@pytest.mark.usefixtures("online")
def test_async_fetch_on_your_own_loop(exchange):
    replay(exchange, "pages")

    async def main():
        async with CCXTAdapter(exchange=exchange, limit=3) as adapter:
            return await adapter.fetch(["ETH/USDT"], T0, T0 + 7 * H, "1h")

    assert asyncio.run(main()).height == 8


# --- conversions ---------------------------------------------------------------------------------------------


def test_decimal_text_is_the_shortest_repr_of_each_float():
    rng = random.Random(7)
    values = [round(rng.uniform(0, 1e5), rng.randint(0, 8)) for _ in range(3000)]
    values += [rng.uniform(1e-9, 1e-4) for _ in range(300)] + [1e-05, 1.5e-07, 1e16, 1e21, 123456789.123, 0.1, None]
    texts = _decimal_text(values).to_list()
    for value, text in zip(values, texts, strict=True):
        if value is None:
            assert text is None
            continue
        assert "e" not in text.lower()
        assert Decimal(text) == Decimal(repr(value))
    assert _decimal_text(["42283.58000000", 7, None]).to_list() == ["42283.58000000", "7", None]


def test_bars_frame_labels_and_drops_the_bar_still_forming():
    day = 86_400_000
    t0 = int(T0.timestamp() * 1000)
    rows = [[t0 + i * day, 1.5, 2.0, 1.0, 1.75, 10.0] for i in range(3)]
    now = T0 + pd.Timedelta(days=2, hours=5)  # the third daily bar is still forming
    frame = _bars_frame(rows, "BTC/USDT", "1d", now)
    assert frame["timestamp"].to_list() == [T0.to_pydatetime(), (T0 + pd.Timedelta(days=1)).to_pydatetime()]
    assert _bars_frame(rows, "BTC/USDT", "1d", None).height == 3
    weekly = _bars_frame(
        [[int(pd.Timestamp("2024-01-08", tz="UTC").timestamp() * 1000), 1, 1, 1, 1, 1]], "X", "1w", None
    )
    assert weekly["timestamp"][0] == pd.Timestamp("2024-01-08", tz="UTC").to_pydatetime()  # a Monday


# --- issue 17: exact decimals beyond a float's 17 digits; one rate limit across calls ------------------------


def _kline(open_ms: int, o: str, h: str, low: str, c: str, v: str) -> list:
    """One Binance kline as the exchange sends it (strings for every decimal)."""
    close_ms = open_ms + 3_599_999
    return [open_ms, o, h, low, c, v, close_ms, "0", 10, "0", "0", "0"]


@pytest.mark.usefixtures("online")
def test_values_with_more_than_17_significant_digits_stay_exact(exchange):
    t0 = int(T0.timestamp() * 1000)
    wire = [
        _kline(
            t0,
            "0.000012345678901234567891",
            "0.000012345678901234567899",
            "0.00001234567890123456789",
            "0.000012345678901234567895",
            "123456789012345678.123456789",
        ),
        _kline(
            t0 + 3_600_000,
            "42283.580000000000000001",
            "42290.00000000",
            "42280.10000000",
            "42285.123456789012345678",
            "1.00000000",
        ),
    ]
    ReplayTransport(
        exchange,
        [{"request": {"path": "/api/v3/klines", "params": {"symbol": "BTCUSDT"}}, "response": {"body": wire}}],
    ).install()
    frame = CCXTAdapter(exchange=exchange, limit=3).fetch_sync(["BTC/USDT"], T0, T0 + H, "1h")
    got = [[Decimal(v) for v in row] for row in frame.select("open", "high", "low", "close", "volume").rows()]
    assert got == [[Decimal(v) for v in kline[1:6]] for kline in wire]
    assert frame["open"][0] == "0.000012345678901234567891"  # a float keeps 0.000012345678901234568
    assert frame["high"][1] == "42290"  # padding zeros dropped, digits kept


@pytest.mark.usefixtures("online")
@pytest.mark.parametrize("threads", [1, 2])
def test_rate_limit_holds_across_separate_calls_and_threads(exchange, threads, timed_calls):
    t0 = int(T0.timestamp() * 1000)
    wire = [_kline(t0, "1", "2", "0.5", "1.5", "10")]
    transport = ReplayTransport(
        exchange,
        [{"request": {"path": "/api/v3/klines"}, "response": {"body": wire}, "times": 0}],
    ).install()
    adapter = CCXTAdapter(exchange=exchange, limit=3, rate_limit=10)

    def call():
        adapter.fetch_sync(["BTC/USDT"], T0, T0, "1h")

    elapsed = timed_calls([call] * 4, threads)
    n = len(transport.requests)  # two pages per call: the day after the last bar is asked for too
    assert n == 8
    assert elapsed >= (n - 1) / 10 - 0.01


@pytest.mark.usefixtures("online")
def test_no_key_in_any_log_record_of_a_signed_market_load(monkeypatch, caplog, capsys, library_logs_hide):
    """ccxt logs each request's headers at DEBUG: Binance's signed calls while loading markets carry the key."""
    import logging

    monkeypatch.setenv("CCXT_BINANCE_API_KEY", FAKE_KEY)
    monkeypatch.setenv("CCXT_BINANCE_SECRET", FAKE_SECRET)
    caplog.set_level(logging.DEBUG)
    info = json.loads((RESOURCES / "binance_exchange_info.json").read_text())

    def answer(method, path, params):
        if path == "/api/v3/exchangeInfo":
            return {"body": info["spot"]}
        if path == "/fapi/v1/exchangeInfo":
            return {"body": info["usdm"]}
        return {"body": {"symbols": []} if path.endswith("exchangeInfo") else []}

    adapter = CCXTAdapter("binance", page_size=3)
    transport = ReplayTransport(adapter.exchange, handler=answer).install()
    adapter.fetch_sync(["BTC/USDT"], T0, T0, "1h")
    signed = [r for r in transport.requests if "signature" in r["params"]]
    assert signed, "loading markets with a key makes signed calls"
    assert any("X-MBX-APIKEY" in r.getMessage() for r in caplog.records)  # ccxt logged the headers...
    logged = caplog.text + capsys.readouterr().out
    assert FAKE_KEY not in logged and FAKE_SECRET not in logged  # ...without the key
    library_logs_hide(FAKE_KEY, FAKE_SECRET)
