"""CacheManager: an in-memory LRU bounded in MiB plus an optional, checksummed disk cache.

The data portal and the pipeline loaders cache what they read (history windows, adjusted columns, whole frames)
under deterministic keys built by :meth:`CacheManager.make_key`.

Memory
    An LRU of numpy arrays, polars DataFrames/Series and pandas DataFrames/Series. Sizes are measured exactly
    (``ndarray.nbytes``, ``estimated_size()``, ``memory_usage(deep=True)``) and the sum never exceeds
    ``max_memory_mb`` (MiB, 2**20 bytes): least recently used entries are evicted first, and a value larger than the
    whole bound is not kept in memory at all.

Disk (optional)
    One file per entry under ``<disk_cache_path>/objects/``: Parquet for frames and series, ``.npy`` for arrays
    (written without pickle). Each file is written to a temporary name and moved into place with ``os.replace``;
    its SHA-256 and size are recorded in a SQLite index (``<disk_cache_path>/index.sqlite``), which several processes
    may share. Every read recomputes the checksum: a corrupted, truncated or missing file is discarded, logged at
    WARNING and reported as a miss, so the caller reads the source again. ``max_disk_mb`` optionally bounds the disk
    cache, evicting by last disk access (memory hits do not refresh it).

Values served from the cache are never the caller's own objects:

- numpy arrays are copied on :meth:`~CacheManager.put` and returned as **read-only** views
  (``flags.writeable`` is False and cannot be switched back); call ``.copy()`` to get a writable array;
- pandas objects are stored and returned as shallow copies, which copy-on-write (always on in pandas 3) turns into
  independent values: mutating what you got never changes what the cache holds;
- polars values are stored and returned as clones (cheap: the buffers are shared), so even polars' few in-place
  methods (``insert_column``, ``Series.scatter``...) on what you got do not reach the cache.

Configuration: ``max_memory_mb`` defaults to ``cache.max_size_mb`` (``RUSTYBT_CACHE_SIZE_MB``); the disk cache is
on when ``disk_cache_path`` is given or when the config enables it (``cache.disk_cache``, ``RUSTYBT_CACHE_DIR``);
``cache.enabled: false`` turns the whole cache into a pass-through.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import enum
import hashlib
import html
import io
import json
import logging
import math
import operator
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import polars as pl

from rustybt.config import Config, DataConfig, load_config
from rustybt.errors import ConfigError

__all__ = ["CacheManager", "CacheStats"]

log = logging.getLogger(__name__)

T = TypeVar("T")

MIB = 1024 * 1024
KEY_SEGMENT_HEX = 16  # hex characters contributed by each key part (64 bits)
INDEX_FILE = "index.sqlite"
OBJECTS_DIR = "objects"
INDEX_VERSION = 1
_LEFTOVER_AGE_S = 3600.0  # temp files / unindexed files older than this are removed at start-up
_KEY_DOMAIN = b"rustybt.cache.key/v1"
_SERIES_COLUMN = "__rustybt_series__"
_MISSING: Any = object()

_EXTENSIONS = {
    "numpy": ".npy",
    "polars_frame": ".parquet",
    "polars_series": ".parquet",
    "pandas_frame": ".parquet",
    "pandas_series": ".parquet",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    meta TEXT NOT NULL,
    created INTEGER NOT NULL,
    accessed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_access ON entries (accessed);
"""


