"""The bar reader interface every storage backend implements (Parquet, and the legacy bcolz / HDF5 readers).

Readers serve *raw* (unadjusted) values; adjustments are applied above them, point-in-time.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["OHLCV_FIELDS", "BarReader"]

OHLCV_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume")


class BarReader(abc.ABC):
    """Read raw bars of one data frequency, aligned to a trading calendar.

    Timestamps are ``pd.Timestamp`` in UTC; for daily readers they are session labels (midnight UTC). Missing
    bars are NaN in float arrays (volume 0 where zipline reports it so; see :meth:`load_raw_arrays`).
    """

    @property
    @abc.abstractmethod
    def data_frequency(self) -> str:
        """``"daily"`` or ``"minute"`` (zipline's vocabulary); :attr:`resolution` is the exact one."""

    @property
    def resolution(self) -> str:
        """Stored resolution (``"1d"``, ``"1m"``, ``"1h"``...)."""
        return "1d" if self.data_frequency == "daily" else "1m"

    @property
    @abc.abstractmethod
    def trading_calendar(self):
        """The ``exchange_calendars`` calendar the bars follow."""

    @property
    def calendar_name(self) -> str:
        """Name of :attr:`trading_calendar` (readers that know it without building the calendar say so)."""
        return self.trading_calendar.name

    @property
    @abc.abstractmethod
    def first_trading_day(self) -> pd.Timestamp:
        """First session with data."""

    @property
    @abc.abstractmethod
    def last_available_dt(self) -> pd.Timestamp:
        """Last session (daily) or minute (intraday) with data."""

    @property
    @abc.abstractmethod
    def sids(self) -> Sequence[int]:
        """Sids the reader holds."""

    @abc.abstractmethod
    def load_raw_arrays(
        self, columns: Sequence[str], start_date: pd.Timestamp, end_date: pd.Timestamp, assets: Sequence[int]
    ) -> list[np.ndarray]:
        """One float64 array per column, shape (n_bars, len(assets)), rows aligned to the calendar's sessions
        (daily) or bar labels (intraday) from ``start_date`` to ``end_date`` inclusive; NaN where no bar."""

    @abc.abstractmethod
    def get_value(self, sid: int, dt: pd.Timestamp, field: str) -> float:
        """Raw value of ``field`` for ``sid`` at ``dt``; NaN (volume: 0) if the asset did not trade then.

        Raises
        ------
        NoDataOnDate
            ``dt`` is not a bar label of the calendar or outside the reader's range.
        NoDataForSid
            Unknown sid.
        """

    @abc.abstractmethod
    def get_last_traded_dt(self, sid: int, dt: pd.Timestamp) -> pd.Timestamp | None:
        """Label of the last bar at or before ``dt`` in which ``sid`` traded (None if never)."""
