"""The catalog's metadata store: one SQLite database (standard library) per catalog root.

Tables: ``bundles`` (registration and the live ingestion), ``ingestions`` (one row per finished ingestion),
``symbol_sids`` (stable sid per symbol within a bundle), ``assets`` and ``adjustments`` (per ingestion, so a
reader pinned to an ingestion sees the assets and adjustments that were written with it).
A finished ingestion becomes visible in one transaction: its rows and the bundle's live pointer change together.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rustybt._utils import immediate_transaction
from rustybt.errors import BundleExists, BundleNotFound, IngestionNotFound

__all__ = ["BundleRecord", "IngestionRecord", "MetadataStore", "asset_rows", "metadata_digest"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bundles (
    name TEXT PRIMARY KEY,
    adapter TEXT NOT NULL,
    adapter_params TEXT NOT NULL,
    calendar TEXT NOT NULL,
    resolution TEXT NOT NULL,
    options TEXT NOT NULL,
    created_at TEXT NOT NULL,
    live_ingestion TEXT
);
CREATE TABLE IF NOT EXISTS ingestions (
    id TEXT NOT NULL,
    bundle TEXT NOT NULL REFERENCES bundles(name) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    mode TEXT NOT NULL,
    parent TEXT,
    rows INTEGER NOT NULL,
    n_assets INTEGER NOT NULL,
    start TEXT,
    end TEXT,
    size_bytes INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    quality TEXT NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (bundle, id)
);
CREATE TABLE IF NOT EXISTS symbol_sids (
    bundle TEXT NOT NULL REFERENCES bundles(name) ON DELETE CASCADE,
    symbol TEXT NOT NULL,
    sid INTEGER NOT NULL,
    PRIMARY KEY (bundle, symbol)
);
CREATE TABLE IF NOT EXISTS assets (
    bundle TEXT NOT NULL,
    ingestion TEXT NOT NULL,
    sid INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    asset_class TEXT NOT NULL,
    start TEXT,
    end TEXT,
    rows INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (bundle, ingestion, sid),
    FOREIGN KEY (bundle, ingestion) REFERENCES ingestions(bundle, id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS adjustments (
    bundle TEXT NOT NULL,
    ingestion TEXT NOT NULL,
    sid INTEGER NOT NULL,
    kind TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    ratio REAL,
    amount REAL,
    FOREIGN KEY (bundle, ingestion) REFERENCES ingestions(bundle, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS adjustments_by_ingestion ON adjustments (bundle, ingestion, sid, effective_date);
"""
STORE_VERSION = "1"


@dataclass(frozen=True)
class BundleRecord:
    """A registered bundle as stored."""

    name: str
    adapter: str
    adapter_params: dict[str, Any]
    calendar: str
    resolution: str
    options: dict[str, Any]
    created_at: str
    live_ingestion: str | None


@dataclass(frozen=True)
class IngestionRecord:
    """A finished ingestion as stored. ``quality`` is the validation summary, ``details`` the rest
    (per-frequency files, de-duplication counts, failed symbols, price scales)."""

    id: str
    bundle: str
    created_at: str
    mode: str
    parent: str | None
    rows: int
    n_assets: int
    start: str | None
    end: str | None
    size_bytes: int
    schema_version: int
    duration_s: float
    quality: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


