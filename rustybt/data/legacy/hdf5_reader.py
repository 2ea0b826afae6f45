"""Reader of zipline's HDF5 daily bar files (``HDF5DailyBarWriter``, file ``version`` 0).

Layout, per country (ISO 3166 alpha-2 group at the top level, e.g. ``/US``)::

    /US/data/{open,high,low,close,volume}   uint32 (sid x day), attribute scaling_factor (1000 prices, 1 volume)
    /US/index/sid                           int64, the sids of the rows
    /US/index/day                           int64, ns since the epoch, the sessions of the columns
    /US/lifetimes/{start_date,end_date}     int64 day indexes of each sid's first and last bar
    /US/currency/code                       S3 listing currency per sid

A stored 0 is "no bar". The file does not name its calendar; the reader takes it as a parameter (XNYS by default)
and aligns ``load_raw_arrays`` to that calendar's sessions. ``h5py`` is imported when a reader is created.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from rustybt.calendars import get_calendar
from rustybt.data.legacy._base import LegacyDailyReader, stored_bars
from rustybt.data.legacy._deps import import_h5py
from rustybt.data.legacy.errors import CorruptLegacyData, NotAZiplineBundle, UnsupportedLegacyVersion
from rustybt.data.readers.base import OHLCV_FIELDS
from rustybt.errors import NoDataForSid

__all__ = ["HDF5_VERSIONS", "HDF5DailyBarReader"]

log = logging.getLogger(__name__)

#: File ``version`` attributes this reader understands.
HDF5_VERSIONS: tuple[int, ...] = (0,)
_REQUIRED = (
    *(f"data/{f}" for f in OHLCV_FIELDS),
    "index/sid",
    "index/day",
    "lifetimes/start_date",
    "lifetimes/end_date",
)


class HDF5DailyBarReader(LegacyDailyReader):
    """Read one country of a zipline HDF5 daily bar file as raw (unadjusted) daily bars.

    Parameters
    ----------
    path
        The ``.h5`` file.
    country_code
        The country group to read; may be omitted when the file holds a single country.
    calendar
        ``exchange_calendars`` name of the file's sessions (the file does not record it).

    Raises
    ------
    NotAZiplineBundle
        Not an HDF5 file, or a file without zipline's groups and datasets (the message lists the missing ones).
    UnsupportedLegacyVersion
        A file ``version`` attribute other than 0.
    """

    _kind = "HDF5 file"

    def __init__(self, path: str | Path, country_code: str | None = None, calendar: str = "XNYS") -> None:
        h5py = import_h5py()
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise NotAZiplineBundle(f"{self.path}: no such file; expected a zipline HDF5 daily bar file (.h5)")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as exc:
            raise NotAZiplineBundle(f"{self.path} is not a readable HDF5 file ({exc})") from exc
        try:
            self._open_group(country_code, calendar)
        except BaseException:
            self._file.close()
            raise

    def _open_group(self, country_code: str | None, calendar: str) -> None:
        version = self._file.attrs.get("version")
        if version is None:
            raise NotAZiplineBundle(f"{self.path} has no 'version' attribute; not a zipline HDF5 daily bar file")
        if int(version) not in HDF5_VERSIONS:
            raise UnsupportedLegacyVersion(
                f"{self.path}: HDF5 daily bar file version {int(version)} is not supported "
                f"(supported: {', '.join(map(str, HDF5_VERSIONS))})"
            )
        countries = sorted(self._file.keys())
        if country_code is None:
            if len(countries) != 1:
                listing = ", ".join(countries) or "none"
                raise NotAZiplineBundle(
                    f"{self.path} holds {len(countries)} country groups ({listing}); pass country_code= one of them"
                )
            country_code = countries[0]
        if country_code not in self._file:
            raise NotAZiplineBundle(
                f"{self.path} has no country group {country_code!r} (found: {', '.join(countries)})"
            )
        group = self._file[country_code]
        missing = [name for name in _REQUIRED if name not in group]
        if missing:
            raise NotAZiplineBundle(
                f"{self.path}: group /{country_code} is not in zipline's HDF5 layout; missing "
                f"{', '.join('/' + country_code + '/' + m for m in missing)}"
            )
        self.country_code = country_code
        self._group = group
        try:
            self._sid_array = group["index/sid"][:].astype(np.int64)
            self._days = pd.DatetimeIndex(group["index/day"][:].astype("datetime64[ns]")).as_unit("ns")
            starts = group["lifetimes/start_date"][:].astype(np.int64)
            ends = group["lifetimes/end_date"][:].astype(np.int64)
            self._ratios = {f: float(group[f"data/{f}"].attrs.get("scaling_factor", 1)) for f in OHLCV_FIELDS}
            shapes = {f: group[f"data/{f}"].shape for f in OHLCV_FIELDS}
        except Exception as exc:
            raise CorruptLegacyData(f"{self.path}: cannot read the index of /{country_code} ({exc})") from exc
        expected = (len(self._sid_array), len(self._days))
        bad = {f: s for f, s in shapes.items() if tuple(s) != expected}
        if bad:
            raise CorruptLegacyData(
                f"{self.path}: /{country_code}/data arrays must have shape (sids, days) = {expected}; got {bad}"
            )
        self._calendar_name = calendar
        if len(self._days):
            cal = get_calendar(calendar, self._days[0], self._days[-1])
            self._sessions = pd.DatetimeIndex(cal.sessions_in_range(self._days[0], self._days[-1])).as_unit("ns")
        else:
            self._sessions = pd.DatetimeIndex([], dtype="datetime64[ns]")
        # file column of each calendar session (-1: the file has no column for it)
        self._day_of_session = self._days.get_indexer(self._sessions)
        off = self._days.difference(self._sessions)
        if len(off):
            log.warning(
                "%s: %d day(s) of the file are not %s sessions (e.g. %s); they are not readable through the "
                "calendar-aligned API",
                self.path,
                len(off),
                calendar,
                off[0].date(),
            )
        session_of_day = self._sessions.get_indexer(self._days)
        self._row = {int(s): i for i, s in enumerate(self._sid_array)}
        self._life = {
            int(s): (int(session_of_day[a]), int(session_of_day[b]))
            for s, a, b in zip(self._sid_array, starts, ends, strict=True)
        }
        if (self._sid_array[1:] <= self._sid_array[:-1]).any():
            log.warning("%s: /%s/index/sid is not sorted ascending", self.path, country_code)

    # --- lifecycle -------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> HDF5DailyBarReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- properties ------------------------------------------------------------------------------------------
    @property
    def sids(self) -> list[int]:
        return [int(s) for s in self._sid_array]

    @property
    def first_trading_day(self) -> pd.Timestamp:
        return self._days[0].tz_localize("UTC")

    @property
    def last_available_dt(self) -> pd.Timestamp:
        return self._days[-1].tz_localize("UTC")

    def currency_codes(self, sids: Sequence[int]) -> list[str | None]:
        """Listing currency of each sid (None for unknown sids)."""
        if "currency/code" not in self._group:
            return [None for _ in sids]
        codes = [c.decode() for c in self._group["currency/code"][:]]
        return [codes[self._row[int(s)]] if int(s) in self._row else None for s in sids]

    def _lifetime(self, sid: int) -> tuple[int, int]:
        life = self._life.get(int(sid))
        if life is None:
            raise NoDataForSid(f"sid {sid} has no daily bars in {self.path} (/{self.country_code})")
        return life

    # --- reading -------------------------------------------------------------------------------------------
    def dataset(self, field: str) -> Any:
        """The h5py dataset of ``field`` (sid x day)."""
        return self._group[f"data/{field}"]

    def load_raw_integers(
        self, columns: Sequence[str], start_date: pd.Timestamp, end_date: pd.Timestamp, assets: Sequence[int]
    ) -> list[np.ndarray]:
        start, end = self._query_span(start_date, end_date)
        file_days = self._day_of_session[start : end + 1]
        rows = np.array([self._row.get(int(a), -1) for a in assets], dtype=np.int64)
        if len(rows) and (rows < 0).all():
            raise NoDataForSid(f"none of the sids {list(assets)[:10]} has daily bars in {self.path}")
        present = file_days >= 0
        results = []
        if not present.any():
            return [np.zeros((len(file_days), len(rows)), dtype=np.uint32) for _ in columns]
        d0, d1 = int(file_days[present].min()), int(file_days[present].max()) + 1
        for col in columns:
            buf = np.zeros((len(self._sid_array) + 1, d1 - d0), dtype=np.uint32)  # last row: unknown sids
            try:
                self.dataset(col).read_direct(buf, np.s_[:, d0:d1], np.s_[:-1, :])
            except Exception as exc:
                raise CorruptLegacyData(f"{self.path}: cannot read /{self.country_code}/data/{col} ({exc})") from exc
            picked = buf[rows].T  # (days, assets); row -1 is the empty one
            out = np.zeros((len(file_days), len(rows)), dtype=np.uint32)
            out[present] = picked[file_days[present] - d0]
            results.append(out)
        return results

    def raw_frame(self, sids: Sequence[int] | None = None) -> pl.DataFrame:
        """Every stored (sid, day) with a price as a polars frame: ``sid, day, open, high, low, close, volume``
        (stored integers as UInt32; ``day`` from the file's own day index)."""
        data = {}
        for f in OHLCV_FIELDS:
            try:
                data[f] = self.dataset(f)[:, :]
            except Exception as exc:
                raise CorruptLegacyData(f"{self.path}: cannot read /{self.country_code}/data/{f} ({exc})") from exc
        n_sids, n_days = data["close"].shape
        frame = pl.DataFrame(
            {
                "sid": np.repeat(self._sid_array, n_days),
                "day": np.tile(self._days.asi8, n_sids),
                **{f: data[f].reshape(-1) for f in OHLCV_FIELDS},
            }
        ).with_columns(pl.col("day").cast(pl.Datetime("ns", "UTC")))
        return stored_bars(frame, sids)

    def __repr__(self) -> str:
        span = f"{self._days[0].date()}..{self._days[-1].date()}" if len(self._days) else "empty"
        return (
            f"HDF5DailyBarReader({str(self.path)!r} /{self.country_code}: {len(self._sid_array)} sids, {span}, "
            f"{self._calendar_name})"
        )
