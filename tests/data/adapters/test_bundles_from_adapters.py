"""rustybt.data.bundles with a vendor adapter: register, ingest, incremental updates, partial success, secrets.

The adapter is a CCXTAdapter over a real ccxt binance object whose transport is a replayer of Binance kline
responses (tests/resources/ccxt); sockets are blocked.
"""

from __future__ import annotations

import json
import logging
import socket
from decimal import Decimal
from pathlib import Path

import ccxt.async_support as ccxt_async
import pandas as pd
import pytest

from rustybt import Catalog
from rustybt.assets import CryptoPerpetual, CryptoSpot
from rustybt.data import bundles
from rustybt.data.adapters.base import adapter_from_config
from rustybt.data.adapters.ccxt import CCXTAdapter, CCXTSettings
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.errors import AdapterError, IngestionError, ValidationError
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


@pytest.fixture(autouse=True)
def _forget_live_adapters():
    yield
    bundles._LIVE_ADAPTERS.clear()


def load_markets(exchange) -> None:
    """Preload the recorded Binance markets (spot BTC/USDT, ETH/USDT; perpetual BTC/USDT:USDT)."""
    info = json.loads((RESOURCES / "binance_exchange_info.json").read_text())
    exchange.options["crossMarginPairsData"] = []
    exchange.options["isolatedMarginPairsData"] = []
    exchange.set_markets([exchange.parse_market(m) for m in info["spot"]["symbols"] + info["usdm"]["symbols"]])


def replay(exchange, *names: str) -> ReplayTransport:
    interactions = []
    for name in names:
        interactions += json.loads((RESOURCES / f"binance_klines_{name}.json").read_text())["interactions"]
    return ReplayTransport(exchange, interactions).install()


def wire(name: str, symbol: str, path: str = "/api/v3/klines") -> dict[pd.Timestamp, list[str]]:
    """open time -> [open, high, low, close, volume] as the exchange wrote them (the last one sent wins)."""
    out = {}
    for item in json.loads((RESOURCES / f"binance_klines_{name}.json").read_text())["interactions"]:
        body = item["response"].get("body")
        if item["request"]["path"] == path and item["request"]["params"]["symbol"] == symbol and isinstance(body, list):
            for row in body:
                out[pd.Timestamp(row[0], unit="ms", tz="UTC")] = row[1:6]
    return out


@pytest.fixture
def exchange():
    ex = ccxt_async.binance()
    load_markets(ex)
    return ex


@pytest.fixture
def adapter(exchange):
    return CCXTAdapter(exchange=exchange, limit=3, max_retries=2, backoff_base=0.01)


def stored(catalog: Catalog, name: str, symbol: str) -> dict[pd.Timestamp, list[Decimal]]:
    frame = catalog.bundle(name).bars([symbol], exact=True)
    return {
        pd.Timestamp(ts): [Decimal(str(v)) for v in values]
        for ts, *values in frame.select("timestamp", "open", "high", "low", "close", "volume").iter_rows()
    }


# --- registration ------------------------------------------------------------------------------------------


def test_register_records_adapter_symbols_range_and_crypto_defaults(catalog, adapter):
    record = bundles.register(
        "crypto", adapter, ["BTC/USDT", "ETH/USDT"], "2024-01-01", "2024-01-01 07:00", resolution="1h", catalog=catalog
    )
    assert record.adapter == "ccxt"
    assert record.adapter_params == CCXTSettings(page_size=3, max_retries=2, backoff_base=0.01).to_dict()
    assert record.calendar == "24/7" and record.resolution == "1h"
    opts = record.options
    assert opts["symbols"] == ["BTC/USDT", "ETH/USDT"]
    assert pd.Timestamp(opts["start_date"]) == T0 and pd.Timestamp(opts["end_date"]) == T0 + 7 * H
    assert opts["overlap"] == 1 and opts["strict"] is True and opts["exchange"] == "binance"
    assert opts["validation"]["max_abs_return"] == 0.75  # ValidationConfig.crypto()
    rebuilt = adapter_from_config(record.adapter, record.adapter_params)
    assert isinstance(rebuilt, CCXTAdapter) and rebuilt.to_config() == record.adapter_params


