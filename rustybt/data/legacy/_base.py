"""What the legacy daily readers share: zipline's scaled-integer storage behind the :class:`BarReader` API.

zipline stores every OHLCV value as a ``uint32``: prices multiplied by a scaling factor (1000, so three decimals)
and rounded, volume as is; a stored 0 means "no bar". A subclass only has to return those integers aligned to
the calendar (:meth:`LegacyDailyReader.load_raw_integers`) and each asset's stored session span; conversion to
float64, spot values and the last traded session are done here once.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import polars as pl

from rustybt._utils import to_utc
from rustybt.calendars import get_calendar
from rustybt.data.readers.base import OHLCV_FIELDS, BarReader
from rustybt.errors import NoDataAfterDate, NoDataBeforeDate, NoDataOnDate

__all__ = ["LegacyDailyReader", "StoredSessions", "decimal_scale", "naive_utc", "scaled_to_float", "stored_bars"]


def naive_utc(value: object) -> pd.Timestamp:
    """``value`` as a naive UTC :class:`pd.Timestamp` in nanoseconds (aware values are converted to UTC)."""
    return to_utc(value).tz_localize(None)


def decimal_scale(ratio: float) -> int | None:
    """Digits after the point of ``value / ratio`` when ``ratio`` is a power of ten (1000 -> 3), else None."""
    if ratio is None or not math.isfinite(ratio) or ratio < 1:
        return None
    digits = round(math.log10(ratio))
    return digits if 10**digits == ratio else None


def scaled_to_float(raw: np.ndarray, field: str, ratio: float) -> np.ndarray:
    """zipline's integers as float64: ``raw / ratio``, NaN where a price is 0 (volume stays 0).

    Dividing (rather than multiplying by ``1 / ratio`` as zipline does) gives the float nearest to the decimal
    value, the same float the Parquet catalog's decimal -> float64 conversion gives; zipline's own readers may
    differ from it in the last bit.
    """
    out = raw.astype(np.float64)
    if ratio != 1:
        out /= ratio
    if field != "volume":
        out[raw == 0] = np.nan
    return out


def stored_bars(frame: pl.DataFrame, sids: Sequence[int] | None) -> pl.DataFrame:
    """The rows of a raw zipline frame that hold a bar (zipline writes 0 prices where there is none), of ``sids``."""
    frame = frame.filter(pl.any_horizontal([pl.col(c) != 0 for c in ("open", "high", "low", "close")]))
    if sids is not None:
        frame = frame.filter(pl.col("sid").is_in([int(s) for s in sids]))
    return frame


class StoredSessions:
    """The calendar side of a legacy store: its calendar and the sessions it covers.

    Subclasses set ``_sessions`` (naive DatetimeIndex) and ``_calendar_name``.
    """

    _sessions: pd.DatetimeIndex
    _calendar_name: str

    @property
    def calendar_name(self) -> str:
        """``exchange_calendars`` name of the bars' calendar."""
        return self._calendar_name

    @property
    def trading_calendar(self):
        return get_calendar(self._calendar_name, self._sessions[0] if len(self._sessions) else None)

    @property
    def sessions(self) -> pd.DatetimeIndex:
        """Sessions the store covers (UTC midnight labels)."""
        return self._sessions.tz_localize("UTC")


