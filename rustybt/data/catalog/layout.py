"""Where a catalog keeps things on disk, and the names it accepts.

::

    <root>/catalog.sqlite                       metadata store (bundles, ingestions, assets, adjustments)
    <root>/bundles/<bundle>/.lock               held while an ingestion of the bundle runs
    <root>/bundles/<bundle>/.staging/<id>/      an ingestion being written (never read)
    <root>/bundles/<bundle>/<id>/manifest.json  a finished ingestion: files, row counts, checksums, schema
    <root>/bundles/<bundle>/<id>/bars/frequency=<res>/year=<YYYY>/part-0.parquet
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from rustybt.errors import InvalidBundleName

__all__ = [
    "CATALOG_DB",
    "MANIFEST",
    "SCHEMA_VERSION",
    "Lease",
    "bundle_dir",
    "ingestion_dir",
    "new_ingestion_id",
    "partition_path",
    "staging_dir",
    "try_exclusive",
    "validate_bundle_name",
]

CATALOG_DB = "catalog.sqlite"
MANIFEST = "manifest.json"
SCHEMA_VERSION = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")  # used with fullmatch: "$" would accept a trailing "\n"


def validate_bundle_name(name: str) -> str:
    """Return ``name`` if it is a safe bundle name, else raise :class:`InvalidBundleName`.

    Allowed: letters, digits, ``_``, ``-`` and ``.``, starting with a letter or digit, at most 100 characters,
    no ``..``. Path separators are refused so a name can never point outside the catalog.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise InvalidBundleName(
            f"invalid bundle name {name!r}: use letters, digits, '_', '-' or '.', start with a letter or digit, "
            "no path separators and no '..'"
        )
    return name


def bundle_dir(root: Path, name: str) -> Path:
    """Directory of bundle ``name``."""
    return root / "bundles" / validate_bundle_name(name)


def ingestion_dir(root: Path, name: str, ingestion_id: str) -> Path:
    """Directory of a finished ingestion."""
    return bundle_dir(root, name) / ingestion_id


def staging_dir(root: Path, name: str, ingestion_id: str) -> Path:
    """Directory an ingestion is written to before it becomes visible."""
    return bundle_dir(root, name) / ".staging" / ingestion_id


def partition_path(resolution: str, year: int) -> str:
    """Relative path (inside an ingestion) of the Parquet file of one resolution and year."""
    return f"bars/frequency={resolution}/year={year:04d}/part-0.parquet"


def new_ingestion_id(existing: set[str] | None = None) -> str:
    """A sortable id from the current UTC time, e.g. ``2026-11-24T10-15-00.123456Z``; unique among ``existing``."""
    base = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S.%fZ")
    candidate, n = base, 1
    while existing and candidate in existing:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


class Lease:
    """A reader's hold on one ingestion: a shared ``flock`` on its ``manifest.json`` for as long as the object
    lives (released when it is closed or collected, or the process dies). ``Catalog.clean`` takes the lock
    exclusively before removing an ingestion, so it skips one that an open :class:`Bundle` still reads."""

    def __init__(self, directory: Path) -> None:
        self._fd: int | None = None
        self._directory = Path(directory)
        try:
            fd = os.open(directory / MANIFEST, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:  # no manifest: reading it fails with a clearer error later
            return
        fcntl.flock(fd, fcntl.LOCK_SH)
        self._fd = fd

    def __reduce__(self):
        # a copy, or an unpickled Bundle in another process, takes its own lease (never shares this descriptor)
        return (Lease, (self._directory,))

    def close(self) -> None:
        """Release the lease."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __del__(self) -> None:
        self.close()


@contextlib.contextmanager
def try_exclusive(directory: Path):
    """Yield True while holding an ingestion exclusively (no reader holds a :class:`Lease`), else False."""
    try:
        fd = os.open(directory / MANIFEST, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        yield True  # nothing a reader could hold
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
