"""One atomic, versioned ingestion of a bundle.

The new ingestion is written under ``.staging/<id>/``, validated, checksummed and described by a manifest; then
the directory is renamed into place and a single SQLite transaction records it and moves the bundle's live
pointer. Any failure, exception or KeyboardInterrupt before that transaction leaves the previous ingestion live
and removes the partial one; a process killed outright leaves only a staging or orphan directory that nothing
reads: the next ingestion of the bundle (or ``Catalog.clean``) removes a staging directory, and moves a directory
the catalog does not know into ``.quarantine/`` instead of deleting it.
"""

from __future__ import annotations

import fcntl
import inspect
import logging
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from rustybt._progress import finish, progress_bar
from rustybt._utils import to_utc
from rustybt.calendars import sessions_in_range
from rustybt.data.adapters.base import BarAdapter, adapter_from_config
from rustybt.data.catalog.layout import (
    SCHEMA_VERSION,
    bundle_dir,
    ingestion_dir,
    new_ingestion_id,
    staging_dir,
)
from rustybt.data.catalog.manifest import Manifest
from rustybt.data.catalog.metadata import BundleRecord, IngestionRecord, MetadataStore, asset_rows, metadata_digest
from rustybt.data.catalog.storage import read_ingestion_bars
from rustybt.data.catalog.writer import write_bars
from rustybt.data.resolution import parse_resolution
from rustybt.data.schema import (
    SOURCE_FILE_COLUMN,
    SOURCE_ROW_COLUMN,
    TIMESTAMP_DTYPE,
    VALUE_COLUMNS,
    decimal_dtype,
    decimal_source,
    infer_scales,
    to_decimal,
)
from rustybt.data.validation import ValidationConfig, ValidationReport, validate_bars
from rustybt.errors import DataFormatError, IngestionError, IngestionNotFound, RustyBTError

__all__ = ["IngestOptions", "Ingestion", "remove_leftovers", "resolve_mode", "run_ingestion"]

log = logging.getLogger(__name__)
MODES = ("replace", "append")


@dataclass(frozen=True)
class IngestOptions:
    """How one ingestion runs (resolved from the bundle's registration and the call's arguments)."""

    mode: str | None = None  # None: append for an incremental update, else replace (see resolve_mode)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    strict: bool = True  # any symbol that fails to load aborts the ingestion
    n_workers: int = 1
    progress: bool = True
    symbols: Sequence[str] | None = None
    start_date: pd.Timestamp | None = None
    end_date: pd.Timestamp | None = None
    # append mode, bundle registered with an ``overlap`` option, adapter whose iter_bars takes ``starts``: fetch
    # each stored symbol only from its last stored bar minus ``overlap`` bars (False: from start_date)
    incremental: bool = True


@dataclass
class Ingestion:
    """The outcome of :meth:`Catalog.ingest`: the new live ingestion of a bundle.

    Attributes
    ----------
    id, bundle, mode, rows, n_assets
        Identity and size of the ingestion (``rows`` counts every bar stored, old and new in append mode).
    report
        The :class:`~rustybt.data.validation.ValidationReport` of the bars this run fetched.
    new_rows, replaced_rows, changed_rows
        Append mode: bars added, bars that overlapped stored ones (the new ingest wins), and how many of
        those carried different values.
    failures
        Symbols that could not be loaded (only when the bundle is not strict), with their error messages.
    """

    id: str
    bundle: str
    mode: str
    rows: int
    n_assets: int
    report: ValidationReport
    duration_s: float
    new_rows: int
    replaced_rows: int = 0
    changed_rows: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    record: IngestionRecord | None = None

    @property
    def partial(self) -> bool:
        """True when some symbols failed and were left out."""
        return bool(self.failures)

    def __repr__(self) -> str:
        extra = f", {len(self.failures)} failed symbol(s)" if self.failures else ""
        return (
            f"Ingestion({self.bundle}@{self.id}: {self.rows:,} rows, {self.n_assets} assets, mode={self.mode}, "
            f"{self.report.error_count} errors / {self.report.warning_count} warnings, "
            f"{self.report.rows_dropped} dropped{extra}, {self.duration_s:.2f}s)"
        )

    def _repr_html_(self) -> str:
        from rustybt._html import ingestion_html

        return ingestion_html(self)


