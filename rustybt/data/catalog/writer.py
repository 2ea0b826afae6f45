"""Write canonical bars into an ingestion directory as year-partitioned Parquet files.

Each (resolution, year) gets one file sorted by (sid, timestamp) with modest row groups and column statistics, so
that "all assets for a date range" prunes by year from the manifest and "one asset's window" prunes row groups by
the ``sid`` statistics.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rustybt.data.catalog.layout import partition_path
from rustybt.data.catalog.manifest import FileEntry, file_checksums

__all__ = ["ROW_GROUP_SIZE", "write_bars"]

#: Rows per Parquet row group: small enough that sid statistics prune a one-asset read to a few groups.
ROW_GROUP_SIZE = 65_536


def write_bars(bars: pl.DataFrame, directory: Path, resolution: str, compression: str) -> list[FileEntry]:
    """Write ``bars`` (canonical schema, storage dtypes) under ``directory``; return the manifest entries.

    ``bars`` must already be sorted by (sid, timestamp).
    """
    entries: list[FileEntry] = []
    if bars.height == 0:
        return entries
    years = bars.get_column("timestamp").dt.year()
    for year in sorted(years.unique().to_list()):
        part = bars.filter(years == year)
        rel = partition_path(resolution, int(year))
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        part.write_parquet(path, compression=compression, statistics=True, row_group_size=ROW_GROUP_SIZE)
        sha256, crc32 = file_checksums(path, fsync=True)  # on disk before the ingestion is committed
        ts = part.get_column("timestamp")
        entries.append(
            FileEntry(
                path=rel,
                resolution=resolution,
                year=int(year),
                rows=part.height,
                bytes=path.stat().st_size,
                sha256=sha256,
                min_timestamp=str(ts.min()),
                max_timestamp=str(ts.max()),
                crc32=crc32,
            )
        )
    return entries
