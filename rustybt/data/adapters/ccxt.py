"""Crypto exchanges through ccxt: OHLCV bars of spot and perpetual markets from any exchange ccxt supports.

    >>> from rustybt.data.adapters import CCXTAdapter                                  # doctest: +SKIP
    >>> adapter = CCXTAdapter("binance", market_type="swap")                           # doctest: +SKIP
    >>> adapter.fetch_sync(["BTC/USDT:USDT"], "2024-01-01", "2024-01-31", "1h")       # doctest: +SKIP

How it works
    The adapter drives an exchange object of ``ccxt.async_support`` (built from ``exchange_id``, or given ready
    made as ``exchange=``). Markets are loaded once (``load_markets``); each symbol is fetched with
    ``fetch_ohlcv(symbol, timeframe, since, limit)`` page after page, ``since`` moving to one millisecond after
    the last bar received, until the end of the range, an empty page, or the present. Symbols are fetched
    concurrently (``concurrency``), every request passing our limiter and ccxt's own throttle.

Symbols
    ccxt unified symbols: ``BTC/USDT`` (spot), ``BTC/USDT:USDT`` (linear perpetual settled in USDT),
    ``BTC/USD:BTC`` (inverse perpetual). The exchange's own ids (``BTCUSDT``) and, for ``market_type="swap"``,
    ``BTC/USDT`` (read as the perpetual settled in the quote currency, else in the base) are accepted too. The
    catalog stores the symbol as you wrote it; the asset records the unified symbol (``ccxt_symbol``), the
    exchange's id (``exchange_symbol``), ``base``, ``quote`` and, for perpetuals, ``settle`` and
    ``contract_size``. An unknown symbol raises :class:`~rustybt.errors.SymbolNotFound` naming close matches.

Resolutions
    ``1m 5m 15m 30m 1h 2h 4h 1d 1w 1M``, those the exchange lists in ``exchange.timeframes``. Bars are labelled
    by their open time in UTC; daily, weekly and monthly bars by their day at midnight UTC. The bar still
    forming is left out (``drop_incomplete=True``): the next incremental update fetches it complete.

Dates
    Naive dates and timestamps are UTC. ``start_date`` None means the exchange's first bar (``since=0``);
    ``end_date`` None means now. An end given as a date (midnight) covers that whole day.

Prices
    ccxt turns the exchange's decimal strings into floats (17 significant digits at most); the adapter takes
    each value from the exchange's raw candle instead (the string ccxt parsed), so the catalog stores exactly
    the number the exchange sent, however many digits. Values an exchange sends as JSON numbers are written as
    their shortest round-trip decimal (what ``repr`` prints: ``"42283.58"``, ``"0.00001"``).

Rate limits, retries, errors
    ccxt's own throttle stays on (``enableRateLimit``) and our limiter runs at the lower of the configured rate
    (``rate_limit=`` or ``adapters.ccxt.rate_limit``) and the exchange's (``1000 / exchange.rateLimit``
    requests per second). ccxt errors are mapped: ``AuthenticationError`` -> :class:`AuthenticationError` (never
    retried), ``RateLimitExceeded`` / ``DDoSProtection`` -> :class:`RateLimitError` (retried after the
    exchange's ``Retry-After``, else with exponential backoff), ``NetworkError`` / ``RequestTimeout`` /
    ``ExchangeNotAvailable`` -> :class:`TransientError` (retried), ``BadSymbol`` -> :class:`SymbolNotFound`,
    anything else -> :class:`AdapterError` with the exchange's message. A payload ccxt cannot read (HTML, a
    truncated candle) is an :class:`AdapterError` naming the candle, never silently "no data".

Credentials
    Public market data needs none. Keys, when an exchange wants them, come from the environment
    (``CCXT_<EXCHANGE>_API_KEY``, ``CCXT_<EXCHANGE>_SECRET``, ``CCXT_<EXCHANGE>_PASSWORD``) or the config file
    (``adapters.ccxt.<exchange>.api_key`` / ``secret`` / ``password``); they are never stored with a bundle,
    logged, or shown in ``repr``.

Importing this module does not import ccxt; building an adapter does (about two seconds, once per process).
"""

from __future__ import annotations

import asyncio
import difflib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import pandas as pd
import polars as pl