def test_register_defaults_to_xnys_for_other_adapters(catalog, csvdir):
    record = bundles.register("equities", CSVAdapter.from_csvdir(csvdir), None, None, None, catalog=catalog)
    assert record.calendar == "XNYS" and record.options["overlap"] == 1


# --- ingestion ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("online")
def test_ingest_stores_the_exchanges_decimals_and_asset_metadata(catalog, exchange, adapter):
    replay(exchange, "pages")
    bundles.register(
        "spot", adapter, ["BTC/USDT", "ETH/USDT"], "2024-01-01", "2024-01-01 07:00", resolution="1h", catalog=catalog
    )
    ingestion = bundles.ingest("spot", catalog=catalog)
    assert ingestion.rows == 16 and ingestion.n_assets == 2 and not ingestion.failures
    for symbol, market_id in (("BTC/USDT", "BTCUSDT"), ("ETH/USDT", "ETHUSDT")):
        expected = {ts: [Decimal(v) for v in values] for ts, values in wire("pages", market_id).items()}
        assert stored(catalog, "spot", symbol) == expected
    btc = catalog.bundle("spot").asset_finder.lookup_symbol("BTC/USDT", as_of_date=None)
    assert isinstance(btc, CryptoSpot) and (btc.base, btc.quote, btc.exchange) == ("BTC", "USDT", "binance")
    assert btc.calendar_name == "24/7"

    perp_adapter = CCXTAdapter(exchange=exchange, market_type="swap", limit=3)
    bundles.register("perp", perp_adapter, "BTC/USDT:USDT", "2024-01-01", "2024-01-01 07:00", "1h", catalog=catalog)
    bundles.ingest("perp", catalog=catalog)
    perp = catalog.bundle("perp").asset_finder.lookup_symbol("BTC/USDT:USDT", as_of_date=None)
    assert isinstance(perp, CryptoPerpetual)
    assert (perp.base, perp.quote, perp.settle, perp.contract_size) == ("BTC", "USDT", "USDT", 1.0)
    expected = {ts: [Decimal(v) for v in values] for ts, values in wire("pages", "BTCUSDT", "/fapi/v1/klines").items()}
    assert stored(catalog, "perp", "BTC/USDT:USDT") == expected


@pytest.mark.usefixtures("online")
def test_second_ingest_fetches_only_after_the_stored_bars(catalog, exchange, adapter):
    first = replay(exchange, "incremental_first")
    bundles.register("btc", adapter, ["BTC/USDT"], "2024-01-01", None, resolution="1h", catalog=catalog)
    one = bundles.ingest("btc", catalog=catalog)
    assert one.rows == 8 and not first.pending()
    assert first.requests[0]["params"]["startTime"] == str(int(T0.timestamp() * 1000))

    second = replay(exchange, "incremental_second")
    two = bundles.ingest("btc", catalog=catalog)
    # only from the last stored bar (07:00) minus overlap=1 bar: 06:00, never from the bundle's start again
    assert second.requests[0]["params"]["startTime"] == str(int((T0 + 6 * H).timestamp() * 1000))
    assert not second.pending() and len(second.requests) == 3
    assert (two.mode, two.rows, two.new_rows, two.replaced_rows, two.changed_rows) == ("append", 12, 4, 2, 1)
    bars = stored(catalog, "btc", "BTC/USDT")
    revised = wire("incremental_second", "BTCUSDT")
    assert len(bars) == 12
    assert bars[T0 + 7 * H] == [Decimal(v) for v in revised[T0 + 7 * H]]  # the revised bar won
    assert bars[T0] == [Decimal(v) for v in wire("incremental_first", "BTCUSDT")[T0]]  # older bars kept


