"""The disk cache: one checksummed file per entry under ``objects/`` and a SQLite index several processes share."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from rustybt._utils import immediate_transaction
from rustybt.data.cache.memory import _freeze
from rustybt.errors import ConfigError

__all__ = ["INDEX_FILE", "OBJECTS_DIR", "DiskStore"]

log = logging.getLogger(__name__)

INDEX_FILE = "index.sqlite"
OBJECTS_DIR = "objects"
INDEX_VERSION = 1
_LEFTOVER_AGE_S = 3600.0  # temp files / unindexed files older than this are removed at start-up
_SERIES_COLUMN = "__rustybt_series__"

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


@dataclass(frozen=True)
class _Row:
    key: str
    file: str
    kind: str
    size: int
    sha256: str
    meta: str


class DiskStore:
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
        with self._connect() as con, immediate_transaction(con):
            yield con

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
