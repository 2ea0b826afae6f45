"""The fetch step of an ingestion: the adapter's bars for the asked symbols and range (incremental starts per
symbol in append mode), with failures collected per symbol."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd
import polars as pl

from rustybt._progress import finish, progress_bar
from rustybt._utils import to_utc
from rustybt.calendars import sessions_in_range
from rustybt.data.adapters.base import BarAdapter
from rustybt.data.catalog.ingest_types import IngestOptions
from rustybt.data.catalog.metadata import BundleRecord, MetadataStore
from rustybt.data.resolution import parse_resolution
from rustybt.errors import IngestionError

__all__ = []

log = logging.getLogger("rustybt.data.catalog.ingest")  # one logger for every step of an ingestion


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