@pytest.mark.usefixtures("online")
def test_network_failure_mid_ingest(catalog, exchange, adapter):
    replay(exchange, "pages")
    bundles.register(
        "spot", adapter, ["BTC/USDT", "ETH/USDT"], "2024-01-01", "2024-01-01 07:00", resolution="1h", catalog=catalog
    )
    live = bundles.ingest("spot", catalog=catalog, mode="replace")
    before = catalog.bundle("spot").bars(exact=True)

    # strict: nothing changes, and the error says which symbols failed and which had loaded
    replay(exchange, "network_failure")
    with pytest.raises(IngestionError) as info:
        bundles.ingest("spot", catalog=catalog, mode="replace", strict=True)
    message = str(info.value)
    assert "ETH/USDT: ccxt binance: ETH/USDT 1h bars from 2024-01-01T02:00:00.001Z (page 2" in message
    assert "ExchangeNotAvailable" in message and "nothing was changed" in message
    assert "1 symbol(s) loaded fine (not stored either): BTC/USDT" in message
    assert catalog.live_ingestion("spot").id == live.id
    assert catalog.bundle("spot").bars(exact=True).equals(before)

    # not strict (strict=False; the default is strict): the symbols that loaded are kept, the failure reported
    replay(exchange, "network_failure")
    partial = bundles.ingest("spot", catalog=catalog, mode="replace", strict=False)
    assert partial.partial and list(partial.failures) == ["ETH/USDT"]
    assert "ExchangeNotAvailable" in partial.failures["ETH/USDT"]
    assert catalog.bundle("spot").symbols == ["BTC/USDT"]
    assert catalog.live_ingestion("spot").details["failures"] == partial.failures


@pytest.mark.usefixtures("online")
def test_vendor_faults_are_caught_by_validation(catalog, exchange, adapter):
    replay(exchange, "bad_bars", "bad_bars")
    end = "2024-01-01 05:00"
    bundles.register("strict", adapter, ["BTC/USDT"], "2024-01-01", end, resolution="1h", catalog=catalog)
    with pytest.raises(ValidationError, match="high_below_low") as info:
        bundles.ingest("strict", catalog=catalog)
    assert "duplicate_timestamp" in str(info.value)
    assert catalog.ingestions("strict") == []

    bundles.register(
        "lenient", adapter, ["BTC/USDT"], "2024-01-01", end, resolution="1h", catalog=catalog, validation="lenient"
    )
    ingestion = bundles.ingest("lenient", catalog=catalog)
    counts = ingestion.report.counts("error")
    assert counts["duplicate_timestamp"] == 1 and counts["high_below_low"] == 1
    assert "unsorted" not in ingestion.report.counts()  # ccxt sorts each page by open time
    assert ingestion.report.rows_dropped == 2 and ingestion.rows == 5
    assert catalog.live_ingestion("lenient").quality["rows_dropped"] == 2
    bars = stored(catalog, "lenient", "BTC/USDT")
    assert sorted(bars) == [T0 + i * H for i in range(5)]  # 05:00 (high < low) dropped
    sent_twice = [
        r
        for r in json.loads((RESOURCES / "binance_klines_bad_bars.json").read_text())["interactions"][1]["response"][
            "body"
        ]
        if r[0] == int((T0 + 3 * H).timestamp() * 1000)
    ]
    assert bars[T0 + 3 * H] == [Decimal(v) for v in sent_twice[-1][1:6]]  # the last occurrence is kept


@pytest.mark.usefixtures("online")
def test_credentials_never_reach_the_catalog_logs_or_reprs(catalog, monkeypatch, caplog):
    monkeypatch.setenv("CCXT_BINANCE_API_KEY", FAKE_KEY)
    monkeypatch.setenv("CCXT_BINANCE_SECRET", FAKE_SECRET)
    caplog.set_level(logging.DEBUG)
    adapter = CCXTAdapter("binance", limit=3, max_retries=2, backoff_base=0.01)  # builds its exchange, with the keys
    assert adapter.exchange.apiKey == FAKE_KEY
    load_markets(adapter.exchange)
    replay(adapter.exchange, "pages", "unauthorized")
    record = bundles.register(
        "keyed", adapter, ["BTC/USDT", "ETH/USDT"], "2024-01-01", "2024-01-01 07:00", "1h", catalog=catalog
    )
    ingestion = bundles.ingest("keyed", catalog=catalog)
    bundles.register("refused", adapter, ["BTC/USDT"], "2024-01-01", "2024-01-01 02:00", "1h", catalog=catalog)
    with pytest.raises(IngestionError) as refused:
        bundles.ingest("refused", catalog=catalog)
    assert "could not be loaded" in str(refused.value) and "Invalid API-key" in str(refused.value)

    files = [p for p in Path(catalog.root).rglob("*") if p.is_file()]
    assert any(p.name == "manifest.json" for p in files) and any(p.suffix in (".db", ".sqlite") for p in files)
    texts = {str(p): p.read_bytes() for p in files}
    texts["logs"] = caplog.text.encode()
    for shown in (record, ingestion, adapter, catalog, catalog.bundle("keyed"), refused.value):
        texts[type(shown).__name__] = repr(shown).encode() + str(shown).encode()
    texts["summary"] = str(catalog.summary().rows()).encode()
    for where, content in texts.items():
        for secret in (FAKE_KEY, FAKE_SECRET):
            assert secret.encode() not in content, f"{secret} found in {where}"


