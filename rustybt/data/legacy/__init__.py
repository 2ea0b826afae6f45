"""Legacy formats: zipline's bcolz and HDF5 bar stores, its SQLite asset and adjustment databases, and the
migration of a zipline bundle into the Parquet catalog.

``bcolz`` (package ``bcolz-zipline``) and ``h5py`` are optional (``pip install 'rustybt[legacy]'``) and imported
only when a reader is created. The CLI piece lives in :mod:`rustybt.data.legacy.cli` (not imported here, so
``python -m rustybt.data.legacy.cli`` runs cleanly).
``migrate`` is both a submodule and the function it defines; the package binds the name to the function.
"""

from __future__ import annotations

from rustybt.data.legacy.adapter import ZiplineBundleAdapter
from rustybt.data.legacy.bcolz_reader import BcolzDailyBarReader, BcolzMinuteBarReader
from rustybt.data.legacy.errors import (
    CorruptLegacyData,
    LegacyDependencyMissing,
    MigrationMismatch,
    NotAZiplineBundle,
    UnsupportedLegacyVersion,
)
from rustybt.data.legacy.hdf5_reader import HDF5DailyBarReader
from rustybt.data.legacy.migrate import MigrationReport, Mismatch, migrate
from rustybt.data.legacy.source import ZiplineSource, locate_source
from rustybt.data.legacy.zipline_db import (
    SUPPORTED_ASSET_DB_VERSIONS,
    ZiplineAdjustments,
    ZiplineAsset,
    ZiplineAssetDB,
    read_adjustments,
    read_asset_db,
)

__all__ = [
    "SUPPORTED_ASSET_DB_VERSIONS",
    "BcolzDailyBarReader",
    "BcolzMinuteBarReader",
    "CorruptLegacyData",
    "HDF5DailyBarReader",
    "LegacyDependencyMissing",
    "MigrationMismatch",
    "MigrationReport",
    "Mismatch",
    "NotAZiplineBundle",
    "UnsupportedLegacyVersion",
    "ZiplineAdjustments",
    "ZiplineAsset",
    "ZiplineAssetDB",
    "ZiplineBundleAdapter",
    "ZiplineSource",
    "locate_source",
    "migrate",
    "read_adjustments",
    "read_asset_db",
]
