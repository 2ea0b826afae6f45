"""Alpaca Market Data bars through the official SDK ``alpaca-py``.

.. code-block:: python

    from rustybt.data.adapters import AlpacaAdapter

    bars = AlpacaAdapter(feed="iex").fetch_sync(["AAPL", "BTC/USD"], "2024-01-02", "2024-01-31", "1d")

Stocks (``AAPL``) come from ``StockHistoricalDataClient`` with ``Adjustment.RAW`` (the catalog applies splits
and dividends itself); crypto pairs (``BTC/USD``, a slash marks them) from ``CryptoHistoricalDataClient``. Keys
come from ``ALPACA_API_KEY`` / ``ALPACA_API_SECRET`` (or ``APCA_API_KEY_ID`` / ``APCA_API_SECRET_KEY``, the SDK's
own names), else ``adapters.alpaca.api_key`` / ``api_secret`` in the config file. Crypto data needs no key.

Requests are built with the SDK's request models (``StockBarsRequest`` / ``CryptoBarsRequest`` with a
``TimeFrame``) and sent page by page with the SDK client's ``get``, following ``next_page_token``: each page is
one request under the adapter's rate limiter, quotas and retry policy. The SDK's own retry loop (which sleeps
3 s per 429) is switched off so that ours is the only one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import polars as pl

from rustybt.data.adapters._vendor import bars_frame, decimal_text, inclusive_end, session_labels
from rustybt.data.adapters.base import AdapterMetadata
from rustybt.data.adapters.network import NetworkAdapter, TransientError
from rustybt.data.adapters.settings import NetworkSettings
from rustybt.errors import AdapterError, InvalidArgument

__all__ = ["AlpacaAdapter", "AlpacaSettings"]

log = logging.getLogger(__name__)

#: catalog resolution -> (amount, TimeFrameUnit name)
TIMEFRAMES: dict[str, tuple[int, str]] = {
    "1m": (1, "Minute"),
    "5m": (5, "Minute"),
    "15m": (15, "Minute"),
    "30m": (30, "Minute"),
    "1h": (1, "Hour"),
    "2h": (2, "Hour"),
    "4h": (4, "Hour"),
    "1d": (1, "Day"),
    "1w": (1, "Week"),
    "1M": (1, "Month"),
}
_MISSING = object()
_EARLIEST = pd.Timestamp("2015-01-01", tz="UTC")  # before Alpaca's first bars (2016)


@dataclass(frozen=True, kw_only=True)
class AlpacaSettings(NetworkSettings):
    """Parameters of :class:`AlpacaAdapter` (stored with a registered bundle; never the keys)."""

    feed: str | None = None
    crypto_feed: str = "us"
    page_size: int = 10_000
    corporate_actions: bool = True


def _timeout_session(timeout: float):
    """A ``requests.Session`` with a default timeout (the SDK sets none, so a dead connection would hang)."""
    import requests

    class _Session(requests.Session):
        def request(self, method, url, **kwargs):  # type: ignore[override]
            kwargs.setdefault("timeout", timeout)
            return super().request(method, url, **kwargs)

    return _Session()


class AlpacaAdapter(NetworkAdapter):
    """Raw (unadjusted) stock and crypto bars from Alpaca's Market Data API v2 / v1beta3.

    Parameters
    ----------
    feed
        Stock data feed: ``"iex"`` (free plan), ``"sip"`` (paid plans; the free plan may query SIP only
        older than 15 minutes), ``"delayed_sip"``... ``None`` lets Alpaca choose.
    crypto_feed
        Crypto location: ``"us"`` (Alpaca US), or another the API knows.
    requests_per_minute
        Request quota; default 200 (the free "Basic" plan) or ``adapters.alpaca.requests_per_minute``;
        ``None`` for no quota.
    page_size
        Bars per page (at most 10 000).
    corporate_actions
        Stocks: report forward and reverse splits and cash dividends (Alpaca's corporate actions through
        alpaca-py's ``CorporateActionsClient`` request model) from :meth:`adjustments`, which the catalog stores
        as the bundle's adjustments: one more request (per 100 symbols and page) at ingest.
    timeout
        Timeout of each request, in seconds.
    **params
        Rate limit, retries, concurrency: see :class:`~rustybt.data.adapters.settings.NetworkSettings`. All
        parameters are the fields of :class:`AlpacaSettings` (or pass ``settings=``).
    """

    name: ClassVar[str] = "alpaca"
    settings_class: ClassVar[type[NetworkSettings]] = AlpacaSettings
    asset_class: ClassVar[str] = "equity"
    supported_resolutions: ClassVar[tuple[str, ...]] = tuple(TIMEFRAMES)
    default_rate_limit: ClassVar[float] = 3.0
    requests_per_minute: ClassVar[int | None] = 200
    api_key_env: ClassVar[tuple[str, ...]] = (
        "ALPACA_API_KEY",
        "ALPACA_API_SECRET",
        "APCA_API_KEY_ID",
        "APCA_API_SECRET_KEY",
    )
    auth_hint: ClassVar[str] = (
        "check ALPACA_API_KEY / ALPACA_API_SECRET and your data plan (the free plan needs feed='iex' for recent "
        "stock bars)"
    )
    unknown_symbol_statuses: ClassVar[frozenset[int]] = frozenset({400, 404, 422})

    def __init__(self, settings: AlpacaSettings | None = None, *, config=None, **params: Any) -> None:
        super().__init__(settings, config=config, **params)
        feed, page_size = self.settings.feed, self.settings.page_size
        if not 1 <= int(page_size) <= 10_000:
            raise InvalidArgument(f"alpaca: page_size must be between 1 and 10000, got {page_size!r}")
        if feed is not None:
            _import_sdk()
            from alpaca.data.enums import DataFeed

            try:
                DataFeed(feed)
            except ValueError:
                raise InvalidArgument(
                    f"alpaca: unknown feed {feed!r}; known: {', '.join(f.value for f in DataFeed)}"
                ) from None
        self.feed = feed
        self.crypto_feed = self.settings.crypto_feed
        self.page_size = int(page_size)
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    # --- description -------------------------------------------------------------------------------------
    @property
    def metadata(self) -> AdapterMetadata:
        return AdapterMetadata(
            source=self.name,
            api_version="Market Data v2 (stocks), v1beta3 (crypto); alpaca-py SDK",
            delay="IEX real time on the free plan; SIP 15 min delayed (free) or real time (paid)",
            requires_auth=True,
        )

    def asset_info(self, symbol: str) -> dict[str, Any]:
        """``BTC/USD`` -> crypto spot (base, quote); anything else -> equity."""
        if _is_crypto(symbol):
            base, _, quote = symbol.partition("/")
            return {"asset_class": "crypto_spot", "base": base, "quote": quote}
        return {"asset_class": "equity"}

    # --- SDK clients -------------------------------------------------------------------------------------
    def _keys(self, required: bool) -> tuple[str | None, str | None]:
        key = os.environ.get("ALPACA_API_KEY") or os.environ.get("APCA_API_KEY_ID")
        secret = os.environ.get("ALPACA_API_SECRET") or os.environ.get("APCA_API_SECRET_KEY")
        if required:
            key = key or self.credential("ALPACA_API_KEY", "api_key")
            secret = secret or self.credential("ALPACA_API_SECRET", "api_secret")
        else:
            key = key or self.adapter_config.get("api_key")
            secret = secret or self.adapter_config.get("api_secret")
            if not (key and secret):
                key = secret = None
        return (str(key) if key else None), (str(secret) if secret else None)

    def _client(self, kind: str) -> Any:
        """The SDK client for ``"stock"`` or ``"crypto"``, built once; stocks need keys (checked here, before
        any request)."""
        with self._clients_lock:
            if kind not in self._clients:
                key, secret = self._keys(required=kind != "crypto")
                _import_sdk()
                from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
                from alpaca.data.historical.corporate_actions import CorporateActionsClient

                if kind == "stock":
                    client = StockHistoricalDataClient(api_key=key, secret_key=secret)
                elif kind == "corporate_actions":
                    client = CorporateActionsClient(api_key=key, secret_key=secret)
                else:
                    client = CryptoHistoricalDataClient(api_key=key, secret_key=secret)
                if not (hasattr(client, "_retry") and hasattr(client, "_session")):
                    log.warning("alpaca: this alpaca-py version has no _retry/_session; its own retries stay on")
                client._retry = 0  # our retry policy is the only one (the SDK would sleep 3 s per 429)
                client._session = _timeout_session(self.timeout)
                self._clients[kind] = client
            return self._clients[kind]

    # --- corporate actions -------------------------------------------------------------------------------
    async def _corporate_actions(self, ranges) -> list[Any]:
        """Forward splits, reverse splits and cash dividends of the stock symbols, 100 symbols per request,
        page by page (``next_page_token``), read with alpaca-py's ``CorporateActionsSet`` models."""
        _import_sdk()
        from alpaca.data.enums import CorporateActionsType
        from alpaca.data.models.corporate_actions import CorporateActionsSet
        from alpaca.data.requests import CorporateActionsRequest

        from rustybt.data.adapters._actions import split_ratio

        stocks = [s for s in ranges if not _is_crypto(s)]
        if not stocks:
            return []
        client = self._client("corporate_actions")
        firsts = [ranges[s][0] for s in stocks]
        lasts = [ranges[s][1] for s in stocks]
        rows: list[Any] = []
        for i in range(0, len(stocks), 100):
            chunk = stocks[i : i + 100]
            request = CorporateActionsRequest(
                symbols=chunk,
                types=[
                    CorporateActionsType.FORWARD_SPLIT,
                    CorporateActionsType.REVERSE_SPLIT,
                    CorporateActionsType.CASH_DIVIDEND,
                ],
                start=min(firsts) if all(f is not None for f in firsts) else _EARLIEST.date(),
                end=max(lasts) if all(e is not None for e in lasts) else pd.Timestamp.now(tz="UTC").date(),
            )
            fields = request.to_request_fields()
            for key in ("symbols", "types"):
                fields[key] = ",".join(str(getattr(v, "value", v)) for v in fields[key])
            what = f"corporate actions of {', '.join(chunk[:3])}" + ("..." if len(chunk) > 3 else "")
            merged: dict[str, list[Any]] = {}
            seen: set[str] = set()
            while True:
                page = await self.request(
                    lambda f=dict(fields), w=what: asyncio.to_thread(self._call, client, "/corporate-actions", f, w)
                )
                for kind, items in (page.get("corporate_actions") or {}).items():
                    merged.setdefault(kind, []).extend(items or [])
                token = page.get("next_page_token")
                if not token or token in seen:
                    break
                seen.add(token)
                fields["page_token"] = token
            try:
                actions = CorporateActionsSet(merged).data
            except Exception as exc:  # pydantic's ValidationError: a field missing or of the wrong type
                raise AdapterError(
                    f"alpaca: {what}: malformed corporate actions ({self.redact(str(exc))[:300]})", source=self.name
                ) from None
            for kind in ("forward_splits", "reverse_splits"):
                for split in actions.get(kind, []):
                    rows.append(
                        (split.symbol, "split", split.ex_date, split_ratio(split.old_rate, split.new_rate), None)
                    )
            for dividend in actions.get("cash_dividends", []):
                rows.append((dividend.symbol, "dividend", dividend.ex_date, None, float(dividend.rate)))
        return rows

    # --- fetching ----------------------------------------------------------------------------------------
    def _request_fields(self, symbol: str, start, end, resolution: str) -> dict[str, Any]:
        _import_sdk()
        from alpaca.data.enums import Adjustment, DataFeed
        from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
        from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

        amount, unit = TIMEFRAMES[resolution]
        common = {
            "symbol_or_symbols": symbol,
            "timeframe": TimeFrame(amount, TimeFrameUnit[unit]),
            "start": (start if start is not None else _EARLIEST).to_pydatetime(),
            "end": inclusive_end(end).floor("us").to_pydatetime() if end is not None else None,
        }
        if _is_crypto(symbol):
            request = CryptoBarsRequest(**common)
        else:
            request = StockBarsRequest(
                **common, adjustment=Adjustment.RAW, feed=DataFeed(self.feed) if self.feed else None
            )
        fields = request.to_request_fields()
        fields["timeframe"] = str(fields["timeframe"])
        fields["limit"] = self.page_size
        return fields

    async def _fetch_symbol(self, symbol: str, start, end, resolution: str) -> pl.DataFrame:
        crypto = _is_crypto(symbol)
        client = self._client("crypto" if crypto else "stock")
        path = f"/crypto/{self.crypto_feed}/bars" if crypto else "/stocks/bars"
        fields = self._request_fields(symbol, start, end, resolution)
        log.debug("alpaca: %s %s bars %s..%s", symbol, fields["timeframe"], fields.get("start"), fields.get("end"))
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        while True:
            page = await self.request(lambda f=dict(fields): asyncio.to_thread(self._call, client, path, f, symbol))
            rows.extend(self._page_bars(page, symbol))
            token = page.get("next_page_token")
            if not token:
                break
            if token in seen:  # the vendor did not advance: stop rather than loop forever
                log.warning("alpaca: %s: next_page_token repeats itself; stopping after %d pages", symbol, len(seen))
                break
            seen.add(token)
            fields["page_token"] = token
        log.debug("alpaca: %s: %d bars in %d page(s)", symbol, len(rows), len(seen) + 1)
        return self._frame(symbol, rows, resolution)

    def _call(self, client: Any, path: str, fields: dict[str, Any], symbol: str) -> dict[str, Any]:
        """One page with the SDK client's ``get``, in a worker thread; failures mapped onto RustyBT errors."""
        import requests
        from alpaca.common.exceptions import APIError

        try:
            payload = client.get(path, fields)
        except APIError as exc:
            response = exc.response
            status, headers = getattr(response, "status_code", None), getattr(response, "headers", None)
            raise self.http_error(status, str(exc), headers, what=symbol, symbol=symbol) from None
        except requests.exceptions.JSONDecodeError as exc:
            raise AdapterError(
                f"alpaca: {symbol}: the answer is not JSON ({self.redact(str(exc))})",
                vendor_message=self.redact(str(exc)),
                source=self.name,
            ) from None
        except requests.exceptions.RequestException as exc:  # connection errors, timeouts
            raise TransientError(
                f"alpaca: {symbol}: network error: {self.redact(type(exc).__name__ + ': ' + str(exc))}",
                source=self.name,
            ) from None
        if not isinstance(payload, dict):
            snippet = self.redact(json.dumps(payload, default=str)[:300])
            raise AdapterError(
                f"alpaca: {symbol}: expected a JSON object, got {snippet}", vendor_message=snippet, source=self.name
            )
        return payload

    def _is_unknown_symbol(self, status: int, message: str) -> bool:
        """Alpaca answers 400/404/422 for many things; it is about the symbol only when its message says so."""
        return status in self.unknown_symbol_statuses and "symbol" in message.lower()

    def _page_bars(self, page: dict[str, Any], symbol: str) -> list[dict[str, Any]]:
        bars = page.get("bars", _MISSING)
        if bars is None:
            return []
        if not isinstance(bars, dict):
            snippet = self.redact(json.dumps(page, default=str)[:300])
            raise AdapterError(
                f"alpaca: {symbol}: expected 'bars' as an object keyed by symbol, got {snippet}",
                vendor_message=snippet,
                source=self.name,
            )
        rows = bars.get(symbol) or []
        if not isinstance(rows, list):
            snippet = self.redact(json.dumps(rows, default=str)[:300])
            raise AdapterError(f"alpaca: {symbol}: malformed bars {snippet}", vendor_message=snippet, source=self.name)
        return rows

    def _frame(self, symbol: str, rows: list[dict[str, Any]], resolution: str) -> pl.DataFrame:
        columns: dict[str, list[str]] = {c: [] for c in ("open", "high", "low", "close", "volume")}
        stamps: list[str] = []
        try:
            for row in rows:
                stamps.append(str(row["t"]))
                for col, key in (("open", "o"), ("high", "h"), ("low", "l"), ("close", "c"), ("volume", "v")):
                    columns[col].append(decimal_text(row[key]))
            times = pd.to_datetime(pd.Series(stamps, dtype=object), utc=True, format="ISO8601")
        except (KeyError, TypeError, ValueError) as exc:
            snippet = self.redact(json.dumps(row, default=str)[:300])
            raise AdapterError(
                f"alpaca: {symbol}: malformed bar {snippet} ({type(exc).__name__}: {exc})",
                vendor_message=snippet,
                source=self.name,
            ) from None
        if not rows:
            return bars_frame(symbol, [], columns)
        if resolution in ("1d", "1w", "1M"):
            calendar = "24/7" if _is_crypto(symbol) else "XNYS"
            ns = session_labels(list(times.dt.date), resolution, calendar, week_start_labels=True)
        else:
            ns = list(times.dt.as_unit("ns").astype("int64"))
        return bars_frame(symbol, ns, columns)


def _import_sdk() -> None:
    """Import ``alpaca.data`` once, quietly: it imports its live client, which imports ``websockets.legacy``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="websockets.legacy is deprecated", category=DeprecationWarning)
        import alpaca.data  # noqa: F401


def _is_crypto(symbol: str) -> bool:
    return "/" in symbol