class LegacyDailyReader(StoredSessions, BarReader):
    """Base of the bcolz and HDF5 daily readers.

    Subclasses set ``_sessions`` (naive DatetimeIndex of the sessions the file covers), ``_calendar_name`` and
    ``_ratios`` (scaling factor per field), and implement :meth:`load_raw_integers` and :meth:`_lifetime`.
    """

    _ratios: dict[str, float]

    # --- what subclasses provide -------------------------------------------------------------------------
    @abc.abstractmethod
    def load_raw_integers(
        self, columns: Sequence[str], start_date: pd.Timestamp, end_date: pd.Timestamp, assets: Sequence[int]
    ) -> list[np.ndarray]:
        """The stored ``uint32`` values, one (sessions x assets) array per column; 0 where there is no bar.

        Unknown sids get an all-zero column (zipline's behaviour), unless none of ``assets`` is known.

        Raises
        ------
        NoDataOnDate
            ``start_date`` or ``end_date`` is not a session the file covers.
        NoDataForSid
            None of ``assets`` is in the file.
        """

    @abc.abstractmethod
    def _lifetime(self, sid: int) -> tuple[int, int]:
        """Indexes into :attr:`sessions` of the first and last stored row of ``sid`` (NoDataForSid if unknown)."""

    # --- BarReader properties ------------------------------------------------------------------------------
    @property
    def data_frequency(self) -> str:
        return "daily"

    @property
    def last_available_dt(self) -> pd.Timestamp:
        return self.sessions[-1]

    @property
    def scaling_factors(self) -> dict[str, float]:
        """The integer scaling factor of each field (1000 for zipline's prices, 1 for volume)."""
        return dict(self._ratios)

    # --- reading ---------------------------------------------------------------------------------------
    def session_index(self, dt: object) -> int:
        """Index of session ``dt`` in :attr:`sessions` (a time of day is ignored).

        Raises
        ------
        NoDataOnDate
            ``dt`` is not a session of the calendar, or outside the sessions the file covers.
        """
        day = naive_utc(dt).normalize()
        loc = self._sessions.get_indexer([day])[0]
        if loc < 0:
            if len(self._sessions) == 0 or day < self._sessions[0] or day > self._sessions[-1]:
                span = f"{self._sessions[0].date()}..{self._sessions[-1].date()}" if len(self._sessions) else "none"
                raise NoDataOnDate(f"{day.date()} is outside the sessions of this {self._kind} ({span})")
            raise NoDataOnDate(f"{day.date()} is not a {self._calendar_name} session")
        return int(loc)

    def load_raw_arrays(
        self, columns: Sequence[str], start_date: pd.Timestamp, end_date: pd.Timestamp, assets: Sequence[int]
    ) -> list[np.ndarray]:
        """float64 arrays (sessions x assets) from ``start_date`` to ``end_date`` (sessions, inclusive).

        Prices are NaN where there is no bar; volume is 0 there (zipline's convention). Unknown sids get an
        empty column, as in zipline.
        """
        _check_fields(columns)
        raw = self.load_raw_integers(columns, start_date, end_date, assets)
        return [scaled_to_float(arr, col, self._ratios[col]) for col, arr in zip(columns, raw, strict=True)]

    def get_value(self, sid: int, dt: pd.Timestamp, field: str) -> float:
        """Raw value of ``field`` for ``sid`` on session ``dt``; NaN (volume: 0) when the asset has no bar then.

        Raises
        ------
        NoDataOnDate
            ``dt`` is not a session the file covers.
        NoDataBeforeDate, NoDataAfterDate
            ``dt`` lies before the asset's first or after its last stored row (as zipline's readers).
        NoDataForSid
            Unknown sid.
        """
        _check_fields([field])
        idx = self.session_index(dt)
        first, last = self._lifetime(int(sid))
        if idx < first:
            raise NoDataBeforeDate(f"no data for sid {sid} on or before {self._sessions[idx].date()}")
        if idx > last:
            raise NoDataAfterDate(f"no data for sid {sid} on or after {self._sessions[idx].date()}")
        day = self._sessions[idx]
        raw = self.load_raw_integers([field], day, day, [int(sid)])[0]
        return float(scaled_to_float(raw, field, self._ratios[field])[0, 0])

    def get_last_traded_dt(self, sid: int, dt: pd.Timestamp) -> pd.Timestamp | None:
        """Last session at or before ``dt`` on which ``sid`` traded (volume > 0), or None.

        ``dt`` need not be a session: the last session at or before it is used.
        """
        first, last = self._lifetime(int(sid))
        day = naive_utc(dt).normalize()
        upto = int(self._sessions.searchsorted(day, side="right")) - 1
        upto = min(upto, last)
        if upto < first:
            return None
        volume = self.load_raw_integers(["volume"], self._sessions[first], self._sessions[upto], [int(sid)])[0][:, 0]
        traded = np.flatnonzero(volume)
        if traded.size == 0:
            return None
        return self._sessions[first + int(traded[-1])].tz_localize("UTC")

    # --- helpers ---------------------------------------------------------------------------------------
    _kind = "file"

    def _query_span(self, start_date: object, end_date: object) -> tuple[int, int]:
        start, end = self.session_index(start_date), self.session_index(end_date)
        if end < start:
            raise NoDataOnDate(f"end {self._sessions[end].date()} is before start {self._sessions[start].date()}")
        return start, end


def _check_fields(columns: Sequence[str]) -> None:
    bad = [c for c in columns if c not in OHLCV_FIELDS]
    if bad:
        raise ValueError(f"unknown field(s) {', '.join(map(repr, bad))}; use {', '.join(OHLCV_FIELDS)}")


def gather_rows(
    n_sessions: int,
    start_idx: int,
    first_rows: np.ndarray,
    last_rows: np.ndarray,
    offsets: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays that scatter zipline's per-asset row blocks into a (sessions x assets) window.

    Asset ``j`` holds table rows ``first_rows[j]..last_rows[j]`` for sessions ``offsets[j]...`` (``first_rows``
    is -1 for an unknown asset). Returns ``(out_rows, out_cols, src_rows)`` for the window of ``n_sessions``
    sessions starting at session ``start_idx``: ``out[out_rows, out_cols] = column[src_rows]``.
    """
    end_idx = start_idx + n_sessions - 1
    known = first_rows >= 0
    asset_end_cal = offsets + (last_rows - first_rows)
    q_start = np.maximum(offsets, start_idx)
    q_end = np.minimum(asset_end_cal, end_idx)
    lengths = np.where(known, np.maximum(q_end - q_start + 1, 0), 0).astype(np.int64)
    total = int(lengths.sum())
    cols = np.repeat(np.arange(len(first_rows), dtype=np.int64), lengths)
    seg_starts = np.cumsum(lengths) - lengths
    within = np.arange(total, dtype=np.int64) - np.repeat(seg_starts, lengths)
    out_rows = np.repeat(q_start - start_idx, lengths) + within
    src_rows = np.repeat(first_rows + (q_start - offsets), lengths) + within
    return out_rows, cols, src_rows


__all__ += ["gather_rows"]
