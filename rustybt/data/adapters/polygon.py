"""Polygon.io (now Massive) aggregates through the official SDK ``massive`` (formerly ``polygon-api-client``).

.. code-block:: python

    from rustybt.data.adapters import PolygonAdapter

    bars = PolygonAdapter().fetch_sync(["AAPL", "X:BTCUSD", "C:EURUSD"], "2024-01-02", "2024-01-31", "1d")

Tickers use Polygon's prefixes: ``AAPL`` (stocks), ``X:BTCUSD`` (crypto), ``C:EURUSD`` (forex),
``O:AAPL240119C00150000`` (options). Prices are never adjusted (``adjusted=false``): the catalog applies splits
and dividends itself, point in time, from the splits and cash dividends :meth:`PolygonAdapter.adjustments`
reads from Polygon's reference endpoints. The key comes from ``POLYGON_API_KEY`` (or ``MASSIVE_API_KEY``), else
``adapters.polygon.api_key`` in ``~/.rustybt/config.yaml``.

Every page of a paginated answer (``next_url``) is one request under the adapter's rate limiter, quotas and
retry policy. The SDK's own urllib3 retries are switched off so that there is exactly one retry policy, ours:
401/403 are never retried, 429 waits for ``Retry-After`` when given, 5xx and network errors back off.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlparse

import pandas as pd
import polars as pl

from rustybt.data.adapters._vendor import bars_frame, decimal_text, inclusive_end, session_labels
from rustybt.data.adapters.base import AdapterMetadata
from rustybt.data.adapters.network import NetworkAdapter, TransientError
from rustybt.data.adapters.settings import NetworkSettings
from rustybt.errors import AdapterError, AuthenticationError, SymbolNotFound

__all__ = ["PolygonAdapter", "PolygonSettings"]

log = logging.getLogger(__name__)

#: catalog resolution -> (multiplier, timespan) of the aggregates endpoint
TIMESPANS: dict[str, tuple[int, str]] = {
    "1m": (1, "minute"),
    "5m": (5, "minute"),
    "15m": (15, "minute"),
    "30m": (30, "minute"),
    "1h": (1, "hour"),
    "2h": (2, "hour"),
    "4h": (4, "hour"),
    "1d": (1, "day"),
    "1w": (1, "week"),
    "1M": (1, "month"),
}
_OPTION = re.compile(r"^O:(?P<root>[A-Z0-9.]+?)(?P<expiry>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")
_QUOTES = ("USDT", "USDC", "USD", "EUR", "GBP", "JPY", "AUD", "CAD", "CHF", "BTC", "ETH")


@dataclass(frozen=True, kw_only=True)
class PolygonSettings(NetworkSettings):
    """Parameters of :class:`PolygonAdapter` (stored with a registered bundle; never the key)."""

    aliases: ClassVar = {"limit": "page_size"}

    page_size: int = 50_000
    verify_symbols: bool = True
    corporate_actions: bool = True


class _ResponseRecorder:
    """Wraps the SDK's urllib3 pool manager and remembers, per thread, the last response it returned.

    The SDK turns any non-200 answer into ``BadResponse(body)``, dropping the status and the headers; the
    recorder keeps them so that a 401, a 429 (with its ``Retry-After``) and a 503 can be told apart.
    """

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._local = threading.local()

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self._local.response = None
        response = self._pool.request(*args, **kwargs)
        self._local.response = response
        return response

    @property
    def last_response(self) -> Any:
        return getattr(self._local, "response", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


class PolygonAdapter(NetworkAdapter):
    """Aggregate bars of stocks, crypto, forex and options from Polygon.io / Massive.

    Parameters
    ----------
    requests_per_minute
        Request quota; default 5 (the free "Basic" plans), or ``adapters.polygon.requests_per_minute`` from
        config. Pass ``None`` on a paid plan (no per-minute limit).
    page_size
        Base aggregates per page (the API's ``limit``, at most 50 000; former name ``limit``).
    corporate_actions
        Report the splits and cash dividends of stock tickers (``/v3/reference/splits`` and
        ``/v3/reference/dividends`` through the SDK's ``list_splits`` / ``list_dividends``) from
        :meth:`adjustments`, which the catalog stores as the bundle's adjustments: two more requests per ticker
        at ingest.
    verify_symbols
        When a stock ticker returns no bars at all, ask the reference endpoint whether it exists, so that an
        unknown ticker raises :class:`~rustybt.errors.SymbolNotFound` instead of looking like an empty range.
    timeout
        Connect and read timeout of each request, in seconds.
    **params
        Rate limit, retries, concurrency: see :class:`~rustybt.data.adapters.settings.NetworkSettings`. All
        parameters are the fields of :class:`PolygonSettings` (or pass ``settings=``).
    """

    name: ClassVar[str] = "polygon"
    settings_class: ClassVar[type[NetworkSettings]] = PolygonSettings
    asset_class: ClassVar[str] = "equity"
    supported_resolutions: ClassVar[tuple[str, ...]] = tuple(TIMESPANS)
    default_rate_limit: ClassVar[float] = 5.0
    requests_per_minute: ClassVar[int | None] = 5
    api_key_env: ClassVar[tuple[str, ...]] = ("POLYGON_API_KEY", "MASSIVE_API_KEY")
    auth_hint: ClassVar[str] = "check POLYGON_API_KEY and your plan's entitlements"
    symbol_hint: ClassVar[str] = (
        "Polygon tickers are case-sensitive and use prefixes: X:BTCUSD, C:EURUSD, O:AAPL240119C00150000"
    )

    def __init__(self, settings: PolygonSettings | None = None, *, config=None, **params: Any) -> None:
        super().__init__(settings, config=config, **params)
        if not 1 <= int(self.settings.page_size) <= 50_000:
            raise AdapterError(
                f"polygon: page_size must be between 1 and 50000, got {self.settings.page_size!r}", source=self.name
            )
        self.page_size = int(self.settings.page_size)
        self.verify_symbols = bool(self.settings.verify_symbols)
        self._client: Any = None
        self._client_lock = threading.Lock()

    # --- description -------------------------------------------------------------------------------------
    @property
    def metadata(self) -> AdapterMetadata:
        return AdapterMetadata(
            source=self.name,
            api_version="REST v2 aggregates (massive SDK)",
            delay="depends on the plan: end of day (Basic), 15 min (Starter), real time (Advanced)",
            requires_auth=True,
        )

    def asset_info(self, symbol: str) -> dict[str, Any]:
        """Asset class and its fields from the ticker's prefix (``X:`` crypto, ``C:`` forex, ``O:`` option)."""
        return polygon_asset_info(symbol)

    # --- the SDK client ----------------------------------------------------------------------------------
    def _api_key(self) -> str:
        for env in self.api_key_env:
            if os.environ.get(env):
                return os.environ[env]
        return self.credential("POLYGON_API_KEY", "api_key")

    def _rest_client(self) -> Any:
        """The SDK client, built once; raises AuthenticationError (before any request) without a key."""
        with self._client_lock:
            if self._client is None:
                key = self._api_key()
                import urllib3
                from massive import RESTClient

                client = RESTClient(
                    api_key=key,
                    connect_timeout=self.timeout,
                    read_timeout=self.timeout,
                    retries=0,
                    pagination=False,
                    # one retry policy only (ours): urllib3 must hand every answer back, 429 and 5xx included
                    connection_pool_kw={
                        "retries": urllib3.Retry(total=0, redirect=False, status_forcelist=(), raise_on_status=False)
                    },
                )
                client.client = _ResponseRecorder(client.client)
                self._client = client
            return self._client

    # --- fetching ----------------------------------------------------------------------------------------
    async def _fetch_symbol(self, symbol: str, start, end, resolution: str) -> pl.DataFrame:
        client = self._rest_client()
        multiplier, timespan = TIMESPANS[resolution]
        from_, to = _range(start, end, resolution)
        log.debug("polygon: %s %s%s bars %s..%s", symbol, multiplier, timespan, from_, to)

        def first_page() -> Any:
            return client.list_aggs(
                symbol, multiplier, timespan, from_, to, adjusted=False, sort="asc", limit=self.page_size, raw=True
            )

        page = await self._page(symbol, first_page)
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        while True:
            rows.extend(_results(page, symbol, self))
            next_url = page.get("next_url")
            if not next_url:
                break
            parsed = urlparse(str(next_url))
            path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
            if path in seen:  # the vendor did not advance: stop rather than loop forever
                log.warning("polygon: %s: next_url repeats itself; stopping after %d pages", symbol, len(seen) + 1)
                break
            seen.add(path)
            # the SDK's own pagination primitive, as its list_* iterators use it: GET next_url's path and cursor
            page = await self._page(symbol, lambda p=path: client._get(path=p, raw=True))
        log.debug("polygon: %s: %d bars in %d page(s)", symbol, len(rows), len(seen) + 1)
        if not rows and self.verify_symbols and polygon_asset_info(symbol)["asset_class"] == "equity":
            await self._verify_ticker(client, symbol, start)
        return self._frame(symbol, rows, resolution)

    async def _corporate_actions(self, ranges) -> list[Any]:
        """Splits and cash dividends of the stock tickers, through the SDK's reference endpoints.

        ``split_from`` / ``split_to`` are Polygon's "1 share becomes 4" numbers (a 1-for-10 reverse split is
        10 -> 1); ``cash_amount`` is the raw amount on ``ex_dividend_date``, special dividends (``SC``) included.
        """
        from rustybt.data.adapters._actions import day_of, split_ratio

        client = self._rest_client()
        rows: list[Any] = []
        for symbol, (first, last) in ranges.items():
            if polygon_asset_info(symbol)["asset_class"] != "equity":
                continue
            bounds = {k: v.isoformat() for k, v in (("gte", first), ("lte", last)) if v is not None}
            splits = await self._all_pages(
                symbol,
                lambda b=bounds, s=symbol: client.list_splits(
                    ticker=s,
                    execution_date_gte=b.get("gte"),
                    execution_date_lte=b.get("lte"),
                    limit=1000,
                    sort="execution_date",
                    raw=True,
                ),
            )
            dividends = await self._all_pages(
                symbol,
                lambda b=bounds, s=symbol: client.list_dividends(
                    ticker=s,
                    ex_dividend_date_gte=b.get("gte"),
                    ex_dividend_date_lte=b.get("lte"),
                    limit=1000,
                    sort="ex_dividend_date",
                    raw=True,
                ),
            )
            try:
                for item in splits:
                    day = day_of(item["execution_date"])
                    rows.append((symbol, "split", day, split_ratio(item["split_from"], item["split_to"]), None))
                for item in dividends:
                    if item.get("cash_amount") is None:
                        continue
                    rows.append(
                        (symbol, "dividend", day_of(item["ex_dividend_date"]), None, float(item["cash_amount"]))
                    )
            except (KeyError, TypeError, ValueError) as exc:
                snippet = self.redact(json.dumps(item, default=str)[:300])
                raise AdapterError(
                    f"polygon: {symbol}: malformed corporate action {snippet} ({type(exc).__name__}: {exc})",
                    vendor_message=snippet,
                    source=self.name,
                ) from None
        return rows

    async def _all_pages(self, symbol: str, first_page: Callable[[], Any]) -> list[dict[str, Any]]:
        """Every ``results`` item of a reference listing, following ``next_url`` (one request per page)."""
        client = self._rest_client()
        page = await self._page(symbol, first_page)
        items = list(_results(page, symbol, self))
        seen: set[str] = set()
        while page.get("next_url"):
            parsed = urlparse(str(page["next_url"]))
            path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
            if path in seen:
                break
            seen.add(path)
            page = await self._page(symbol, lambda p=path: client._get(path=p, raw=True))
            items.extend(_results(page, symbol, self))
        return items

    async def _verify_ticker(self, client: Any, symbol: str, start) -> None:
        """Raise SymbolNotFound when the reference endpoint does not know ``symbol`` (a 404)."""
        day = (start or pd.Timestamp.now(tz="UTC")).strftime("%Y-%m-%d")
        try:
            await self._page(symbol, lambda: client.get_ticker_details(symbol, date=day, raw=True), decode=False)
        except SymbolNotFound:
            raise
        except AdapterError as exc:
            log.debug("polygon: %s: could not verify the ticker: %s", symbol, self.redact(str(exc)))

    async def _page(self, symbol: str, call: Callable[[], Any], decode: bool = True) -> dict[str, Any]:
        """One request through the limiter, quotas and retries; the decoded JSON page."""
        return await self.request(lambda: asyncio.to_thread(self._call, symbol, call, decode))

    def _call(self, symbol: str, call: Callable[[], Any], decode: bool) -> dict[str, Any]:
        """Run one SDK call in a worker thread and map its failures onto the RustyBT errors."""
        import urllib3
        from massive.exceptions import AuthError, BadResponse

        client = self._client
        try:
            response = call()
        except BadResponse as exc:
            last = client.client.last_response if client is not None else None
            status, headers = getattr(last, "status", None), getattr(last, "headers", None)
            raise self.http_error(status, str(exc), headers, what=symbol, symbol=symbol) from None
        except AuthError as exc:
            raise AuthenticationError(f"polygon: {self.redact(str(exc))}", source=self.name) from None
        except urllib3.exceptions.HTTPError as exc:  # connection refused, timeouts (MaxRetryError wraps them)
            reason = getattr(exc, "reason", None) or exc
            raise TransientError(
                f"polygon: {symbol}: network error: {self.redact(type(reason).__name__ + ': ' + str(reason))}",
                source=self.name,
            ) from None
        if not decode:
            return {}
        data = getattr(response, "data", b"")
        try:
            page = json.loads(data.decode("utf-8"), parse_float=str)
        except (UnicodeDecodeError, ValueError):
            snippet = self.redact(" ".join(data[:300].decode("utf-8", errors="replace").split()))
            raise AdapterError(
                f"polygon: {symbol}: the answer is not JSON: {snippet!r}", vendor_message=snippet, source=self.name
            ) from None
        if not isinstance(page, dict):
            raise AdapterError(
                f"polygon: {symbol}: expected a JSON object, got {type(page).__name__}", source=self.name
            )
        status = str(page.get("status", "OK")).upper()
        if status not in ("OK", "DELAYED"):
            message = self.redact(str(page.get("error") or page.get("message") or status))
            raise AdapterError(
                f"polygon: {symbol}: the vendor answered status {status}: {message}",
                vendor_message=message,
                source=self.name,
            )
        return page

    def _frame(self, symbol: str, rows: list[dict[str, Any]], resolution: str) -> pl.DataFrame:
        if not rows:
            return bars_frame(symbol, [], {c: [] for c in ("open", "high", "low", "close", "volume")})
        columns: dict[str, list[str]] = {c: [] for c in ("open", "high", "low", "close", "volume")}
        times: list[int] = []
        try:
            for row in rows:
                times.append(int(row["t"]))
                for col, key in (("open", "o"), ("high", "h"), ("low", "l"), ("close", "c"), ("volume", "v")):
                    columns[col].append(decimal_text(row[key]))
        except (KeyError, TypeError, ValueError) as exc:
            snippet = self.redact(json.dumps(row, default=str)[:300])
            raise AdapterError(
                f"polygon: {symbol}: malformed aggregate {snippet} ({type(exc).__name__}: {exc})",
                vendor_message=snippet,
                source=self.name,
            ) from None
        if resolution in ("1d", "1w", "1M"):
            dates = [pd.Timestamp(t, unit="ms", tz="UTC").date() for t in times]
            calendar = _calendar_of(symbol)
            ns = session_labels(dates, resolution, calendar, week_start_labels=True)
        else:
            ns = [t * 1_000_000 for t in times]
        return bars_frame(symbol, ns, columns)


def _results(page: dict[str, Any], symbol: str, adapter: PolygonAdapter) -> list[dict[str, Any]]:
    results = page.get("results", [])
    if results is None:
        return []
    if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
        snippet = adapter.redact(json.dumps(results, default=str)[:300])
        raise AdapterError(
            f"polygon: {symbol}: 'results' is not a list of aggregates: {snippet}",
            vendor_message=snippet,
            source=adapter.name,
        )
    return results


def _range(start, end, resolution: str) -> tuple[str | int, str | int]:
    """``from`` / ``to`` of the aggregates path: dates for daily and coarser bars, epoch ms intraday."""
    now = pd.Timestamp.now(tz="UTC")
    start = start if start is not None else pd.Timestamp("1970-01-01", tz="UTC")
    end = inclusive_end(end) if end is not None else now
    if resolution in ("1d", "1w", "1M"):
        return start.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d")
    return int(start.value // 1_000_000), int(end.value // 1_000_000)


def _calendar_of(symbol: str) -> str:
    kind = polygon_asset_info(symbol)["asset_class"]
    return {"crypto_spot": "24/7", "forex": "24/5"}.get(kind, "XNYS")


def polygon_asset_info(symbol: str) -> dict[str, Any]:
    """Asset fields implied by a Polygon ticker (``X:BTCUSD`` -> crypto BTC/USD, ``O:...`` -> an option...)."""
    if symbol.startswith("X:"):
        pair = symbol[2:]
        quote = next((q for q in _QUOTES if pair.endswith(q) and len(pair) > len(q)), "")
        return {"asset_class": "crypto_spot", "base": pair[: len(pair) - len(quote)] if quote else pair, "quote": quote}
    if symbol.startswith("C:"):
        pair = symbol[2:]
        return {"asset_class": "forex", "base": pair[:3], "quote": pair[3:]}
    match = _OPTION.match(symbol)
    if match:
        expiry = pd.Timestamp(f"20{match['expiry'][:2]}-{match['expiry'][2:4]}-{match['expiry'][4:]}")
        return {
            "asset_class": "option",
            "underlying": match["root"],
            "expiration_date": expiry.date().isoformat(),
            "right": "call" if match["right"] == "C" else "put",
            "strike": int(match["strike"]) / 1000,
            "multiplier": 100.0,
        }
    return {"asset_class": "equity"}
