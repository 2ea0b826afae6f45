"""Finding the files of a zipline data source: an ingestion directory, a bundle directory or an HDF5 file.

An *ingestion directory* is what ``zipline ingest`` writes (``~/.zipline/data/<bundle>/<timestamp>/``)::

    daily_equities.bcolz/     bcolz ctable of daily bars
    minute_equities.bcolz/    metadata.json + per-sid minute tables
    assets-<N>.sqlite         asset DB (N = schema version, 7 for zipline-reloaded)
    adjustments.sqlite        splits, mergers, dividends

A *bundle directory* holds several ingestions; the most recent one (by its timestamp name) is used. An *HDF5
file* is a zipline ``HDF5DailyBarWriter`` output; its asset and adjustment DBs are taken from beside it unless
given explicitly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rustybt.data.legacy.errors import NotAZiplineBundle
from rustybt.data.legacy.zipline_db import find_asset_db

__all__ = ["DAILY_DIR", "EXPECTED", "MINUTE_DIR", "ZiplineSource", "locate_source", "normalize_frequency"]

log = logging.getLogger(__name__)

DAILY_DIR = "daily_equities.bcolz"
MINUTE_DIR = "minute_equities.bcolz"
ADJUSTMENTS_DB = "adjustments.sqlite"
#: What a zipline ingestion directory holds (shown when a directory is not one).
EXPECTED = (f"{DAILY_DIR}/", f"{MINUTE_DIR}/", "assets-<N>.sqlite", ADJUSTMENTS_DB)
_FREQUENCIES = {"daily": "daily", "1d": "daily", "minute": "minute", "1m": "minute"}


def normalize_frequency(frequency: str) -> str:
    """``"daily"`` or ``"minute"`` from zipline's or RustyBT's spelling (``"1d"``, ``"1m"``)."""
    try:
        return _FREQUENCIES[str(frequency).lower()]
    except KeyError:
        raise ValueError(f"unknown frequency {frequency!r}; use 'daily' (1d) or 'minute' (1m)") from None


@dataclass(frozen=True)
class ZiplineSource:
    """The files of one zipline data source."""

    kind: str  # "bcolz" | "hdf5"
    root: Path  # the ingestion directory or the .h5 file
    bars: Path  # daily_equities.bcolz, minute_equities.bcolz or the .h5 file
    frequency: str  # "daily" | "minute"
    assets_db: Path | None
    adjustments_db: Path | None

    def files(self) -> list[Path]:
        """Every file and directory the source consists of (for sizes and messages)."""
        return [p for p in (self.bars, self.assets_db, self.adjustments_db) if p is not None]

    def size_bytes(self) -> int:
        """Bytes on disk of :meth:`files`."""
        total = 0
        for path in self.files():
            if path.is_dir():
                total += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            elif path.exists():
                total += path.stat().st_size
        return total


def _is_ingestion(directory: Path) -> bool:
    return (
        (directory / DAILY_DIR).is_dir() or (directory / MINUTE_DIR).is_dir() or any(directory.glob("assets-*.sqlite"))
    )


def _ingestion_time(name: str) -> pd.Timestamp | None:
    try:
        return pd.Timestamp(name.replace(";", ":"))
    except ValueError:
        return None


def locate_source(
    source: str | Path,
    frequency: str = "daily",
    *,
    assets_db: str | Path | None = None,
    adjustments_db: str | Path | None = None,
) -> ZiplineSource:
    """Work out the files of ``source`` (see the module docstring).

    Raises
    ------
    NotAZiplineBundle
        ``source`` does not exist, is neither an ingestion/bundle directory nor an HDF5 file, or lacks a file
        the frequency needs; the message lists what was expected and what is missing.
    """
    path = Path(source).expanduser()
    freq = normalize_frequency(frequency)
    if not path.exists():
        raise NotAZiplineBundle(f"{path}: no such file or directory")
    if path.is_file():
        return _hdf5_source(path, freq, assets_db, adjustments_db)
    directory = path
    if not _is_ingestion(directory):
        dated = [
            (t, d) for d in directory.iterdir() if d.is_dir() and _is_ingestion(d) and (t := _ingestion_time(d.name))
        ]
        if not dated:
            found = (
                ", ".join(sorted(p.name + ("/" if p.is_dir() else "") for p in directory.iterdir())[:12]) or "nothing"
            )
            raise NotAZiplineBundle(
                f"{directory} is not a zipline bundle: expected an ingestion directory with {', '.join(EXPECTED)} "
                f"(or a bundle directory of timestamped ingestions, or an HDF5 daily bar file); found: {found}"
            )
        dated.sort()
        directory = dated[-1][1]
        log.info("%s: using the most recent ingestion %s (of %d)", path, directory.name, len(dated))
    bars = directory / (DAILY_DIR if freq == "daily" else MINUTE_DIR)
    missing = []
    if not bars.is_dir():
        missing.append(bars.name + "/")
    try:
        assets = Path(assets_db) if assets_db is not None else find_asset_db(directory)
    except NotAZiplineBundle:
        assets = None
        missing.append("assets-<N>.sqlite")
    adjustments = Path(adjustments_db) if adjustments_db is not None else directory / ADJUSTMENTS_DB
    if not adjustments.is_file():
        missing.append(str(adjustments) if adjustments_db is not None else ADJUSTMENTS_DB)
    if assets is not None and not assets.is_file():
        missing.append(str(assets))
    if missing:
        raise NotAZiplineBundle(
            f"{directory} is an incomplete zipline ingestion for {freq} bars: missing {', '.join(missing)} "
            f"(an ingestion holds {', '.join(EXPECTED)})"
        )
    return ZiplineSource("bcolz", directory, bars, freq, assets, adjustments)


def _hdf5_source(
    path: Path, freq: str, assets_db: str | Path | None, adjustments_db: str | Path | None
) -> ZiplineSource:
    with open(path, "rb") as fh:
        signature = fh.read(8)
    if signature != b"\x89HDF\r\n\x1a\n":
        raise NotAZiplineBundle(
            f"{path} is not a zipline bundle: a file must be a zipline HDF5 daily bar file (.h5); a directory "
            f"must be an ingestion with {', '.join(EXPECTED)}"
        )
    if freq != "daily":
        raise NotAZiplineBundle(f"{path}: zipline's HDF5 files hold daily bars only; use frequency='daily'")
    assets: Path | None
    if assets_db is not None:
        assets = Path(assets_db)
        if not assets.is_file():
            raise NotAZiplineBundle(f"{assets}: no such asset database")
    else:
        try:
            assets = find_asset_db(path.parent)
        except NotAZiplineBundle:
            assets = None
            log.warning("%s: no assets-<N>.sqlite beside it; symbols will be SID<sid>", path)
    adjustments = Path(adjustments_db) if adjustments_db is not None else path.parent / ADJUSTMENTS_DB
    if not adjustments.is_file():
        if adjustments_db is not None:
            raise NotAZiplineBundle(f"{adjustments}: no such adjustment database")
        adjustments = None
    return ZiplineSource("hdf5", path, path, "daily", assets, adjustments)
