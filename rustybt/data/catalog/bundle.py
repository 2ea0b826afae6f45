"""A bundle, pinned to one ingestion: what it holds and how to read its bars."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import polars as pl

from rustybt._utils import to_utc_or_none
from rustybt.assets import Asset, AssetFinder, asset_from_record
from rustybt.data.catalog.layout import MANIFEST, Lease, ingestion_dir
from rustybt.data.catalog.manifest import Manifest, VerifyReport
from rustybt.data.catalog.metadata import BundleRecord, IngestionRecord
from rustybt.data.catalog.storage import scan_ingestion
from rustybt.data.resolution import parse_resolution
from rustybt.data.schema import TIMESTAMP_DTYPE, VALUE_COLUMNS, to_compute
from rustybt.errors import CorruptDataError, ResolutionError

if TYPE_CHECKING:
    from rustybt.data.adapters.base import BarAdapter
    from rustybt.data.catalog.catalog import Catalog
    from rustybt.data.catalog.ingest import Ingestion
    from rustybt.data.validation import ValidationReport

__all__ = ["Bundle"]


class Bundle:
    """A bundle of bars, pinned to one ingestion (the live one when it was opened).

    A re-ingest while a ``Bundle`` is open does not change what it reads: it keeps its ingestion.
    Get one with :meth:`Catalog.bundle`.
    """

    def __init__(self, catalog: Catalog, record: BundleRecord, ingestion: IngestionRecord) -> None:
        self._catalog = catalog
        self._record = record
        self.ingestion = ingestion
        self.path: Path = ingestion_dir(catalog.root, record.name, ingestion.id)
        # held while this object lives: `clean` leaves the ingestion alone (a reader is never broken mid-read)
        self._lease = Lease(self.path)

    # --- identity ------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Bundle name."""
        return self._record.name

    @property
    def ingestion_id(self) -> str:
        """Id of the pinned ingestion."""
        return self.ingestion.id

    @property
    def calendar_name(self) -> str:
        """Trading calendar of the bundle (an ``exchange_calendars`` name)."""
        return self._record.calendar

    @property
    def resolution(self) -> str:
        """The resolution bars are stored at."""
        return self._record.resolution

    @property
    def frequencies(self) -> list[str]:
        """Stored resolutions (coarser ones are available by resampling in :meth:`bars`)."""
        return self.manifest.resolutions

    @property
    def source(self) -> dict[str, Any]:
        """Where the data comes from: adapter name and its (secret-free) parameters."""
        return {"adapter": self._record.adapter, "params": dict(self._record.adapter_params)}

    @cached_property
    def manifest(self) -> Manifest:
        """The pinned ingestion's manifest (files, checksums, scales), checked against the ingestion's record: a
        manifest that lost a file's entry would make reads silently skip that file's bars."""
        manifest = Manifest.read(self.path)
        if manifest.rows != self.ingestion.rows or manifest.ingestion_id != self.ingestion_id:
            raise CorruptDataError(
                f"bundle {self.name!r}, ingestion {self.ingestion_id}: {self.path / MANIFEST} lists "
                f"{manifest.rows} rows of ingestion {manifest.ingestion_id}, catalog.sqlite records "
                f"{self.ingestion.rows}; run `rustybt verify {self.name}` and re-ingest the bundle"
            )
        return manifest

    # --- contents ------------------------------------------------------------------------------------------
    @cached_property
    def assets(self) -> list[Asset]:
        """Assets of the pinned ingestion, by sid."""
        return [asset_from_record(r) for r in self._catalog.store.assets(self.name, self.ingestion_id)]

    @cached_property
    def asset_finder(self) -> AssetFinder:
        """An :class:`AssetFinder` over :attr:`assets`."""
        return AssetFinder(self.assets)

    @property
    def symbols(self) -> list[str]:
        """Symbols, sorted."""
        return sorted(a.symbol for a in self.assets)

    @property
    def sids(self) -> list[int]:
        """Sids, ascending."""
        return [a.sid for a in self.assets]

    @property
    def rows(self) -> int:
        """Bars stored."""
        return self.ingestion.rows

    @property
    def size_bytes(self) -> int:
        """Bytes of Parquet on disk."""
        return self.ingestion.size_bytes

    @property
    def start(self) -> pd.Timestamp:
        """First bar's timestamp (UTC)."""
        return pd.Timestamp(self.ingestion.start)

    @property
    def end(self) -> pd.Timestamp:
        """Last bar's timestamp (UTC)."""
        return pd.Timestamp(self.ingestion.end)

    @cached_property
    def date_ranges(self) -> pl.DataFrame:
        """Per asset: sid, symbol, asset_class, start, end, rows."""
        records = self._catalog.store.assets(self.name, self.ingestion_id)
        return pl.DataFrame(
            {
                "sid": [r["sid"] for r in records],
                "symbol": [r["symbol"] for r in records],
                "asset_class": [r["asset_class"] for r in records],
                "start": [pd.Timestamp(r["start_date"]) for r in records],
                "end": [pd.Timestamp(r["end_date"]) for r in records],
                "rows": [r.get("rows", 0) for r in records],
            },
            schema={
                "sid": pl.Int64,
                "symbol": pl.String,
                "asset_class": pl.String,
                "start": pl.Datetime("us"),
                "end": pl.Datetime("us"),
                "rows": pl.Int64,
            },
        )

    def ingestions(self) -> list[IngestionRecord]:
        """Every ingestion of the bundle, oldest first (the history)."""
        return self._catalog.store.ingestions(self.name)

    @property
    def quality(self) -> dict[str, Any]:
        """Validation counts of the pinned ingestion: errors, warnings, rows dropped, per rule."""
        q = self.ingestion.quality
        return {
            "errors": q.get("error_count", 0),
            "warnings": q.get("warning_count", 0),
            "rows_dropped": q.get("rows_dropped", 0),
            "rows_checked": q.get("rows_checked", 0),
            "by_rule": dict(q.get("counts", {})),
        }

    @property
    def report(self) -> ValidationReport:
        """The stored validation report (counts exact; detail limited to the stored examples)."""
        from rustybt.data.validation import ValidationReport

        return ValidationReport.from_dict(self.ingestion.quality)

    def adjustments(self, kind: str | None = None) -> pl.DataFrame:
        """Splits, dividends and mergers: sid, symbol, kind, effective_date, ratio, amount."""
        rows = self._catalog.store.adjustments(self.name, self.ingestion_id)
        frame = pl.DataFrame(
            rows,
            schema={
                "sid": pl.Int64,
                "kind": pl.String,
                "effective_date": pl.String,
                "ratio": pl.Float64,
                "amount": pl.Float64,
            },
            orient="row",
        ).with_columns(
            pl.col("effective_date").str.to_date(),
            self._symbol_column(),
        )
        frame = frame.select("sid", "symbol", "kind", "effective_date", "ratio", "amount")
        return frame if kind is None else frame.filter(pl.col("kind") == kind)

    # --- reading bars --------------------------------------------------------------------------------------
    def scan(
        self, resolution: str | None = None, start_year: int | None = None, end_year: int | None = None
    ) -> pl.LazyFrame:
        """Lazy scan of stored bars (stored decimal dtypes), pruned by year from the manifest."""
        res = parse_resolution(resolution or self.resolution).name
        return scan_ingestion(self.path, self.manifest, res, start_year, end_year)

    def bars(
        self,
        symbols: Sequence[str | int | Asset] | str | None = None,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        frequency: str | None = None,
        *,
        exact: bool = False,
    ) -> pl.DataFrame:
        """Raw (unadjusted) bars as a polars DataFrame: timestamp, sid, symbol, open, high, low, close, volume.

        Parameters
        ----------
        symbols
            Symbols, sids or assets (one or several); all when None.
        start, end
            Inclusive bounds; naive values are UTC. An ``end`` at midnight includes that whole day.
        frequency
            The stored resolution (default) or a coarser one, resampled on the fly along the bundle's calendar.
        exact
            Return the stored exact decimals instead of float64.
        """
        stored = parse_resolution(self.resolution)
        target = parse_resolution(frequency) if frequency else stored
        if target < stored:
            raise ResolutionError(
                f"bundle {self.name!r} stores {stored} bars; {target} cannot be derived from them "
                f"(ask for {stored} or coarser)"
            )
        start_ts, end_ts = to_utc_or_none(start, "start"), to_utc_or_none(end, "end")
        whole_day = end_ts is not None and end_ts == end_ts.normalize()
        lazy = self.scan(stored.name, start_ts.year if start_ts else None, end_ts.year if end_ts else None)
        sids = self._resolve_sids(symbols)
        if sids is not None:
            lazy = lazy.filter(pl.col("sid").is_in(sids))
        if start_ts is not None:
            lazy = lazy.filter(pl.col("timestamp") >= pl.lit(start_ts.value).cast(TIMESTAMP_DTYPE))
        if end_ts is not None and whole_day:
            lazy = lazy.filter(pl.col("timestamp") < (end_ts + pd.Timedelta(days=1)).to_pydatetime())
        elif end_ts is not None:
            lazy = lazy.filter(pl.col("timestamp") <= pl.lit(end_ts.value).cast(TIMESTAMP_DTYPE))
        frame = lazy.collect()
        if target != stored:
            from rustybt.data.resample import resample_bars

            frame = resample_bars(frame, stored, target, calendar=self.calendar_name)
        if not exact:
            frame = to_compute(frame)
        frame = frame.with_columns(self._symbol_column())
        return frame.select("timestamp", "sid", "symbol", *VALUE_COLUMNS).sort(["sid", "timestamp"])

    def _symbol_column(self) -> pl.Expr:
        """The ``symbol`` of each row's ``sid``."""
        symbol_of = {a.sid: a.symbol for a in self.assets}
        return pl.col("sid").replace_strict(symbol_of, default=None, return_dtype=pl.String).alias("symbol")

    def _resolve_sids(self, symbols: Sequence[str | int | Asset] | str | int | Asset | None) -> list[int] | None:
        if symbols is None:
            return None
        if isinstance(symbols, str | int | Asset):
            symbols = [symbols]
        sids = []
        for item in symbols:
            if isinstance(item, Asset):
                sids.append(item.sid)
            elif isinstance(item, int):
                self.asset_finder.retrieve_asset(item)
                sids.append(item)
            else:
                sids.append(self.asset_finder.lookup_symbol(item).sid)
        return sids

    def verify(self) -> VerifyReport:
        """Recompute every checksum of the pinned ingestion (see :meth:`Catalog.verify`)."""
        return self._catalog.verify(self.name, ingestion=self.ingestion_id)

    # --- updating ------------------------------------------------------------------------------------------
    def ingest(
        self,
        symbols: Sequence[str] | str | None = None,
        start_date: str | pd.Timestamp | None = None,
        end_date: str | pd.Timestamp | None = None,
        n_workers: int | None = None,
        *,
        mode: str | None = None,
        strict: bool | None = None,
        progress: bool = True,
        adapter: BarAdapter | None = None,
    ) -> Ingestion:
        """Ingest this bundle again: the reference documentation's spelling of :meth:`Catalog.ingest`.

        ``bundle.ingest(symbols=..., start_date=..., end_date=..., n_workers=4)`` is
        ``catalog.ingest(bundle.name, symbols=..., start_date=..., end_date=..., n_workers=4)``: the same
        defaults, the same atomic ingestion. Arguments left out come from the registration.

        Returns the new live :class:`~rustybt.data.catalog.Ingestion`. This ``Bundle`` stays pinned to the
        ingestion it was opened on (readers are never torn); ``catalog.bundle(name)`` opens the new one.
        """
        return self._catalog.ingest(
            self.name,
            mode,
            n_workers=n_workers,
            progress=progress,
            strict=strict,
            symbols=symbols,
            start_date=start_date,
            end_date=end_date,
            adapter=adapter,
        )

    # --- display -------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return (
            f"Bundle({self.name!r} @ {self.ingestion_id}: {len(self.assets)} assets, {self.rows:,} {self.resolution} "
            f"bars, {self.start.date()}..{self.end.date()}, calendar {self.calendar_name})"
        )

    def _repr_html_(self) -> str:
        from rustybt._html import bundle_html

        return bundle_html(self)

    def summary(self) -> dict[str, Any]:
        """The facts shown by ``rustybt info``: name, source, assets, rows, range, size, quality, ingestions."""
        return {
            "name": self.name,
            "ingestion": self.ingestion_id,
            "source": self.source,
            "calendar": self.calendar_name,
            "resolution": self.resolution,
            "assets": len(self.assets),
            "rows": self.rows,
            "start": str(self.start),
            "end": str(self.end),
            "size_bytes": self.size_bytes,
            "quality": self.quality,
            "ingestions": len(self.ingestions()),
            "adjustments": self.adjustments().group_by("kind").len().sort("kind").rows(),
        }
