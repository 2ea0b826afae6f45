"""The build step of an ingestion: validate the fetched bars, merge them with the live ones in append mode,
write the Parquet files and manifest into the staging directory, and prepare the metadata rows to commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from rustybt.data.adapters.base import BarAdapter
from rustybt.data.catalog.ingest_fetch import _fetch, _incremental_starts
from rustybt.data.catalog.ingest_types import Ingestion, IngestOptions
from rustybt.data.catalog.layout import (
    SCHEMA_VERSION,
    ingestion_dir,
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
from rustybt.data.validation import validate_bars
from rustybt.errors import DataFormatError, IngestionError

__all__ = []

log = logging.getLogger("rustybt.data.catalog.ingest")  # one logger for every step of an ingestion


@dataclass
class _Built:
    record: IngestionRecord
    result: Ingestion
    new_sids: dict[str, int]
    assets: list[dict[str, Any]]
    adjustments: list[tuple[int, str, str, float | None, float | None]]


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