# --- stats -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheStats:
    """A snapshot of a :class:`CacheManager`'s counters and sizes.

    Attributes
    ----------
    hits, misses
        Lookups (``get`` and ``get_or_compute``) answered from the cache, and not answered.
    memory_hits, disk_hits
        Hits split by where they were found (``hits == memory_hits + disk_hits``).
    evictions
        Entries dropped from memory to respect ``max_memory_bytes``.
    entries, memory_bytes, max_memory_bytes
        Entries held in memory, their exact size and the bound.
    disk_entries, disk_bytes
        Entries and bytes in the disk cache (0 without one).
    corrupt_discarded
        Disk entries whose checksum or content was wrong and that were deleted.
    max_disk_bytes
        Bound of the disk cache, or None when unbounded or absent.
    disk_evictions
        Disk entries dropped to respect ``max_disk_bytes``.
    """

    hits: int = 0
    misses: int = 0
    memory_hits: int = 0
    disk_hits: int = 0
    evictions: int = 0
    entries: int = 0
    memory_bytes: int = 0
    max_memory_bytes: int = 0
    disk_entries: int = 0
    disk_bytes: int = 0
    corrupt_discarded: int = 0
    max_disk_bytes: int | None = None
    disk_evictions: int = 0

    @property
    def hit_rate(self) -> float:
        """``hits / (hits + misses)``; 0.0 before the first lookup."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def rows(self) -> list[tuple[str, str]]:
        """The stats as (label, formatted value) pairs, in display order."""
        disk_bound = "unbounded" if self.max_disk_bytes is None else _fmt_bytes(self.max_disk_bytes)
        return [
            ("hit rate", f"{self.hit_rate:.1%}"),
            ("hits", f"{self.hits:,} ({self.memory_hits:,} memory, {self.disk_hits:,} disk)"),
            ("misses", f"{self.misses:,}"),
            ("memory", f"{_fmt_bytes(self.memory_bytes)} / {_fmt_bytes(self.max_memory_bytes)}"),
            ("memory entries", f"{self.entries:,}"),
            ("evictions", f"{self.evictions:,}"),
            ("disk", f"{_fmt_bytes(self.disk_bytes)} / {disk_bound}"),
            ("disk entries", f"{self.disk_entries:,}"),
            ("disk evictions", f"{self.disk_evictions:,}"),
            ("corrupt discarded", f"{self.corrupt_discarded:,}"),
        ]

    def __repr__(self) -> str:
        return (
            f"CacheStats(hit_rate={self.hit_rate:.1%}, hits={self.hits} (memory {self.memory_hits}, "
            f"disk {self.disk_hits}), misses={self.misses}, evictions={self.evictions}, entries={self.entries}, "
            f"memory={_fmt_bytes(self.memory_bytes)}/{_fmt_bytes(self.max_memory_bytes)}, "
            f"disk_entries={self.disk_entries}, disk={_fmt_bytes(self.disk_bytes)}, "
            f"corrupt_discarded={self.corrupt_discarded})"
        )

    def _repr_html_(self) -> str:
        return _html_table("Cache statistics", self.rows())


def _fmt_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def _html_table(caption: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
        f"<td style='text-align:left'>{html.escape(value)}</td></tr>"
        for label, value in rows
    )
    return f"<table class='rustybt-cache'><caption>{html.escape(caption)}</caption>{body}</table>"


# --- keys --------------------------------------------------------------------------------------------------------


def _canonical(obj: Any) -> str:
    """A canonical, process-independent text form of ``obj`` (type-tagged, so ``1``, ``1.0`` and ``"1"`` differ)."""
    if obj is None:
        return "N"
    if isinstance(obj, bool | np.bool_):
        return "T" if obj else "F"
    if isinstance(obj, enum.Enum):
        cls = type(obj)
        return f"E{json.dumps(cls.__module__ + '.' + cls.__qualname__)}:{_canonical(obj.value)}"
    if isinstance(obj, str):
        return "s" + json.dumps(obj)
    if isinstance(obj, bytes | bytearray | memoryview):
        return "b" + bytes(obj).hex()
    if isinstance(obj, int):
        return f"i{int(obj)}"
    if isinstance(obj, float | np.floating):
        value = float(obj)
        if math.isnan(value):
            return "fnan"
        return "f" + repr(value + 0.0)  # + 0.0 folds -0.0 into 0.0
    if isinstance(obj, Decimal):
        return "d" + str(obj)
    if isinstance(obj, _dt.datetime | _dt.date | np.datetime64):
        return _canonical_instant(obj)
    if isinstance(obj, _dt.timedelta | np.timedelta64):
        delta = pd.Timedelta(obj)
        return "NaT" if pd.isna(delta) else f"D{delta.as_unit('ns').value}"
    if isinstance(obj, PurePath):
        return "p" + json.dumps(obj.as_posix())
    if isinstance(obj, np.ndarray):
        if obj.ndim == 0:
            return _canonical(obj[()])
        # datetime64/timedelta64 elements stay numpy scalars (tolist() would give unit-dependent ints)
        return _canonical(list(obj) if obj.dtype.kind in "mM" else obj.tolist())
    if isinstance(obj, pd.Index | pd.Series):
        return _canonical(list(obj))
    if isinstance(obj, pl.Series):
        return _canonical(obj.to_list())
    if isinstance(obj, list | tuple | range):
        return "[" + ",".join(_canonical(x) for x in obj) + "]"
    if isinstance(obj, set | frozenset):
        return "{" + ",".join(sorted(_canonical(x) for x in obj)) + "}"
    if isinstance(obj, Mapping):
        return "<" + ",".join(sorted(f"{_canonical(k)}:{_canonical(v)}" for k, v in obj.items())) + ">"
    if hasattr(type(obj), "__index__"):  # numpy integers, Asset (its sid)
        return f"i{operator.index(obj)}"
    raise TypeError(
        f"CacheManager.make_key cannot use a {type(obj).__name__} ({obj!r:.60}); pass str, int, float, bool, None, "
        "dates/timestamps, Decimal, Path, enums, arrays or lists/tuples/sets/dicts of those"
    )


def _canonical_instant(obj: _dt.datetime | _dt.date | np.datetime64) -> str:
    """Instants as UTC nanoseconds: aware values are converted to UTC, naive values and dates are taken as UTC."""
    if not isinstance(obj, _dt.datetime | np.datetime64):  # a plain date: midnight of that day
        obj = _dt.datetime(obj.year, obj.month, obj.day)
    try:
        ts = pd.Timestamp(obj)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        ts = None
    if ts is None:  # outside pandas' range: no other form of this instant can reach the integer branch below
        return "t" + obj.isoformat() if isinstance(obj, _dt.datetime) else "t" + str(obj)
    if pd.isna(ts):
        return "NaT"
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    try:
        return f"t{ts.as_unit('ns').value}"
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return "t" + ts.isoformat()


# --- values ------------------------------------------------------------------------------------------------------


def _kind(value: Any) -> str:
    if type(value) is np.ndarray:
        if value.dtype.hasobject:
            raise TypeError(
                "CacheManager does not cache numpy arrays of dtype object (their size cannot be measured and they "
                "cannot be stored without pickle); convert them to a typed array or a frame first"
            )
        return "numpy"
    if isinstance(value, pl.DataFrame):
        return "polars_frame"
    if isinstance(value, pl.Series):
        return "polars_series"
    if isinstance(value, pd.DataFrame):
        return "pandas_frame"
    if isinstance(value, pd.Series):
        return "pandas_series"
    raise TypeError(
        f"CacheManager caches numpy arrays, polars DataFrames/Series and pandas DataFrames/Series, "
        f"not {type(value).__module__}.{type(value).__qualname__}"
    )


def _nbytes(kind: str, value: Any) -> int:
    if kind == "numpy":
        return int(value.nbytes)
    if kind.startswith("polars"):
        return int(value.estimated_size())
    if kind == "pandas_frame":
        return int(value.memory_usage(index=True, deep=True).sum())
    return int(value.memory_usage(index=True, deep=True))


def _freeze(arr: np.ndarray) -> np.ndarray:
    """Make ``arr`` and the array owning its memory read-only, so no view of it can be made writable again."""
    owner = arr
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if owner.flags.owndata:
        owner.flags.writeable = False
    arr.flags.writeable = False
    return arr


def _private(kind: str, value: Any) -> Any:
    """The object the cache keeps: never one the caller can still mutate."""
    if kind == "numpy":
        return _freeze(np.array(value, order="K", copy=True))
    if kind.startswith("pandas"):
        return value.copy(deep=False)  # copy-on-write: an independent value from here on
    return value.clone()  # polars: shares the buffers, but in-place methods (insert_column, scatter) stay local


def _export(kind: str, stored: Any) -> Any:
    """What a caller receives for a stored value."""
    if kind == "numpy":
        view = stored.view()
        view.flags.writeable = False
        return view
    if kind.startswith("pandas"):
        return stored.copy(deep=False)
    return stored.clone()


@dataclass
class _Entry:
    value: Any
    kind: str
    nbytes: int


class _Unsupported(Exception):
    """A value that cannot be written to the disk cache (it stays in memory)."""


def _serialize(kind: str, value: Any, path: Path, compression: str) -> dict[str, Any]:
    """Write ``value`` to ``path``; return the metadata needed to read it back."""
    meta: dict[str, Any] = {}
    if kind == "numpy":
        with open(path, "wb") as fh:
            np.save(fh, value, allow_pickle=False)
    elif kind == "polars_frame":
        value.write_parquet(path, compression=compression)
    elif kind == "polars_series":
        meta["name"] = value.name
        value.rename(_SERIES_COLUMN).to_frame().write_parquet(path, compression=compression)
    elif kind == "pandas_frame":
        if isinstance(value.columns, pd.MultiIndex) or not all(isinstance(c, str) for c in value.columns):
            raise _Unsupported("Parquet needs plain string column names")
        value.to_parquet(path, engine="pyarrow", compression=compression)
    elif kind == "pandas_series":
        name = value.name
        if name is not None and not isinstance(name, str | int | float | bool):
            raise _Unsupported(f"a Series named {type(name).__name__} cannot be recorded in the index")
        if isinstance(name, float) and not math.isfinite(name):
            raise _Unsupported("a Series named NaN or inf cannot be recorded in the index")
        meta["name"] = name
        value.rename(_SERIES_COLUMN).to_frame().to_parquet(path, engine="pyarrow", compression=compression)
    else:  # pragma: no cover - _kind() guards
        raise AssertionError(kind)
    return meta


def _deserialize(kind: str, data: bytes, meta: Mapping[str, Any]) -> Any:
    if kind == "numpy":
        return _freeze(np.load(io.BytesIO(data), allow_pickle=False))
    if kind == "polars_frame":
        return pl.read_parquet(io.BytesIO(data))
    if kind == "polars_series":
        return pl.read_parquet(io.BytesIO(data)).to_series(0).rename(meta["name"])
    if kind == "pandas_frame":
        return pd.read_parquet(io.BytesIO(data), engine="pyarrow")
    if kind == "pandas_series":
        return pd.read_parquet(io.BytesIO(data), engine="pyarrow")[_SERIES_COLUMN].rename(meta["name"])
    raise ValueError(f"unknown entry kind {kind!r}")


# --- the disk store ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    key: str
    file: str
    kind: str
    size: int
    sha256: str
    meta: str


class _DiskStore:
    """Files under ``objects/`` plus their SQLite index. Not thread-safe: the CacheManager serialises calls."""

    def __init__(self, root: Path, max_bytes: int | None, compression: str) -> None:
        self.root = root
        self.objects = root / OBJECTS_DIR
        self.index = root / INDEX_FILE
        self.max_bytes = max_bytes
        self.compression = compression
        self._last_tick = 0
        self._con: sqlite3.Connection | None = None
        self._pid = 0
        try:
            self.objects.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot use {root} as the disk cache directory: {exc}; set RUSTYBT_CACHE_DIR (or cache.disk_cache "
                "in the config file) to a writable directory"
            ) from exc
        try:
            self._init_index()
        except sqlite3.DatabaseError as exc:
            log.warning("disk cache index %s is unreadable (%s); starting an empty disk cache", self.index, exc)
            self.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.index}{suffix}").unlink(missing_ok=True)
            self._init_index()
        self._remove_leftovers()

    # sqlite ----------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """The store's connection, opened on first use and again in a forked child.

        One connection is kept open: closing the last connection of a WAL database checkpoints it, which would cost
        milliseconds per operation. WAL (set once in :meth:`_init_index`; it persists in the file) with
        ``synchronous = NORMAL`` commits without fsync: a power cut may lose the last index updates (their files
        become leftovers) but cannot corrupt the index.
        """
        if self._con is None or self._pid != os.getpid():
            self._con = sqlite3.connect(self.index, timeout=30, isolation_level=None, check_same_thread=False)
            self._pid = os.getpid()
            self._con.execute("PRAGMA synchronous = NORMAL")
        yield self._con

    def close(self) -> None:
        """Close the index connection (it reopens on next use)."""
        con, self._con = self._con, None
        if con is not None and self._pid == os.getpid():
            con.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _init_index(self) -> None:
        with self._connect() as con:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, INDEX_VERSION):
                log.warning("disk cache index %s has version %s; rebuilding it empty", self.index, version)
                con.execute("DROP TABLE IF EXISTS entries")
            con.executescript(_SCHEMA)
            con.execute(f"PRAGMA user_version = {INDEX_VERSION}")
            con.execute("PRAGMA journal_mode = WAL")

    def _tick(self) -> int:
        """Access time in ns, strictly increasing within this process (LRU order even within one clock tick)."""
        self._last_tick = max(time.time_ns(), self._last_tick + 1)
        return self._last_tick

    def _row(self, con: sqlite3.Connection, key: str) -> _Row | None:
        found = con.execute("SELECT key, file, kind, size, sha256, meta FROM entries WHERE key = ?", (key,)).fetchone()
        return _Row(*found) if found else None

    def _unlink(self, file: str) -> None:
        try:
            (self.objects / file).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove disk cache file %s: %s", self.objects / file, exc)

    # operations ------------------------------------------------------------------------------------------------
    def read(self, key: str) -> tuple[str, Any, str]:
        """``("hit", value, kind)``, ``("miss", None, "")`` or ``("corrupt", None, "")`` (entry deleted)."""
        with self._connect() as con:
            row = self._row(con, key)
        if row is None:
            return "miss", None, ""
        path = self.objects / row.file
        problem = None
        value = None
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            problem = "the file is missing"
        except OSError as exc:
            problem = f"the file cannot be read ({exc})"
        else:
            if len(data) != row.size:
                problem = f"the file has {len(data)} bytes, the index recorded {row.size}"
            elif hashlib.sha256(data).hexdigest() != row.sha256:
                problem = "its SHA-256 does not match the index"
            else:
                try:
                    value = _deserialize(row.kind, data, json.loads(row.meta))
                except Exception as exc:
                    problem = f"it cannot be decoded ({type(exc).__name__}: {exc})"
        if problem is None:
            with self._transaction() as con:
                con.execute("UPDATE entries SET accessed = ? WHERE key = ? AND file = ?", (self._tick(), key, row.file))
            return "hit", value, row.kind
        with self._transaction() as con:
            current = self._row(con, key)
            if current != row:  # another process replaced or removed the entry meanwhile: not corruption
                return "miss", None, ""
            con.execute("DELETE FROM entries WHERE key = ?", (key,))
        self._unlink(row.file)
        log.warning("discarded disk cache entry %s (%s): %s; the data will be read from its source", key, path, problem)
        return "corrupt", None, ""

    def write(self, key: str, kind: str, value: Any) -> int:
        """Write one entry; return the number of entries evicted to respect the bound."""
        ext = _EXTENSIONS[kind]
        final_name = f"{hashlib.sha256(key.encode()).hexdigest()[:32]}-{uuid.uuid4().hex[:12]}{ext}"
        tmp = self.objects / f".tmp-{uuid.uuid4().hex}{ext}"
        try:
            try:
                meta = _serialize(kind, value, tmp, self.compression)
            except _Unsupported as exc:
                log.info("cache entry %s is kept in memory only: %s", key, exc)
                self.delete(key)  # an older value under this key must not outlive the new one
                return 0
            except OSError:
                raise
            except Exception as exc:  # the serialiser refused the value (unsupported dtype, column name...)
                log.info("cache entry %s is kept in memory only: %s: %s", key, type(exc).__name__, exc)
                self.delete(key)
                return 0
            with open(tmp, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
            size = tmp.stat().st_size
            if self.max_bytes is not None and size > self.max_bytes:
                log.debug("cache entry %s (%d bytes on disk) exceeds the disk bound; not written", key, size)
                self.delete(key)
                return 0
            os.replace(tmp, self.objects / final_name)
        finally:
            tmp.unlink(missing_ok=True)
        now = self._tick()
        try:
            with self._transaction() as con:
                old = self._row(con, key)
                con.execute(
                    "INSERT OR REPLACE INTO entries (key, file, kind, size, sha256, meta, created, accessed) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, final_name, kind, size, digest, json.dumps(meta), now, now),
                )
        except BaseException:
            self._unlink(final_name)
            raise
        if old is not None:
            self._unlink(old.file)
        return self._evict(keep=key)

    def _evict(self, keep: str) -> int:
        if self.max_bytes is None:
            return 0
        removed: list[str] = []
        with self._transaction() as con:
            total = con.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
            if total <= self.max_bytes:
                return 0
            for key, file, size in con.execute(
                "SELECT key, file, size FROM entries WHERE key != ? ORDER BY accessed, rowid", (keep,)
            ).fetchall():
                if total <= self.max_bytes:
                    break
                con.execute("DELETE FROM entries WHERE key = ?", (key,))
                removed.append(file)
                total -= size
        for file in removed:
            self._unlink(file)
        return len(removed)

    def contains(self, key: str) -> bool:
        with self._connect() as con:
            return con.execute("SELECT 1 FROM entries WHERE key = ?", (key,)).fetchone() is not None

    def keys(self) -> set[str]:
        with self._connect() as con:
            return {k for (k,) in con.execute("SELECT key FROM entries")}

    def delete(self, key: str) -> bool:
        with self._transaction() as con:
            row = self._row(con, key)
            if row is None:
                return False
            con.execute("DELETE FROM entries WHERE key = ?", (key,))
        self._unlink(row.file)
        return True

    def delete_prefix(self, prefix: str) -> set[str]:
        with self._transaction() as con:
            found = con.execute(
                "SELECT key, file FROM entries WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
            ).fetchall()
            con.executemany("DELETE FROM entries WHERE key = ?", [(k,) for k, _ in found])
        for _, file in found:
            self._unlink(file)
        return {k for k, _ in found}

    def clear(self) -> None:
        with self._transaction() as con:
            files = [f for (f,) in con.execute("SELECT file FROM entries")]
            con.execute("DELETE FROM entries")
        for file in files:
            self._unlink(file)

    def totals(self) -> tuple[int, int]:
        with self._connect() as con:
            count, size = con.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM entries").fetchone()
        return int(count), int(size)

    def _remove_leftovers(self) -> None:
        """Remove temp files and unindexed files of killed writers (old enough that no live writer owns them)."""
        cutoff = time.time() - _LEFTOVER_AGE_S
        indexed = None
        for path in self.objects.iterdir():
            try:
                if path.stat().st_mtime > cutoff:
                    continue
                if indexed is None:
                    with self._connect() as con:
                        indexed = {f for (f,) in con.execute("SELECT file FROM entries")}
                if path.name not in indexed:
                    path.unlink(missing_ok=True)
            except OSError:
                continue


# --- the manager -------------------------------------------------------------------------------------------------


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
            _DiskStore(self.disk_cache_path, self.max_disk_bytes, compression)
            if self.enabled and self.disk_cache_path is not None
            else None
        )
        if self._disk is not None:
            weakref.finalize(self, self._disk.close)
        self._memory: OrderedDict[str, _Entry] = OrderedDict()
        self._memory_bytes = 0
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
        if not parts:
            raise TypeError("CacheManager.make_key needs at least one part")
        state = hashlib.sha256(_KEY_DOMAIN).digest()
        segments = []
        for part in parts:
            state = hashlib.sha256(state + _canonical(part).encode("utf-8")).digest()
            segments.append(state.hex()[:KEY_SEGMENT_HEX])
        return "".join(segments)

    # --- lookups -------------------------------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """The value cached under ``key`` (memory first, then disk, promoting a disk hit into memory), else ``default``.

        A disk entry that fails its checksum is deleted, logged at WARNING and reported as a miss.
        numpy arrays come back read-only (see the class notes).
        """
        _check_key(key)
        with self._lock:
            if not self.enabled:
                self._misses += 1
                return default
            entry = self._memory.get(key)
            if entry is not None:
                self._memory.move_to_end(key)
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
            keys = set(self._memory)
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
        _check_key(key)
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
                self._drop_from_memory(key)
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
        _check_key(key)
        with self._lock:
            self._generation += 1
            removed = self._drop_from_memory(key)
        if self._disk is not None:
            with self._disk_lock:
                removed = self._disk.delete(key) or removed
        return removed

    def invalidate_prefix(self, prefix: str) -> int:
        """Remove every key starting with ``prefix`` (e.g. ``make_key(bundle)``) from memory and disk.

        Returns the number of distinct keys removed.
        """
        _check_key(prefix)
        with self._lock:
            self._generation += 1
            removed = {k for k in self._memory if k.startswith(prefix)}
            for k in removed:
                self._drop_from_memory(k)
        if self._disk is not None:
            with self._disk_lock:
                removed |= self._disk.delete_prefix(prefix)
        return len(removed)

    def clear(self, disk: bool = True) -> None:
        """Empty the memory cache and, if ``disk`` is True, the disk cache. Counters are kept."""
        with self._lock:
            self._generation += 1
            self._memory.clear()
            self._memory_bytes = 0
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
        self._drop_from_memory(key)
        if entry.nbytes > self.max_memory_bytes:
            return
        while self._memory and self._memory_bytes + entry.nbytes > self.max_memory_bytes:
            _, evicted = self._memory.popitem(last=False)
            self._memory_bytes -= evicted.nbytes
            self._evictions += 1
        self._memory[key] = entry
        self._memory_bytes += entry.nbytes

    def _drop_from_memory(self, key: str) -> bool:
        entry = self._memory.pop(key, None)
        if entry is None:
            return False
        self._memory_bytes -= entry.nbytes
        return True

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
                memory_bytes=self._memory_bytes,
                max_memory_bytes=self.max_memory_bytes,
                disk_entries=disk_entries,
                disk_bytes=disk_bytes,
                corrupt_discarded=self._corrupt,
                max_disk_bytes=self.max_disk_bytes if self._disk is not None else None,
                disk_evictions=self._disk_evictions,
            )

    def _describe(self) -> str:
        if not self.enabled:
            return "disabled"
        return f"disk {self.disk_cache_path}" if self._disk is not None else "memory only"

    def __repr__(self) -> str:
        s = self.stats
        disk = ""
        if self._disk is not None:
            disk = f", disk {self.disk_cache_path} ({s.disk_entries} entries, {_fmt_bytes(s.disk_bytes)})"
        return (
            f"CacheManager({'enabled' if self.enabled else 'disabled'}, memory {_fmt_bytes(s.memory_bytes)} / "
            f"{_fmt_bytes(s.max_memory_bytes)} ({s.entries} entries){disk}, hit rate {s.hit_rate:.1%} "
            f"({s.hits} hits, {s.misses} misses), {s.evictions} evictions, {s.corrupt_discarded} corrupt discarded)"
        )

    def _repr_html_(self) -> str:
        return _html_table(f"CacheManager ({self._describe()})", self.stats.rows())


def _check_bound(value: float, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise ConfigError(f"CacheManager: {name} must be a finite number of MiB >= 0, got {value!r}")
    return number


def _check_key(key: object) -> None:
    if not isinstance(key, str):
        raise TypeError(f"cache keys are strings (see CacheManager.make_key), got {type(key).__name__}")


def _readonly_view(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view
