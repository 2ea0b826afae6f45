"""Ingestion on a Dask cluster: symbols fetched on the workers, committed once by the catalog from the client.

:func:`ingest` hands :meth:`Catalog.ingest <rustybt.data.catalog.Catalog.ingest>` an adapter whose ``iter_bars``
runs one task per symbol on the cluster; everything after the fetch (validation, Parquet writing, manifest,
checksums, the atomic publish and the metadata commit) is the catalog's own path, run once in the client process.
Requests of network adapters pass a cluster-wide token bucket per vendor and credentials (:class:`ClusterBucket`),
so N workers together keep the vendor's rate, as one process would.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from rustybt.data.adapters.base import BarAdapter, SymbolBars
from rustybt.data.catalog import Catalog, Ingestion

__all__ = ["ClusterAdapter", "ClusterBucket", "ingest"]

log = logging.getLogger(__name__)


class ClusterBucket:
    """A token bucket shared by every process of a Dask cluster: at most ``rate`` requests per second in total.

    The next free slot (a wall-clock time) lives in the scheduler and is read and advanced by one function run on
    the scheduler's event loop (``Client.run_on_scheduler``: atomic); a caller reserves a slot, then sleeps until
    it. Each reservation is one scheduler round trip (about a millisecond on a LAN), small next to vendor rate
    limits (a few requests/s). Workers' clocks are assumed NTP-synchronised (slots are spaced on the scheduler's
    shared value, so a skew of ``d`` seconds can shorten one gap by at most ``d``).
    """

    def __init__(self, name: str, rate: float) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self.name = name
        self.rate = float(rate)

    def reserve_slot(self) -> float:
        """Take the next cluster-wide slot: the wall-clock time (``time.time()``) from which it may be used."""
        from distributed import get_client

        client = get_client()  # the worker's client inside a task, the default client elsewhere
        return client.run_on_scheduler(_reserve_on_scheduler, name=self.name, interval=1.0 / self.rate)

    def reserve(self) -> float:
        """Take the next cluster-wide slot; seconds until it may be used."""
        return max(0.0, self.reserve_slot() - time.time())

    def acquire_sync(self) -> None:
        """Block until a request may be sent."""
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)

    async def acquire(self) -> None:
        """Wait until a request may be sent (the scheduler calls run in a thread, off this event loop)."""
        wait = await asyncio.to_thread(self.reserve)
        if wait > 0:
            await asyncio.sleep(wait)


def _reserve_on_scheduler(dask_scheduler, name: str, interval: float) -> float:
    """On the scheduler (single event loop, so atomic): take bucket ``name``'s next slot, advance it."""
    slots = dask_scheduler.__dict__.setdefault("_rustybt_rate_slots", {})
    now = time.time()
    slot = max(now, slots.get(name, now))
    slots[name] = slot + interval
    return slot


def _share_limits(adapter: BarAdapter) -> None:
    """Route a network adapter's requests through the cluster-wide bucket of its vendor and credentials."""
    if not hasattr(adapter, "_limits") or not hasattr(adapter, "rate_limit"):
        return  # files: nothing to limit
    from rustybt.data.adapters._limiter import Limits, credential_scope

    local = adapter.limits  # this process's quotas (per-minute / per-day) still apply on each worker
    scope = credential_scope(adapter.secrets()) or f"adapter-{id(adapter)}"
    name = f"rustybt-rate-{adapter.name}-{scope}-{float(adapter.rate_limit)}"
    adapter._limits = Limits(ClusterBucket(name, max(float(adapter.rate_limit), 1e-9)), list(local.quotas))


def _fetch_symbol(adapter: BarAdapter, symbol: str, start, end, resolution: str, starts) -> SymbolBars:
    """One symbol on a worker, through the adapter's own ``iter_bars`` (its errors come back as values)."""
    _share_limits(adapter)
    extra = {"starts": starts} if starts is not None else {}
    items = list(adapter.iter_bars([symbol], start, end, resolution, n_workers=1, **extra))
    if len(items) != 1:
        return SymbolBars(symbol, error=RuntimeError(f"{adapter.name}: {len(items)} results for symbol {symbol!r}"))
    return items[0]