class MetadataStore:
    """SQLite-backed metadata of one catalog root."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # created by the first write: reading a catalog that does not exist yet creates nothing on disk
        self._ready = False
        if self.path.exists():
            self._create()

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.executescript(_SCHEMA)
            con.execute("INSERT OR IGNORE INTO store_info VALUES ('version', ?)", (STORE_VERSION,))
        finally:
            con.close()
        self._ready = True

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        if not self._ready and self.path.exists():
            self._create()  # another process created it meanwhile
        if not self._ready and not write:  # nothing stored yet: an empty catalog, in memory
            con = sqlite3.connect(":memory:", isolation_level=None)
            con.executescript(_SCHEMA)
        else:
            if not self._ready:
                self._create()
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA journal_mode = WAL")
        try:
            con.row_factory = sqlite3.Row
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic transaction: everything inside commits together or not at all."""
        with self._connect(write=True) as con, immediate_transaction(con):
            yield con

    # --- bundles -------------------------------------------------------------------------------------------
    def add_bundle(self, record: BundleRecord, overwrite: bool = False) -> None:
        """Register a bundle (or replace its registration when ``overwrite``)."""
        with self.transaction() as con:
            exists = con.execute("SELECT 1 FROM bundles WHERE name = ?", (record.name,)).fetchone()
            if exists and not overwrite:
                raise BundleExists(
                    f"bundle {record.name!r} is already registered; pass overwrite=True to change its source"
                )
            source = (
                record.adapter,
                json.dumps(record.adapter_params),
                record.calendar,
                record.resolution,
                json.dumps(record.options),
            )
            if exists:
                con.execute(
                    "UPDATE bundles SET adapter=?, adapter_params=?, calendar=?, resolution=?, options=? WHERE name=?",
                    (*source, record.name),
                )
            else:
                con.execute(
                    "INSERT INTO bundles VALUES (?, ?, ?, ?, ?, ?, ?, NULL)", (record.name, *source, record.created_at)
                )

    def remove_bundle(self, name: str) -> None:
        """Forget a bundle and everything recorded about it."""
        with self.transaction() as con:
            for table in ("adjustments", "assets", "ingestions", "symbol_sids"):
                con.execute(f"DELETE FROM {table} WHERE bundle = ?", (name,))
            con.execute("DELETE FROM bundles WHERE name = ?", (name,))

    def bundle_names(self) -> list[str]:
        """Names of all registered bundles, sorted."""
        with self._connect() as con:
            return [r[0] for r in con.execute("SELECT name FROM bundles ORDER BY name")]

    def get_bundle(self, name: str) -> BundleRecord:
        """The bundle's registration; :class:`BundleNotFound` if unknown."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM bundles WHERE name = ?", (name,)).fetchone()
            if row is None:
                known = [r[0] for r in con.execute("SELECT name FROM bundles ORDER BY name")]
        if row is None:
            import difflib

            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            listing = ", ".join(known) if known else "none yet"
            raise BundleNotFound(f"no bundle named {name!r} (registered: {listing}).{hint}")
        fields = dict(row)  # the table's columns are the record's fields
        return BundleRecord(
            **fields | {"adapter_params": json.loads(row["adapter_params"]), "options": json.loads(row["options"])}
        )

    # --- ingestions ----------------------------------------------------------------------------------------
    def ingestions(self, bundle: str) -> list[IngestionRecord]:
        """Finished ingestions of ``bundle``, oldest first."""
        with self._connect() as con:
            rows = con.execute("SELECT * FROM ingestions WHERE bundle = ? ORDER BY id", (bundle,)).fetchall()
        return [_ingestion(r) for r in rows]

    def get_ingestion(self, bundle: str, ingestion_id: str | None = None) -> IngestionRecord:
        """One ingestion, by default the live one; :class:`IngestionNotFound` if there is none."""
        if ingestion_id is None:
            ingestion_id = self.get_bundle(bundle).live_ingestion
            if ingestion_id is None:
                raise IngestionNotFound(
                    f"bundle {bundle!r} has no ingestion yet; run catalog.ingest({bundle!r}) or "
                    f"`rustybt ingest {bundle}`"
                )
        with self._connect() as con:
            row = con.execute("SELECT * FROM ingestions WHERE bundle = ? AND id = ?", (bundle, ingestion_id)).fetchone()
        if row is None:
            raise IngestionNotFound(f"bundle {bundle!r} has no ingestion {ingestion_id!r}")
        return _ingestion(row)

    def symbol_sids(self, bundle: str) -> dict[str, int]:
        """The bundle's stable symbol -> sid map."""
        with self._connect() as con:
            return {r[0]: r[1] for r in con.execute("SELECT symbol, sid FROM symbol_sids WHERE bundle = ?", (bundle,))}

    def commit_ingestion(
        self,
        record: IngestionRecord,
        new_sids: Mapping[str, int],
        assets: Sequence[Mapping[str, Any]],
        adjustments: Iterable[tuple[int, str, str, float | None, float | None]],
    ) -> None:
        """Make a finished ingestion visible and live, in one transaction."""
        with self.transaction() as con:
            con.execute(
                "INSERT INTO ingestions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.bundle,
                    record.created_at,
                    record.mode,
                    record.parent,
                    record.rows,
                    record.n_assets,
                    record.start,
                    record.end,
                    record.size_bytes,
                    record.schema_version,
                    record.duration_s,
                    json.dumps(record.quality),
                    json.dumps(record.details),
                ),
            )
            con.executemany(
                "INSERT INTO symbol_sids VALUES (?, ?, ?)",
                [(record.bundle, s, i) for s, i in new_sids.items()],
            )
            con.executemany(
                "INSERT INTO assets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(record.bundle, record.id, *row) for row in asset_rows(assets)],
            )
            con.executemany(
                "INSERT INTO adjustments VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(record.bundle, record.id, *adj) for adj in adjustments],
            )
            con.execute("UPDATE bundles SET live_ingestion = ? WHERE name = ?", (record.id, record.bundle))

    def delete_ingestions(self, bundle: str, ids: Sequence[str]) -> None:
        """Forget ingestions (their files are removed by the caller afterwards)."""
        with self.transaction() as con:
            for table, col in (("adjustments", "ingestion"), ("assets", "ingestion"), ("ingestions", "id")):
                con.executemany(f"DELETE FROM {table} WHERE bundle = ? AND {col} = ?", [(bundle, i) for i in ids])

    def assets(self, bundle: str, ingestion_id: str) -> list[dict[str, Any]]:
        """Asset records of one ingestion, by sid."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT record FROM assets WHERE bundle = ? AND ingestion = ? ORDER BY sid",
                (bundle, ingestion_id),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def adjustments(self, bundle: str, ingestion_id: str) -> list[tuple[int, str, str, float | None, float | None]]:
        """``(sid, kind, effective_date, ratio, amount)`` rows of one ingestion, by sid then date."""
        with self._connect() as con:
            return [
                tuple(r)
                for r in con.execute(
                    "SELECT sid, kind, effective_date, ratio, amount FROM adjustments "
                    "WHERE bundle = ? AND ingestion = ? ORDER BY sid, effective_date",
                    (bundle, ingestion_id),
                )
            ]

    def metadata_digest(self, bundle: str, ingestion_id: str) -> str:
        """:func:`metadata_digest` of one ingestion's asset and adjustment rows as the database holds them now."""
        with self._connect() as con:
            assets = con.execute(
                'SELECT sid, symbol, asset_class, start, "end", rows, record FROM assets '
                "WHERE bundle = ? AND ingestion = ?",
                (bundle, ingestion_id),
            ).fetchall()
            adjustments = con.execute(
                "SELECT sid, kind, effective_date, ratio, amount FROM adjustments WHERE bundle = ? AND ingestion = ?",
                (bundle, ingestion_id),
            ).fetchall()
        return metadata_digest([tuple(r) for r in assets], [tuple(r) for r in adjustments])


def asset_rows(assets: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """The ``assets`` table's columns after (bundle, ingestion) for each asset record."""
    return [
        (
            a["sid"],
            a["symbol"],
            a["asset_class"],
            a.get("start_date"),
            a.get("end_date"),
            a.get("rows", 0),
            json.dumps(a),
        )
        for a in assets
    ]


def metadata_digest(assets: Iterable[Sequence[Any]], adjustments: Iterable[Sequence[Any]]) -> str:
    """SHA-256 of asset rows (:func:`asset_rows`) and adjustment rows, in a canonical order: written into the
    manifest at ingest, recomputed from the database by ``verify``."""
    payload = json.dumps([sorted(list(a) for a in assets), sorted(list(a) for a in adjustments)])
    return hashlib.sha256(payload.encode()).hexdigest()


def _ingestion(row: sqlite3.Row) -> IngestionRecord:
    fields = dict(row)  # the table's columns are the record's fields
    return IngestionRecord(**fields | {"quality": json.loads(row["quality"]), "details": json.loads(row["details"])})
