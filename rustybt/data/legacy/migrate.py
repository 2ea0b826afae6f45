"""Migrate a zipline bundle (bcolz or HDF5) into a RustyBT Parquet bundle, and prove the copy is exact.

:func:`migrate` is the catalog's ordinary registration and atomic ingestion fed by a
:class:`~rustybt.data.legacy.adapter.ZiplineBundleAdapter`, so it inherits the catalog's guarantees: the new
ingestion becomes visible in one step, and a failure or Ctrl-C at any point leaves the previous ingestion (or no
bundle at all) in place. Afterwards, unless ``validate=False``, every stored value of every asset (the Parquet
files of the new ingestion, read through :meth:`Bundle.scan`: the exact decimals ``bars(exact=True)`` returns)
is compared with the source read through the legacy reader (the calendar-aligned path, independent of the
``day`` column the adapter used), in zipline's integer units: the migrated decimal times the source's scaling
factor must equal the stored ``uint32`` exactly, and each sid must have as many bars as the source.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import polars as pl
from tqdm.auto import tqdm

from rustybt._utils import format_bytes
from rustybt.data.legacy._base import decimal_scale
from rustybt.data.legacy.adapter import ZiplineBundleAdapter
from rustybt.data.legacy.bcolz_reader import BcolzMinuteBarReader
from rustybt.data.legacy.errors import MigrationMismatch
from rustybt.data.readers.base import OHLCV_FIELDS
from rustybt.errors import BundleExists, ConfigError

if TYPE_CHECKING:
    from rustybt.data.catalog import Bundle, Catalog

__all__ = ["MAX_LISTED_MISMATCHES", "MigrationReport", "Mismatch", "migrate"]

log = logging.getLogger(__name__)

#: Mismatches kept in :attr:`MigrationReport.mismatches` (all are counted in ``mismatch_count``).
MAX_LISTED_MISMATCHES = 100
#: zipline sids compared per read of the migrated bundle.
VALIDATION_CHUNK = 500
COMPRESSIONS = ("snappy", "zstd")


@dataclass(frozen=True)
class Mismatch:
    """One difference between the source and the migrated bundle.

    ``field`` is an OHLCV column, ``"bar"`` (a bar present on one side only; ``timestamp`` says where) or
    ``"rows"`` (bar counts of the sid differ; ``timestamp`` is None). ``source`` / ``migrated`` are the values in
    zipline's stored units (integers; None where there is no bar).
    """

    sid: int  # zipline sid
    symbol: str
    timestamp: pd.Timestamp | None
    field: str
    source: Any
    migrated: Any

    def __str__(self) -> str:
        when = f" {self.timestamp}" if self.timestamp is not None else ""
        values = f"source {self.source!r}, migrated {self.migrated!r}"
        return f"{self.symbol} (zipline sid {self.sid}){when} {self.field}: {values}"


@dataclass
class MigrationReport:
    """What :func:`migrate` did.

    Attributes
    ----------
    bundle, ingestion_id, source, source_kind, frequency
        Target bundle and its new ingestion; the source path, ``"bcolz"`` or ``"hdf5"``, ``"daily"`` or ``"minute"``.
    rows, assets
        Bars and assets written.
    adjustments
        Adjustments stored, by kind (``split``, ``dividend``, ``merger``).
    validated
        Whether the value-by-value comparison ran.
    validation, dropped
        The catalog's validation mode, and (lenient mode) the source bars it dropped as invalid.
    values_compared
        Stored values compared (sessions x assets x 5 fields for daily bars).
    mismatches, mismatch_count
        The first :data:`MAX_LISTED_MISMATCHES` differences, and how many there were.
    bytes_before, bytes_after
        Bytes of the source bar store (bcolz directory or HDF5 file) and of the new ingestion directory.
    seconds, validation_seconds
        Wall time of the whole migration and of the comparison.
    sid_map
        zipline sid -> RustyBT sid (the catalog numbers assets by symbol).
    """

    bundle: str
    ingestion_id: str
    source: str
    source_kind: str
    frequency: str
    rows: int
    assets: int
    adjustments: dict[str, int]
    validated: bool
    validation: str = "strict"
    dropped: int = 0
    values_compared: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    mismatch_count: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    seconds: float = 0.0
    validation_seconds: float = 0.0
    sid_map: dict[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when validation ran and found no difference."""
        return self.validated and self.mismatch_count == 0

    @property
    def size_ratio(self) -> float:
        """``bytes_after / bytes_before``."""
        return self.bytes_after / self.bytes_before if self.bytes_before else float("nan")

    def _facts(self) -> list[tuple[str, str]]:
        adjustments = ", ".join(f"{n} {k}" for k, n in sorted(self.adjustments.items())) or "none"
        if not self.validated:
            check = "not validated"
        elif self.mismatch_count == 0:
            check = f"OK: {self.values_compared:,} values identical"
            if self.dropped:
                check += f"; {self.dropped:,} invalid source bar(s) dropped (lenient)"
        else:
            check = f"{self.mismatch_count:,} mismatch(es) in {self.values_compared:,} values"
        return [
            ("bundle", f"{self.bundle} @ {self.ingestion_id}"),
            ("source", f"{self.source} ({self.source_kind}, {self.frequency})"),
            ("rows", f"{self.rows:,}"),
            ("assets", f"{self.assets:,}"),
            ("adjustments", adjustments),
            ("validation", check),
            (
                "size",
                f"{format_bytes(self.bytes_before)} -> {format_bytes(self.bytes_after)} ({self.size_ratio:.2f}x)"
                if self.bytes_before
                else format_bytes(self.bytes_after),
            ),
            ("time", f"{self.seconds:.2f} s (validation {self.validation_seconds:.2f} s)"),
        ]

    def __repr__(self) -> str:
        lines = ["MigrationReport("] + [f"  {k:<12} {v}" for k, v in self._facts()]
        lines += [f"  mismatch     {m}" for m in self.mismatches[:10]]
        if self.mismatch_count > 10:
            lines.append(f"  ... {self.mismatch_count - 10:,} more")
        return "\n".join(lines) + "\n)"

    def _repr_html_(self) -> str:
        from rustybt._html import details, kv, note, page, table

        body = kv(self._facts())
        if self.mismatches:
            rows = [
                (m.symbol, m.sid, m.timestamp if m.timestamp is not None else "", m.field, m.source, m.migrated)
                for m in self.mismatches
            ]
            listed = table(("symbol", "zipline sid", "timestamp", "field", "source", "migrated"), rows)
            if self.mismatch_count > len(self.mismatches):
                listed += note(f"{self.mismatch_count - len(self.mismatches):,} more mismatch(es) not listed.")
            body += details(f"Mismatches ({self.mismatch_count:,})", listed, open_=True)
        return page("migration", "Migration report", body, subtitle=self.bundle)