def _shippable(adapter: BarAdapter) -> BarAdapter:
    """A shallow copy without the process-local limiter (thread locks do not pickle; workers build their own)."""
    clone = copy.copy(adapter)
    if hasattr(clone, "_limits"):
        clone._limits = None
    return clone


class ClusterAdapter:
    """``adapter`` with its symbols fetched as tasks on a Dask cluster (see :func:`ingest`).

    A proxy, not a subclass: every attribute but ``iter_bars`` is the wrapped adapter's (name, parameters, asset
    class, adjustments, asset metadata), so the catalog stores and validates exactly as for the adapter itself.
    """

    def __new__(cls, adapter: BarAdapter, client, retries: int = 2):
        if cls is ClusterAdapter and "starts" in inspect.signature(adapter.iter_bars).parameters:
            cls = _ClusterAdapterWithStarts  # the catalog offers incremental starts only to adapters that take them
        return object.__new__(cls)

    def __init__(self, adapter: BarAdapter, client, retries: int = 2) -> None:
        self._inner = adapter
        self._client = client
        self._retries = retries

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_inner", "_client", "_retries"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def iter_bars(
        self,
        symbols: Sequence[str] | None,
        start_date: pd.Timestamp | None,
        end_date: pd.Timestamp | None,
        resolution: str = "1d",
        n_workers: int = 1,
    ) -> Iterator[SymbolBars]:
        """One task per symbol on the cluster; results as they finish (the catalog accepts any order)."""
        yield from self._iter(symbols, start_date, end_date, resolution, None)

    def _iter(self, symbols, start_date, end_date, resolution, starts) -> Iterator[SymbolBars]:
        from distributed import as_completed

        names = list(symbols) if symbols is not None else (self._inner.symbols() or [])
        if not names:
            yield from self._inner.iter_bars(names, start_date, end_date, resolution)  # the adapter's own error
            return
        [shipped] = self._client.scatter([_shippable(self._inner)], broadcast=True, hash=False)
        futures = [
            self._client.submit(
                _fetch_symbol,
                shipped,
                sym,
                start_date,
                end_date,
                resolution,
                {sym: starts[sym]} if starts and sym in starts else None,
                retries=self._retries,
                pure=False,
            )
            for sym in names
        ]
        log.info("%s: fetching %d symbol(s) on the cluster", self._inner.name, len(futures))
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # the task itself failed (e.g. a worker lost too often)
                yield SymbolBars(names[futures.index(future)], error=exc)


class _ClusterAdapterWithStarts(ClusterAdapter):
    def iter_bars(self, symbols, start_date, end_date, resolution="1d", n_workers=1, starts=None):
        yield from self._iter(symbols, start_date, end_date, resolution, starts)


def ingest(catalog: Catalog, name: str, *, client, retries: int = 2, **kwargs: Any) -> Ingestion:
    """Ingest bundle ``name`` of ``catalog`` with its symbols fetched on a Dask cluster; commit once, atomically.

    Parameters
    ----------
    catalog, name
        The catalog and the registered bundle.
    client
        A ``distributed.Client``. The workers need the adapter's sources (files on a shared path, or network
        access and the credentials the adapter carries); they never write to the catalog.
    retries
        Times a symbol task that raised is run again (adapter errors are values, not raised; this covers lost
        workers and the like).
    **kwargs
        As :meth:`Catalog.ingest` (``mode``, ``strict``, ``validation``, ``symbols``, ``start_date``,
        ``end_date``, ``progress``, ``adapter``). Validation, writing, the manifest and the atomic publish are the
        catalog's own and run once in this process; on any failure the previous ingestion stays live.
    """
    record = catalog.store.get_bundle(name)
    adapter = kwargs.pop("adapter", None) or catalog._live_adapter(record)
    if adapter is None:
        from rustybt.data.adapters.registry import adapter_from_config

        adapter = adapter_from_config(record.adapter, record.adapter_params)
    return catalog.ingest(name, adapter=ClusterAdapter(adapter, client, retries), **kwargs)