@pytest.mark.usefixtures("online")
def test_a_new_process_rebuilds_the_adapter_from_the_registration(catalog, adapter, monkeypatch):
    bundles.register("spot", adapter, ["BTC/USDT"], "2024-01-01", "2024-01-01 07:00", "1h", catalog=catalog)
    bundles._LIVE_ADAPTERS.clear()  # as in another process
    monkeypatch.setenv("RUSTYBT_OFFLINE", "1")
    with pytest.raises(AdapterError, match="RUSTYBT_OFFLINE"):  # a fresh binance adapter, refused offline
        bundles.ingest("spot", catalog=catalog)
    assert catalog.ingestions("spot") == []


class _Store:
    """What _incremental_starts reads from the metadata store: the live ingestion's assets."""

    def __init__(self, ends: dict[str, str]) -> None:
        self.ends = ends

    def assets(self, bundle: str, ingestion: str) -> list[dict]:
        return [{"symbol": s, "end_date": e} for s, e in self.ends.items()]


@pytest.mark.parametrize(
    ("resolution", "calendar", "last", "overlap", "expected"),
    [
        ("1h", "24/7", "2024-01-08T07:00:00", 1, "2024-01-08 06:00"),
        ("5m", "24/7", "2024-01-08T07:00:00", 3, "2024-01-08 06:45"),
        ("1d", "XNYS", "2024-01-08T00:00:00", 1, "2024-01-05"),  # Monday -> the previous session, Friday
        ("1d", "XNYS", "2024-01-08T00:00:00", 0, "2024-01-08"),
        ("1d", "24/7", "2024-01-08T00:00:00", 2, "2024-01-06"),
        ("1w", "24/7", "2024-01-08T00:00:00", 1, "2024-01-01"),
        ("1M", "24/7", "2024-03-01T00:00:00", 1, "2024-02-01"),
    ],
)
def test_incremental_starts_step_back_overlap_bars(resolution, calendar, last, overlap, expected):
    from rustybt.data.catalog.ingest import IngestOptions, _incremental_starts
    from rustybt.data.catalog.metadata import BundleRecord

    record = BundleRecord("b", "ccxt", {}, calendar, resolution, {"overlap": overlap}, "", "live")
    starts = _incremental_starts(_Store({"X": last}), record, "live", IngestOptions(mode="append"))
    assert starts == {"X": pd.Timestamp(expected, tz="UTC")}
    # never before the bundle's start; nothing incremental without an overlap option or with an explicit start
    late = IngestOptions(mode="append", start_date=pd.Timestamp("2030-01-01", tz="UTC"))
    assert _incremental_starts(_Store({"X": last}), record, "live", late) == {"X": late.start_date}
    plain = BundleRecord("b", "ccxt", {}, calendar, resolution, {}, "", "live")
    assert _incremental_starts(_Store({"X": last}), plain, "live", IngestOptions(mode="append")) is None
    explicit = IngestOptions(mode="append", incremental=False)
    assert _incremental_starts(_Store({"X": last}), record, "live", explicit) is None


def test_overlap_must_be_a_count_of_bars(catalog, adapter):
    from rustybt.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="overlap"):
        bundles.register("b", adapter, ["BTC/USDT"], "2024-01-01", None, "1h", catalog=catalog, overlap=-1)
