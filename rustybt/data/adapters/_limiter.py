"""Request rate limits that hold across event loops, threads and separate calls.

:mod:`aiolimiter` binds its waiters to one event loop, and every synchronous call (``fetch_sync``, a notebook
loop of single-symbol calls) runs its own loop, so a limiter rebuilt per call never limits anything. Here a
limit is a plain token bucket under a thread lock with ``time.monotonic``: a caller *reserves* the next slot and
then sleeps until it, with ``asyncio.sleep`` (:meth:`TokenBucket.acquire`) or ``time.sleep``
(:meth:`TokenBucket.acquire_sync`). No state is bound to a loop, so one bucket serves every loop and thread.

:func:`shared_limits` hands out one :class:`Limits` (rate bucket plus request quotas) per scope: the vendor, a
digest of the credentials (vendors count requests per key) and the limits themselves. Adapters of one vendor
with the same key and limits therefore share one budget; an adapter without credentials has its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from rustybt.errors import QuotaExceeded

__all__ = ["Limits", "Quota", "TokenBucket", "credential_scope", "shared_limits"]


class TokenBucket:
    """At most ``rate`` requests per second on average, bursts of at most ``burst`` requests.

    With the default burst of one, ``n`` requests take at least ``(n - 1) / rate`` seconds, however they are
    spread over calls, event loops and threads.
    """

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self.rate = float(rate)
        self.capacity = max(1.0, float(burst))
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next slot; seconds until it may be used (0: now). The slot is taken even if unused."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        """Wait (without blocking the event loop) until a request may be sent."""
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    def acquire_sync(self) -> None:
        """Block the calling thread until a request may be sent."""
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)


class Quota:
    """A fixed-window request quota (per minute or per day): waits for a minute quota, fails on a day quota."""

    def __init__(self, limit: int, period_s: float, name: str, wait: bool) -> None:
        self.limit, self.period_s, self.name, self.wait = limit, period_s, name, wait
        self._window_start = time.monotonic()
        self._used = 0
        self._lock = threading.Lock()  # never held across an await or a sleep

    def _take(self) -> float:
        """0 when a request was counted, else the seconds until the window resets (or QuotaExceeded)."""
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= self.period_s:
                self._window_start, self._used = now, 0
            if self._used < self.limit:
                self._used += 1
                return 0.0
            reset_in = self.period_s - (now - self._window_start)
        if not self.wait:
            reset = pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=reset_in)
            raise QuotaExceeded(f"{self.name}: quota of {self.limit} requests used up; resets at {reset}")
        return max(reset_in, 1e-3)

    async def acquire(self) -> None:
        while (wait := self._take()) > 0:
            await asyncio.sleep(wait)

    def acquire_sync(self) -> None:
        while (wait := self._take()) > 0:
            time.sleep(wait)


@dataclass
class Limits:
    """Everything one request waits for: the quotas, then the rate bucket."""

    bucket: TokenBucket
    quotas: list[Quota] = field(default_factory=list)

    async def acquire(self) -> None:
        for quota in self.quotas:
            await quota.acquire()
        await self.bucket.acquire()

    def acquire_sync(self) -> None:
        for quota in self.quotas:
            quota.acquire_sync()
        self.bucket.acquire_sync()


_SHARED: dict[tuple, Limits] = {}
_SHARED_LOCK = threading.Lock()


def credential_scope(secrets: Iterable[str | None]) -> str | None:
    """A digest naming a set of credentials (never the credentials), or None when there are none."""
    values = sorted({s for s in secrets if s})
    if not values:
        return None
    return hashlib.sha256("\0".join(values).encode()).hexdigest()[:16]


def shared_limits(
    vendor: str, scope: object, rate: float, per_minute: int | None = None, per_day: int | None = None
) -> Limits:
    """The :class:`Limits` of ``(vendor, scope, rate, per_minute, per_day)``, created on first use.

    ``scope`` is :func:`credential_scope` of the adapter's credentials; None gives new, unshared limits (an
    adapter without credentials has its own budget).
    """

    def build() -> Limits:
        quotas = []
        if per_minute:
            quotas.append(Quota(int(per_minute), 60.0, f"{vendor} per-minute", wait=True))
        if per_day:
            quotas.append(Quota(int(per_day), 86_400.0, f"{vendor} per-day", wait=False))
        return Limits(TokenBucket(rate), quotas)

    if scope is None:
        return build()
    key = (vendor, scope, float(rate), per_minute, per_day)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = build()
        return _SHARED[key]
