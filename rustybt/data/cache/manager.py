"""CacheManager: the memory LRU (:mod:`.memory`) in front of the optional disk cache (:mod:`.disk`)."""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rustybt._utils import format_bytes
from rustybt.config import Config, DataConfig, load_config
from rustybt.data.cache.disk import DiskStore
from rustybt.data.cache.keys import check_key, make_key
from rustybt.data.cache.memory import MemoryLRU, _Entry, _export, _kind, _nbytes, _private, _readonly_view
from rustybt.data.cache.stats import CacheStats
from rustybt.errors import ConfigError

__all__ = ["CacheManager"]

log = logging.getLogger(__name__)

T = TypeVar("T")

MIB = 1024 * 1024
_MISSING: Any = object()


class CacheManager:
    """A thread-safe memory LRU bounded in MiB, with an optional checksummed disk cache behind it.

    Parameters
    ----------
    max_memory_mb
        Bound of the memory cache in MiB (2**20 bytes); may be fractional; 0 keeps nothing in memory.
        Default: ``cache.max_size_mb`` of the config (``RUSTYBT_CACHE_SIZE_MB``).
    disk_cache_path
        Directory of the disk cache; giving one turns the disk cache on. Default: ``cache.disk_cache_dir`` when
        the config enables the disk cache (``cache.disk_cache`` or ``RUSTYBT_CACHE_DIR``), else no disk cache.
    enabled
        False turns the manager into a pass-through (nothing stored, every lookup a miss).
        Default: ``cache.enabled``.
    config
        The configuration to take defaults from; loaded with :func:`rustybt.config.load_config` when needed.
    max_disk_mb
        Optional bound of the disk cache in MiB; least recently read entries are removed first.

    Raises
    ------
    ConfigError
        A negative bound, or a disk cache directory that cannot be created.

    Notes
    -----
    numpy arrays returned by :meth:`get` and :meth:`get_or_compute` are read-only views of the cached copy
    (``arr.flags.writeable`` is False and cannot be set back); call ``arr.copy()`` for a writable array. pandas
    values are returned as copy-on-write copies and polars values as clones: changing them never changes the cache.

    Keys are strings; build them with :meth:`make_key`. All methods may be called from several threads; a
    computation in :meth:`get_or_compute` runs outside the lock, so two threads missing the same key at the same
    time may both compute it (the last ``put`` wins). Several processes may share one disk cache directory.

    Examples
    --------
    >>> cache = CacheManager(max_memory_mb=64)
    >>> key = CacheManager.make_key("quandl", "20240101T000000", "close", "1d", "2020-01-02", "2020-12-31", [1, 2])
    >>> closes = cache.get_or_compute(key, lambda: np.arange(3.0))
    >>> closes.flags.writeable
    False
    """

    def __init__(
        self,
        max_memory_mb: float | None = None,
        disk_cache_path: str | Path | None = None,
        *,
        enabled: bool | None = None,
        config: Config | None = None,
        max_disk_mb: float | None = None,
    ) -> None:
        if config is None and (max_memory_mb is None or disk_cache_path is None or enabled is None):
            config = load_config()
        if enabled is None:
            enabled = config.cache.enabled if config is not None else True
        if max_memory_mb is None:
            max_memory_mb = config.cache.max_size_mb if config is not None else 512
        if disk_cache_path is None and config is not None and config.cache.disk_cache:
            disk_cache_path = config.cache.disk_cache_dir
        max_memory_mb = _check_bound(max_memory_mb, "max_memory_mb")
        if max_disk_mb is not None:
            max_disk_mb = _check_bound(max_disk_mb, "max_disk_mb")

        self.enabled = bool(enabled)
        self.max_memory_bytes = int(max_memory_mb * MIB)
        self.max_disk_bytes = None if max_disk_mb is None else int(max_disk_mb * MIB)
        self.disk_cache_path = Path(disk_cache_path).expanduser() if disk_cache_path is not None else None
        compression = (config.data if config is not None else DataConfig()).compression
        self._disk = (
            DiskStore(self.disk_cache_path, self.max_disk_bytes, compression)
            if self.enabled and self.disk_cache_path is not None
            else None
        )
        if self._disk is not None:
            weakref.finalize(self, self._disk.close)
        self._memory = MemoryLRU(self.max_memory_bytes)
        self._lock = threading.RLock()  # memory and counters
        self._disk_lock = threading.RLock()  # the disk store; the two locks are never held at the same time
        self._generation = 0  # bumped by every change, so a slow disk read never resurrects a replaced entry
        self._hits = self._misses = self._memory_hits = self._disk_hits = 0
        self._evictions = self._disk_evictions = self._corrupt = 0

    # --- keys ----------------------------------------------------------------------------------------------------
    @staticmethod
    def make_key(*parts: Any) -> str:
        """A deterministic hex key for ``parts`` (bundle, ingestion id, field, frequency, dates, sids...).

        Each part adds 16 hex characters, and the key of the first parts is a prefix of the key of all parts, so
        ``invalidate_prefix(make_key(bundle, ingestion))`` drops every entry whose key starts with those parts.
        The key is a SHA-256 chain over a canonical, type-tagged text form of each part, so it is the same in every
        process and Python version (Python's ``hash()`` is salted per process and never used).

        Canonical forms: ``1``, ``1.0``, ``"1"`` and ``True`` all differ; lists, tuples, ranges, numpy arrays,
        pandas Index/Series and polars Series with the same elements are equal; sets and dict items are sorted;
        numpy scalars equal Python scalars; an object with ``__index__`` (an ``Asset``) is its integer (sid);
        datetimes, ``pd.Timestamp``, ``np.datetime64`` and dates are instants in UTC nanoseconds (naive values
        and dates are taken as UTC, so ``date(2020, 1, 2)`` equals ``pd.Timestamp("2020-01-02", tz="UTC")``).

        Parameters
        ----------
        *parts
            At least one part: str, int, float, bool, None, bytes, Decimal, dates and timestamps, timedeltas, Path,
            enums, numpy arrays, pandas Index/Series, polars Series, and lists/tuples/sets/dicts of those.

        Returns
        -------
        str
            ``16 * len(parts)`` lowercase hex characters.

        Raises
        ------
        TypeError
            No parts, or a part of an unsupported type (whose repr might not be stable).
        """
        return make_key(*parts)

    # --- lookups -------------------------------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """The value cached under ``key`` (memory first, then disk, promoting a disk hit into memory), else ``default``.

        A disk entry that fails its checksum is deleted, logged at WARNING and reported as a miss.
        numpy arrays come back read-only (see the class notes).
        """
        check_key(key)
        with self._lock:
            if not self.enabled:
                self._misses += 1
                return default
            entry = self._memory.get(key)
            if entry is not None:
                self._hits += 1
                self._memory_hits += 1
                return _export(entry.kind, entry.value)
            generation = self._generation
        if self._disk is None:
            with self._lock:
                self._misses += 1
            return default
        with self._disk_lock:
            try:
                status, value, kind = self._disk.read(key)
            except (OSError, sqlite3.Error) as exc:  # e.g. the index stayed locked by another process for 30 s
                log.warning(
                    "could not read cache entry %s from %s: %s; treated as a miss", key, self.disk_cache_path, exc
                )
                status, value, kind = "miss", None, ""
        nbytes = _nbytes(kind, value) if status == "hit" else 0
        with self._lock:
            if status != "hit":
                self._misses += 1
                if status == "corrupt":
                    self._corrupt += 1
                return default
            self._hits += 1
            self._disk_hits += 1
            if generation == self._generation:  # nothing was put or invalidated meanwhile
                self._store_in_memory(key, _Entry(value, kind, nbytes))
            return _export(kind, value)

    def get_or_compute(self, key: str, compute: Callable[[], T], *, disk: bool = True) -> T:
        """The cached value for ``key``; on a miss, ``compute()`` it, :meth:`put` it and return it.

        ``compute`` runs without holding the cache's lock, so it may use the cache itself. What is returned on a
        miss is what a later :meth:`get` returns (for numpy arrays, a read-only view of the cached copy).
        """
        found = self.get(key, _MISSING)
        if found is not _MISSING:
            return found
        value = compute()
        return self._put(key, value, disk=disk)

    def __contains__(self, key: object) -> bool:
        """True if ``key`` is in memory or in the disk index (the disk checksum is checked only by :meth:`get`)."""
        if not isinstance(key, str) or not self.enabled:
            return False
        with self._lock:
            if key in self._memory:
                return True
        if self._disk is None:
            return False
        with self._disk_lock:
            return self._disk.contains(key)

    def __len__(self) -> int:
        """Number of distinct keys held in memory or on disk."""
        with self._lock:
            keys = self._memory.keys()
        if self._disk is not None:
            with self._disk_lock:
                keys |= self._disk.keys()
        return len(keys)

    # --- updates -------------------------------------------------------------------------------------------------
    def put(self, key: str, value: Any, *, disk: bool = True) -> None:
        """Cache ``value`` under ``key`` in memory and, when ``disk`` is True and a disk cache exists, on disk.

        Parameters
        ----------
        key
            A string, usually from :meth:`make_key`. An existing entry is replaced everywhere: an older disk entry
            is removed even when the new value is not written to disk.
        value
            A numpy array (not of dtype object), a polars DataFrame/Series or a pandas DataFrame/Series.
            numpy arrays are copied: later changes to ``value`` do not reach the cache.
        disk
            Also write the value to the disk cache. A value that cannot be written (e.g. a pandas frame with
            non-string column names) stays in memory only; that is logged at INFO, I/O errors at WARNING.

        Raises
        ------
        TypeError
            ``key`` is not a string or ``value`` is of a type the cache does not hold.

        Notes
        -----
        A value larger than the whole memory bound is not kept in memory (logged at DEBUG) but still goes to disk.
        """
        self._put(key, value, disk=disk)

    def _put(self, key: str, value: Any, *, disk: bool) -> Any:
        check_key(key)
        kind = _kind(value)
        if not self.enabled:
            return _readonly_view(value) if kind == "numpy" else value
        nbytes = _nbytes(kind, value)
        fits = nbytes <= self.max_memory_bytes
        stored = _private(kind, value) if fits else value
        with self._lock:
            self._generation += 1
            if fits:
                self._store_in_memory(key, _Entry(stored, kind, nbytes))
            else:
                self._memory.drop(key)
                log.debug(
                    "cache entry %s (%d bytes) is larger than the memory bound (%d bytes); not kept in memory",
                    key,
                    nbytes,
                    self.max_memory_bytes,
                )
        if self._disk is not None:
            # Whatever happens, an older disk value under this key must not outlive the new value: it would come
            # back once the new one is evicted from memory.
            evicted = 0
            with self._disk_lock:
                try:
                    if disk:
                        evicted = self._disk.write(key, kind, stored)
                    else:
                        self._disk.delete(key)
                except (OSError, sqlite3.Error) as exc:
                    log.warning("could not write cache entry %s to %s: %s", key, self.disk_cache_path, exc)
                    with contextlib.suppress(OSError, sqlite3.Error):
                        self._disk.delete(key)
            if evicted:
                with self._lock:
                    self._disk_evictions += evicted
        if kind == "numpy" and not fits:
            return _readonly_view(value)
        return _export(kind, stored)

    def invalidate(self, key: str) -> bool:
        """Remove ``key`` from memory and disk. Returns True if it was cached anywhere."""
        check_key(key)
        with self._lock:
            self._generation += 1
            removed = self._memory.drop(key)
        if self._disk is not None:
            with self._disk_lock:
                removed = self._disk.delete(key) or removed
        return removed

    def invalidate_prefix(self, prefix: str) -> int:
        """Remove every key starting with ``prefix`` (e.g. ``make_key(bundle)``) from memory and disk.

        Returns the number of distinct keys removed.
        """
        check_key(prefix)
        with self._lock:
            self._generation += 1
            removed = self._memory.drop_prefix(prefix)
        if self._disk is not None:
            with self._disk_lock:
                removed |= self._disk.delete_prefix(prefix)
        return len(removed)

    def clear(self, disk: bool = True) -> None:
        """Empty the memory cache and, if ``disk`` is True, the disk cache. Counters are kept."""
        with self._lock:
            self._generation += 1
            self._memory.clear()
        if disk and self._disk is not None:
            with self._disk_lock:
                self._disk.clear()

    def close(self) -> None:
        """Release the disk index's database connection (also done when the manager is garbage collected).

        The manager stays usable: the connection reopens on the next disk access.
        """
        if self._disk is not None:
            with self._disk_lock:
                self._disk.close()

    # --- memory bookkeeping (caller holds self._lock) ------------------------------------------------------------
    def _store_in_memory(self, key: str, entry: _Entry) -> None:
        self._evictions += self._memory.store(key, entry)

    # --- display -------------------------------------------------------------------------------------------------
    @property
    def stats(self) -> CacheStats:
        """A snapshot of the counters and sizes (see :class:`CacheStats`)."""
        disk_entries = disk_bytes = 0
        if self._disk is not None:
            with self._disk_lock:
                disk_entries, disk_bytes = self._disk.totals()
        with self._lock:
            return CacheStats(
                hits=self._hits,
                misses=self._misses,
                memory_hits=self._memory_hits,
                disk_hits=self._disk_hits,
                evictions=self._evictions,
                entries=len(self._memory),
                memory_bytes=self._memory.nbytes,
                max_memory_bytes=self.max_memory_bytes,
                disk_entries=disk_entries,
                disk_bytes=disk_bytes,
                corrupt_discarded=self._corrupt,
                max_disk_bytes=self.max_disk_bytes if self._disk is not None else None,
                disk_evictions=self._disk_evictions,
            )

    def __repr__(self) -> str:
        s = self.stats
        disk = ""
        if self._disk is not None:
            disk = f", disk {self.disk_cache_path} ({s.disk_entries} entries, {format_bytes(s.disk_bytes)})"
        return (
            f"CacheManager({'enabled' if self.enabled else 'disabled'}, memory {format_bytes(s.memory_bytes)} / "
            f"{format_bytes(s.max_memory_bytes)} ({s.entries} entries){disk}, hit rate {s.hit_rate:.1%} "
            f"({s.hits} hits, {s.misses} misses), {s.evictions} evictions, {s.corrupt_discarded} corrupt discarded)"
        )

    def _repr_html_(self) -> str:
        from rustybt._html import cache_html

        return cache_html(self)


def _check_bound(value: float, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise ConfigError(f"CacheManager: {name} must be a finite number of MiB >= 0, got {value!r}")
    return number
