"""Shared machinery of adapters that talk to a vendor over the network.

Every network adapter gets, from this one class:

* input checks: known resolution, start <= end, non-empty unique symbols, naive timestamps taken as UTC;
* ``RUSTYBT_OFFLINE=1``: refuse any network access with a clear error (notebooks and tests set it);
* rate limiting from config (``adapters.<name>.rate_limit`` requests/s) plus optional per-minute and per-day
  quotas: one token bucket (:mod:`rustybt.data.adapters._limiter`) per adapter, or per vendor and API key,
  held across ``fetch``, ``fetch_sync``, loops of calls, event loops and threads;
* retries with exponential backoff and jitter (:mod:`tenacity`) on transient errors only (network errors, 5xx,
  429 with its ``Retry-After``), never on authentication or unknown-symbol errors;
* concurrency across symbols bounded by the limiter, per-symbol errors kept apart (``iter_bars``);
* per-symbol start dates (``iter_bars(..., starts=...)``), which the catalog uses for incremental updates;
* credentials from the environment or the config file, never in ``repr`` or stored parameters, and never in
  a log record of ours or of the client libraries (:mod:`rustybt.data.adapters._redact`);
* parameters as one frozen settings dataclass (:class:`~rustybt.data.adapters.settings.NetworkSettings` and a
  subclass per vendor), so ``to_config()`` is the settings as a dict;
* one mapping of HTTP answers onto the error hierarchy (:meth:`NetworkAdapter.http_error`): 401/403
  authentication, 429 rate limit (with the vendor's ``Retry-After``), unknown symbol, 5xx and no answer
  transient, anything else refused.

Subclasses implement :meth:`_fetch_symbol` (one symbol, one range, already paginated by the subclass or with
:meth:`paginate`) returning the adapter frame (``timestamp``, ``symbol``, ``open high low close volume``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import pandas as pd
import polars as pl
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from rustybt._utils import to_utc
from rustybt.config import AdapterConfig, env_flag, load_config
from rustybt.data.adapters._limiter import Limits, credential_scope, shared_limits
from rustybt.data.adapters._redact import protect
from rustybt.data.adapters._vendor import reset_at, vendor_message
from rustybt.data.adapters.base import BarAdapter, SymbolBars, run_sync
from rustybt.data.adapters.settings import NetworkSettings
from rustybt.data.resolution import parse_resolution
from rustybt.data.schema import ADAPTER_COLUMNS, TIMESTAMP_DTYPE
from rustybt.errors import (
    AdapterError,
    AuthenticationError,
    InvalidArgument,
    QuotaExceeded,
    RateLimitError,
    ResolutionError,
    SymbolNotFound,
)

__all__ = ["NetworkAdapter", "TransientError", "is_offline"]

log = logging.getLogger(__name__)


class TransientError(AdapterError):
    """A failure worth retrying: connection reset, timeout, HTTP 5xx."""


def is_offline() -> bool:
    """True when the ``RUSTYBT_OFFLINE`` switch is on (:func:`rustybt.config.env_flag`: 1/true/yes/on)."""
    return bool(env_flag("RUSTYBT_OFFLINE"))


def _utc_or_none(value: pd.Timestamp | str | None, what: str) -> pd.Timestamp | None:
    """``value`` in UTC (naive values are UTC), None kept; ``what`` names the argument in errors."""
    return None if value is None else to_utc(value, what)


class NetworkAdapter(BarAdapter):
    """Base of vendor adapters (see the module docstring).

    Parameters
    ----------
    settings
        The adapter's settings (:attr:`settings_class`); or give its fields as keywords (``rate_limit=``,
        ``max_retries=``, ``concurrency=``, ``timeout=``... see
        :class:`~rustybt.data.adapters.settings.NetworkSettings`). Keywords may use former parameter names; a
        quota not given comes from the config file, else the vendor's free plan. A settings object is taken as
        it is, quotas included.
    config
        A resolved :class:`~rustybt.config.Config` (default: :func:`~rustybt.config.load_config`).
    """

    settings_class: ClassVar[type[NetworkSettings]] = NetworkSettings
    default_rate_limit: ClassVar[float] = 5.0
    requests_per_minute: ClassVar[int | None] = None
    requests_per_day: ClassVar[int | None] = None
    api_key_env: ClassVar[tuple[str, ...]] = ()  # environment variables holding credentials, in order
    #: Appended to an authentication error: what to check (the environment variables, the plan).
    auth_hint: ClassVar[str] = ""
    #: HTTP statuses by which the vendor says it does not know a symbol.
    unknown_symbol_statuses: ClassVar[frozenset[int]] = frozenset({404})
    #: Appended to an unknown-symbol error: how the vendor spells symbols.
    symbol_hint: ClassVar[str] = ""

    def __init__(self, settings: NetworkSettings | None = None, *, config=None, **params: Any) -> None:
        self._config = config
        if settings is None:
            params = dict(params)
            for quota in ("requests_per_minute", "requests_per_day"):  # not given: config file, else the vendor's
                if quota not in params:
                    params[quota] = self.adapter_config.get(quota, getattr(type(self), quota))
            settings = self.settings_class.create(self.name, params)
        elif params:
            raise InvalidArgument(f"{self.name}: pass settings= or keyword parameters, not both")
        self.settings = settings
        self.rate_limit = float(settings.rate_limit or self.adapter_config.rate_limit or self.default_rate_limit)
        self.max_retries = settings.max_retries
        self.concurrency = settings.concurrency
        self.backoff_base = settings.backoff_base
        self.backoff_max = settings.backoff_max
        self.timeout = settings.timeout
        self.requests_per_minute = int(settings.requests_per_minute) if settings.requests_per_minute else None  # type: ignore[misc]
        self.requests_per_day = int(settings.requests_per_day) if settings.requests_per_day else None  # type: ignore[misc]
        self._limits: Limits | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.requests_made = 0
        self._fetched: dict[str, tuple[pd.Timestamp | None, pd.Timestamp | None]] = {}

    # --- configuration and credentials ---------------------------------------------------------------------
    def to_config(self) -> dict[str, Any]:
        """The settings as a JSON-safe dict (never credentials: settings hold none)."""
        return self.settings.to_dict()

    @classmethod
    def from_config(cls, params: Mapping[str, Any]) -> NetworkAdapter:
        """Rebuild from :meth:`to_config` output (former parameter names are accepted)."""
        return cls(**params)

    @property
    def adapter_config(self) -> AdapterConfig:
        """This adapter's section of the config file."""
        if self._config is None:
            self._config = load_config()
        return self._config.adapter(self.name)

    def credential(self, env: str, key: str) -> str:
        """A credential from environment variable ``env``, else config key ``adapters.<name>.<key>``.

        Raises
        ------
        AuthenticationError
            Neither is set: raised before any request is made.
        """
        value = os.environ.get(env) or self.adapter_config.get(key)
        if not value:
            raise AuthenticationError(
                f"{self.name}: no API credential; set the environment variable {env} or "
                f"adapters.{self.name}.{key} in ~/.rustybt/config.yaml",
                source=self.name,
            )
        return str(value)

    def secrets(self) -> list[str]:
        """Every configured credential of this adapter (environment and config file), for redaction and for
        the rate-limit scope; never stored or shown."""
        found = [os.environ.get(e) for e in self.api_key_env]
        found += [
            str(v)
            for k, v in self.adapter_config.options.items()
            if any(m in k.lower() for m in ("key", "secret", "token", "password")) and isinstance(v, str | int)
        ]
        return [s for s in found if s and len(s) >= 4]

    def redact(self, text: str) -> str:
        """``text`` with every configured credential replaced by ``***`` (for logs and error messages)."""
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text

    @property
    def limits(self) -> Limits:
        """The rate bucket and quotas every request of this adapter waits for (see :mod:`._limiter`).

        Shared by every call, event loop and thread using this adapter, and by every adapter of the same vendor
        with the same credentials and limits (vendors count requests per key); built on first use, when the
        credentials are known.
        """
        if self._limits is None:
            scope = credential_scope(self.secrets())  # None (no key): this adapter's own budget
            rate = max(float(self.rate_limit), 1e-9)
            self._limits = shared_limits(self.name, scope, rate, self.requests_per_minute, self.requests_per_day)
        return self._limits

    # --- errors ----------------------------------------------------------------------------------------------
    def http_error(
        self, status: int | None, body: Any, headers: Any = None, *, what: str, symbol: str | None = None
    ) -> AdapterError:
        """The error for a failed HTTP answer: one mapping for every vendor.

        401/403 -> :class:`AuthenticationError` (never retried, with :attr:`auth_hint`); 429 ->
        :class:`RateLimitError` with the vendor's ``Retry-After`` / ``X-RateLimit-Reset``; a status of
        :attr:`unknown_symbol_statuses` (see :meth:`_is_unknown_symbol`) -> :class:`SymbolNotFound`; no answer,
        5xx or 499 -> :class:`TransientError` (retried); anything else -> :class:`AdapterError`. The message names
        the adapter, ``what`` was asked, the status and the vendor's own words (credentials redacted).
        """
        message = self.redact(vendor_message(body))
        where = f"{self.name}: {what}: HTTP {status}" if status else f"{self.name}: {what}"
        if status in (401, 403):
            hint = f"; {self.auth_hint}" if self.auth_hint else ""
            return AuthenticationError(
                f"{where}: the credentials were refused ({message}){hint}", vendor_message=message, source=self.name
            )
        if status == 429:
            when = reset_at(headers)
            return RateLimitError(
                f"{where}: rate limit hit ({message})" + (f"; retry after {when}" if when is not None else ""),
                reset_at=when,
                vendor_message=message,
                source=self.name,
            )
        if status is not None and self._is_unknown_symbol(status, message):
            hint = f"; {self.symbol_hint}" if self.symbol_hint else ""
            return SymbolNotFound(f"{where}: unknown symbol {symbol or what!r} ({message}){hint}")
        if status is None or status >= 500 or status == 499:
            return TransientError(f"{where}: server error ({message})", vendor_message=message, source=self.name)
        return AdapterError(f"{where}: request refused ({message})", vendor_message=message, source=self.name)

    def _is_unknown_symbol(self, status: int, message: str) -> bool:
        """Whether an answer with ``status`` and the vendor's ``message`` says the symbol is unknown."""
        return status in self.unknown_symbol_statuses

    # --- request plumbing ----------------------------------------------------------------------------------
    def check_online(self) -> None:
        """Raise :class:`AdapterError` when ``RUSTYBT_OFFLINE`` is set."""
        if is_offline():
            raise AdapterError(
                f"{self.name}: network access is disabled (RUSTYBT_OFFLINE=1); unset it to fetch from the vendor, "
                "or ingest from files with the CSV adapter",
                source=self.name,
            )

    async def request(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run one vendor request under the rate limiter, quotas and the retry policy."""
        self.check_online()
        protect(self.secrets())  # before the client library logs anything about this request
        limits = self.limits

        async def attempt() -> Any:
            await limits.acquire()
            self.requests_made += 1
            return await call()

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, TransientError | RateLimitError)),
            reraise=True,
        )
        async for attempt_ctx in retrying:
            with attempt_ctx:
                return await attempt()
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, retry_state) -> float:
        """Exponential backoff with full jitter; a rate limit's reset time wins when the vendor gave one."""
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RateLimitError) and exc.reset_at is not None:
            delay = (pd.Timestamp(exc.reset_at) - pd.Timestamp.now(tz="UTC")).total_seconds()
            return float(min(max(delay, 0.0), self.backoff_max))
        cap = min(self.backoff_max, self.backoff_base * 2 ** (retry_state.attempt_number - 1))
        return random.uniform(0, cap)

    @staticmethod
    async def paginate(
        first_start: int, end: int, page: Callable[[int], Awaitable[list[Any]]], next_start: Callable[[list[Any]], int]
    ) -> list[Any]:
        """Call ``page(start)`` until ``start > end`` or a page comes back empty; return all rows."""
        rows: list[Any] = []
        start = first_start
        while start <= end:
            chunk = await page(start)
            if not chunk:
                break
            rows.extend(chunk)
            following = next_start(chunk)
            if following <= start:  # the vendor did not advance: stop rather than loop forever
                break
            start = following
        return rows

    # --- fetching ------------------------------------------------------------------------------------------
    def _check_request(
        self, symbols, start_date, end_date, resolution
    ) -> tuple[list[str], pd.Timestamp | None, pd.Timestamp | None, str]:
        res = parse_resolution(resolution).name
        if res not in self.supported_resolutions:
            raise ResolutionError(
                f"{self.name} does not serve {res} bars; supported: {', '.join(self.supported_resolutions)}"
            )
        if isinstance(symbols, str):
            symbols = [symbols]
        names = [str(s).strip() for s in (symbols or [])]
        if not names or any(not s for s in names):
            raise InvalidArgument(f"{self.name}: give at least one non-empty symbol")
        dupes = sorted({s for s in names if names.count(s) > 1})
        if dupes:
            raise InvalidArgument(f"{self.name}: duplicated symbol(s) {', '.join(dupes)}")
        start = _utc_or_none(start_date, "start_date")
        end = _utc_or_none(end_date, "end_date")
        if start is not None and end is not None and start > end:
            raise InvalidArgument(f"{self.name}: start_date {start} is after end_date {end}")
        return names, start, end, res

    async def fetch(self, symbols, start_date, end_date, resolution="1d") -> pl.DataFrame:
        """Bars for every symbol; the first failing symbol's error is raised (use ``iter_bars`` to keep going)."""
        names, start, end, res = self._check_request(symbols, start_date, end_date, resolution)
        self.check_online()
        await self._session_start()
        frames = await asyncio.gather(*(self._bounded(s, start, end, res) for s in names))
        return _concat(frames)

    async def _session_start(self) -> None:
        """Prepare for requests on the running event loop.

        The concurrency semaphore is bound to the loop that first waits on it; a synchronous call runs its own
        loop (``asyncio.run``), so it is rebuilt whenever the loop changes. The rate limits are not loop-bound
        and are never rebuilt: they hold across calls. Subclasses whose client holds loop-bound state (an HTTP
        session) extend this and :meth:`_session_end`.
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop = loop
            self._semaphore = None

    async def _session_end(self) -> None:
        """Release loop-bound resources at the end of a synchronous call (its event loop is about to close)."""

    async def _in_session(self, coro: Awaitable[Any]) -> Any:
        try:
            return await coro
        finally:
            await self._session_end()

    async def _bounded(self, symbol: str, start, end, res: str) -> pl.DataFrame:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        self._remember_range(symbol, start, end)
        async with self._semaphore:
            try:
                frame = await self._fetch_symbol(symbol, start, end, res)
            except (AuthenticationError, SymbolNotFound, QuotaExceeded, RateLimitError, InvalidArgument):
                raise
            except AdapterError as exc:
                raise type(exc)(self.redact(str(exc)), vendor_message=exc.vendor_message, source=self.name) from None
        return normalize_frame(frame, symbol)

    def iter_bars(
        self,
        symbols,
        start_date,
        end_date,
        resolution="1d",
        n_workers=1,
        *,
        starts: Mapping[str, pd.Timestamp | str] | None = None,
    ) -> Iterator[SymbolBars]:
        """One :class:`SymbolBars` per symbol; a failing symbol carries its error and the others are kept.

        ``starts`` maps symbols to their own start (used instead of ``start_date`` for those symbols): the
        catalog passes it to fetch only the bars after what a bundle already stores. A symbol whose start lies
        after ``end_date`` gets an empty frame without a request.
        """
        names, start, end, res = self._check_request(symbols, start_date, end_date, resolution)
        own_start = {str(s).strip(): _utc_or_none(v, f"starts[{s!r}]") for s, v in (starts or {}).items()}
        self.check_online()
        self.concurrency = max(self.concurrency, n_workers or 1)

        async def run() -> list[SymbolBars]:
            await self._session_start()
            self._semaphore = asyncio.Semaphore(self.concurrency)

            async def one(sym: str) -> SymbolBars:
                first = own_start.get(sym, start)
                try:
                    if first is not None and end is not None and first > end:
                        return SymbolBars(sym, bars=normalize_frame(pl.DataFrame(), sym))
                    return SymbolBars(sym, bars=await self._bounded(sym, first, end, res), info=self.asset_info(sym))
                except Exception as exc:  # reported per symbol, never lost
                    return SymbolBars(sym, error=exc)

            return list(await asyncio.gather(*(one(s) for s in names)))

        yield from run_sync(self._in_session(run()))

    # --- corporate actions -----------------------------------------------------------------------------------
    def _remember_range(self, symbol: str, start: pd.Timestamp | None, end: pd.Timestamp | None) -> None:
        """Widen the range of ``symbol`` whose corporate actions :meth:`adjustments` reports (None: open)."""
        old = self._fetched.get(symbol)
        if old is not None:
            start = None if start is None or old[0] is None else min(start, old[0])
            end = None if end is None or old[1] is None else max(end, old[1])
        self._fetched[symbol] = (start, end)

    def adjustments(self, symbols: Sequence[str] | None = None) -> pl.DataFrame:
        """Splits and cash dividends of ``symbols`` (default: every symbol fetched) from the vendor, in
        :data:`~rustybt.data.adapters.base.ADJUSTMENT_SCHEMA`, within the ranges fetched (the catalog's ingest
        calls this after fetching bars and stores them as the bundle's adjustments).

        Each request passes the same rate limiter, quotas and retries as the bar requests. Adapters whose
        vendor has no corporate actions (or with ``corporate_actions=False``) report none.
        """
        from rustybt.data.adapters._actions import actions_frame

        names = list(self._fetched) if symbols is None else [str(s) for s in symbols]
        if not names or not getattr(self.settings, "corporate_actions", False):
            return actions_frame([], {})
        ranges = {}
        for name in names:
            start, end = self._fetched.get(name, (None, None))
            ranges[name] = (
                start.date() if start is not None else None,
                end.date() if end is not None else None,
            )
        self.check_online()

        async def run() -> pl.DataFrame:
            await self._session_start()
            return actions_frame(await self._corporate_actions(ranges), ranges)

        return run_sync(self._in_session(run()))

    async def _corporate_actions(self, ranges: Mapping[str, tuple[Any, Any]]) -> list[Any]:
        """Rows ``(symbol, kind, day, ratio, amount)`` for ``ranges`` (symbol -> first, last day); none here."""
        return []

    def asset_info(self, symbol: str) -> dict[str, Any]:
        """Asset metadata recorded in the catalog for ``symbol`` (asset class, exchange...)."""
        return {"asset_class": self.asset_class}

    async def _fetch_symbol(self, symbol: str, start, end, resolution: str) -> pl.DataFrame:  # pragma: no cover
        raise NotImplementedError

    def fetch_sync(self, symbols, start_date, end_date, resolution="1d") -> pl.DataFrame:
        """:meth:`fetch` from synchronous code, also inside a running notebook event loop."""
        return run_sync(self._in_session(self.fetch(symbols, start_date, end_date, resolution)))


def normalize_frame(frame: pl.DataFrame, symbol: str) -> pl.DataFrame:
    """The adapter frame for one symbol: canonical columns, UTC ns timestamps, symbol filled in."""
    if frame.height == 0:
        return pl.DataFrame(
            schema={"timestamp": TIMESTAMP_DTYPE, "symbol": pl.String, **dict.fromkeys(ADAPTER_COLUMNS[2:], pl.String)}
        )
    if "symbol" not in frame.columns:
        frame = frame.with_columns(pl.lit(symbol).alias("symbol"))
    return frame.with_columns(pl.col("timestamp").cast(TIMESTAMP_DTYPE)).select(ADAPTER_COLUMNS)


def _concat(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    nonempty = [f for f in frames if f.height]
    return pl.concat(nonempty, how="vertical_relaxed") if nonempty else frames[0]
