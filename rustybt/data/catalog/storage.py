"""Reading the Parquet files of one ingestion, through its manifest (no directory listing)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rustybt.data.catalog.manifest import Manifest
from rustybt.data.schema import BAR_COLUMNS, TIMESTAMP_DTYPE, VALUE_COLUMNS, decimal_dtype

__all__ = ["read_ingestion_bars", "scan_ingestion", "storage_schema"]


def storage_schema(manifest: Manifest) -> dict[str, pl.DataType]:
    """The schema of the ingestion's Parquet files."""
    schema: dict[str, pl.DataType] = {"timestamp": TIMESTAMP_DTYPE, "sid": pl.Int64()}
    for col in VALUE_COLUMNS:
        schema[col] = decimal_dtype(manifest.scales.get(col, 0))
    return schema


def scan_ingestion(
    directory: Path,
    manifest: Manifest,
    resolution: str,
    start_year: int | None = None,
    end_year: int | None = None,
) -> pl.LazyFrame:
    """Lazy scan of one resolution's files, pruned by year from the manifest; stored dtypes."""
    files = manifest.files_for(resolution, start_year, end_year)
    if not files:
        return pl.LazyFrame(schema=storage_schema(manifest))
    return pl.scan_parquet([directory / f.path for f in files]).select(BAR_COLUMNS)


def read_ingestion_bars(directory: Path, manifest: Manifest, resolution: str) -> pl.DataFrame:
    """Every bar of one resolution, stored dtypes."""
    return scan_ingestion(directory, manifest, resolution).collect()
