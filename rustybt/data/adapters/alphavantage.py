"""Alpha Vantage time series and company fundamentals, over plain ``httpx`` (there is no maintained official SDK).

.. code-block:: python

    from rustybt.data.adapters import AlphaVantageAdapter

    daily = AlphaVantageAdapter().fetch_sync(["IBM"], "2024-01-02", "2024-03-28", "1d")
    fx = AlphaVantageAdapter(asset_class="forex").fetch_sync(["EUR/USD"], "2024-01-02", None, "1d")
    btc = AlphaVantageAdapter(asset_class="crypto").fetch_sync(["BTC/USD"], "2024-01-02", None, "1d")
    fundamentals = AlphaVantageAdapter().company_overview(["IBM", "AAPL"])

Functions used (``https://www.alphavantage.co/query?function=...``):

===========  =====================================================  =========================================
asset class  1m 5m 15m 30m 1h                                       1d / 1w / 1M
===========  =====================================================  =========================================
equity       ``TIME_SERIES_INTRADAY`` (one request per month, with  ``TIME_SERIES_DAILY`` / ``_WEEKLY`` /
             ``month=YYYY-MM``, ``outputsize=full``,                ``_MONTHLY`` (raw, as traded)
             ``adjusted=false``)
forex        ``FX_INTRADAY`` (premium)                              ``FX_DAILY`` / ``FX_WEEKLY`` / ``FX_MONTHLY``
crypto       ``CRYPTO_INTRADAY`` (premium)                          ``DIGITAL_CURRENCY_DAILY`` / ``_WEEKLY`` /
                                                                    ``_MONTHLY``
===========  =====================================================  =========================================

Alpha Vantage answers HTTP 200 to almost everything and puts problems in the body: ``"Error Message"`` (an
unknown symbol, a bad key), ``"Note"`` / ``"Information"`` (rate limits, the daily quota, premium-only
endpoints). Those are mapped onto :class:`~rustybt.errors.SymbolNotFound`, :class:`~rustybt.errors.RateLimitError`
(retried), :class:`~rustybt.errors.QuotaExceeded` (not retried) and :class:`~rustybt.errors.AdapterError`.
The key (``ALPHAVANTAGE_API_KEY`` or ``adapters.alphavantage.api_key``) travels in the query string, so it is
scrubbed from every message, from httpx's request log and never stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd
import polars as pl

from rustybt.data.adapters._redact import protect
from rustybt.data.adapters._vendor import bars_frame, decimal_text, inclusive_end, session_labels, vendor_message
from rustybt.data.adapters.base import AdapterMetadata, run_sync
from rustybt.data.adapters.network import NetworkAdapter, TransientError
from rustybt.data.adapters.settings import NetworkSettings
from rustybt.data.schema import ADAPTER_COLUMNS
from rustybt.errors import (
    AdapterError,
    AuthenticationError,
    InvalidArgument,
    QuotaExceeded,
    RateLimitError,
    SymbolNotFound,
)

__all__ = ["OVERVIEW_FIELDS", "AlphaVantageAdapter", "AlphaVantageSettings"]

log = logging.getLogger(__name__)

BASE_URL = "https://www.alphavantage.co/query"
_INTERVALS = {"1m": "1min", "5m": "5min", "15m": "15min", "30m": "30min", "1h": "60min"}
_PERIOD_FUNCTIONS = {
    "equity": {"1d": "TIME_SERIES_DAILY", "1w": "TIME_SERIES_WEEKLY", "1M": "TIME_SERIES_MONTHLY"},
    "forex": {"1d": "FX_DAILY", "1w": "FX_WEEKLY", "1M": "FX_MONTHLY"},
    "crypto_spot": {
        "1d": "DIGITAL_CURRENCY_DAILY",
        "1w": "DIGITAL_CURRENCY_WEEKLY",
        "1M": "DIGITAL_CURRENCY_MONTHLY",
    },
}
_INTRADAY_FUNCTIONS = {"equity": "TIME_SERIES_INTRADAY", "forex": "FX_INTRADAY", "crypto_spot": "CRYPTO_INTRADAY"}
_CALENDARS = {"equity": "XNYS", "forex": "24/5", "crypto_spot": "24/7"}
_ASSET_CLASSES = {"equity": "equity", "forex": "forex", "crypto": "crypto_spot", "crypto_spot": "crypto_spot"}
#: Words by which Alpha Vantage asks to slow down (a throttle), whatever daily figure the same text quotes.
_THROTTLE_MARKERS = ("spreading out", "more sparingly", "call frequency", "higher api call volume", "burst")
#: Words of its daily-quota answer ("...our standard API rate limit is 25 requests per day...").
_QUOTA_MARKERS = ("rate limit is", "daily rate limit", "requests per day", "calls per day")

#: OVERVIEW field -> column of :meth:`AlphaVantageAdapter.company_overview` (Float64)
OVERVIEW_FIELDS: dict[str, str] = {
    "MarketCapitalization": "market_capitalization",
    "EBITDA": "ebitda",
    "PERatio": "pe_ratio",
    "PEGRatio": "peg_ratio",
    "BookValue": "book_value",
    "DividendPerShare": "dividend_per_share",
    "DividendYield": "dividend_yield",
    "EPS": "eps",
    "RevenuePerShareTTM": "revenue_per_share_ttm",
    "ProfitMargin": "profit_margin",
    "OperatingMarginTTM": "operating_margin_ttm",
    "ReturnOnAssetsTTM": "return_on_assets_ttm",
    "ReturnOnEquityTTM": "return_on_equity_ttm",
    "RevenueTTM": "revenue_ttm",
    "GrossProfitTTM": "gross_profit_ttm",
    "DilutedEPSTTM": "diluted_eps_ttm",
    "QuarterlyEarningsGrowthYOY": "quarterly_earnings_growth_yoy",
    "QuarterlyRevenueGrowthYOY": "quarterly_revenue_growth_yoy",
    "AnalystTargetPrice": "analyst_target_price",
    "TrailingPE": "trailing_pe",
    "ForwardPE": "forward_pe",
    "PriceToSalesRatioTTM": "price_to_sales_ratio_ttm",
    "PriceToBookRatio": "price_to_book_ratio",
    "EVToRevenue": "ev_to_revenue",
    "EVToEBITDA": "ev_to_ebitda",
    "Beta": "beta",
    "52WeekHigh": "week52_high",
    "52WeekLow": "week52_low",
    "50DayMovingAverage": "moving_average_50d",
    "200DayMovingAverage": "moving_average_200d",
    "SharesOutstanding": "shares_outstanding",
}
_OVERVIEW_TEXT = {
    "Name": "name",
    "Exchange": "exchange",
    "Currency": "currency",
    "Sector": "sector",
    "Industry": "industry",
}


@dataclass(frozen=True, kw_only=True)
class AlphaVantageSettings(NetworkSettings):
    """Parameters of :class:`AlphaVantageAdapter` (stored with a registered bundle; never the key)."""

    asset_class: str = "equity"
    extended_hours: bool = False
    outputsize: str = "full"
    corporate_actions: bool = True


class AlphaVantageAdapter(NetworkAdapter):
    """Bars from Alpha Vantage for one asset class per adapter, plus :meth:`company_overview` fundamentals.

    Parameters
    ----------
    asset_class
        ``"equity"`` (symbols like ``IBM``, ``TSCO.LON``), ``"forex"`` (``EUR/USD``) or ``"crypto"``
        (``BTC/USD``: the coin and the market).
    extended_hours
        Intraday equities: include pre- and post-market bars (Alpha Vantage's default is to include them; ours
        is not to, so that bars match the exchange calendar's sessions).
    outputsize
        ``"full"`` (the whole history; for intraday the whole requested month) or ``"compact"`` (the latest
        100 points). Some plans only allow ``compact`` for some functions; the vendor's message says so.
    corporate_actions
        Equities: report splits and cash dividends (functions ``SPLITS`` and ``DIVIDENDS``) from
        :meth:`adjustments`, which the catalog stores as the bundle's adjustments: two more requests per symbol
        at ingest (mind the free key's 25 requests a day; pass False to store raw bars only).
    requests_per_minute, requests_per_day
        Quotas; defaults 5 and 25 (the free key), or ``adapters.alphavantage.requests_per_minute`` /
        ``requests_per_day`` from config. ``None`` disables a quota (premium keys have no daily limit).
    timeout
        Timeout of each request, in seconds.
    **params
        Rate limit, retries, concurrency: see :class:`~rustybt.data.adapters.settings.NetworkSettings`. All
        parameters are the fields of :class:`AlphaVantageSettings` (or pass ``settings=``).
    """

    name: ClassVar[str] = "alphavantage"
    settings_class: ClassVar[type[NetworkSettings]] = AlphaVantageSettings
    supported_resolutions: ClassVar[tuple[str, ...]] = ("1m", "5m", "15m", "30m", "1h", "1d", "1w", "1M")
    default_rate_limit: ClassVar[float] = 1.0  # Alpha Vantage asks free keys to send at most 1 request per second
    requests_per_minute: ClassVar[int | None] = 5
    requests_per_day: ClassVar[int | None] = 25
    api_key_env: ClassVar[tuple[str, ...]] = ("ALPHAVANTAGE_API_KEY",)
    # Alpha Vantage answers an unknown symbol with HTTP 200 and an "Error Message" body (see _raise_in_body)
    unknown_symbol_statuses: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, settings: AlphaVantageSettings | None = None, *, config=None, **params: Any) -> None:
        super().__init__(settings, config=config, **params)
        asset_class, outputsize = self.settings.asset_class, self.settings.outputsize
        if asset_class not in _ASSET_CLASSES:
            raise InvalidArgument(
                f"alphavantage: asset_class must be one of equity, forex, crypto; got {asset_class!r}"
            )
        if outputsize not in ("full", "compact"):
            raise InvalidArgument(f"alphavantage: outputsize must be 'full' or 'compact', got {outputsize!r}")
        self.asset_class = _ASSET_CLASSES[asset_class]  # type: ignore[misc]  (instance value of the ClassVar)
        self.extended_hours = bool(self.settings.extended_hours)
        self.outputsize = outputsize

    # --- description -------------------------------------------------------------------------------------
    @property
    def metadata(self) -> AdapterMetadata:
        return AdapterMetadata(
            source=self.name,
            api_version="query API (www.alphavantage.co/query)",
            delay="end of day for daily series; intraday as the key's plan allows",
            requires_auth=True,
        )

    def asset_info(self, symbol: str) -> dict[str, Any]:
        """Asset class of the adapter; base and quote of a forex or crypto pair."""
        if self.asset_class == "equity":
            return {"asset_class": "equity"}
        base, quote = self._pair(symbol)
        return {"asset_class": self.asset_class, "base": base, "quote": quote}

    # --- requests ----------------------------------------------------------------------------------------
    def _api_key(self) -> str:
        key = self.credential("ALPHAVANTAGE_API_KEY", "api_key")
        protect([key])  # httpx logs every URL, key included, at INFO
        return key

    def _pair(self, symbol: str) -> tuple[str, str]:
        base, sep, quote = symbol.partition("/")
        if not sep or not base or not quote:
            raise InvalidArgument(
                f"alphavantage: {self.asset_class} symbols are pairs like EUR/USD or BTC/USD, got {symbol!r}"
            )
        return base.upper(), quote.upper()

    def _calls(self, symbol: str, start, end, resolution: str) -> list[dict[str, str]]:
        """Query parameters of every request for one symbol and range (one per month for intraday equities)."""
        if resolution in _INTERVALS:
            params = {"function": _INTRADAY_FUNCTIONS[self.asset_class], "interval": _INTERVALS[resolution]}
        else:
            params = {"function": _PERIOD_FUNCTIONS[self.asset_class][resolution]}
        if self.asset_class == "equity":
            params["symbol"] = symbol
        elif self.asset_class == "forex":
            params["from_symbol"], params["to_symbol"] = self._pair(symbol)
        else:
            params["symbol"], params["market"] = self._pair(symbol)
        if not params["function"].startswith("DIGITAL_CURRENCY") and (resolution in _INTERVALS or resolution == "1d"):
            params["outputsize"] = self.outputsize
        params["datatype"] = "json"
        if params["function"] != "TIME_SERIES_INTRADAY":
            return [params]
        params["adjusted"] = "false"
        params["extended_hours"] = "true" if self.extended_hours else "false"
        if start is None:  # the latest 30 days (full) or 100 bars (compact)
            return [params]
        last = end if end is not None else pd.Timestamp.now(tz="UTC")
        months = pd.period_range(start.tz_convert(None).to_period("M"), last.tz_convert(None).to_period("M"), freq="M")
        return [{**params, "month": str(month)} for month in months]

    async def _get(self, http: Any, params: Mapping[str, str], what: str) -> dict[str, Any]:
        """One GET under the limiter, quotas and retries; the JSON body, with in-body errors raised."""
        import httpx

        key = self._api_key()

        async def call() -> dict[str, Any]:
            try:
                response = await http.get(BASE_URL, params={**params, "apikey": key})
            except httpx.TransportError as exc:  # connection errors and timeouts
                raise TransientError(
                    f"alphavantage: {what}: network error: {self.redact(type(exc).__name__ + ': ' + str(exc))}",
                    source=self.name,
                ) from None
            return self._decode(response, what)

        return await self.request(call)

    def _decode(self, response: Any, what: str) -> dict[str, Any]:
        status = response.status_code
        text = response.text
        if status != 200:
            raise self.http_error(status, text, response.headers, what=what)
        message = self.redact(vendor_message(text))
        try:
            payload = response.json()
        except ValueError:
            raise AdapterError(
                f"alphavantage: {what}: the answer is not JSON: {message!r}", vendor_message=message, source=self.name
            ) from None
        if not isinstance(payload, dict):
            raise AdapterError(
                f"alphavantage: {what}: expected a JSON object, got {message!r}",
                vendor_message=message,
                source=self.name,
            )
        self._raise_in_body(payload, what)
        return payload

    def _raise_in_body(self, payload: Mapping[str, Any], what: str) -> None:
        """Alpha Vantage reports errors, rate limits and quotas in a 200 body."""
        error = payload.get("Error Message")
        if isinstance(error, str):
            message = self.redact(error)
            if "apikey" in error.lower().replace(" ", ""):
                raise AuthenticationError(
                    f"alphavantage: {what}: the API key was refused ({message}); check ALPHAVANTAGE_API_KEY",
                    vendor_message=message,
                    source=self.name,
                )
            if "invalid api call" in error.lower():
                raise SymbolNotFound(
                    f"alphavantage: {what}: unknown symbol ({message}); Alpha Vantage gives this answer for symbols "
                    "it does not know (e.g. TSCO.LON needs its exchange suffix)"
                )
            raise AdapterError(f"alphavantage: {what}: {message}", vendor_message=message, source=self.name)
        for key in ("Note", "Information"):
            note = payload.get(key)
            if not isinstance(note, str) or any("Time Series" in k for k in payload):
                continue
            message = self.redact(note)
            lower = note.lower()
            kind, wait = classify_notice(note)
            if kind == "throttle":
                raise RateLimitError(
                    f"alphavantage: {what}: rate limit hit, requests too close together ({message})",
                    reset_at=pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=wait),
                    vendor_message=message,
                    source=self.name,
                )
            if kind == "quota":
                reset = (pd.Timestamp.now(tz="UTC").normalize() + pd.Timedelta(days=1)).isoformat()
                raise QuotaExceeded(
                    f"alphavantage: {what}: the daily request quota is used up ({message}); it resets around {reset}",
                    vendor_message=message,
                    source=self.name,
                )
            raise AdapterError(
                f"alphavantage: {what}: {message}"
                + (
                    " (a premium-only function or parameter for this key; for daily bars outputsize='compact' "
                    "gives the latest 100 bars on a free key)"
                    if "premium" in lower
                    else ""
                ),
                vendor_message=message,
                source=self.name,
            )

    # --- bars --------------------------------------------------------------------------------------------
    async def _fetch_symbol(self, symbol: str, start, end, resolution: str) -> pl.DataFrame:
        import httpx

        if self.asset_class != "equity":
            self._pair(symbol)
        self._api_key()  # a missing key fails here, before any request
        calls = self._calls(symbol, start, end, resolution)
        log.debug("alphavantage: %s %s: %d request(s)", symbol, calls[0]["function"], len(calls))
        times: list[int] = []
        columns: dict[str, list[str]] = {c: [] for c in ADAPTER_COLUMNS[2:]}
        async with httpx.AsyncClient(timeout=self.timeout, headers={"Accept": "application/json"}) as http:
            for params in calls:
                what = f"{symbol} {params['function']}" + (f" {params['month']}" if "month" in params else "")
                payload = await self._get(http, params, what)
                self._parse(payload, symbol, resolution, what, times, columns)
        frame = bars_frame(symbol, times, columns).unique("timestamp", keep="last", maintain_order=True)
        lo = start
        if start is not None and resolution in ("1d", "1w", "1M"):
            # a bar is labelled by its period's first session: keep the period holding the start date
            day = start.normalize()
            if resolution == "1w":
                day -= pd.Timedelta(days=day.weekday())
            elif resolution == "1M":
                day = day.replace(day=1)
            lo = day
        hi = inclusive_end(end)
        if lo is not None:
            frame = frame.filter(pl.col("timestamp") >= lo)
        if hi is not None:
            frame = frame.filter(pl.col("timestamp") <= hi)
        return frame

    def _parse(
        self,
        payload: Mapping[str, Any],
        symbol: str,
        resolution: str,
        what: str,
        times: list[int],
        columns: dict[str, list[str]],
    ) -> None:
        series_key = next((k for k, v in payload.items() if "Time Series" in k and isinstance(v, dict)), None)
        if series_key is None:
            snippet = self.redact(vendor_message(dict(payload)))
            raise AdapterError(
                f"alphavantage: {what}: no time series in the answer: {snippet}",
                vendor_message=snippet,
                source=self.name,
            )
        series: Mapping[str, Any] = payload[series_key]
        meta = payload.get("Meta Data") if isinstance(payload.get("Meta Data"), dict) else {}
        market = self._pair(symbol)[1] if self.asset_class == "crypto_spot" else None
        stamps: list[str] = []
        try:
            for stamp, entry in series.items():
                values = [_field(entry, name, market) for name in ("open", "high", "low", "close")]
                volume = _field(entry, "volume", market, required=self.asset_class == "equity")
                values.append(volume if volume is not None else "0")  # FX series have no volume
                for col, value in zip(ADAPTER_COLUMNS[2:], values, strict=True):
                    columns[col].append(decimal_text(value))
                stamps.append(stamp)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            snippet = self.redact(f"{stamp}: {entry}"[:300])
            raise AdapterError(
                f"alphavantage: {what}: malformed bar {snippet} ({type(exc).__name__}: {exc})",
                vendor_message=snippet,
                source=self.name,
            ) from None
        try:
            if resolution in _INTERVALS:
                tz = next((str(v) for k, v in meta.items() if k.endswith("Time Zone")), None)
                tz = tz or ("US/Eastern" if self.asset_class == "equity" else "UTC")
                local = pd.DatetimeIndex(pd.to_datetime(stamps, format="%Y-%m-%d %H:%M:%S"))
                utc = local.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC").as_unit("ns")
                times.extend(int(v) for v in utc.asi8)
            else:
                dates = [dt.date.fromisoformat(s) for s in stamps]
                times.extend(session_labels(dates, resolution, _CALENDARS[self.asset_class]))
        except (ValueError, TypeError) as exc:
            bad = next((s for s in stamps if not _readable_stamp(s, resolution in _INTERVALS)), None)
            which = f"timestamp key {self.redact(str(bad))!r}" if bad is not None else "timestamps"
            raise AdapterError(
                f"alphavantage: {what}: unreadable {which} in {self.redact(str(series_key))!r} ({exc})",
                vendor_message=str(exc)[:300],
                source=self.name,
            ) from None

    # --- corporate actions -------------------------------------------------------------------------------
    async def _corporate_actions(self, ranges) -> list[Any]:
        """``SPLITS`` (``split_factor``: new shares per old share, 0.1 for a 1-for-10 reverse split) and
        ``DIVIDENDS`` (``amount`` per share on ``ex_dividend_date``) of every equity symbol."""
        import httpx

        from rustybt.data.adapters._actions import day_of, split_ratio

        if self.asset_class != "equity":
            return []
        self._api_key()
        rows: list[Any] = []
        async with httpx.AsyncClient(timeout=self.timeout, headers={"Accept": "application/json"}) as http:
            for symbol in ranges:
                for function in ("SPLITS", "DIVIDENDS"):
                    what = f"{symbol} {function}"
                    payload = await self._get(http, {"function": function, "symbol": symbol}, what)
                    data = payload.get("data", [])
                    if not isinstance(data, list):
                        raise AdapterError(f"alphavantage: {what}: 'data' is not a list", source=self.name)
                    for item in data:
                        try:
                            if function == "SPLITS":
                                ratio = split_ratio(1, item["split_factor"])
                                rows.append((symbol, "split", day_of(item["effective_date"]), ratio, None))
                            elif _float_or_none(item.get("amount")) is not None:
                                amount = float(item["amount"])
                                rows.append((symbol, "dividend", day_of(item["ex_dividend_date"]), None, amount))
                        except (KeyError, TypeError, ValueError) as exc:
                            snippet = self.redact(str(item)[:300])
                            raise AdapterError(
                                f"alphavantage: {what}: malformed entry {snippet} ({type(exc).__name__}: {exc})",
                                vendor_message=snippet,
                                source=self.name,
                            ) from None
        return rows

    # --- fundamentals ------------------------------------------------------------------------------------
    def company_overview(
        self,
        symbols: Sequence[str] | str,
        *,
        sids: Mapping[str, int] | None = None,
        as_of: pd.Timestamp | str | None = None,
        on_error: str = "raise",
    ) -> pl.DataFrame:
        """Company fundamentals (function ``OVERVIEW``), one row per symbol, ready for a Parquet dataset.

        Columns: ``symbol``; ``as_of`` (Date: when the values were known, default today in UTC; the pipeline's
        :class:`~rustybt.pipeline.loaders.parquet.ParquetLoader` shows them from the next session on);
        ``sid`` (Int64, when ``sids`` maps symbols to the bundle's sids); ``latest_quarter`` and
        ``fiscal_year_end``; the text fields ``name exchange currency sector industry``; and every numeric
        field of :data:`OVERVIEW_FIELDS` as Float64 in snake case (``market_capitalization``, ``pe_ratio``,
        ``eps``...), null where Alpha Vantage writes ``None`` or ``-``.

        OVERVIEW is a snapshot of today's values: store one file per fetch date to build a history, and never
        back-date a snapshot (that would leak the future into a backtest).

        Parameters
        ----------
        on_error
            ``"raise"`` (the first failing symbol stops the call) or ``"skip"`` (log it and leave it out).
        """
        if on_error not in ("raise", "skip"):
            raise InvalidArgument(f"alphavantage: on_error must be 'raise' or 'skip', got {on_error!r}")
        names = [symbols] if isinstance(symbols, str) else [str(s).strip() for s in symbols]
        if not names or any(not s for s in names):
            raise InvalidArgument("alphavantage: give at least one non-empty symbol")
        known = pd.Timestamp(as_of).date() if as_of is not None else pd.Timestamp.now(tz="UTC").date()
        self.check_online()
        self._api_key()
        return run_sync(self._in_session(self._overview(names, known, dict(sids or {}), on_error)))

    async def _overview(self, names: list[str], known: dt.date, sids: dict[str, int], on_error: str) -> pl.DataFrame:
        import httpx

        await self._session_start()
        rows: list[dict[str, Any]] = []
        async with httpx.AsyncClient(timeout=self.timeout, headers={"Accept": "application/json"}) as http:
            for symbol in names:
                try:
                    payload = await self._get(http, {"function": "OVERVIEW", "symbol": symbol}, f"{symbol} OVERVIEW")
                    if not payload or "Symbol" not in payload:
                        raise SymbolNotFound(f"alphavantage: {symbol} OVERVIEW: unknown symbol (an empty answer)")
                    rows.append(self._overview_row(symbol, payload, known, sids))
                except Exception as exc:
                    if on_error == "raise" or isinstance(exc, AuthenticationError | QuotaExceeded):
                        raise
                    log.warning("alphavantage: %s: no overview: %s", symbol, exc)
        return _overview_frame(rows, with_sid=bool(sids))

    def _overview_row(self, symbol: str, payload: Mapping[str, Any], known: dt.date, sids: dict[str, int]) -> dict:
        row: dict[str, Any] = {"symbol": symbol, "as_of": known}
        if sids:
            if symbol not in sids:
                raise InvalidArgument(f"alphavantage: no sid given for {symbol!r} in sids")
            row["sid"] = int(sids[symbol])
        for src, dst in (("LatestQuarter", "latest_quarter"),):
            row[dst] = _date_or_none(payload.get(src))
        row["fiscal_year_end"] = _text_or_none(payload.get("FiscalYearEnd"))
        for src, dst in _OVERVIEW_TEXT.items():
            row[dst] = _text_or_none(payload.get(src))
        for src, dst in OVERVIEW_FIELDS.items():
            row[dst] = _float_or_none(payload.get(src))
        return row


def _readable_stamp(stamp: str, intraday: bool) -> bool:
    """Whether ``stamp`` is a time series key of the expected form (``2024-01-02`` or ``2024-01-02 09:35:00``)."""
    try:
        if intraday:
            dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S")
        else:
            dt.date.fromisoformat(stamp)
    except (TypeError, ValueError):
        return False
    return True


def classify_notice(text: str) -> tuple[str, float]:
    """What an Alpha Vantage ``"Note"`` / ``"Information"`` reply means, by its wording, not its numbers.

    Returns ``("throttle", seconds to wait)`` when it asks to spread requests out (its per-second text quotes
    the daily limit too, so a number alone says nothing), ``("quota", 0)`` for the daily quota, ``("other",
    0)`` for anything else (a premium-only endpoint, a notice).
    """
    lower = " ".join(text.lower().split())
    if any(m in lower for m in _THROTTLE_MARKERS):
        per_second = "per second" in lower or "sparingly" in lower or "burst" in lower
        return "throttle", 1.0 if per_second else 60.0
    if any(m in lower for m in _QUOTA_MARKERS):
        return "quota", 0.0
    return "other", 0.0


def _overview_frame(rows: list[dict[str, Any]], with_sid: bool) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"symbol": pl.String(), "as_of": pl.Date()}
    if with_sid:
        schema["sid"] = pl.Int64()
    schema.update({"latest_quarter": pl.Date(), "fiscal_year_end": pl.String()})
    schema.update({name: pl.String() for name in _OVERVIEW_TEXT.values()})
    schema.update({name: pl.Float64() for name in OVERVIEW_FIELDS.values()})
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


_MISSING = {"", "none", "-", "null", "n/a", "nan"}


def _float_or_none(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in _MISSING):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text_or_none(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in _MISSING):
        return None
    return str(value)


def _date_or_none(value: Any) -> dt.date | None:
    text = _text_or_none(value)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


_FIELD = re.compile(r"^\d+[a-z]?\.\s*(?P<name>[a-z ]+?)(?:\s*\((?P<unit>[^)]*)\))?$")


def _field(entry: Mapping[str, Any], name: str, market: str | None, required: bool = True) -> Any:
    """``entry["1. open"]``; for the older digital-currency layout ``entry["1a. open (USD)"]`` in ``market``."""
    fallback = None
    for key, value in entry.items():
        match = _FIELD.match(str(key).strip().lower())
        if not match or match["name"] != name:
            continue
        unit = match["unit"]
        if unit is None or (market is not None and unit.upper() == market):
            return value
        fallback = fallback if fallback is not None else (value if name == "volume" else None)
    if fallback is not None:
        return fallback
    if required:
        raise KeyError(f"no {name!r} field in {sorted(entry)}")
    return None
