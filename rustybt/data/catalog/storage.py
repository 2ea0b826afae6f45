"""Reading the Parquet files of one ingestion, through its manifest (no directory listing).

Every file is checked against the CRC-32 its manifest recorded before a process reads it for the first time
(again whenever its size, mtime or inode change): a damaged or edited file raises :class:`CorruptDataError`
instead of being read as data. Parquet's own page checksums would need pyarrow's reader (several times slower
than polars' on decimal columns here); a CRC of the whole file costs about a tenth of one read of it, once.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import polars as pl

from rustybt.data.catalog.manifest import FileEntry, Manifest, crc32_file, sha256_file
from rustybt.data.schema import BAR_COLUMNS, TIMESTAMP_DTYPE, VALUE_COLUMNS, decimal_dtype
from rustybt.errors import CorruptDataError

__all__ = ["check_file", "forget_checked_files", "read_ingestion_bars", "scan_ingestion", "storage_schema"]

# files checked in this process: (path, inode, size, mtime_ns)
_CHECKED: set[tuple[str, int, int, int]] = set()
_CHECKED_LOCK = threading.Lock()


def forget_checked_files() -> None:
    """Check every file again at its next read (tests; after repairing files by hand)."""
    with _CHECKED_LOCK:
        _CHECKED.clear()


def check_file(directory: Path, manifest: Manifest, entry: FileEntry) -> None:
    """Raise :class:`CorruptDataError` unless the file of ``entry`` is the one its manifest describes (size and
    checksum); once per process and file version."""
    path = directory / entry.path
    where = f"bundle {manifest.bundle!r}, ingestion {manifest.ingestion_id}, file {path}"
    advice = f"run `rustybt verify {manifest.bundle}` and re-ingest the bundle"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CorruptDataError(f"{where} is missing; {advice}") from None
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    if key in _CHECKED:
        return
    if st.st_size != entry.bytes:
        raise CorruptDataError(f"{where} has {st.st_size} bytes, its manifest says {entry.bytes}; {advice}")
    ok = crc32_file(path) == entry.crc32 if entry.crc32 else sha256_file(path) == entry.sha256
    if not ok:
        raise CorruptDataError(f"{where} is damaged: its checksum differs from the manifest's; {advice}")
    with _CHECKED_LOCK:
        _CHECKED.add(key)


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
    for entry in files:
        check_file(directory, manifest, entry)
    return pl.scan_parquet([directory / f.path for f in files]).select(BAR_COLUMNS)


def read_ingestion_bars(directory: Path, manifest: Manifest, resolution: str) -> pl.DataFrame:
    """Every bar of one resolution, stored dtypes."""
    return scan_ingestion(directory, manifest, resolution).collect()