def migrate(
    catalog: Catalog,
    source: str | Path,
    bundle_name: str,
    *,
    compression: str | None = None,
    validate: bool = True,
    overwrite: bool = False,
    progress: bool = True,
    frequency: str = "daily",
    assets_db: str | Path | None = None,
    adjustments_db: str | Path | None = None,
    country_code: str | None = None,
    calendar: str | None = None,
    validation: str = "strict",
) -> MigrationReport:
    """Copy a zipline bundle into ``catalog`` as bundle ``bundle_name`` and check every value.

    Parameters
    ----------
    catalog
        The target catalog.
    source
        A zipline ingestion directory, a zipline bundle directory (its latest ingestion is used) or an HDF5
        daily bar file.
    bundle_name
        Name of the RustyBT bundle to create.
    compression
        Parquet compression (``"zstd"`` or ``"snappy"``); default: the catalog's configuration.
    validate
        Compare every stored value and the bar count of every asset with the source after writing.
    overwrite
        Replace an existing bundle of that name (its earlier ingestions stay in its history).
    progress
        Show progress bars.
    frequency
        ``"daily"`` or ``"minute"``: which bar store of a bcolz ingestion to migrate.
    assets_db, adjustments_db, country_code, calendar
        Passed to :class:`ZiplineBundleAdapter` (HDF5 files without their databases beside them, several
        countries, a calendar other than XNYS).
    validation
        The catalog's bar validation: ``"strict"`` (default; any invalid bar, e.g. high < low, stops the
        migration and nothing is written) or ``"lenient"`` (invalid bars are dropped; the comparison then
        counts them in :attr:`MigrationReport.dropped` and checks that number against the catalog's).

    Returns
    -------
    MigrationReport

    Raises
    ------
    BundleExists
        ``bundle_name`` exists and ``overwrite`` is False.
    NotAZiplineBundle, CorruptLegacyData, UnsupportedLegacyVersion
        The source cannot be read; nothing is written.
    IngestionError, ValidationError
        The catalog refused the data; the previous state is kept.
    MigrationMismatch
        The migrated bundle differs from the source (``err.report`` lists the differences).
    """
    started = time.perf_counter()
    if bundle_name in catalog and not overwrite:
        raise BundleExists(
            f"bundle {bundle_name!r} already exists in {catalog.root}; pass --overwrite (overwrite=True) to "
            "replace it with the migrated data (its earlier ingestions stay in its history)"
        )
    target = _with_compression(catalog, compression)
    adapter = ZiplineBundleAdapter(
        source,
        frequency=frequency,
        assets_db=assets_db,
        adjustments_db=adjustments_db,
        country_code=country_code,
        calendar=calendar,
    )
    adapter.reader  # noqa: B018  (open the bar store now: a broken source fails before anything is registered)
    _ = adapter.assets, adapter.zipline_adjustments
    log.info(
        "migrating %s (%s %s bars) into bundle %r",
        adapter.source.root,
        adapter.source.kind,
        adapter.frequency,
        bundle_name,
    )

    previous = catalog.store.get_bundle(bundle_name) if bundle_name in catalog else None
    try:
        target.register(
            bundle_name,
            adapter,
            calendar=adapter.calendar_name,
            resolution=adapter.resolution,
            validation=validation,
            overwrite=previous is not None,
        )
        ingestion = target.ingest(bundle_name, mode="replace", adapter=adapter, progress=progress, n_workers=1)
    except BaseException:
        _restore_registration(catalog, bundle_name, previous)
        raise

    bundle = catalog.bundle(bundle_name, ingestion.id)
    symbol_to_rsid = {a.symbol: a.sid for a in bundle.assets}
    sid_map = {z: symbol_to_rsid[s] for z, s in adapter.symbol_of_sid.items() if s in symbol_to_rsid}
    adjustments = dict(bundle.adjustments().group_by("kind").len().sort("kind").iter_rows())
    report = MigrationReport(
        bundle=bundle_name,
        ingestion_id=ingestion.id,
        source=str(adapter.source.root),
        source_kind=adapter.source.kind,
        frequency=adapter.frequency,
        rows=ingestion.rows,
        assets=ingestion.n_assets,
        adjustments={str(k): int(v) for k, v in adjustments.items()},
        validated=validate,
        validation=validation,
        bytes_before=_size(adapter.source.bars),
        bytes_after=_size(bundle.path),
        sid_map=sid_map,
    )
    if validate:
        checked = time.perf_counter()
        _Comparison(adapter, bundle, sid_map, report, progress).run()
        if validation == "lenient" and report.dropped != ingestion.report.rows_dropped:
            report.mismatch_count += 1
            report.mismatches.append(
                Mismatch(-1, "*", None, "dropped", report.dropped, f"catalog dropped {ingestion.report.rows_dropped}")
            )
        report.validation_seconds = round(time.perf_counter() - checked, 3)
    report.seconds = round(time.perf_counter() - started, 3)
    if report.mismatch_count:
        listing = "\n".join(f"  {m}" for m in report.mismatches[:10])
        raise MigrationMismatch(
            f"bundle {bundle_name!r} (ingestion {ingestion.id}) differs from {adapter.source.root} in "
            f"{report.mismatch_count} place(s):\n{listing}\nThe ingestion is live; inspect err.report, then "
            f"re-run the migration with --overwrite or remove it with catalog.unregister({bundle_name!r}).",
            report,
        )
    log.info("%r", report)
    return report