from rustybt.data.adapters import _ccxt_wire as wire
from rustybt.data.adapters._vendor import inclusive_end, reset_at
from rustybt.data.adapters.base import AdapterMetadata
from rustybt.data.adapters.network import NetworkAdapter, TransientError
from rustybt.data.adapters.settings import NetworkSettings
from rustybt.data.resolution import RESOLUTIONS, parse_resolution
from rustybt.errors import AdapterError, AuthenticationError, InvalidArgument, RateLimitError, SymbolNotFound

__all__ = ["MARKET_TYPES", "CCXTAdapter", "CCXTSettings"]

log = logging.getLogger(__name__)

#: Market types the adapter reads -> the asset class recorded in the catalog.
MARKET_TYPES: dict[str, str] = {"spot": "crypto_spot", "swap": "crypto_perpetual"}
_MARKET_TYPE_ALIASES = {"perpetual": "swap", "perp": "swap", "perpetuals": "swap"}
#: Keys of ``exchange_config`` that hold credentials: refused, they come from the environment or the config file.
_CREDENTIAL_KEYS = ("apikey", "secret", "password", "uid", "privatekey", "walletaddress", "token", "login", "twofa")
_CREDENTIAL_FIELDS = (
    ("API_KEY", "api_key", "apiKey"),
    ("SECRET", "secret", "secret"),
    ("PASSWORD", "password", "password"),
)


@dataclass(frozen=True, kw_only=True)
class CCXTSettings(NetworkSettings):
    """Parameters of :class:`CCXTAdapter` (stored with a registered bundle; never credentials)."""

    aliases: ClassVar = {"limit": "page_size", "timeout_ms": ("timeout", lambda ms: ms / 1000)}

    exchange_id: str = "binance"
    market_type: str = "spot"
    page_size: int | None = None
    timeout: float | None = None  # ccxt's own default (10 s)
    exchange_config: dict[str, Any] | None = None
    drop_incomplete: bool = True


# --- the adapter --------------------------------------------------------------------------------------------


