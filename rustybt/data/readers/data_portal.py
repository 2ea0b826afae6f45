"""The DataPortal: "what was the price of X at t" and "the last N bars of X as of t", adjusted as of t.

Fields (zipline's meanings): ``open high low close volume`` are the bar's raw values at t (OHLC NaN and volume 0
when the asset did not trade); ``price`` is the last known close, forward-filled, adjusted for events between
that bar and t; ``last_traded`` is the label of the last bar the asset traded in.

Timestamps: naive values are UTC. A ``dt`` that is not a bar label snaps back to the last label at or before it
(a Saturday asks for Friday's session; 10:30:27 asks for the 10:30 minute). A ``dt`` before the first bar raises
:class:`~rustybt.errors.NoDataBeforeDate`, after the last bar :class:`~rustybt.errors.NoDataAfterDate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from rustybt._frames import datetime_index, frame, series
from rustybt._utils import to_utc
from rustybt.assets import Asset
from rustybt.data.catalog.bundle import Bundle
from rustybt.data.readers.adjustments import AdjustmentReader
from rustybt.data.readers.history import HistoryLoader
from rustybt.data.readers.parquet import ParquetBarReader
from rustybt.data.resolution import Resolution, parse_resolution
from rustybt.errors import (
    InvalidArgument,
    LookaheadError,
    NoDataAfterDate,
    NoDataBeforeDate,
    ResolutionError,
)

__all__ = ["FIELDS", "DataPortal"]

FIELDS = ("open", "high", "low", "close", "volume", "price", "last_traded")
_HISTORY_FIELDS = ("open", "high", "low", "close", "volume", "price")


class DataPortal:
    """Spot values and adjusted history windows over one bundle, pinned to one ingestion.

    Parameters
    ----------
    bundle
        The bundle (already pinned to an ingestion: a re-ingest does not change what the portal reads).
    cache
        A :class:`~rustybt.data.cache.CacheManager` for resampled windows; a default one from config if None.
    """

    def __init__(self, bundle: Bundle, *, cache: Any | None = None) -> None:
        self.bundle = bundle
        self._cache = cache
        self.reader = ParquetBarReader(bundle, cache=self.cache)
        self.adjustment_reader = AdjustmentReader(bundle)
        self._history_loader: HistoryLoader | None = None
        self._clock: pd.Timestamp | None = None

    @classmethod
    def from_catalog(
        cls, catalog: Any, name: str, ingestion: str | None = None, *, cache: Any | None = None
    ) -> DataPortal:
        """A portal over bundle ``name`` of ``catalog``, pinned to its live ingestion (or ``ingestion``).

        The same as ``DataPortal(catalog.bundle(name, ingestion), cache=cache)``. It lives here, not on the catalog,
        because the catalog sits below the readers (arrows point down: see DESIGN.md).
        """
        return cls(catalog.bundle(name, ingestion), cache=cache)

    # --- identity ------------------------------------------------------------------------------------------
    @property
    def asset_finder(self):
        """The bundle's :class:`~rustybt.assets.AssetFinder`."""
        return self.bundle.asset_finder

    @property
    def trading_calendar(self):
        """The bundle's ``exchange_calendars`` calendar."""
        return self.reader.trading_calendar

    @property
    def data_frequency(self) -> str:
        """``"daily"`` or ``"minute"``: what the bundle stores."""
        return self.reader.data_frequency

    @cached_property
    def resolution(self) -> Resolution:
        """The stored resolution."""
        return parse_resolution(self.bundle.resolution)

    @cached_property
    def cache(self):
        """The cache manager holding loaded series and arrays (memory LRU, optional disk)."""
        if self._cache is None:
            from rustybt.data.cache import CacheManager

            self._cache = CacheManager()
        return self._cache

    @property
    def history_loader(self) -> HistoryLoader:
        """Prepared per-asset series shared by every history call."""
        if self._history_loader is None:
            self._history_loader = HistoryLoader(self.reader, self.adjustment_reader, self._labels)
        return self._history_loader

    @cached_property
    def _label_index(self) -> pd.DatetimeIndex:
        return self.reader.labels(self.reader.first_trading_day, self.reader.last_available_dt)

    @cached_property
    def _labels(self) -> np.ndarray:
        return self._label_index.asi8

    @cached_property
    def _label_m8(self) -> np.ndarray:
        """The labels as ``datetime64[ns]`` values: a window's index wraps a slice of them (no copy, no checks)."""
        return self._label_index.array._ndarray

    @cached_property
    def _columns_cache(self) -> dict[tuple, pd.Index]:
        return {}

    def _columns(self, asset_list: list[Asset]) -> pd.Index:
        """The column Index of a frame of ``asset_list`` (kept: a loop asks for the same assets every bar)."""
        key = tuple(a.sid for a in asset_list)
        found = self._columns_cache.get(key)
        if found is None:
            if len(self._columns_cache) >= 256:
                self._columns_cache.clear()
            found = self._columns_cache[key] = pd.Index(asset_list, dtype=object)
        return found

    def _index(self, start: int, stop: int) -> pd.DatetimeIndex:
        return datetime_index(self._label_m8[start:stop], self._label_index.dtype)

    @cached_property
    def _last_ns(self) -> int:
        return self.reader.last_available_dt.value + self._bar_ns()

    # --- simulation clock (lookahead guard) ----------------------------------------------------------------
    @property
    def clock(self) -> pd.Timestamp | None:
        """The simulation clock; when set, asking for data after it raises :class:`LookaheadError`."""
        return self._clock

    def set_clock(self, dt: pd.Timestamp | str | None) -> None:
        """Set (or clear, with None) the simulation clock."""
        self._clock = None if dt is None else to_utc(dt)

    @contextmanager
    def at(self, dt: pd.Timestamp | str):
        """Context manager: the clock is ``dt`` inside the block."""
        previous = self._clock
        self.set_clock(dt)
        try:
            yield self
        finally:
            self._clock = previous

    def _guard(self, dt: pd.Timestamp) -> None:
        if self._clock is not None and dt > self._clock:
            raise LookaheadError(f"asked for data at {dt}, after the simulation clock {self._clock}")

    # --- helpers -------------------------------------------------------------------------------------------
    def _asset(self, asset: Asset | int | str) -> Asset:
        if isinstance(asset, Asset):
            return self.asset_finder.retrieve_asset(asset.sid)
        if isinstance(asset, int | np.integer):
            return self.asset_finder.retrieve_asset(int(asset))
        return self.asset_finder.lookup_symbol(str(asset))

    def _snap(self, dt: pd.Timestamp | str) -> int:
        """The label (int ns) of the last bar at or before ``dt``."""
        return int(self._labels[self._position(dt)])

    def _position(self, dt: pd.Timestamp | str) -> int:
        """The index in ``_labels`` of the last bar at or before ``dt``."""
        ts = to_utc(dt)
        self._guard(ts)
        labels = self._labels
        i = int(np.searchsorted(labels, ts.value, side="right")) - 1
        if i < 0:
            first = pd.Timestamp(int(labels[0]), tz="UTC")
            raise NoDataBeforeDate(f"{ts} is before the first bar of bundle {self.bundle.name!r} ({first})")
        if ts.value > self._last_ns:
            raise NoDataAfterDate(
                f"{ts} is after the last bar of bundle {self.bundle.name!r} ({self.reader.last_available_dt})"
            )
        return i

    def _bar_ns(self) -> int:
        res = self.resolution
        return res.nominal_seconds * 1_000_000_000 if res.is_intraday else 86_400_000_000_000

    def _check_data_frequency(self, data_frequency: str | None) -> None:
        if data_frequency not in (None, "daily", "minute"):
            raise InvalidArgument(f"data_frequency must be 'daily' or 'minute', got {data_frequency!r}")

    # --- spot values ---------------------------------------------------------------------------------------
    def get_spot_value(
        self,
        assets: Asset | int | str | Sequence[Asset | int | str],
        field: str,
        dt: pd.Timestamp | str,
        data_frequency: str | None = None,
    ) -> Any:
        """Value of ``field`` for ``assets`` at ``dt`` (a list when ``assets`` is a list)."""
        if field not in FIELDS:
            raise InvalidArgument(f"unknown field {field!r}; use one of {', '.join(FIELDS)}")
        self._check_data_frequency(data_frequency)
        label = self._snap(dt)
        if isinstance(assets, list | tuple):
            return [self._spot(self._asset(a), field, label) for a in assets]
        return self._spot(self._asset(assets), field, label)

    def _spot(self, asset: Asset, field: str, label: int) -> Any:
        loader = self.history_loader
        if field == "last_traded":
            found = loader.last_before(asset.sid, "close", label)
            return pd.NaT if found is None else pd.Timestamp(found[0], tz="UTC")
        if field == "price":
            found = loader.last_before(asset.sid, "close", label)
            if found is None:
                return float("nan")
            bar_ns, value = found
            return value * self._factor(asset.sid, "close", bar_ns, label)
        s = loader.series(asset.sid, field)
        i = int(np.searchsorted(s.ts, label))
        if i < len(s.ts) and s.ts[i] == label and not np.isnan(s.values[i]):
            return float(s.values[i])
        return 0.0 if field == "volume" else float("nan")

    def _factor(self, sid: int, field: str, bar_ns: int, as_of_ns: int) -> float:
        s = self.history_loader.series(sid, field)
        if len(s.event_ns) == 0:
            return 1.0
        return s.factor_at(bar_ns) / s.factor_at(as_of_ns)

    def get_adjusted_value(
        self,
        asset: Asset | int | str,
        field: str,
        dt: pd.Timestamp | str,
        perspective_dt: pd.Timestamp | str,
        data_frequency: str | None = None,
    ) -> float:
        """The value at ``dt`` as seen from ``perspective_dt``: adjusted for events in (dt, perspective_dt]."""
        asset = self._asset(asset)
        value = self.get_spot_value(asset, field, dt, data_frequency)
        if field in ("volume", "last_traded") and field == "last_traded":
            return value
        label = self._snap(dt)
        as_of = self._snap(perspective_dt)
        base = "volume" if field == "volume" else "close"
        return value * self._factor(asset.sid, base, label, as_of)

    def get_last_traded_dt(self, asset: Asset | int | str, dt: pd.Timestamp | str, data_frequency: str | None = None):
        """Label of the last bar at or before ``dt`` in which ``asset`` traded (NaT if none)."""
        return self.get_spot_value(asset, "last_traded", dt, data_frequency)

    def can_trade(self, asset: Asset | int | str, dt: pd.Timestamp | str) -> bool:
        """True if the asset is alive at ``dt`` and has a price (traded at or before ``dt``)."""
        asset = self._asset(asset)
        label = self._snap(dt)
        day = pd.Timestamp(label, tz="UTC").tz_localize(None).normalize()
        if not asset.is_alive_for_session(day):
            return False
        return self.history_loader.last_before(asset.sid, "close", label) is not None

    def current(self, assets, fields, dt: pd.Timestamp | str):
        """zipline's ``data.current``: a scalar, a Series (one of assets/fields a list) or a DataFrame."""
        many_assets = isinstance(assets, list | tuple)
        many_fields = isinstance(fields, list | tuple)
        asset_list = [self._asset(a) for a in (assets if many_assets else [assets])]
        field_list = list(fields) if many_fields else [fields]
        values = {f: self.get_spot_value(asset_list, f, dt) for f in field_list}
        if not many_assets and not many_fields:
            return values[field_list[0]][0]
        if many_assets and many_fields:
            return pd.DataFrame(values, index=pd.Index(asset_list))
        if many_assets:
            return pd.Series(values[field_list[0]], index=pd.Index(asset_list), name=field_list[0])
        return pd.Series({f: v[0] for f, v in values.items()}, name=asset_list[0])

    # --- history -------------------------------------------------------------------------------------------
    def get_history_window(
        self,
        assets: Sequence[Asset | int | str],
        end_dt: pd.Timestamp | str,
        bar_count: int,
        frequency: str,
        field: str,
        data_frequency: str | None = None,
        ffill: bool = True,
    ) -> pd.DataFrame:
        """The last ``bar_count`` bars of ``frequency`` ending at ``end_dt``, adjusted as of ``end_dt``.

        Returns a DataFrame indexed by bar label (UTC) with one column per asset. ``frequency`` may be the stored
        resolution or any coarser one (resampled on the fly along the calendar; the last bar may be partial,
        as zipline's daily history in minute mode). ``ffill`` forward-fills ``price`` (zipline's rule); other
        fields keep NaN (volume 0) where the asset did not trade.
        """
        if field not in _HISTORY_FIELDS:
            raise InvalidArgument(f"unknown history field {field!r}; use one of {', '.join(_HISTORY_FIELDS)}")
        if not isinstance(bar_count, int | np.integer) or bar_count <= 0:
            raise InvalidArgument(f"bar_count must be a positive integer, got {bar_count!r}")
        self._check_data_frequency(data_frequency)
        target = parse_resolution(frequency)
        if target < self.resolution:
            raise ResolutionError(
                f"bundle {self.bundle.name!r} stores {self.resolution} bars; {target} history cannot be derived "
                f"from them (ask for {self.resolution} or coarser)"
            )
        asset_list = [self._asset(a) for a in assets]
        if target == self.resolution:
            i = self._position(end_dt)
            end_label = int(self._labels[i])
            start, stop = self._bounds(i, end_label, bar_count)
            data = np.empty((len(asset_list), bar_count))  # one row per column: the frame's block as pandas lays it
            for j, a in enumerate(asset_list):
                data[j] = self._column(a.sid, field, start, stop, end_label, ffill)
            return frame(data, self._index(start, stop), self._columns(asset_list))
        end_label = self._snap(end_dt)
        return self._resampled_window(asset_list, to_utc(end_dt), end_label, bar_count, target, field, ffill)

    def _column(self, sid: int, field: str, start: int, stop: int, end_label: int, ffill: bool) -> np.ndarray:
        """One asset's window over label rows ``[start, stop)`` ending at ``end_label``, adjusted as of it."""
        if field in ("open", "high", "low", "close"):
            return self.history_loader.window_at(sid, field, start, stop, end_label)
        if field == "price":  # the adjusted closes, forward-filled only where the asset did not trade
            out = self.history_loader.window_at(sid, "close", start, stop, end_label)
            if not (ffill and np.isnan(out).any()):
                return out
        return self._window(sid, field, self._labels[start:stop], end_label, ffill)

    def history(self, asset: Asset | int | str, field: str, bar_count: int, frequency: str, dt=None) -> pd.Series:
        """One asset, one field: a Series (the backtest hot path; see :meth:`get_history_window`)."""
        asset = self._asset(asset)
        dt = self._clock if dt is None else dt
        if dt is None:
            raise InvalidArgument("history needs dt, or a simulation clock set with set_clock()")
        if parse_resolution(frequency) != self.resolution:
            return self.get_history_window([asset], dt, bar_count, frequency, field)[asset]
        i = self._position(dt)
        end_label = int(self._labels[i])
        start, stop = self._bounds(i, end_label, bar_count)
        values = self._column(asset.sid, field, start, stop, end_label, True)
        # the Series and its index are built on pandas' blocks directly (rustybt._frames): the public constructors
        # re-validate both and cost several times the window itself
        return series(values, self._index(start, stop), asset)

    def history_array(self, asset: Asset | int | str, field: str, bar_count: int, dt=None) -> np.ndarray:
        """:meth:`history` at the stored resolution as a bare float64 array (no index): the fastest path."""
        asset = self._asset(asset)
        i = self._position(self._clock if dt is None else dt)
        end_label = int(self._labels[i])
        start, stop = self._bounds(i, end_label, bar_count)
        if field in ("open", "high", "low", "close"):
            return self.history_loader.window_at(asset.sid, field, start, stop, end_label)
        return self._window(asset.sid, field, self._labels[start:stop], end_label, True)

    def _window_bounds(self, end_label: int, bar_count: int) -> tuple[int, int]:
        return self._bounds(int(np.searchsorted(self._labels, end_label)), end_label, bar_count)

    def _bounds(self, i: int, end_label: int, bar_count: int) -> tuple[int, int]:
        """Rows ``start:stop`` of the ``bar_count``-bar window ending on label ``i`` (``end_label``)."""
        start = i - bar_count + 1
        if start < 0:
            raise NoDataBeforeDate(
                f"a {bar_count}-bar window ending {pd.Timestamp(end_label, tz='UTC')} starts {-start} bar(s) before "
                f"the first bar of bundle {self.bundle.name!r}"
            )
        return start, i + 1

    def _window_labels(self, end_label: int, bar_count: int) -> np.ndarray:
        start, stop = self._window_bounds(end_label, bar_count)
        return self._labels[start:stop]

    def _window(self, sid: int, field: str, labels: np.ndarray, as_of: int, ffill: bool) -> np.ndarray:
        loader = self.history_loader
        if field != "price":
            out = loader.window(sid, field, labels, as_of)
            if field == "volume":
                out[np.isnan(out)] = 0.0
            return out
        out = loader.window(sid, "close", labels, as_of)
        if ffill and np.isnan(out).any():
            s = loader.series(sid, "close")
            # forward-fill from the last traded bar, including one before the window, adjusted from its own date
            pos = np.searchsorted(s.ts, labels, side="right") - 1
            valid = ~np.isnan(s.values)
            last_valid = np.maximum.accumulate(np.where(valid, np.arange(len(s.ts)), -1)) if len(s.ts) else pos
            src = np.where(pos >= 0, last_valid[np.maximum(pos, 0)], -1)
            fill = np.isnan(out) & (src >= 0)
            out[fill] = s.values[src[fill]] * s.factors[src[fill]] / s.factor_at(as_of)
        return out

    def _resampled_window(
        self,
        assets: list[Asset],
        end: pd.Timestamp,
        end_label: int,
        bar_count: int,
        target: Resolution,
        field: str,
        ffill: bool,
    ) -> pd.DataFrame:
        from rustybt.data.resample import resample_bars

        span = pd.Timedelta(seconds=target.nominal_seconds * (bar_count + 2))
        start_guess = max(
            pd.Timestamp(int(self._labels[0]), tz="UTC"), end - span * (1.0 if target.is_intraday else 1.6)
        )
        labels = self._labels[(self._labels >= start_guess.value) & (self._labels <= end_label)]
        base_field = "close" if field == "price" else field
        fields = ("open", "high", "low", "close", "volume")
        frames = []
        for a in assets:
            cols = {f: self.history_loader.window(a.sid, f, labels, end_label) for f in fields}
            frames.append(pl.DataFrame({"timestamp": labels, "sid": a.sid, **cols}))
        frame = pl.concat(frames).with_columns(pl.col("timestamp").cast(pl.Datetime("ns", "UTC")))
        frame = frame.filter(pl.col("close").is_not_nan()).fill_nan(None)
        bars = resample_bars(frame, self.resolution, target, calendar=self.bundle.calendar_name)
        wide = bars.pivot(on="sid", index="timestamp", values=base_field).sort("timestamp").tail(bar_count)
        index = pd.DatetimeIndex(wide.get_column("timestamp").to_numpy()).tz_localize("UTC")
        out = pd.DataFrame(
            {a: wide.get_column(str(a.sid)).to_numpy() if str(a.sid) in wide.columns else np.nan for a in assets},
            index=index,
        ).astype(float)
        if field == "price" and ffill:
            out = out.ffill()
        if field == "volume":
            out = out.fillna(0.0)
        if len(out) < bar_count:
            raise NoDataBeforeDate(
                f"only {len(out)} {target} bars exist before {end} in bundle {self.bundle.name!r}; "
                f"asked for {bar_count}"
            )
        return out

    # --- corporate actions ---------------------------------------------------------------------------------
    def get_splits(self, assets: Iterable[Asset | int | str], dt: pd.Timestamp | str) -> list[tuple[Asset, float]]:
        """(asset, ratio) for splits effective on the session of ``dt``."""
        asset_list = [self._asset(a) for a in assets]
        by_sid = {a.sid: a for a in asset_list}
        return [(by_sid[s], r) for s, r in self.adjustment_reader.splits_on(list(by_sid), to_utc(dt))]

    def get_dividends(
        self, assets: Iterable[Asset | int | str], start: pd.Timestamp | str, end: pd.Timestamp | str
    ) -> pl.DataFrame:
        """Cash dividends with ex-date in [start, end]: sid, symbol, effective_date, ratio, amount."""
        sids = [self._asset(a).sid for a in assets]
        return self.adjustment_reader.dividends(sids, to_utc(start).tz_localize(None), to_utc(end).tz_localize(None))

    # --- continuous futures --------------------------------------------------------------------------------
    def continuous_future(
        self, root_symbol: str, offset: int = 0, roll: str = "calendar", adjustment: str | None = "mul"
    ):
        """A :class:`~rustybt.data.readers.continuous_futures.ContinuousFuture` over this portal."""
        from rustybt.data.readers.continuous_futures import continuous_future

        return continuous_future(self, root_symbol, offset=offset, roll=roll, adjustment=adjustment)

    def current_chain(self, root_symbol: str, session: pd.Timestamp | str) -> list[Asset]:
        """Contracts of ``root_symbol`` alive on ``session``, ordered by expiration (not yet auto-closed)."""
        from rustybt.data.readers.continuous_futures import current_chain

        return list(current_chain(self, root_symbol, session))

    def __repr__(self) -> str:
        return (
            f"DataPortal({self.bundle.name!r} @ {self.bundle.ingestion_id}, {self.resolution} bars, "
            f"{len(self.bundle.assets)} assets, clock={self._clock})"
        )