@contextmanager
def bundle_lock(directory: Path, bundle: str) -> Iterator[None]:
    """Hold the bundle's ingestion lock (an advisory ``flock``; released if the process dies)."""
    directory.mkdir(parents=True, exist_ok=True)
    fh = open(directory / ".lock", "a+")  # noqa: SIM115 - held for the whole with-block
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestionError(f"another ingestion of bundle {bundle!r} is running; wait for it to finish") from None
        yield
    finally:
        fh.close()


def _remove_leftovers(directory: Path, known: set[str]) -> list[Path]:
    """Remove what killed ingestions left in ``.staging/`` (the catalog's own area; we hold the lock, nobody writes
    there), and move every other directory the catalog does not know into ``.quarantine/``: it may be a user's
    folder, or a real ingestion a restored older ``catalog.sqlite`` forgot. Nothing outside ``.staging/`` is ever
    deleted. Returns the quarantined paths (each logged as a warning)."""
    staging = directory / ".staging"
    if staging.exists():
        for leftover in staging.iterdir():
            log.info("removing unfinished ingestion %s", leftover)
            shutil.rmtree(leftover, ignore_errors=True)
    moved = []
    for child in sorted(directory.iterdir()):
        if child.is_dir() and not child.name.startswith(".") and child.name not in known:
            target = directory / ".quarantine" / child.name
            n = 1
            while target.exists():
                target, n = directory / ".quarantine" / f"{child.name}.{n}", n + 1
            target.parent.mkdir(exist_ok=True)
            os.replace(child, target)
            log.warning(
                "bundle directory %s is not an ingestion the catalog knows; moved to %s (nothing deleted: remove it "
                "yourself if you do not need it)",
                child,
                target,
            )
            moved.append(target)
    return moved


def remove_leftovers(root: Path, name: str, known: set[str]) -> list[Path]:
    """:func:`_remove_leftovers` under the bundle's lock (for ``Catalog.clean``); an ingestion running now keeps
    its staging directory (:class:`IngestionError`)."""
    directory = bundle_dir(root, name)
    if not directory.exists():
        return []
    with bundle_lock(directory, name):
        return _remove_leftovers(directory, known)


