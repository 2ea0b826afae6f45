"""Yahoo Finance bars through yfinance: stocks, ETFs and indices, from one-minute to monthly bars.

Source
    Yahoo's chart API, ``https://query2.finance.yahoo.com/v8/finance/chart/<symbol>`` with ``period1``,
    ``period2``, ``interval``, ``includePrePost`` and ``events`` (the request ``yfinance.Ticker.history``
    makes). The HTTP session is yfinance's (``curl_cffi`` with browser impersonation) unless one is passed;
    the JSON is read with yfinance's own parsers (``yfinance.utils.parse_quotes`` / ``parse_actions``).
    The request itself is made here rather than through ``Ticker.history`` because that call hides what this
    adapter must see: the HTTP status (401 vs 404 vs malformed), ``Retry-After`` on 429, and it runs through a
    process-wide session singleton with its own retries and an in-memory cache that replays failed
    responses for past ranges.

Raw prices
    Yahoo returns OHLC, volume and dividend amounts **adjusted for every split up to the day of the request**
    (yfinance's docs: with ``auto_adjust=False`` one gets "Yahoo's OHLC as returned (already split-adjusted)";
    only ``adjclose``, never used here, adds dividends). The catalog stores raw prices and applies splits and
    dividends itself, point-in-time. So the adapter undoes Yahoo's split adjustment: it learns every split
    from the start of the range to today (the events of the bar request plus, when the range ends in the
    past, one small monthly request for the events after it) and multiplies each price and dividend by the
    product of the split factors after its session (volumes are divided). The product carries Yahoo's float
    rounding (Yahoo's values are float32), so reconstructed values are rounded to the fewest decimals within
    that precision (2**-22 relative): 23.056428909301758 x 28 is stored as 645.57. Values no split touched
    are kept exactly as Yahoo sent them (shortest ``repr`` of the float).

Timestamps
    Daily, weekly and monthly bars: the session date (the week's or month's first day for 1w/1M) in the
    exchange's time zone, at midnight UTC. Intraday bars: the bar's open time in UTC; regular hours only.

Limits (Yahoo's, see yfinance's ``history`` and price-repair code)
    1m: the last 30 days, at most 7 days per request (fetched in 7-day pieces); 5m/15m/30m: the last 60 days;
    1h: the last 730 days; 1d/1w/1M: the whole history. 30m bars are built from 15m bars, as yfinance does
    (Yahoo returns 60m bars for ``interval=30m``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import quote

import pandas as pd
import polars as pl

from rustybt.data.adapters import _yahoo
from rustybt.data.adapters.base import ADJUSTMENT_SCHEMA, AdapterMetadata
from rustybt.data.adapters.network import NetworkAdapter, TransientError
from rustybt.data.adapters.settings import NetworkSettings
from rustybt.errors import AdapterError, InvalidArgument

__all__ = ["INTRADAY_LIMITS", "YFinanceAdapter", "YFinanceSettings"]

log = logging.getLogger(__name__)

CHART_URL = "https://query2.finance.yahoo.com/v8/finance/chart/{symbol}"
_BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class IntradayLimit:
    """How far back Yahoo serves an intraday resolution and how much one request may span."""

    interval: str  # Yahoo's ``interval`` parameter
    lookback: timedelta
    per_request: timedelta


#: Yahoo's intraday limits (yfinance: ``history(period="max")`` and ``_reconstruct_intervals_batch``).
INTRADAY_LIMITS: dict[str, IntradayLimit] = {
    "1m": IntradayLimit("1m", timedelta(days=30), timedelta(days=7)),
    "5m": IntradayLimit("5m", timedelta(days=60), timedelta(days=60)),
    "15m": IntradayLimit("15m", timedelta(days=60), timedelta(days=60)),
    "30m": IntradayLimit("15m", timedelta(days=60), timedelta(days=60)),  # 15m resampled, like yfinance
    "1h": IntradayLimit("1h", timedelta(days=730), timedelta(days=730)),
}
_COARSE_INTERVALS = {"1d": "1d", "1w": "1wk", "1M": "1mo"}


@dataclass(frozen=True, kw_only=True)
class YFinanceSettings(NetworkSettings):
    """Parameters of :class:`YFinanceAdapter` (stored with a registered bundle)."""

    concurrency: int = 4


class YFinanceAdapter(NetworkAdapter):
    """Stocks, ETFs and indices from Yahoo Finance (registry name ``"yfinance"``).

    Parameters
    ----------
    session
        A ``requests.Session`` or ``curl_cffi`` session to send the requests with (tests pass a
        ``requests.Session`` served by ``responses``); default: yfinance's own session factory.
    rate_limit
        Requests per second; default ``adapters.yfinance.rate_limit`` from the config file, else 2.
    max_retries, backoff_base, backoff_max, concurrency, config
        See :class:`~rustybt.data.adapters.network.NetworkAdapter`.
    timeout
        Seconds to wait for one HTTP response.

    The parameters other than ``session`` and ``config`` are the fields of :class:`YFinanceSettings`.

    Notes
    -----
    Prices are stored raw (Yahoo's split adjustment undone, see the module docstring);
    :meth:`adjustments` reports the splits (ratio ``1/7`` for a 7-for-1 split) and cash dividends (raw
    amount, ratio left to the catalog) inside the fetched ranges.
    """

    name: ClassVar[str] = "yfinance"
    asset_class: ClassVar[str] = "equity"
    supported_resolutions: ClassVar[tuple[str, ...]] = ("1d", "1w", "1M", "1m", "5m", "15m", "30m", "1h")
    default_rate_limit: ClassVar[float] = 2.0
    settings_class: ClassVar[type[NetworkSettings]] = YFinanceSettings
    auth_hint: ClassVar[str] = (
        "Yahoo needs no account for chart data, so this is usually a blocked client: upgrade yfinance/curl_cffi "
        "or pass another session"
    )
    symbol_hint: ClassVar[str] = "check the spelling in Yahoo's form, e.g. BRK-B, ^GSPC, VOD.L"

    def __init__(self, *, session: Any = None, config=None, **params: Any) -> None:
        super().__init__(config=config, **params)
        self._session = session
        self._lock = threading.Lock()
        self._events: dict[str, pl.DataFrame] = {}
        self._meta: dict[str, dict[str, Any]] = {}

    # --- what the source is ---------------------------------------------------------------------------
    @property
    def metadata(self) -> AdapterMetadata:
        return AdapterMetadata(
            source="Yahoo Finance (chart API, via yfinance)",
            api_version="v8/finance/chart",
            delay="delayed (up to 15-20 min intraday); daily bars final after the close",
            requires_auth=False,
        )

    def asset_info(self, symbol: str) -> dict[str, Any]:
        """Asset class plus what Yahoo's chart metadata says: exchange, name, currency, instrument type."""
        info: dict[str, Any] = {"asset_class": self.asset_class}
        meta = self._meta.get(symbol)
        if meta:
            info["exchange"] = meta.get("exchangeName") or ""
            name = meta.get("longName") or meta.get("shortName")
            if name:
                info["asset_name"] = name
            for key, field in (("currency", "currency"), ("instrumentType", "instrument_type")):
                if meta.get(key):
                    info[field] = meta[key]
            if meta.get("exchangeTimezoneName"):
                info["exchange_timezone"] = meta["exchangeTimezoneName"]
        return info

    def adjustments(self, symbols: Sequence[str] | None = None) -> pl.DataFrame:
        """Splits and dividends inside the ranges this adapter fetched, in ``ADJUSTMENT_SCHEMA``.

        A split of s-for-1 (Yahoo's ``numerator/denominator``) has ratio ``1/s``; a dividend has its raw cash
        amount per share and a null ratio (the catalog derives it from the previous close). Symbols this
        adapter has not fetched have none.
        """
        with self._lock:
            names = list(self._events) if symbols is None else [s for s in symbols if s in self._events]
            frames = [self._events[s] for s in names]
        if not frames:
            return pl.DataFrame(schema=ADJUSTMENT_SCHEMA)
        return pl.concat(frames).sort(["symbol", "effective_date", "kind"])

    # --- fetching ------------------------------------------------------------------------------------------
    async def _fetch_symbol(self, symbol: str, start, end, resolution: str) -> pl.DataFrame:
        now = pd.Timestamp.now(tz="UTC")
        limit = INTRADAY_LIMITS.get(resolution)
        if limit is not None:
            start, end = self._intraday_range(symbol, start, end, resolution, limit, now)
            if start > end:  # a start in the future: nothing to ask for
                self._warn_empty(symbol, resolution, start, end, None)
                return _yahoo.empty_frame()
            pieces = _yahoo.split_range(start, end, limit.per_request)
            step = pd.Timedelta(_yahoo.resolution_seconds(resolution), unit="s")
            # period2 one bar past the last wanted open, so that bar is included
            requests = [(_yahoo.epoch_seconds(a), _yahoo.epoch_seconds(b + step), limit.interval) for a, b in pieces]
        else:
            first = (start - _DAY) if start is not None else now - pd.Timedelta(days=99 * 365)
            last = (end + 2 * _DAY) if end is not None else now + _DAY
            requests = [(_yahoo.epoch_seconds(first), _yahoo.epoch_seconds(last), _COARSE_INTERVALS[resolution])]

        charts = await asyncio.gather(*(self._chart(symbol, p1, p2, interval) for p1, p2, interval in requests))
        if limit is not None:
            charts = [_yahoo.regular_hours(c) for c in charts]
        last_period2 = max(p2 for _, p2, _ in requests)
        chart = _yahoo.merge_charts(charts)
        if chart.epoch_s.size == 0:
            self._warn_empty(symbol, resolution, start, end, chart.meta.get("_vendor_note"))
            self._remember(symbol, chart.meta, [])
            return _yahoo.empty_frame()

        splits = list(chart.splits)
        if last_period2 < _yahoo.epoch_seconds(now - _DAY):
            # The bars are split-adjusted up to today: learn the splits between the range and today.
            tail = await self._chart(symbol, last_period2, _yahoo.epoch_seconds(now), "1mo")
            splits += tail.splits
        tz = _yahoo.exchange_tz(chart.meta, symbol)
        frame, events = _yahoo.build_frame(symbol, chart, splits, tz, resolution, start, end)
        if frame.height == 0:
            self._warn_empty(symbol, resolution, start, end, None)
        self._remember(symbol, chart.meta, events)
        return frame

    @staticmethod
    def _warn_empty(symbol, resolution, start, end, vendor) -> None:
        said = f" (Yahoo: {vendor})" if vendor else ""
        log.warning(
            "yfinance: no %s bars for %s between %s and %s%s", resolution, symbol, start or "-", end or "-", said
        )

    def _intraday_range(self, symbol, start, end, resolution, limit: IntradayLimit, now):
        oldest = now - pd.Timedelta(limit.lookback)
        end = now if end is None or end > now else end
        if start is None:
            start = min(oldest + pd.Timedelta(hours=1), end)
        first_asked = min(start, end)
        if first_asked < oldest:
            per_request = (
                f", at most {limit.per_request.days} days per request" if limit.per_request < limit.lookback else ""
            )
            raise InvalidArgument(
                f"yfinance: Yahoo serves {resolution} bars only for the last {limit.lookback.days} days"
                f"{per_request}; {symbol} was asked from {first_asked:%Y-%m-%d %H:%M} UTC, before "
                f"{oldest:%Y-%m-%d %H:%M} UTC. Use a later start_date or a coarser resolution "
                "(5m/15m/30m: 60 days, 1h: 730 days, 1d: the whole history)."
            )
        return start, end

    async def _chart(self, symbol: str, period1: int, period2: int, interval: str) -> _yahoo.Chart:
        params = {
            "period1": str(period1),
            "period2": str(period2),
            "interval": interval,
            "includePrePost": "false",
            "events": "div,splits",
        }
        payload = await self.request(lambda: asyncio.to_thread(self._get_chart, symbol, params))
        return _yahoo.parse_chart(symbol, payload)

    def _get_chart(self, symbol: str, params: dict[str, str]) -> dict[str, Any]:
        """One blocking GET of the chart endpoint; the ``result[0]`` object or a classified error."""
        session = self._get_session()
        url = CHART_URL.format(symbol=quote(symbol.strip().upper(), safe="^=-."))
        headers = {}
        agent = str(getattr(session, "headers", {}).get("User-Agent", ""))
        if agent.startswith("python-requests"):  # Yahoo answers 429 to the default requests agent
            headers["User-Agent"] = _BROWSER_UA
        try:
            response = session.get(url, params=params, timeout=self.timeout, headers=headers or None)
        except OSError as exc:  # requests' and curl_cffi's errors are OSErrors
            raise TransientError(f"yfinance: request for {symbol} failed: {exc}", source=self.name) from exc
        return self._check_response(symbol, response)

    def _check_response(self, symbol: str, response) -> dict[str, Any]:
        """The ``chart.result[0]`` object of an answer, or its error (HTTP ones through :meth:`http_error`)."""
        status = int(response.status_code)
        text = response.text or ""
        try:
            payload = response.json()
        except ValueError:
            payload = None
        vendor = _vendor_message(payload, text)
        where = f"yfinance: {symbol}"
        chart = payload.get("chart") if isinstance(payload, dict) else None
        error = chart.get("error") if isinstance(chart, dict) else None
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        if vendor.startswith("Data doesn't exist for startDate"):
            # Yahoo's answer for a range without bars (HTTP 400): an empty range, not a bad request
            return {"meta": {"_vendor_note": vendor}}
        if status in (400, 422) or code in ("Bad Request", "Unprocessable Entity"):
            raise InvalidArgument(f"{where}: Yahoo rejected the request (HTTP {status}): {vendor}")
        if code == "Not Found" and status < 400:
            status = 404
        if status >= 400:
            raise self.http_error(status, vendor, response.headers, what=symbol, symbol=symbol)
        if error:
            raise AdapterError(f"{where}: Yahoo reported an error: {vendor}", vendor_message=vendor, source=self.name)
        result = chart.get("result") if isinstance(chart, dict) else None
        if not isinstance(result, list) or not result or not isinstance(result[0], dict):
            raise AdapterError(
                f"{where}: Yahoo's answer is not chart data (expected chart.result[0]): {vendor}",
                vendor_message=vendor,
                source=self.name,
            )
        return result[0]

    def _get_session(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = _default_session()
        return self._session

    def _remember(self, symbol: str, meta: dict[str, Any], events: list[dict[str, Any]]) -> None:
        frame = pl.DataFrame(events, schema=ADJUSTMENT_SCHEMA) if events else pl.DataFrame(schema=ADJUSTMENT_SCHEMA)
        with self._lock:
            self._meta[symbol] = meta
            self._events[symbol] = frame


# --- HTTP ------------------------------------------------------------------------------------------------


def _default_session():
    """yfinance's default session (curl_cffi impersonating a browser)."""
    try:
        from yfinance._http import new_session  # yfinance >= 1.0
    except ImportError:  # pragma: no cover - older yfinance
        from curl_cffi import requests as curl_requests

        return curl_requests.Session(impersonate="chrome")
    return new_session()


def _vendor_message(payload: Any, text: str) -> str:
    """Yahoo's own words: ``chart.error`` or ``finance.error`` description, else the start of the body."""
    if isinstance(payload, dict):
        for key in ("chart", "finance"):
            block = payload.get(key)
            if isinstance(block, dict) and isinstance(block.get("error"), dict):
                err = block["error"]
                return str(err.get("description") or err.get("code") or err)
    return " ".join(text.split())[:300]
