"""The manifest of an ingestion: which files it holds, their row counts, date ranges and checksums.

Written as ``manifest.json`` inside the ingestion directory before the ingestion becomes visible; ``verify``
recomputes every checksum against it.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rustybt.data.catalog.layout import MANIFEST, SCHEMA_VERSION

__all__ = ["FileEntry", "Manifest", "VerifyProblem", "VerifyReport", "crc32_file", "file_checksums", "sha256_file"]

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def crc32_file(path: Path) -> str:
    """Hex CRC-32 of a file: the check every read makes (about 3x cheaper than SHA-256, and any burst of up to 32
    flipped bits is always caught)."""
    crc = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return f"{crc:08x}"


def file_checksums(path: Path, *, fsync: bool = False) -> tuple[str, str]:
    """(SHA-256, CRC-32) of a file in one pass; with ``fsync`` the file is flushed to disk first."""
    digest, crc = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        if fsync:
            os.fsync(fh.fileno())
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            crc = zlib.crc32(chunk, crc)
    return digest.hexdigest(), f"{crc:08x}"


@dataclass(frozen=True)
class FileEntry:
    """One Parquet file of an ingestion."""

    path: str  # relative to the ingestion directory
    resolution: str
    year: int
    rows: int
    bytes: int
    sha256: str
    min_timestamp: str
    max_timestamp: str
    crc32: str = ""  # checked on every first read of the file in a process; empty in manifests before it existed


@dataclass
class Manifest:
    """Everything needed to read and check an ingestion without listing its directory."""

    bundle: str
    ingestion_id: str
    calendar: str
    files: list[FileEntry] = field(default_factory=list)
    scales: dict[str, int] = field(default_factory=dict)  # decimal scale per value column
    schema_version: int = SCHEMA_VERSION
    #: SHA-256 of the ingestion's asset and adjustment rows as committed to SQLite (see ``metadata_digest``):
    #: ``verify`` recomputes it from the database, so an edited row (a symbol swapped, a row count) is noticed
    metadata_digest: str = ""

    def files_for(self, resolution: str, start_year: int | None = None, end_year: int | None = None) -> list[FileEntry]:
        """Files of ``resolution`` whose year lies in ``[start_year, end_year]``: pruning without a listing."""
        return [
            f
            for f in self.files
            if f.resolution == resolution
            and (start_year is None or f.year >= start_year)
            and (end_year is None or f.year <= end_year)
        ]

    @property
    def resolutions(self) -> list[str]:
        """Stored resolutions."""
        return sorted({f.resolution for f in self.files})

    @property
    def rows(self) -> int:
        """Total bar rows."""
        return sum(f.rows for f in self.files)

    @property
    def size_bytes(self) -> int:
        """Total size of the Parquet files."""
        return sum(f.bytes for f in self.files)

    def write(self, directory: Path) -> Path:
        """Write ``manifest.json`` into ``directory`` (fsynced: it is the last file of an ingestion)."""
        path = directory / MANIFEST
        payload = asdict(self)
        with open(path, "w") as fh:
            json.dump(payload, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        return path

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        """Read ``manifest.json`` from ``directory``."""
        payload: dict[str, Any] = json.loads((directory / MANIFEST).read_text())
        files = [FileEntry(**f) for f in payload.pop("files")]
        return cls(files=files, **payload)


@dataclass(frozen=True)
class VerifyProblem:
    """One file that does not match its manifest entry."""

    path: str
    problem: str  # "missing" | "checksum mismatch" | "size mismatch" | "unreadable" | "row count mismatch"
    detail: str = ""


@dataclass
class VerifyReport:
    """Result of :meth:`Catalog.verify`: ``ok`` when every file is present, readable and unchanged."""

    bundle: str
    ingestion_id: str
    files_checked: int
    problems: list[VerifyProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def __repr__(self) -> str:
        state = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        lines = [f"VerifyReport({self.bundle}@{self.ingestion_id}: {self.files_checked} files, {state})"]
        lines += [f"  {p.path}: {p.problem}{' - ' + p.detail if p.detail else ''}" for p in self.problems]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from rustybt._html import verify_report_html

        return verify_report_html(self)
