"""Set-up of a :class:`~rustybt.algorithm.TradingAlgorithm`: open the bundle, check the bar frequency against
what it stores, and turn start/end into the simulated sessions with their calendar opens and closes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rustybt.algorithm._market import MarketData
from rustybt.data.resolution import parse_resolution
from rustybt.errors import InvalidArgument, NoDataAfterDate, NoDataBeforeDate, ResolutionError

__all__ = ["SetupMixin"]


class SetupMixin:
    """The constructor's checks and the session arrays (``_sim_sessions``, ``_opens``, ``_closes``, ``_s0/_s1``)."""

    def _open_bundle(self, bundle: Any, catalog: Any) -> None:
        from rustybt.data.catalog import Bundle, Catalog
        from rustybt.data.readers.data_portal import DataPortal

        if isinstance(bundle, str):
            bundle = (catalog or Catalog()).bundle(bundle)
        if not isinstance(bundle, Bundle):
            raise InvalidArgument(f"bundle must be a bundle name or a Bundle, got {type(bundle).__name__}")
        self.bundle = bundle
        self.data_portal = DataPortal(bundle)
        self.market = MarketData(self.data_portal)
        self.asset_finder = bundle.asset_finder
        self.trading_calendar = self.data_portal.trading_calendar

    def _check_frequency(self, data_frequency: str) -> None:
        stored = self.market.resolution
        if data_frequency == "minute" and stored.is_intraday:
            self.data_frequency = stored.name
            return
        try:
            asked = parse_resolution(data_frequency)
        except ResolutionError as exc:
            raise InvalidArgument(f"unknown data_frequency {data_frequency!r}; use 'daily', '1h' or '1m'") from exc
        if asked != stored:
            raise ResolutionError(
                f"bundle {self.bundle.name!r} stores {stored} bars; data_frequency={data_frequency!r} cannot run on "
                f"it (use data_frequency={'daily' if stored.name == '1d' else stored.name!r})"
            )
        self.data_frequency = "daily" if stored.name == "1d" else stored.name

    def _set_range(self, start: Any, end: Any) -> None:
        m = self.market
        start_day = _day(start)
        end_day = _day(end)
        if end_day < start_day:
            raise InvalidArgument(f"end {end_day.date()} is before start {start_day.date()}")
        first, last = m.sessions[0], m.sessions[-1]
        if start_day < first:
            raise NoDataBeforeDate(
                f"start {start_day.date()} is before the first session of bundle {self.bundle.name!r} "
                f"({first.date()}); start on {first.date()} or later"
            )
        if end_day > last:
            raise NoDataAfterDate(
                f"end {end_day.date()} is after the last session of bundle {self.bundle.name!r} ({last.date()}); "
                f"end on {last.date()} or earlier"
            )
        s0 = int(np.searchsorted(m.sessions.asi8, start_day.value))
        s1 = int(np.searchsorted(m.sessions.asi8, end_day.value, side="right"))
        if s1 <= s0:
            raise NoDataBeforeDate(
                f"no session of bundle {self.bundle.name!r} between {start_day.date()} and {end_day.date()}"
            )
        self._s0, self._s1 = s0, s1
        self._sim_sessions = m.sessions[s0:s1]
        sched = self.trading_calendar.schedule
        naive = sched.index.tz_localize(None) if sched.index.tz is not None else sched.index
        rows = naive.get_indexer(self._sim_sessions)
        if (rows < 0).any():
            raise NoDataBeforeDate(f"sessions of bundle {self.bundle.name!r} are not sessions of its calendar")
        self._opens = (
            pd.DatetimeIndex(sched["open"].to_numpy()[rows]).tz_localize("UTC")
            if sched["open"].dt.tz is None
            else pd.DatetimeIndex(sched["open"].iloc[rows])
        )
        self._closes = (
            pd.DatetimeIndex(sched["close"].to_numpy()[rows]).tz_localize("UTC")
            if sched["close"].dt.tz is None
            else pd.DatetimeIndex(sched["close"].iloc[rows])
        )
        self.sim_params = {"start_session": self._sim_sessions[0], "end_session": self._sim_sessions[-1]}


def _day(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()