class CCXTAdapter(NetworkAdapter):
    """OHLCV bars from a crypto exchange through ccxt (see the module docstring).

    Parameters
    ----------
    exchange_id
        A ccxt exchange id (``ccxt.exchanges``): ``"binance"``, ``"kraken"``, ``"okx"``... Ignored when
        ``exchange`` is an exchange object.
    market_type
        ``"spot"`` (asset class ``crypto_spot``) or ``"swap"`` (perpetuals, ``crypto_perpetual``).
    rate_limit
        Requests per second; default ``adapters.ccxt.rate_limit``; never above the exchange's own limit.
    page_size
        Candles per request; default the exchange's maximum as ccxt knows it (former name ``limit``).
    max_retries, backoff_base, backoff_max
        Attempts for a transient error or a rate limit (including the first), and the exponential backoff.
    concurrency
        Symbols fetched at once.
    timeout
        ccxt request timeout in seconds (default ccxt's, 10 s; former name ``timeout_ms``, in milliseconds).
    exchange_config
        Extra ccxt constructor settings (``{"options": {...}}``, ``"hostname"``...), stored with the bundle;
        credentials are refused here.
    drop_incomplete
        Leave out the bar still forming at the time of the request.
    exchange
        A ready ``ccxt.async_support`` exchange object (with your own settings or preloaded markets) instead of
        building one; a string is taken as ``exchange_id``.
    config
        A resolved :class:`~rustybt.config.Config`.

    The parameters other than ``exchange`` and ``config`` are the fields of :class:`CCXTSettings`.
    """

    name: ClassVar[str] = "ccxt"
    settings_class: ClassVar[type[NetworkSettings]] = CCXTSettings
    asset_class: ClassVar[str] = "crypto_spot"
    supported_resolutions: ClassVar[tuple[str, ...]] = RESOLUTIONS
    default_rate_limit: ClassVar[float] = 10.0
    #: Calendar of bundles fed by this adapter (``rustybt.data.bundles.register`` uses it).
    default_calendar: ClassVar[str] = "24/7"

    def __init__(self, exchange_id: str = "binance", *, exchange: Any = None, config=None, **params: Any) -> None:
        if isinstance(exchange, str):
            exchange_id, exchange = exchange, None
        if exchange is not None:
            given = getattr(exchange, "id", None)
            if not given or not hasattr(exchange, "fetch_ohlcv"):
                raise InvalidArgument(f"ccxt: exchange must be a ccxt.async_support exchange object, got {exchange!r}")
            if exchange_id not in ("binance", given):
                raise InvalidArgument(f"ccxt: exchange_id={exchange_id!r} but the exchange object is {given!r}")
            exchange_id = given
        if not isinstance(exchange_id, str) or not exchange_id.strip():
            raise InvalidArgument(
                f"ccxt: exchange_id must be a ccxt exchange id such as 'binance', got {exchange_id!r}"
            )
        kind = str(params.get("market_type", "spot")).strip().lower()
        kind = _MARKET_TYPE_ALIASES.get(kind, kind)
        if kind not in MARKET_TYPES:
            raise InvalidArgument(
                f"ccxt: market_type must be 'spot' or 'swap' (perpetuals), got {params.get('market_type')!r}"
            )
        params.update(exchange_id=exchange_id.strip().lower(), market_type=kind)
        if "exchange_config" in params:
            params["exchange_config"] = _check_exchange_config(params["exchange_config"]) or None
        super().__init__(config=config, **params)
        limit = self.settings.page_size
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise InvalidArgument(f"ccxt: page_size (candles per request) must be a positive integer, got {limit!r}")
        self.exchange_id = self.settings.exchange_id
        self.market_type = self.settings.market_type
        self.asset_class = MARKET_TYPES[self.market_type]  # type: ignore[misc]  # per instance
        self.page_size = limit
        self.exchange_config = dict(self.settings.exchange_config or {})
        self.drop_incomplete = bool(self.settings.drop_incomplete)
        env_id = re.sub(r"[^A-Z0-9]", "_", self.exchange_id.upper())
        self.api_key_env = tuple(f"CCXT_{env_id}_{suffix}" for suffix, _, _ in _CREDENTIAL_FIELDS)  # type: ignore[misc]
        self.exchange = exchange if exchange is not None else self._build_exchange()
        self.exchange.enableRateLimit = True  # the exchange's own throttle, always
        exchange_ms = float(getattr(self.exchange, "rateLimit", 0) or 0)
        exchange_rps = 1000.0 / exchange_ms if exchange_ms > 0 else None
        configured = self.settings.rate_limit or self.adapter_config.rate_limit
        if configured and exchange_rps:
            self.rate_limit = min(float(configured), exchange_rps)
        else:
            self.rate_limit = float(configured or exchange_rps or self.default_rate_limit)
        if (self.exchange.has or {}).get("fetchOHLCV") is False:
            raise AdapterError(f"ccxt: {self.exchange_id} offers no OHLCV data (has['fetchOHLCV'] is False)")
        timeframes = getattr(self.exchange, "timeframes", None) or {}
        if timeframes:
            self.supported_resolutions = tuple(r for r in RESOLUTIONS if r in timeframes)  # type: ignore[misc]
            if not self.supported_resolutions:
                raise AdapterError(
                    f"ccxt: {self.exchange_id} offers none of the catalog's resolutions; its timeframes are "
                    f"{', '.join(timeframes)}"
                )
        self._resolved: dict[str, dict[str, Any]] = {}
        self._markets_lock: asyncio.Lock | None = None
        # a ccxt async exchange serves one event loop at a time (its session and throttler are bound to it), and
        # every synchronous call runs its own loop: calls from several threads take turns on the exchange
        self._sync_lock = threading.RLock()

    def fetch_sync(
        self,
        symbols: Any,
        start_date: pd.Timestamp | str | None,
        end_date: pd.Timestamp | str | None,
        resolution: str = "1d",
    ) -> pl.DataFrame:
        """Synchronous :meth:`fetch` (thread-safe: concurrent calls on one adapter take turns on its exchange)."""
        with self._sync_lock:
            return super().fetch_sync(symbols, start_date, end_date, resolution)

    # --- construction ------------------------------------------------------------------------------------------
    def _build_exchange(self) -> Any:
        import ccxt
        import ccxt.async_support as ccxt_async

        if self.exchange_id not in ccxt.exchanges:
            close = difflib.get_close_matches(self.exchange_id, ccxt.exchanges, n=5, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else "see ccxt.exchanges for the list"
            raise AdapterError(f"ccxt: unknown exchange id {self.exchange_id!r}; {hint}", source=self.name)
        settings: dict[str, Any] = {"enableRateLimit": True}
        if self.timeout:
            settings["timeout"] = int(self.timeout * 1000)  # ccxt counts milliseconds
        settings.update(self.exchange_config)
        settings.update(self._credentials())
        return getattr(ccxt_async, self.exchange_id)(settings)

    def _credentials(self) -> dict[str, str]:
        """ccxt credential fields from ``CCXT_<EXCHANGE>_*`` or ``adapters.ccxt.<exchange>.*``; never kept on self."""
        section = self.adapter_config.get(self.exchange_id) or {}
        found: dict[str, str] = {}
        for (_, key, field), env in zip(_CREDENTIAL_FIELDS, self.api_key_env, strict=True):
            value = os.environ.get(env) or (section.get(key) if isinstance(section, Mapping) else None)
            if value:
                found[field] = str(value)
        return found

    def secrets(self) -> list[str]:
        """The credentials of this exchange (environment or config file) besides the base class's."""
        extra = list(self._credentials().values())
        exchange = getattr(self, "exchange", None)  # a ready-made exchange object may carry its own keys
        for attr in ("apiKey", "secret", "password", "uid", "privateKey", "token"):
            value = getattr(exchange, attr, None) if exchange is not None else None
            if isinstance(value, str):
                extra.append(value)
        return [*super().secrets(), *(s for s in extra if len(s) >= 4)]

    # --- what the source is -----------------------------------------------------------------------------------
    @property
    def metadata(self) -> AdapterMetadata:
        import ccxt

        # OHLCV is public market data on every exchange ccxt lists
        return AdapterMetadata(
            source=f"ccxt/{self.exchange_id}", api_version=f"ccxt {ccxt.__version__}", delay="real-time"
        )

    # --- event loop and session -------------------------------------------------------------------------------
    async def _session_start(self) -> None:
        await super()._session_start()
        ex = self.exchange
        loop = asyncio.get_running_loop()
        bound = getattr(ex, "asyncio_loop", None)
        if bound is not None and bound is not loop:
            # bound to the loop of an earlier synchronous call (its session was closed by _session_end)
            if getattr(ex, "own_session", True):
                ex.session = None
            ex.asyncio_loop = None
            ex.init_throttler()
        if hasattr(ex, "closed_by_user"):
            ex.closed_by_user = False  # reopened lazily by the next request
        wire.instrument(ex)
        self._markets_lock = asyncio.Lock()

    async def _session_end(self) -> None:
        ex = self.exchange
        if getattr(ex, "session", None) is not None or getattr(ex, "tcp_connector", None) is not None:
            try:
                await ex.close()
            except Exception as exc:  # closing must never hide the result
                log.debug("ccxt: closing the %s session failed: %s", self.exchange_id, exc)

    async def aclose(self) -> None:
        """Close the exchange's HTTP session (after using :meth:`fetch` from your own event loop)."""
        await self.exchange.close()

    async def __aenter__(self) -> CCXTAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- markets and symbols ----------------------------------------------------------------------------------
    async def _ensure_markets(self) -> None:
        ex = self.exchange
        if ex.markets:
            return
        if self._markets_lock is None:
            self._markets_lock = asyncio.Lock()
        async with self._markets_lock:
            if not ex.markets:
                await self.request(partial(self._call, ex.load_markets, "loading markets"))

    async def _call(self, method: Callable[..., Any], what: str, *args: Any) -> tuple[Any, wire.Capture]:
        """``await method(*args)`` with its errors mapped, and what the exchange sent for it."""
        capture = wire.Capture()
        token = wire.CAPTURE.set(capture)
        try:
            return await method(*args), capture
        except Exception as exc:
            raise self._map_error(exc, what, capture) from _cause(exc)
        finally:
            wire.CAPTURE.reset(token)

    def _resolve(self, symbol: str) -> dict[str, Any]:
        """The ccxt market of ``symbol`` (unified symbol, exchange id, or a perpetual written as its pair)."""
        ex = self.exchange
        markets: Mapping[str, Any] = ex.markets or {}
        candidates = [symbol, symbol.upper()]
        if self.market_type == "swap" and ":" not in symbol and "/" in symbol:
            base, quote = symbol.upper().split("/", 1)
            candidates += [f"{base}/{quote}:{quote}", f"{base}/{quote}:{base}"]
        for candidate in candidates:
            market = markets.get(candidate)
            if market is not None and self._is_wanted(market):
                return market
        by_id = getattr(ex, "markets_by_id", None) or {}
        for key in (symbol, symbol.upper()):
            found = by_id.get(key) or []
            for market in found if isinstance(found, list) else [found]:
                if self._is_wanted(market):
                    return market
        other = next((markets[c] for c in candidates if c in markets), None)
        if other is not None:
            raise SymbolNotFound(
                f"ccxt {self.exchange_id}: {symbol} is a {other.get('type')} market and this adapter reads "
                f"{self.market_type} markets; use CCXTAdapter({self.exchange_id!r}, "
                f"market_type={other.get('type')!r})"
            )
        pool = [s for s, m in markets.items() if self._is_wanted(m)]
        close = difflib.get_close_matches(symbol.upper(), pool, n=5, cutoff=0.5)
        hint = f"close matches: {', '.join(close)}" if close else f"{len(pool)} {self.market_type} markets are listed"
        raise SymbolNotFound(
            f"ccxt {self.exchange_id}: unknown {self.market_type} symbol {symbol!r}; {hint}. "
            "Use ccxt unified symbols such as BTC/USDT (spot) or BTC/USDT:USDT (perpetual)."
        )

    def _is_wanted(self, market: Mapping[str, Any]) -> bool:
        return bool(market.get(self.market_type)) or market.get("type") == self.market_type

    def asset_info(self, symbol: str) -> dict[str, Any]:
        """Asset record fields for ``symbol``: class, exchange, base, quote, settle and contract size."""
        info: dict[str, Any] = {"asset_class": self.asset_class, "exchange": self.exchange_id}
        market = self._resolved.get(symbol)
        if market is None:
            return info
        info.update(
            base=market.get("base"),
            quote=market.get("quote"),
            ccxt_symbol=market.get("symbol"),
            exchange_symbol=market.get("id"),
            asset_name=f"{market.get('symbol')} ({self.exchange_id} {self.market_type})",
        )
        if market.get("settle"):
            info["settle"] = market.get("settle")
        if market.get("contract"):
            size = market.get("contractSize")
            info["contract_size"] = float(size) if size is not None else 1.0
        return info

    # --- fetching ------------------------------------------------------------------------------------------
    async def _fetch_symbol(self, symbol: str, start, end, resolution: str) -> pl.DataFrame:
        await self._ensure_markets()
        market = self._resolve(symbol)
        self._resolved[symbol] = market
        timeframe = resolution  # the catalog's names are ccxt's unified timeframes
        now = pd.Timestamp.now(tz="UTC")
        end = now if end is None else _inclusive_end(end, resolution)
        since = wire.ms(start) if start is not None else 0
        end_ms, now_ms = wire.ms(end), wire.ms(now)
        step_ms = int(self.exchange.parse_timeframe(timeframe) * 1000)
        limit = self._page_limit(market)
        rows: list[list[Any]] = []
        pages = 0
        while since <= end_ms:
            what = f"{symbol} {timeframe} bars from {wire.iso(since)}"
            if pages:
                what += f" (page {pages + 1}; the {len(rows)} bar(s) of the earlier pages are discarded)"
            page = await self.request(
                partial(self._call_page, market, timeframe, since, limit, what)  # type: ignore[arg-type]
            )
            pages += 1
            if not page:
                break
            last = max(row[0] for row in page)
            rows.extend(row for row in page if row[0] <= end_ms)
            if last >= end_ms or last + step_ms > now_ms or last < since:
                break
            since = last + 1
        log.debug("ccxt %s: %s %s: %d bar(s) in %d request(s)", self.exchange_id, symbol, timeframe, len(rows), pages)
        return wire.bars_frame(rows, symbol, resolution, now if self.drop_incomplete else None)

    async def _call_page(self, market: Mapping[str, Any], timeframe: str, since: int, limit, what: str) -> list:
        rows, capture = await self._call(self.exchange.fetch_ohlcv, what, market["symbol"], timeframe, since, limit)
        self._check_page(rows, capture, market, what)
        return wire.exact_rows(self.exchange, market, rows, capture.raw)

    def _page_limit(self, market: Mapping[str, Any]) -> int | None:
        if self.page_size is not None:
            return self.page_size
        features = getattr(self.exchange, "features", None) or {}
        section = features.get(market.get("type") or self.market_type) or {}
        if market.get("contract"):
            section = section.get("linear" if market.get("linear") else "inverse") or section
        limit = ((section or {}).get("fetchOHLCV") or {}).get("limit")
        return int(limit) if isinstance(limit, int | float) and limit > 0 else None

    def _check_page(self, rows: Any, capture: wire.Capture, market: Mapping[str, Any], what: str) -> None:
        """Refuse a response ccxt could not read (it would otherwise look like an empty range)."""
        problem = None
        raw = capture.raw
        if not isinstance(rows, list):
            problem = f"ccxt returned {type(rows).__name__}, not a list of candles"
        elif capture.parsed and raw is not None:
            if isinstance(raw, str | bytes):
                problem = "the response is not a JSON list of candles"
            else:
                items = list(raw.values()) if isinstance(raw, dict) else raw if isinstance(raw, list | tuple) else None
                if items is None:
                    problem = f"the response holds a {type(raw).__name__}, not a list of candles"
                else:
                    problem = next(
                        (f"candle {i} {bad}" for i, item in enumerate(items) if (bad := wire.shape_problem(item))),
                        None,
                    )
                if problem is None and items and len(rows) < len(items):  # ccxt dropped some: were they broken?
                    for i, item in enumerate(items):
                        bad = wire.candle_problem(self.exchange, item, market)
                        if bad:
                            problem = f"candle {i} {bad}"
                            break
        if problem is None:
            for i, row in enumerate(rows):
                if not isinstance(row, list | tuple) or len(row) < 6 or not isinstance(row[0], int):
                    problem = f"candle {i} parsed as {row!r}"
                    break
        if problem is not None:
            body = f"; the response began {capture.body[:200]!r}" if capture.body else ""
            raise AdapterError(
                f"ccxt {self.exchange_id}: malformed OHLCV response for {what}: {problem} (expected "
                f"[time, open, high, low, close, volume] per candle){body}. The exchange's API may have changed: "
                "try updating ccxt, or report it with this message.",
                vendor_message=capture.body[:500] if capture.body else None,
                source=self.name,
            )

    def _map_error(self, exc: BaseException, what: str, capture: wire.Capture) -> Exception:
        """Our error for a ccxt (or unexpected) exception; credentials are redacted from every message."""
        import ccxt

        message = self.redact(str(exc)).strip()
        where = f"ccxt {self.exchange_id}: {what}"
        kind = type(exc).__name__
        if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
            reset = reset_at(capture.headers)
            wait = f"; it asks to wait until {reset.isoformat()}" if reset is not None else ""
            return RateLimitError(
                f"{where}: the exchange's rate limit was hit ({kind}: {message}){wait}. Lower "
                "adapters.ccxt.rate_limit or concurrency if this keeps happening.",
                reset_at=reset,
                vendor_message=message,
                source=self.name,
            )
        if isinstance(exc, ccxt.AuthenticationError):
            return AuthenticationError(
                f"{where}: the exchange refused the credentials ({kind}: {message}). Public market data needs "
                f"no key; check {self.api_key_env[0]} / {self.api_key_env[1]} or adapters.ccxt.{self.exchange_id} "
                "in ~/.rustybt/config.yaml.",
                vendor_message=message,
                source=self.name,
            )
        if isinstance(exc, ccxt.BadSymbol):
            return SymbolNotFound(f"{where}: the exchange does not know this symbol ({kind}: {message})")
        if isinstance(exc, ccxt.NetworkError):
            return TransientError(f"{where}: {kind}: {message}", vendor_message=message, source=self.name)
        if isinstance(exc, ccxt.BaseError):
            return AdapterError(f"{where}: {kind}: {message}", vendor_message=message, source=self.name)
        return AdapterError(f"{where}: unexpected {kind} from ccxt: {message}", source=self.name)


# --- helpers -----------------------------------------------------------------------------------------------


def _cause(exc: BaseException) -> BaseException | None:
    """Chain unexpected exceptions (bugs) for their traceback; ccxt's own are replaced (their text may hold keys)."""
    import ccxt

    return None if isinstance(exc, ccxt.BaseError) else exc


def _check_exchange_config(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    out = dict(settings or {})

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                flat = re.sub(r"[^a-z0-9]", "", str(key).lower())
                if any(marker in flat for marker in _CREDENTIAL_KEYS):
                    raise InvalidArgument(
                        f"ccxt: exchange_config{path}[{key!r}] looks like a credential; credentials are never stored "
                        "with a bundle: set CCXT_<EXCHANGE>_API_KEY / _SECRET / _PASSWORD or "
                        "adapters.ccxt.<exchange>.api_key / secret / password in ~/.rustybt/config.yaml"
                    )
                walk(inner, f"{path}[{key!r}]")

    walk(out, "")
    try:
        json.dumps(out)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"ccxt: exchange_config must be JSON-safe (it is stored with the bundle): {exc}"
        ) from None
    return out


def _inclusive_end(end: pd.Timestamp, resolution: str) -> pd.Timestamp:
    """An end given as a date covers that whole day for intraday bars (a daily bar opens at midnight: a later end
    would only cost one more, empty, page)."""
    return inclusive_end(end) if parse_resolution(resolution).is_intraday else end
