"""Errors of the legacy (zipline bcolz / HDF5) readers and of the migration to the Parquet catalog.

All derive from :class:`~rustybt.errors.RustyBTError` through the catalog's own classes, so ``except
RustyBTError`` (and the CLI's error handling) catches them.
"""

from __future__ import annotations

from rustybt.errors import DataFormatError, RustyBTError, ValidationError

__all__ = [
    "CorruptLegacyData",
    "LegacyDependencyMissing",
    "MigrationMismatch",
    "NotAZiplineBundle",
    "UnsupportedLegacyVersion",
]

INSTALL_HINT = "pip install 'rustybt[legacy]'"


class LegacyDependencyMissing(RustyBTError, ImportError):
    """An optional package needed to read a legacy format (``bcolz-zipline``, ``h5py``) is not installed."""


class NotAZiplineBundle(DataFormatError):
    """A path that is not a zipline ingestion directory or HDF5 daily bar file; the message lists what was
    expected."""


class CorruptLegacyData(DataFormatError):
    """A legacy file that exists but cannot be read (truncated, damaged, inconsistent attributes)."""


class UnsupportedLegacyVersion(DataFormatError):
    """A zipline asset database, minute store or HDF5 file written in a version this reader does not know."""


class MigrationMismatch(ValidationError):
    """The migrated bundle differs from its source. ``report`` is the :class:`MigrationReport`."""
