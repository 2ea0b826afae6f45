"""Dense per-bar arrays of one bundle for the event loop: raw OHLCV, forward-filled prices, adjustment factors.

Everything the loop touches per bar is a NumPy array indexed by ``[bar, column]`` (each asset's column contiguous),
so a fill, a price sync or a ``data.current`` call costs an index lookup, not a pandas object. History windows are
adjusted point-in-time with one precomputed factor series per asset (see :mod:`rustybt.data.readers.adjustments`):
``adjusted(r, as of t) = raw(r) * B(r) / B(t)`` with ``B(x)`` the product of the ratios of events after ``x``.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from rustybt.data.readers.data_portal import DataPortal
from rustybt.data.resolution import Resolution, parse_resolution
from rustybt.errors import InvalidArgument, NoDataBeforeDate, ResolutionError

__all__ = ["MarketData"]

OHLCV = ("open", "high", "low", "close", "volume")
FIELDS = (*OHLCV, "price", "last_traded")


class MarketData:
    """The bars of a bundle as arrays, plus the calendar facts the loop needs.

    Parameters
    ----------
    portal
        A :class:`~rustybt.data.readers.data_portal.DataPortal` over the (pinned) bundle.
    """

    def __init__(self, portal: DataPortal) -> None:
        self.portal = portal
        self.bundle = portal.bundle
        self.resolution: Resolution = parse_resolution(self.bundle.resolution)
        self.intraday = self.resolution.is_intraday
        reader = portal.reader
        first, last = reader.first_trading_day, reader.last_available_dt
        index = reader.labels(first, last)
        self.label_index = index  # tz-aware UTC DatetimeIndex of every bar
        self.labels = index.asi8
        self.assets = sorted(self.bundle.assets, key=lambda a: a.sid)
        self.sids = np.asarray([a.sid for a in self.assets], dtype=np.int64)
        self.col = {int(s): j for j, s in enumerate(self.sids)}
        self.asset_by_sid = {a.sid: a for a in self.assets}
        # the same (first, last) as the labels: the arrays' rows are exactly these labels
        arrays = reader.load_raw_arrays(list(OHLCV), first, last, self.sids)
        if arrays and arrays[0].shape[0] != len(index):
            raise RuntimeError(
                f"bundle {self.bundle.name!r}: {arrays[0].shape[0]} bar rows for {len(index)} bar labels"
            )
        self.raw = dict(zip(OHLCV, arrays, strict=True))
        self._price: dict[int, np.ndarray] = {}
        self._last_traded: dict[int, np.ndarray] = {}
        self._factors: dict[tuple[int, str], np.ndarray | None] = {}
        self._scaled: dict[tuple[int, str], np.ndarray] = {}
        self._daily: dict[tuple[int, str], np.ndarray] = {}
        calendar = portal.trading_calendar
        self.calendar = calendar
        if self.intraday:
            days = index.tz_convert(None).normalize() if index.tz is not None else index.normalize()
            sessions = pd.DatetimeIndex(days.unique())
            self.sessions = sessions
            self.session_of_bar = np.searchsorted(sessions.asi8, days.asi8)
            self.session_first_bar = np.searchsorted(self.session_of_bar, np.arange(len(sessions)))
            self.bar_ns = int(self.resolution.nominal_seconds * 1_000_000_000)
        else:
            self.sessions = index.tz_convert(None) if index.tz is not None else index
            self.session_of_bar = np.arange(len(index))
            self.session_first_bar = np.arange(len(index))
            self.bar_ns = 0

    # --- per-asset derived columns -----------------------------------------------------------------------------
    def price_column(self, j: int) -> np.ndarray:
        """Close forward-filled from the last bar with a trade (NaN before the first)."""
        out = self._price.get(j)
        if out is None:
            close = self.raw["close"][:, j]
            valid = ~np.isnan(close)
            idx = np.where(valid, np.arange(len(close)), -1)
            np.maximum.accumulate(idx, out=idx)
            out = np.where(idx >= 0, close[np.maximum(idx, 0)], np.nan)
            self._price[j] = out
            self._last_traded[j] = idx
        return out

    @cached_property
    def price_matrix(self) -> np.ndarray:
        """Every column's :meth:`price_column` at once (bars x assets): built on first use, for marking many
        positions per bar with one fancy index instead of one lookup per position."""
        close = self.raw["close"]
        n = close.shape[0]
        idx = np.where(np.isnan(close), -1, np.arange(n, dtype=np.int64)[:, None])
        np.maximum.accumulate(idx, axis=0, out=idx)
        out = np.take_along_axis(close, np.maximum(idx, 0), axis=0)
        out[idx < 0] = np.nan
        return out

    def columns_of(self, sids: np.ndarray) -> np.ndarray:
        """Column index of each sid (all must be the bundle's)."""
        return np.searchsorted(self.sids, sids)

    def last_traded_row(self, j: int, i: int) -> int:
        """Row of the last bar at or before ``i`` in which column ``j`` traded (-1 if none)."""
        self.price_column(j)
        return int(self._last_traded[j][i])

    def factors(self, j: int, field: str) -> np.ndarray | None:
        """``B(label)`` for every bar of column ``j`` (None when the asset has no adjustments)."""
        key = (j, "volume" if field == "volume" else "price")
        if key in self._factors:
            return self._factors[key]
        events = self.portal.adjustment_reader.events(int(self.sids[j]), key[1] if key[1] == "volume" else "close")
        out = events.factors(self.labels) if len(events) else None
        self._factors[key] = out
        return out

    # --- windows -----------------------------------------------------------------------------------------------
    def window(self, j: int, field: str, i: int, n: int) -> np.ndarray:
        """The ``n`` bars of ``field`` ending at bar ``i`` for column ``j``, adjusted as of bar ``i`` (a copy)."""
        start = i - n + 1
        if i < 0:
            raise NoDataBeforeDate(f"no bar of bundle {self.bundle.name!r} exists yet (before its first bar)")
        if start < 0:
            raise NoDataBeforeDate(
                f"history of {n} bars ending {pd.Timestamp(self.labels[i], tz='UTC')} needs {-start} bar(s) before "
                f"the first bar of bundle {self.bundle.name!r} ({self.label_index[0]}); ask for at most {i + 1}"
            )
        base = self.price_column(j) if field == "price" else self.raw[field][:, j]
        b = self.factors(j, field)
        if b is None:
            out = base[start : i + 1].copy()
        else:
            # raw x B(r) / B(t), from raw x B precomputed once per column; the current bar keeps its raw value
            scaled = self._scaled.get((j, field))
            if scaled is None:
                scaled = self._scaled[(j, field)] = base * b
            out = scaled[start : i + 1] * (1.0 / b[i])
            out[-1] = base[i]
        if field == "volume":
            out[np.isnan(out)] = 0.0
        return out

    def daily_window(self, j: int, field: str, i: int, n: int) -> np.ndarray:
        """``n`` daily bars ending with the (partial) session of intraday bar ``i``: completed sessions from
        their bars, the current one from its bars up to ``i`` (as zipline's daily history in minute mode)."""
        if i < 0:
            raise NoDataBeforeDate(f"no bar of bundle {self.bundle.name!r} exists yet (before its first bar)")
        s = int(self.session_of_bar[i])
        first = s - n + 1
        if first < 0:
            raise NoDataBeforeDate(
                f"daily history of {n} sessions ending {self.sessions[s].date()} needs {-first} session(s) before the "
                f"first session of bundle {self.bundle.name!r} ({self.sessions[0].date()}); ask for at most {s + 1}"
            )
        full = self._daily_column(j, field)
        out = full[first : s + 1].copy()
        out[-1] = _aggregate(self._bars(j, field), field, int(self.session_first_bar[s]), i + 1)
        return out

    def _bars(self, j: int, field: str) -> np.ndarray:
        return self.price_column(j) if field == "price" else self.raw[field][:, j]

    def _daily_column(self, j: int, field: str) -> np.ndarray:
        key = (j, field)
        out = self._daily.get(key)
        if out is None:
            bars = self._bars(j, field)
            starts = self.session_first_bar
            stops = np.append(starts[1:], len(bars))
            out = np.array([_aggregate(bars, field, a, b) for a, b in zip(starts, stops, strict=True)])
            self._daily[key] = out
        return out

    def parse_frequency(self, frequency: str) -> str:
        """``"bar"`` for the stored resolution, ``"1d"`` for daily windows of an intraday bundle."""
        try:
            target = parse_resolution(frequency)
        except ResolutionError as exc:
            raise InvalidArgument(f"unknown history frequency {frequency!r}; use '1d' or {self.resolution}") from exc
        if target == self.resolution:
            return "bar"
        if target.name == "1d" and self.intraday:
            return "1d"
        raise ResolutionError(
            f"bundle {self.bundle.name!r} stores {self.resolution} bars; history(frequency={frequency!r}) is not "
            f"available in this backtest (use {self.resolution!s}" + (" or '1d')" if self.intraday else ")")
        )


def _aggregate(bars: np.ndarray, field: str, a: int, b: int) -> float:
    chunk = bars[a:b]
    if field == "volume":
        return float(np.nansum(chunk))
    valid = chunk[~np.isnan(chunk)]
    if len(valid) == 0:
        return float("nan")
    if field == "open":
        return float(valid[0])
    if field == "high":
        return float(valid.max())
    if field == "low":
        return float(valid.min())
    return float(valid[-1])  # close and price