def _with_compression(catalog: Catalog, compression: str | None) -> Catalog:
    """``catalog`` itself, or a second handle on the same root writing with ``compression``."""
    if compression is None or compression == catalog.config.data.compression:
        return catalog
    if compression not in COMPRESSIONS:
        raise ConfigError(f"unknown compression {compression!r}; use one of {', '.join(COMPRESSIONS)}")
    config = replace(catalog.config, data=replace(catalog.config.data, compression=compression))
    return type(catalog)(root=catalog.root, config=config)


def _restore_registration(catalog: Catalog, name: str, previous: Any) -> None:
    """Undo our registration after a failed ingest: forget a new bundle, or put the old registration back."""
    try:
        if previous is None:
            if name in catalog and not catalog.ingestions(name):
                catalog.unregister(name, delete_data=True)
                log.info("bundle %r was not created (the migration did not finish)", name)
        else:
            catalog.store.add_bundle(previous, overwrite=True)
            log.info("bundle %r keeps its previous registration and ingestion %s", name, previous.live_ingestion)
    except Exception:  # never hide the original error
        log.exception("could not restore the registration of bundle %r", name)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size if path.exists() else 0


class _Comparison:
    """Value-by-value comparison of the source reader with the migrated bundle, a block of sids at a time."""

    def __init__(
        self,
        adapter: ZiplineBundleAdapter,
        bundle: Bundle,
        sid_map: dict[int, int],
        report: MigrationReport,
        progress: bool,
    ) -> None:
        self.adapter, self.bundle, self.sid_map, self.report, self.progress = adapter, bundle, sid_map, report, progress
        self.reader = adapter.reader
        self.scales = bundle.manifest.scales

    def run(self) -> None:
        zsids = sorted(self.adapter.symbol_of_sid)
        missing = [z for z in zsids if z not in self.sid_map]
        for z in missing:  # a source sid without any bar has no asset in the bundle; checked as a block too
            log.debug("zipline sid %d has no asset in the bundle", z)
        minute = isinstance(self.reader, BcolzMinuteBarReader)
        size = 1 if minute else VALIDATION_CHUNK
        blocks = [zsids[i : i + size] for i in range(0, len(zsids), size)]
        for block in tqdm(
            blocks, desc=f"validate {self.bundle.name}", unit="block", disable=not self.progress, leave=False
        ):
            if minute:
                r = self.reader
                labels, src = r.load_raw_integers(OHLCV_FIELDS, r.sessions[0], r.last_available_dt, block)
                ratio = r.ratio(block[0])
                ratios = {c: (1.0 if c == "volume" else ratio) for c in OHLCV_FIELDS}
            else:
                sessions = self.reader.sessions
                src = self.reader.load_raw_integers(OHLCV_FIELDS, sessions[0], sessions[-1], block)
                labels, ratios = sessions, self.reader.scaling_factors
            self._compare(block, pd.DatetimeIndex(labels), dict(zip(OHLCV_FIELDS, src, strict=True)), ratios)

    # --- one block -------------------------------------------------------------------------------------
    def _compare(
        self, zsids: Sequence[int], labels: pd.DatetimeIndex, src: dict[str, np.ndarray], ratios: dict[str, float]
    ) -> None:
        n, k = len(labels), len(zsids)
        rsids = [self.sid_map.get(z) for z in zsids]
        known = [r for r in rsids if r is not None]
        # the stored Parquet values (the exact decimals bars(exact=True) returns), pruned by sid statistics
        frame = self.bundle.scan().filter(pl.col("sid").is_in(known)).collect() if known else None
        src_has = np.zeros((n, k), dtype=bool)
        for c in ("open", "high", "low", "close"):
            src_has |= src[c] != 0
        mig_has = np.zeros((n, k), dtype=bool)
        mig: dict[str, np.ndarray] = {c: np.zeros((n, k), dtype=np.int64) for c in OHLCV_FIELDS}
        inexact: dict[str, np.ndarray] = {c: np.zeros((n, k), dtype=bool) for c in OHLCV_FIELDS}
        mig_rows = np.zeros(k, dtype=np.int64)
        if frame is not None and frame.height:
            col_of = {r: j for j, r in enumerate(rsids) if r is not None}
            cols = frame.get_column("sid").replace_strict(col_of, return_dtype=pl.Int64).to_numpy()
            ts = frame.get_column("timestamp").dt.replace_time_zone(None).cast(pl.Datetime("ns")).to_numpy()
            rows = (
                pd.DatetimeIndex(labels.tz_convert("UTC").tz_localize(None) if labels.tz else labels)
                .as_unit("ns")
                .get_indexer(ts)
            )
            off = rows < 0
            if off.any():
                self._record_off_grid(frame.filter(pl.Series(off)), zsids, rsids)
            rows, cols, frame = rows[~off], cols[~off], frame.filter(pl.Series(~off))
            np.add.at(mig_rows, cols, 1)
            mig_has[rows, cols] = True
            for c in OHLCV_FIELDS:
                ints, bad = self._integers(frame.get_column(c), ratios[c])
                mig[c][rows, cols] = ints
                inexact[c][rows, cols] = bad
        both = src_has & mig_has
        self.report.values_compared += int(both.sum()) * len(OHLCV_FIELDS)
        src_rows = src_has.sum(axis=0)
        presence = src_has != mig_has
        if self.report.validation == "lenient":  # the catalog may drop invalid source bars: count, don't list
            dropped = src_has & ~mig_has
            self.report.dropped += int(dropped.sum())
            src_rows = src_rows - dropped.sum(axis=0)
            presence = mig_has & ~src_has
        for j in np.flatnonzero(src_rows != mig_rows):
            self._add(zsids[j], None, "rows", int(src_rows[j]), int(mig_rows[j]))
        for i, j in self._listed(presence):
            self._add(zsids[j], labels[i], "bar", "bar" if src_has[i, j] else None, "bar" if mig_has[i, j] else None, 0)
        for c in OHLCV_FIELDS:
            diff = both & ((src[c].astype(np.int64) != mig[c]) | inexact[c])
            for i, j in self._listed(diff):
                self._add(zsids[j], labels[i], c, int(src[c][i, j]), int(mig[c][i, j]), 0)

    def _listed(self, mask: np.ndarray) -> list[tuple[int, int]]:
        """Count the True cells of ``mask`` as mismatches; return the (row, col) of those still to be listed."""
        count = int(mask.sum())
        if not count:
            return []
        self.report.mismatch_count += count
        room = max(MAX_LISTED_MISMATCHES - len(self.report.mismatches), 0)
        rows, cols = np.nonzero(mask)
        return list(zip(rows[:room].tolist(), cols[:room].tolist(), strict=True))

    def _integers(self, values: pl.Series, ratio: float) -> tuple[np.ndarray, np.ndarray]:
        """Migrated values in the source's integer units (null -> 0) and a mask of values that are not exact.

        Decimals are compared through their unscaled integers (Int128), so the comparison itself is exact.
        """
        scale = decimal_scale(ratio)
        if isinstance(values.dtype, pl.Decimal) and scale is not None:
            stored = int(values.dtype.scale or 0)
            unscaled = values.to_physical().cast(pl.Int64)  # value * 10**stored (overflow raises)
            if stored <= scale:
                ints = unscaled * 10 ** (scale - stored)
                bad = pl.Series(np.zeros(len(values), dtype=bool))
            else:
                step = 10 ** (stored - scale)
                ints, bad = unscaled // step, (unscaled % step) != 0
            return ints.fill_null(0).cast(pl.Int64).to_numpy(), bad.fill_null(False).to_numpy()
        as_float = values.cast(pl.Float64).fill_null(0.0).to_numpy() * ratio
        ints = np.rint(as_float).astype(np.int64)
        return ints, np.abs(as_float - ints) > 1e-6 * np.maximum(1.0, np.abs(as_float))

    def _record_off_grid(self, frame: pl.DataFrame, zsids: Sequence[int], rsids: Sequence[int | None]) -> None:
        zsid_of = {r: z for z, r in zip(zsids, rsids, strict=True) if r is not None}
        for rsid, ts in frame.select("sid", "timestamp").iter_rows():
            self._add(zsid_of.get(rsid, -1), pd.Timestamp(ts), "bar", None, "bar off the source's calendar grid")

    def _add(self, zsid: int, ts: pd.Timestamp | None, fld: str, source: Any, migrated: Any, count: int = 1) -> None:
        self.report.mismatch_count += count
        if len(self.report.mismatches) < MAX_LISTED_MISMATCHES:
            symbol = self.adapter.symbol_of_sid.get(int(zsid), f"SID{zsid}")
            when = None if ts is None else pd.Timestamp(ts)
            self.report.mismatches.append(Mismatch(int(zsid), symbol, when, fld, source, migrated))
