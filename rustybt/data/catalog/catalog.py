"""The catalog: one object over a root directory of bundles (Parquet files + SQLite metadata)."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from rustybt._utils import to_utc, to_utc_or_none
from rustybt.calendars import get_calendar
from rustybt.config import Config, load_config
from rustybt.data.adapters.base import BarAdapter
from rustybt.data.catalog.bundle import Bundle
from rustybt.data.catalog.derived import check_copies
from rustybt.data.catalog.ingest import Ingestion, IngestOptions, remove_leftovers, run_ingestion
from rustybt.data.catalog.layout import CATALOG_DB, bundle_dir, ingestion_dir, try_exclusive, validate_bundle_name
from rustybt.data.catalog.manifest import Manifest, VerifyProblem, VerifyReport, sha256_file
from rustybt.data.catalog.metadata import BundleRecord, IngestionRecord, MetadataStore
from rustybt.data.resolution import parse_resolution
from rustybt.data.validation import ValidationConfig
from rustybt.errors import CorruptDataError, IngestionError, InvalidArgument

__all__ = ["Catalog"]

log = logging.getLogger(__name__)

# (catalog root, bundle) -> the adapter object given to ``register`` in this process: a later ingest reuses it
# (its loaded markets, its session) instead of rebuilding one from the stored parameters
_LIVE_ADAPTERS: dict[tuple[str, str], BarAdapter] = {}


class Catalog:
    """Bundles of bars under one root directory.

    Parameters
    ----------
    root
        Catalog directory. Default: ``RUSTYBT_DATA_DIR``, else ``data.root_dir`` of the config file, else
        ``~/.rustybt/data``.
    config
        A resolved :class:`~rustybt.config.Config` (default: :func:`~rustybt.config.load_config`).

    Examples
    --------
    >>> catalog = Catalog(root=tmp)                                               # doctest: +SKIP
    >>> catalog.register("zl", adapter=CSVAdapter.from_csvdir("csvdir"), calendar="XNYS")  # doctest: +SKIP
    >>> catalog.ingest("zl")                                                      # doctest: +SKIP
    >>> catalog.bundle("zl").bars(["AAPL"], start="2014-01-01", end="2014-12-31")  # doctest: +SKIP
    """

    def __init__(self, root: str | Path | None = None, config: Config | None = None) -> None:
        self.config = config or load_config(root_dir=root)
        self.root = Path(root).expanduser() if root is not None else self.config.data.root_dir
        _check_root(self.root)
        # nothing is created until something is written: reading an empty catalog leaves no trace on disk
        self.store = MetadataStore(self.root / CATALOG_DB)

    # --- registration --------------------------------------------------------------------------------------
    def register(
        self,
        name: str,
        adapter: BarAdapter,
        *,
        calendar: str | None = None,
        resolution: str | None = None,
        symbols: Sequence[str] | str | None = None,
        start_date: str | pd.Timestamp | None = None,
        end_date: str | pd.Timestamp | None = None,
        validation: str | ValidationConfig | None = None,
        strict: bool = True,
        exchange: str | None = None,
        overwrite: bool = False,
        overlap: int | None = 1,
    ) -> BundleRecord:
        """Register bundle ``name`` fed by ``adapter``.

        This is the one registration; ``rustybt.data.bundles.register`` is a spelling of it.

        Parameters
        ----------
        name
            Letters, digits, ``_``, ``-``, ``.``; no path separators or ``..``.
        adapter
            The data source. Its :meth:`~BarAdapter.to_config` parameters are stored (never secrets), so later
            ingests (also from the CLI, or in another process) rebuild it; within this process a later ingest
            reuses this very object as long as the registration still describes it.
        calendar
            ``exchange_calendars`` name. Default: the adapter's ``default_calendar``, else ``"24/7"`` for
            crypto adapters and ``"XNYS"`` for the others.
        resolution
            Bar resolution to store; default ``"1d"`` where the adapter serves it, else its first resolution.
        symbols, start_date, end_date
            What to fetch (one symbol or several; naive dates are UTC); default: everything the adapter offers.
            ``end_date=None`` means up to the time of each ingest (open-ended).
        validation
            ``"strict"`` (any validation error fails the ingest), ``"lenient"`` (bad rows are dropped and
            counted), or a :class:`ValidationConfig`. A mode string (and the default, strict) selects the
            preset for the adapter's market: :meth:`ValidationConfig.crypto` for crypto adapters.
        strict
            True (default): a symbol that fails to load fails the ingest and nothing changes. False: it is
            left out, and reported in ``Ingestion.failures``.
        exchange
            Exchange recorded on the assets; default the adapter's ``exchange_id`` (e.g. ``"binance"``), else "".
        overwrite
            Replace an existing registration (its ingestions are kept).
        overlap
            Incremental updates (only for adapters that fetch from a date per symbol: the network adapters):
            an ``append`` ingest fetches each stored symbol from its last stored bar minus ``overlap`` bars, so
            bars the source revised (or that were still forming) are fetched again. Default 1. None: every
            ingest fetches the whole range.
        """
        validate_bundle_name(name)
        if overlap is not None and (isinstance(overlap, bool) or not isinstance(overlap, int) or overlap < 0):
            raise InvalidArgument(f"overlap must be a number of bars >= 0 or None, got {overlap!r}")
        crypto = str(getattr(adapter, "asset_class", "")).startswith("crypto")
        if calendar is None:
            calendar = getattr(adapter, "default_calendar", None) or ("24/7" if crypto else "XNYS")
        get_calendar(calendar)  # fail early on an unknown calendar
        if resolution is None:
            served = tuple(adapter.supported_resolutions)
            resolution = "1d" if "1d" in served else served[0]
        res = parse_resolution(resolution).name
        if not isinstance(validation, ValidationConfig):
            preset = ValidationConfig.crypto if crypto else ValidationConfig
            validation = preset(mode=validation or "strict")
        if exchange is None:
            exchange = getattr(adapter, "exchange_id", None) or ""
        if isinstance(symbols, str):
            symbols = [symbols]
        options: dict[str, Any] = {
            "symbols": list(symbols) if symbols else None,
            "start_date": str(to_utc(start_date, "start_date")) if start_date is not None else None,
            "end_date": str(to_utc(end_date, "end_date")) if end_date is not None else None,
            "validation": _validation_to_dict(validation),
            "strict": bool(strict),
            "exchange": exchange,
        }
        if overlap is not None:
            options["overlap"] = overlap
        record = BundleRecord(
            name=name,
            adapter=adapter.name,
            adapter_params=adapter.to_config(),
            calendar=calendar,
            resolution=res,
            options=options,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            live_ingestion=None,
        )
        self.store.add_bundle(record, overwrite=overwrite)
        _LIVE_ADAPTERS[self._live_key(name)] = adapter
        log.info("registered bundle %r (%s, %s, %s)", name, adapter.name, calendar, res)
        return self.store.get_bundle(name)

    def unregister(self, name: str, *, delete_data: bool = True) -> None:
        """Forget bundle ``name``; with ``delete_data`` also remove its files."""
        self.store.get_bundle(name)
        self.store.remove_bundle(name)
        _LIVE_ADAPTERS.pop(self._live_key(name), None)
        if delete_data:
            shutil.rmtree(bundle_dir(self.root, name), ignore_errors=True)

    # --- ingestion -----------------------------------------------------------------------------------------
    def ingest(
        self,
        name: str,
        mode: str | None = None,
        *,
        n_workers: int | None = None,
        progress: bool = True,
        validation: str | ValidationConfig | None = None,
        strict: bool | None = None,
        symbols: Sequence[str] | str | None = None,
        start_date: str | pd.Timestamp | None = None,
        end_date: str | pd.Timestamp | None = None,
        adapter: BarAdapter | None = None,
    ) -> Ingestion:
        """Ingest bundle ``name`` atomically; returns the new live :class:`Ingestion`.

        This is the one ingestion; ``rustybt.data.bundles.ingest`` and :meth:`Bundle.ingest` are spellings of it.

        Parameters
        ----------
        name
            The bundle.
        mode
            ``"replace"`` writes exactly what the source returns now. ``"append"`` keeps the stored bars and adds
            the new ones; where a new bar has the (sid, timestamp) of a stored one, the new bar wins and the
            overlap is counted (``replaced_rows``, ``changed_rows``). Default: ``"append"`` (an incremental
            update, see ``overlap`` in :meth:`register`) when the bundle has an ingestion, was registered with an
            ``overlap`` and its adapter fetches from a date per symbol; ``"replace"`` otherwise (file sources are
            read again whole). The first ingest of a bundle always behaves like ``"replace"``.
        n_workers
            Symbols fetched (files parsed) at once; default the number of cores, at most 8.
        progress
            Show a progress bar (a widget in notebooks).
        validation, strict
            Override the registration's for this run. A mode string (``"lenient"``) changes only the mode of the
            registered :class:`ValidationConfig`; its thresholds stay.
        symbols, start_date, end_date
            Override the registration's for this run. An explicit ``start_date`` re-fetches from there (no
            incremental start).
        adapter
            Use this adapter object instead of the registered one (default: the object given to
            :meth:`register` in this process if the registration still describes it, else one rebuilt from the
            stored parameters).

        On any failure the previous ingestion stays live and nothing partial is visible.
        """
        record = self.store.get_bundle(name)
        opts = record.options
        vconfig = _validation_from_dict(opts.get("validation", {}))
        if isinstance(validation, ValidationConfig):
            vconfig = validation
        elif validation is not None:  # a mode string keeps the registered thresholds (e.g. the crypto preset)
            vconfig = replace(vconfig, mode=validation)
        if isinstance(symbols, str):
            symbols = [symbols]
        if adapter is None:
            adapter = self._live_adapter(record)
        options = IngestOptions(
            mode=mode,
            validation=vconfig,
            strict=opts.get("strict", True) if strict is None else strict,
            n_workers=n_workers or _default_workers(),
            progress=progress,
            symbols=symbols or opts.get("symbols"),
            start_date=to_utc_or_none(start_date if start_date is not None else opts.get("start_date"), "start_date"),
            end_date=to_utc_or_none(end_date if end_date is not None else opts.get("end_date"), "end_date"),
            incremental=start_date is None,  # an explicit start date re-fetches from there
        )
        return run_ingestion(self.store, self.root, self.config.data.compression, record, options, adapter)

    def _live_key(self, name: str) -> tuple[str, str]:
        return (str(self.root.resolve()), name)

    def _live_adapter(self, record: BundleRecord) -> BarAdapter | None:
        """The adapter registered in this process, if the stored registration still describes it."""
        adapter = _LIVE_ADAPTERS.get(self._live_key(record.name))
        if adapter is None:
            return None
        if adapter.name == record.adapter and json.loads(json.dumps(adapter.to_config())) == record.adapter_params:
            return adapter
        log.info("bundle %r was registered again elsewhere; rebuilding its adapter from the registration", record.name)
        del _LIVE_ADAPTERS[self._live_key(record.name)]
        return None

    # --- reading -------------------------------------------------------------------------------------------
    def bundles(self) -> list[str]:
        """Names of registered bundles."""
        return self.store.bundle_names()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.store.bundle_names()

    def bundle(self, name: str, ingestion: str | None = None) -> Bundle:
        """Bundle ``name`` pinned to its live ingestion (or to ``ingestion``)."""
        record = self.store.get_bundle(name)
        return Bundle(self, record, self.store.get_ingestion(name, ingestion))

    def migrate(
        self,
        source: str | Path,
        name: str,
        *,
        compression: str | None = None,
        validate: bool = True,
        overwrite: bool = False,
        progress: bool = True,
        **options: Any,
    ):
        """Migrate a zipline bundle ingestion (bcolz + SQLite) or HDF5 daily-bar file into bundle ``name``.

        Atomic like any ingest; with ``validate`` every value is compared with the source. Returns a
        :class:`~rustybt.data.legacy.migrate.MigrationReport`. See docs/migration.md.
        """
        from rustybt.data.legacy.migrate import migrate

        return migrate(
            self,
            source,
            name,
            compression=compression,
            validate=validate,
            overwrite=overwrite,
            progress=progress,
            **options,
        )

    def ingestions(self, name: str) -> list[IngestionRecord]:
        """Ingestions of bundle ``name``, oldest first."""
        self.store.get_bundle(name)
        return self.store.ingestions(name)

    def summary(self) -> pl.DataFrame:
        """One row per bundle: name, adapter, calendar, resolution, assets, rows, range, size, last ingest, quality."""
        rows = []
        for name in self.bundles():
            rec = self.store.get_bundle(name)
            ing = self.store.get_ingestion(name) if rec.live_ingestion else None
            if ing is None:
                live: tuple[Any, ...] = (0, 0, None, None, 0, None, None, 0, 0, 0)
            else:
                q = ing.quality
                live = (ing.n_assets, ing.rows, ing.start, ing.end, ing.size_bytes, ing.created_at, ing.id)
                live += (q.get("error_count", 0), q.get("warning_count", 0), q.get("rows_dropped", 0))
            rows.append((name, rec.adapter, rec.calendar, rec.resolution, *live))
        return pl.DataFrame(rows, schema=_SUMMARY_SCHEMA, orient="row")

    # --- maintenance ---------------------------------------------------------------------------------------
    def verify(self, name: str, ingestion: str | None = None) -> VerifyReport:
        """Check an ingestion (default: the live one) end to end; nothing is modified.

        Cross-checks, each reported as a :class:`VerifyProblem`: every file's size, SHA-256 and row count against
        the manifest; Parquet files on disk the manifest does not list; the manifest's row total against the
        ingestion's record in ``catalog.sqlite``, and the asset rows against both; the asset and adjustment rows
        in ``catalog.sqlite`` against the digest the manifest recorded at ingest (an edited row, two symbols
        swapped); and the dense copies of the bars in the cache directory against their checksums.
        """
        rec = self.store.get_ingestion(name, ingestion)
        directory = ingestion_dir(self.root, name, rec.id)
        try:
            manifest = Manifest.read(directory)
        except (OSError, ValueError, TypeError) as exc:
            return VerifyReport(name, rec.id, 0, [VerifyProblem("manifest.json", "unreadable", str(exc))])
        problems = [p for entry in manifest.files if (p := _check_entry(directory, entry)) is not None]
        listed = {entry.path for entry in manifest.files}
        for path in sorted((directory / "bars").rglob("*.parquet")) if (directory / "bars").is_dir() else []:
            rel = path.relative_to(directory).as_posix()
            if rel not in listed:
                problems.append(VerifyProblem(rel, "not in manifest", "the manifest lost its entry: reads skip it"))
        if (manifest.bundle, manifest.ingestion_id) != (name, rec.id):
            problems.append(
                VerifyProblem(
                    "manifest.json", "wrong ingestion", f"describes {manifest.bundle}@{manifest.ingestion_id}"
                )
            )
        if manifest.rows != rec.rows:
            problems.append(
                VerifyProblem(
                    "manifest.json", "row count mismatch", f"{manifest.rows} rows, catalog.sqlite says {rec.rows}"
                )
            )
        asset_rows = sum(int(a.get("rows", 0)) for a in self.store.assets(name, rec.id))
        if asset_rows != rec.rows:
            problems.append(
                VerifyProblem(
                    CATALOG_DB, "row count mismatch", f"asset rows add up to {asset_rows}, the ingestion has {rec.rows}"
                )
            )
        if manifest.metadata_digest and self.store.metadata_digest(name, rec.id) != manifest.metadata_digest:
            problems.append(
                VerifyProblem(
                    CATALOG_DB,
                    "metadata mismatch",
                    "asset or adjustment rows differ from those written with the ingestion",
                )
            )
        try:
            copies = check_copies(self.bundle(name, rec.id))
        except CorruptDataError:  # the manifest disagrees with the database: reported above
            copies = []
        for path, problem in copies:
            problems.append(VerifyProblem(path, "dense copy " + problem, "derived data: it is rebuilt when read"))
        if problems:
            log.error("bundle %r ingestion %s: %d problem(s)", name, rec.id, len(problems))
        return VerifyReport(name, rec.id, len(manifest.files), problems)

    def clean(
        self,
        name: str,
        *,
        keep_last: int | None = None,
        before: str | pd.Timestamp | None = None,
        after: str | pd.Timestamp | None = None,
    ) -> list[str]:
        """Delete old ingestions of bundle ``name``; returns the ids removed.

        ``keep_last=N`` keeps the N newest; ``before`` / ``after`` remove ingestions created strictly before /
        after the given time. The live ingestion is never removed, nor one an open :class:`Bundle` still reads
        (it holds a lease; the next clean after it is closed removes it). Without any of them, only what
        interrupted ingestions left behind is removed (``.staging/``; unknown directories are quarantined).
        """
        if keep_last is not None and keep_last < 1:
            raise IngestionError(f"keep_last must be at least 1, got {keep_last}")
        record = self.store.get_bundle(name)
        history = self.store.ingestions(name)
        try:
            remove_leftovers(self.root, name, {r.id for r in history})
        except IngestionError:  # an ingestion is running: its staging directory is not a leftover
            log.info("bundle %r: an ingestion is running; leftovers are removed by the next clean", name)
        if keep_last is None and before is None and after is None:
            return []
        doomed: set[str] = set()
        if keep_last is not None:
            doomed |= {r.id for r in history[:-keep_last]}
        if before is not None:
            cut = to_utc(before, "before")
            doomed |= {r.id for r in history if pd.Timestamp(r.created_at) < cut}
        if after is not None:
            cut = to_utc(after, "after")
            doomed |= {r.id for r in history if pd.Timestamp(r.created_at) > cut}
        doomed.discard(record.live_ingestion or "")
        removed = []
        for ingestion_id in sorted(doomed):
            directory = ingestion_dir(self.root, name, ingestion_id)
            with try_exclusive(directory) as free:
                if not free:
                    log.info("bundle %r: ingestion %s is still read by an open Bundle; kept", name, ingestion_id)
                    continue
                self.store.delete_ingestions(name, [ingestion_id])
                shutil.rmtree(directory, ignore_errors=True)
                removed.append(ingestion_id)
        if removed:
            log.info("bundle %r: removed ingestions %s", name, ", ".join(removed))
        return removed

    def live_ingestion(self, name: str) -> IngestionRecord:
        """The live ingestion record of bundle ``name`` (:class:`IngestionNotFound` if it has none)."""
        return self.store.get_ingestion(name)

    # --- display -------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        names = self.bundles()
        return f"Catalog({str(self.root)!r}, {len(names)} bundle(s): {', '.join(names) or 'none'})"

    def _repr_html_(self) -> str:
        from rustybt._html import catalog_html

        return catalog_html(self)


#: Columns of :meth:`Catalog.summary`, in order.
_SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "bundle": pl.String(),
    "adapter": pl.String(),
    "calendar": pl.String(),
    "resolution": pl.String(),
    "assets": pl.Int64(),
    "rows": pl.Int64(),
    "start": pl.String(),
    "end": pl.String(),
    "size_bytes": pl.Int64(),
    "last_ingest": pl.String(),
    "ingestion": pl.String(),
    "errors": pl.Int64(),
    "warnings": pl.Int64(),
    "dropped": pl.Int64(),
}


def _check_root(root: Path) -> None:
    """Raise :class:`NotADirectoryError` when ``root``, or the nearest of its parents that exists, is not a
    directory: such a catalog could never be written (checked without creating anything)."""
    path = root
    while not path.exists() and path != path.parent:
        path = path.parent
    if path.exists() and not path.is_dir():
        import errno

        raise NotADirectoryError(
            errno.ENOTDIR, f"catalog root {root} cannot be a directory: {path} is a file", str(path)
        )


def _check_entry(directory: Path, entry) -> VerifyProblem | None:
    """What is wrong with the file of one manifest entry, or None."""
    path = directory / entry.path
    if not path.exists():
        return VerifyProblem(entry.path, "missing")
    size = path.stat().st_size
    if size != entry.bytes:
        return VerifyProblem(entry.path, "size mismatch", f"{size} bytes, manifest says {entry.bytes}")
    if sha256_file(path) != entry.sha256:
        return VerifyProblem(entry.path, "checksum mismatch", "the file changed after ingestion")
    try:
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception as exc:  # pyarrow raises several types for broken files
        return VerifyProblem(entry.path, "unreadable", str(exc))
    if rows != entry.rows:
        return VerifyProblem(entry.path, "row count mismatch", f"{rows} rows, manifest {entry.rows}")
    return None


def _default_workers() -> int:
    import os

    return max(1, min(8, os.cpu_count() or 1))


def _validation_to_dict(config: ValidationConfig) -> dict[str, Any]:
    out = asdict(config)
    for key, value in list(out.items()):
        if hasattr(value, "total_seconds"):
            out[key] = {"seconds": value.total_seconds()}
    return out


def _validation_from_dict(data: dict[str, Any]) -> ValidationConfig:
    from datetime import timedelta

    kwargs = dict(data)
    for key, value in list(kwargs.items()):
        if isinstance(value, dict) and "seconds" in value:
            kwargs[key] = timedelta(seconds=value["seconds"])
    known = set(ValidationConfig.__dataclass_fields__)
    return ValidationConfig(**{k: v for k, v in kwargs.items() if k in known})