def _fsync_tree(directory: Path) -> None:
    """fsync every directory of a written ingestion (the files were fsynced as written) so the rename that
    publishes it cannot outlive its contents after a power loss."""
    for path in sorted((p for p in directory.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        _fsync_dir(path)
    _fsync_dir(directory)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _no_interrupt() -> Iterator[None]:
    """Hold off Ctrl-C while cleaning up after a failure (a second KeyboardInterrupt would leave the staging
    directory behind); a Ctrl-C pressed meanwhile is raised when the block ends."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(1))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


def run_ingestion(
    store: MetadataStore,
    root: Path,
    compression: str,
    record: BundleRecord,
    options: IngestOptions,
    adapter: BarAdapter | None = None,
) -> Ingestion:
    """Fetch, validate and write one ingestion of ``record``'s bundle; make it live atomically."""
    if options.mode is not None and options.mode not in MODES:
        raise IngestionError(f"unknown ingest mode {options.mode!r}; use one of {', '.join(MODES)}")
    started = time.perf_counter()
    directory = bundle_dir(root, record.name)
    with bundle_lock(directory, record.name):
        # the record as it is now, under the lock: an ingest that finished while this one waited moved the live
        # ingestion, and an append must build on that one, not on the one the caller saw
        record = store.get_bundle(record.name)
        previous = {r.id: r for r in store.ingestions(record.name)}
        quarantined = _remove_leftovers(directory, set(previous))
        ingestion_id = new_ingestion_id(set(previous))
        stage = staging_dir(root, record.name, ingestion_id)
        stage.mkdir(parents=True)
        final = ingestion_dir(root, record.name, ingestion_id)
        live = record.live_ingestion
        try:
            adapter = adapter or adapter_from_config(record.adapter, record.adapter_params)
            options = replace(options, mode=resolve_mode(options.mode, record, adapter))
            built = _build(store, root, compression, record, options, adapter, stage, ingestion_id)
            built.record = _with_duration(built.record, time.perf_counter() - started)
            if quarantined:
                built.record.details["quarantined"] = [str(p) for p in quarantined]
            _fsync_tree(stage)
            try:
                os.replace(stage, final)
                _fsync_dir(directory)
                store.commit_ingestion(built.record, built.new_sids, built.assets, built.adjustments)
            except BaseException:
                with _no_interrupt():
                    if not _committed(store, record.name, ingestion_id):
                        shutil.rmtree(final, ignore_errors=True)
                raise
        except BaseException as exc:
            with _no_interrupt():
                shutil.rmtree(stage, ignore_errors=True)
                committed = _committed(store, record.name, ingestion_id)
            if committed:  # interrupted after the commit: the new ingestion is live, say so
                log.warning(
                    "bundle %r: interrupted after ingestion %s was committed; it is live", record.name, ingestion_id
                )
                raise
            kept = f"ingestion {live} stays live" if live else "the bundle has no ingestion yet"
            log.error("ingestion of bundle %r failed; %s", record.name, kept)
            if isinstance(exc, RustyBTError) or not isinstance(exc, Exception):
                raise
            raise IngestionError(f"ingestion of bundle {record.name!r} failed ({kept}): {exc}") from exc
    result = built.result
    result.duration_s = built.record.duration_s
    result.record = built.record
    log.info("%r", result)
    return result


def resolve_mode(mode: str | None, record: BundleRecord, adapter: BarAdapter) -> str:
    """The mode an ingest runs in: ``mode`` if given, else ``append`` for an incremental update (a bundle with an
    ingestion, registered with an ``overlap``, whose adapter fetches from a date per symbol) and ``replace``
    otherwise. Appending to a bundle without an ingestion is a replace."""
    if record.live_ingestion is None:
        if mode == "append":
            log.info("bundle %r has no ingestion yet; append behaves like replace", record.name)
        return "replace"
    if mode is not None:
        return mode
    incremental = record.options.get("overlap") is not None and _accepts_starts(adapter)
    return "append" if incremental else "replace"


def _committed(store: MetadataStore, bundle: str, ingestion_id: str) -> bool:
    try:
        store.get_ingestion(bundle, ingestion_id)
    except IngestionNotFound:
        return False
    return True


def _with_duration(record: IngestionRecord, seconds: float) -> IngestionRecord:
    return replace(record, duration_s=round(seconds, 4))


@dataclass
class _Built:
    record: IngestionRecord
    result: Ingestion
    new_sids: dict[str, int]
    assets: list[dict[str, Any]]
    adjustments: list[tuple[int, str, str, float | None, float | None]]


def _fetch(
    adapter: BarAdapter,
    record: BundleRecord,
    options: IngestOptions,
    starts: Mapping[str, pd.Timestamp] | None = None,
) -> tuple[pl.DataFrame, dict[str, str], dict[str, dict[str, Any]]]:
    symbols = list(options.symbols) if options.symbols else record.options.get("symbols")
    if symbols is None:
        symbols = adapter.symbols()
    frames: list[pl.DataFrame] = []
    failures: dict[str, str] = {}
    infos: dict[str, dict[str, Any]] = {}
    loaded: list[str] = []
    extra: dict[str, Any] = {}
    if starts and _accepts_starts(adapter):
        extra["starts"] = starts
        log.info("bundle %r: incremental update of %d stored symbol(s)", record.name, len(starts))
    stream = adapter.iter_bars(
        symbols, options.start_date, options.end_date, record.resolution, n_workers=options.n_workers, **extra
    )
    with progress_bar(
        total=len(symbols) if symbols else None,
        desc=f"ingest {record.name}",
        unit="symbol",
        disable=not options.progress,
    ) as bar:
        for item in stream:
            bar.update(1)
            if item.error is not None:
                failures[item.symbol] = str(item.error)
                log.warning("bundle %r: symbol %s failed: %s", record.name, item.symbol, item.error)
                continue
            if item.bars is None or item.bars.height == 0:
                log.warning("bundle %r: no bars for symbol %s in the requested range", record.name, item.symbol)
                continue
            frames.append(item.bars)
            infos[item.symbol] = item.info
            loaded.append(item.symbol)
        failed = f", {len(failures)} failed" if failures else ""
        finish(bar, f"ingest {record.name}: {len(loaded)} symbol(s) fetched{failed}")
    listing = "\n".join(f"  {sym}: {msg}" for sym, msg in sorted(failures.items())[:20])
    listing += f"\n  ... and {len(failures) - 20} more" if len(failures) > 20 else ""
    if failures and options.strict:
        done = sorted(loaded)
        fetched = (
            f"\n{len(done)} symbol(s) loaded fine (not stored either): {', '.join(done[:20])}"
            f"{' ...' if len(done) > 20 else ''}"
            if done
            else ""
        )
        raise IngestionError(
            f"bundle {record.name!r}: {len(failures)} symbol(s) could not be loaded; nothing was changed:\n"
            f"{listing}{fetched}\nFix the source, or ingest with strict=False to keep the symbols that loaded."
        )
    if not frames and failures:
        raise IngestionError(f"bundle {record.name!r}: no symbol could be loaded; nothing was changed:\n{listing}")
    if not frames:
        raise IngestionError(f"bundle {record.name!r}: the source returned no bars; nothing was changed")
    return pl.concat(frames, how="diagonal_relaxed"), failures, infos


def _build(
    store: MetadataStore,
    root: Path,
    compression: str,
    record: BundleRecord,
    options: IngestOptions,
    adapter: BarAdapter,
    stage: Path,
    ingestion_id: str,
) -> _Built:
    resolution = parse_resolution(record.resolution).name
    parent = record.live_ingestion if options.mode == "append" else None
    starts = _incremental_starts(store, record, parent, options) if parent else None
    raw, failures, infos = _fetch(adapter, record, options, starts)
    clean, report = validate_bars(raw, calendar=record.calendar, resolution=resolution, config=options.validation)
    if options.validation.mode == "strict" and not report.ok:
        report.raise_for_errors(context=f"bundle {record.name!r}")
    if clean.height == 0:
        raise IngestionError(f"bundle {record.name!r}: validation dropped every bar; nothing was changed")

    # Stable sids: reuse the bundle's, number new symbols after the largest known one, in symbol order.
    known = store.symbol_sids(record.name)
    symbols = sorted(clean.get_column("symbol").unique().to_list())
    next_sid = max(known.values(), default=-1) + 1
    new_sids: dict[str, int] = {}
    for sym in symbols:
        if sym not in known:
            new_sids[sym] = next_sid
            next_sid += 1
    sid_of = {**known, **new_sids}

    prev_manifest = Manifest.read(ingestion_dir(root, record.name, parent)) if parent else None
    scales = infer_scales(clean)
    if prev_manifest is not None:
        scales = {c: max(scales[c], prev_manifest.scales.get(c, 0)) for c in VALUE_COLUMNS}
    _check_exact(clean, scales, record.name)

    bars = to_decimal(
        clean.select(
            pl.col("timestamp").cast(TIMESTAMP_DTYPE),
            pl.col("symbol").replace_strict(sid_of, return_dtype=pl.Int64).alias("sid"),
            *VALUE_COLUMNS,
        ),
        scales,
    )
    new_rows = bars.height
    replaced = changed = 0
    if prev_manifest is not None:
        old = to_decimal(
            read_ingestion_bars(ingestion_dir(root, record.name, parent), prev_manifest, resolution), scales
        )
        overlap = old.join(bars, on=["sid", "timestamp"], how="inner", suffix="_new")
        replaced = overlap.height
        if replaced:
            differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_new")) for c in VALUE_COLUMNS])
            changed = overlap.filter(differs).height
        bars = pl.concat([old.join(bars, on=["sid", "timestamp"], how="anti"), bars])
        new_rows -= replaced
        if replaced:
            log.info(
                "bundle %r: %d stored bars overlapped the new ones (%d with different values); the new ingest wins",
                record.name,
                replaced,
                changed,
            )
    if not _sorted_by_sid_time(bars):  # adapters usually deliver (symbol, time) order, and sids follow symbols
        bars = bars.sort(["sid", "timestamp"])

    files = write_bars(bars, stage, resolution, compression)
    assets = _asset_records(bars, sid_of, infos, adapter, record, resolution, store, parent)
    adjustments, ignored = _adjustment_rows(adapter, bars, sid_of, store, record, parent)
    if ignored and options.validation.mode == "strict":
        listing = "\n".join(f"  {line}" for line in ignored[:20])
        raise IngestionError(
            f"bundle {record.name!r}: {len(ignored)} dividend(s) cannot adjust prices (negative, or not below the "
            f"previous close); nothing was changed:\n{listing}\nFix the source, or ingest with "
            'validation="lenient" to leave them out (they are counted in the quality record)'
        )
    manifest = Manifest(
        bundle=record.name,
        ingestion_id=ingestion_id,
        calendar=record.calendar,
        files=files,
        scales=scales,
        metadata_digest=metadata_digest(asset_rows(assets), adjustments),
    )
    manifest.write(stage)
    ts = bars.get_column("timestamp")
    quality = report.to_dict()
    if ignored:  # lenient: counted with the validation warnings, so the quality record shows every change
        quality["counts"]["dividend_ignored"] = len(ignored)
        quality["counts_by_severity"].setdefault("warning", {})["dividend_ignored"] = len(ignored)
        quality["warning_count"] = quality.get("warning_count", 0) + len(ignored)
    details = {
        "resolutions": manifest.resolutions,
        "scales": scales,
        "new_rows": new_rows,
        "replaced_rows": replaced,
        "changed_rows": changed,
        "failures": failures,
        "symbols_fetched": len(symbols),
        "adapter": record.adapter,
    }
    ing_record = IngestionRecord(
        id=ingestion_id,
        bundle=record.name,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        mode=options.mode,
        parent=parent,
        rows=bars.height,
        n_assets=len(assets),
        start=str(ts.min()),
        end=str(ts.max()),
        size_bytes=manifest.size_bytes,
        schema_version=SCHEMA_VERSION,
        duration_s=0.0,
        quality=quality,
        details=details,
    )
    result = Ingestion(
        id=ingestion_id,
        bundle=record.name,
        mode=options.mode,
        rows=bars.height,
        n_assets=len(assets),
        report=report,
        duration_s=0.0,
        new_rows=new_rows,
        replaced_rows=replaced,
        changed_rows=changed,
        failures=failures,
    )
    return _Built(ing_record, result, new_sids, assets, adjustments)


def _check_exact(frame: pl.DataFrame, scales: dict[str, int], bundle: str) -> None:
    """Raise :class:`DataFormatError` naming file, line and field for the first value that the column's decimal
    (38 digits, ``scales[column]`` after the point) cannot hold exactly: never store a truncated or lost value."""
    for col in VALUE_COLUMNS:
        if col not in frame.columns:
            continue
        target = decimal_dtype(scales[col])
        source = pl.col(col)
        lost = source.is_not_null() & decimal_source(frame, col, target).cast(target, strict=False).is_null()
        if frame.schema[col].is_float():
            lost = lost & source.is_finite()
        bad = frame.filter(lost)
        if bad.height == 0:
            continue
        row = bad.row(0, named=True)
        where = (
            f"{row[SOURCE_FILE_COLUMN]}, line {row[SOURCE_ROW_COLUMN]}"
            if SOURCE_FILE_COLUMN in row and SOURCE_ROW_COLUMN in row
            else f"bundle {bundle!r}, symbol {row.get('symbol')!r} at {row.get('timestamp')}"
        )
        raise DataFormatError(
            f"{where}, field {col!r}: value {row[col]} cannot be stored exactly: the column keeps "
            f"{target.scale} digits after the point (its most precise value) and 38 digits in all, which leaves "
            f"{38 - target.scale} before the point ({bad.height} value(s) affected); round the source's values"
        )


def _sorted_by_sid_time(bars: pl.DataFrame) -> bool:
    """True if ``bars`` is already sorted by (sid, timestamp): one cheap vectorized pass instead of a sort."""
    if bars.height < 2:
        return True
    sid_step = pl.col("sid").diff()
    ts_step = pl.col("timestamp").diff()
    ok = (sid_step > 0) | ((sid_step == 0) & (ts_step >= pl.duration(nanoseconds=0)))
    return bool(bars.select(ok.slice(1).all()).item())


def _accepts_starts(adapter: BarAdapter) -> bool:
    """True when ``adapter.iter_bars`` takes a ``starts`` keyword (per-symbol start dates)."""
    try:
        return "starts" in inspect.signature(adapter.iter_bars).parameters
    except (TypeError, ValueError):
        return False


def _incremental_starts(
    store: MetadataStore, record: BundleRecord, parent: str, options: IngestOptions
) -> dict[str, pd.Timestamp] | None:
    """Per-symbol start of an incremental update: each stored asset's last bar minus ``overlap`` bars.

    Only for bundles registered with an ``overlap`` option (``rustybt.data.bundles.register``) and ingests
    that did not ask for an explicit start date. The overlap re-fetches the last stored bars, which an exchange
    may have revised (or which were still forming); the new values win in append mode.
    """
    overlap = record.options.get("overlap")
    if overlap is None or not options.incremental:
        return None
    overlap = int(overlap)
    res = parse_resolution(record.resolution)
    starts: dict[str, pd.Timestamp] = {}
    for asset in store.assets(record.name, parent):
        if not asset.get("end_date"):
            continue
        last = to_utc(asset["end_date"])
        if res.is_intraday:
            first = last - overlap * res.timedelta
        elif res.name == "1d":
            window = sessions_in_range(record.calendar, last - pd.Timedelta(days=7 * overlap + 10), last)
            window = window[window <= last.tz_localize(None)]
            first = (
                pd.Timestamp(window[-overlap - 1]).tz_localize("UTC")
                if len(window) > overlap
                else last - pd.Timedelta(days=overlap)
            )
        elif res.name == "1w":
            first = last - pd.Timedelta(weeks=overlap)
        else:
            first = last - pd.DateOffset(months=overlap)
        if options.start_date is not None:
            first = max(first, options.start_date)
        starts[asset["symbol"]] = first
    return starts


def _asset_records(
    bars: pl.DataFrame,
    sid_of: dict[str, int],
    infos: dict[str, dict[str, Any]],
    adapter: BarAdapter,
    record: BundleRecord,
    resolution: str,
    store: MetadataStore,
    parent: str | None,
) -> list[dict[str, Any]]:
    symbol_of = {sid: sym for sym, sid in sid_of.items()}
    previous = {a["sid"]: a for a in store.assets(record.name, parent)} if parent else {}
    stats = bars.group_by("sid").agg(
        pl.len().alias("rows"),
        pl.col("timestamp").min().alias("start"),
        pl.col("timestamp").max().alias("end"),
    )
    daily = not parse_resolution(resolution).is_intraday
    records = []
    for sid, rows, start, end in stats.sort("sid").iter_rows():
        symbol = symbol_of[sid]
        base: dict[str, Any] = dict(previous.get(sid, {}))
        base.update(
            {
                "asset_class": adapter.asset_class,
                "exchange": record.options.get("exchange", ""),
                "calendar_name": record.calendar,
            }
        )
        base.update(infos.get(symbol, {}))
        start_ts = pd.Timestamp(start).tz_convert(None)
        end_ts = pd.Timestamp(end).tz_convert(None)
        base.update(
            sid=int(sid),
            symbol=symbol,
            rows=int(rows),
            start_date=(start_ts.normalize() if daily else start_ts).isoformat(),
            end_date=(end_ts.normalize() if daily else end_ts).isoformat(),
        )
        records.append(base)
    return records


def _adjustment_rows(
    adapter: BarAdapter,
    bars: pl.DataFrame,
    sid_of: dict[str, int],
    store: MetadataStore,
    record: BundleRecord,
    parent: str | None,
) -> tuple[list[tuple[int, str, str, float | None, float | None]], list[str]]:
    """Adjustments for the stored sids (a dividend's ratio is 1 - amount / the previous session's close), and the
    dividends left out because they cannot adjust prices (negative, or not below the previous close), described."""
    ignored: list[str] = []
    frame = adapter.adjustments(list(sid_of))
    rows: dict[tuple[int, str, str], tuple[int, str, str, float | None, float | None]] = {}
    if parent:
        for adj in store.adjustments(record.name, parent):
            rows[(adj[0], adj[1], adj[2])] = adj
    if frame.height:
        frame = frame.filter(pl.col("symbol").is_in(list(sid_of)))
        frame = frame.with_columns(
            pl.col("symbol").replace_strict(sid_of, return_dtype=pl.Int64).alias("sid"),
            pl.col("effective_date").cast(TIMESTAMP_DTYPE),
        ).sort(["sid", "effective_date"])
        closes = bars.select("sid", "timestamp", pl.col("close").cast(pl.Float64)).sort(["sid", "timestamp"])
        # close of the last bar strictly before the effective date
        prior = frame.join_asof(
            closes.with_columns(pl.col("timestamp").alias("prev_ts")),
            left_on="effective_date",
            right_on="timestamp",
            by="sid",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,  # sorted by (sid, effective_date) above; polars cannot check with `by`
        )
        for sid, kind, when, ratio, amount, prev_close, symbol in prior.select(
            "sid", "kind", "effective_date", "ratio", "amount", "close", "symbol"
        ).iter_rows():
            if kind == "dividend" and ratio is None and amount is not None:
                if prev_close is None:  # on or before the first stored bar: it adjusts no stored window
                    log.debug("%s: dividend on %s precedes the stored bars; ratio left empty", symbol, when.date())
                elif prev_close <= 0:
                    log.warning(
                        "%s: dividend on %s follows a close of %s; ratio left empty", symbol, when.date(), prev_close
                    )
                else:
                    ratio = 1.0 - amount / prev_close
                    if not 0.0 < ratio <= 1.0:
                        ignored.append(
                            f"{symbol}: dividend {amount} on {when.date()} against the previous close {prev_close} "
                            f"gives ratio {ratio:.6g}, outside (0, 1]"
                        )
                        log.warning("%s; left out", ignored[-1])
                        continue
            key_date = pd.Timestamp(when).tz_convert(None).date().isoformat()
            rows[(int(sid), kind, key_date)] = (int(sid), kind, key_date, ratio, amount)
    return [rows[k] for k in sorted(rows)], ignored
