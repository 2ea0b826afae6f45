"""``data`` in ``handle_data(context, data)``: zipline's ``BarData`` over the loop's dense arrays.

Every read goes through the current bar's row, so nothing after the bar is visible (no lookahead). ``history`` is
the hot path: one asset and one field is an array slice (adjusted with a precomputed factor series) wrapped in a
Series whose index comes from a per-bar cache; no pandas work is done that the return value does not need.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rustybt._frames import series as _series
from rustybt.algorithm._market import FIELDS, MarketData
from rustybt.assets import Asset
from rustybt.errors import InvalidArgument

__all__ = ["BarData"]

_HISTORY_FIELDS = ("open", "high", "low", "close", "volume", "price")
_DTI_new = pd.DatetimeIndex._simple_new


def _is_continuous(value) -> bool:
    return type(value).__name__ == "ContinuousFuture" and hasattr(value, "contract_at")


class BarData:
    """What the algorithm can see at the current bar (zipline's ``BarData``)."""

    def __init__(self, market: MarketData, resolve) -> None:
        self._m = market
        self._resolve = resolve  # asset-like -> Asset
        self._col = market.col
        self._raw = market.raw
        # the M8[ns] values and dtype behind the label index: slicing those and wrapping them costs a third of
        # slicing the index itself
        labels = market.label_index._data
        sessions = pd.DatetimeIndex(market.sessions).tz_localize("UTC")._data
        self._label_nd, self._session_nd = labels._ndarray, sessions._ndarray
        self._dta_new = type(labels)._simple_new
        self._dtype = labels.dtype
        self.i = 0
        self.session_ix = 0
        self.session: pd.Timestamp | None = None
        self.current_dt: pd.Timestamp | None = None
        self._index_cache: dict = {}
        self._freq: dict[str, bool] = {}

    def _set_bar(self, i: int, session_ix: int, session: pd.Timestamp, dt: pd.Timestamp) -> None:
        self.i = i
        self.session_ix = session_ix
        self.session = session
        self.current_dt = dt
        if self._index_cache:
            self._index_cache = {}

    @property
    def current_session(self) -> pd.Timestamp:
        """The current session (midnight, tz-naive)."""
        return self.session

    # --- current -----------------------------------------------------------------------------------------------
    def _column(self, asset) -> int:
        sid = asset.sid if isinstance(asset, Asset) else self._resolve(asset).sid
        return self._col[sid]

    def _value(self, j: int, field: str):
        i = self.i
        if i < 0:  # before_trading_start of the bundle's first session: no bar exists yet
            return pd.NaT if field == "last_traded" else (0.0 if field == "volume" else float("nan"))
        if field == "price":
            return float(self._m.price_column(j)[i])
        if field == "last_traded":
            r = self._m.last_traded_row(j, i)
            return pd.NaT if r < 0 else pd.Timestamp(int(self._m.labels[r]), tz="UTC")
        v = self._raw[field][i, j]
        if field == "volume" and v != v:
            return 0.0
        return float(v)

    def current(self, assets, fields):
        """Value of ``fields`` for ``assets`` at the current bar: a scalar, a Series or a DataFrame (zipline's
        shapes). ``price`` is the last close, forward-filled; ``open``..``volume`` are this bar's (NaN / 0 when
        the asset did not trade)."""
        if isinstance(fields, str) and isinstance(assets, Asset):
            if fields not in FIELDS:
                raise InvalidArgument(f"unknown field {fields!r}; use one of {', '.join(FIELDS)}")
            return self._value(self._col[assets.sid], fields)
        if _is_continuous(assets):
            return self._current_continuous(assets, fields)
        many_assets = not isinstance(assets, Asset | str | int) and not hasattr(assets, "sid")
        many_fields = not isinstance(fields, str)
        asset_list = [self._resolve(a) for a in (assets if many_assets else [assets])]
        field_list = list(fields) if many_fields else [fields]
        for f in field_list:
            if f not in FIELDS:
                raise InvalidArgument(f"unknown field {f!r}; use one of {', '.join(FIELDS)}")
        cols = [self._col[a.sid] for a in asset_list]
        if not many_assets and not many_fields:
            return self._value(cols[0], field_list[0])
        if many_assets and many_fields:
            return pd.DataFrame(
                {f: [self._value(j, f) for j in cols] for f in field_list}, index=pd.Index(asset_list, dtype=object)
            )
        if many_assets:
            f = field_list[0]
            return pd.Series([self._value(j, f) for j in cols], index=pd.Index(asset_list, dtype=object), name=f)
        return pd.Series({f: self._value(cols[0], f) for f in field_list}, name=asset_list[0])

    # --- history -----------------------------------------------------------------------------------------------
    def _window_index(self, n: int, daily: bool) -> pd.DatetimeIndex:
        key = (n, daily)
        index = self._index_cache.get(key)
        if index is None:
            if daily:
                s = int(self._m.session_of_bar[self.i])
                values = self._session_nd[s - n + 1 : s + 1]
            else:
                values = self._label_nd[self.i - n + 1 : self.i + 1]
            index = _DTI_new(self._dta_new(values, dtype=self._dtype))
            self._index_cache[key] = index
        return index

    def _window(self, j: int, field: str, n: int, daily: bool) -> np.ndarray:
        if daily:
            return self._m.daily_window(j, field, self.i, n)
        return self._m.window(j, field, self.i, n)

    def history(self, assets, fields, bar_count: int, frequency: str):
        """The last ``bar_count`` bars (including the current one) of ``fields`` for ``assets``, adjusted as of the
        current bar: a Series (one asset, one field), a DataFrame (dates x assets, or dates x fields) or a
        DataFrame with a (date, asset) MultiIndex (lists of both), as zipline returns them."""
        if not isinstance(bar_count, int | np.integer) or bar_count <= 0:
            raise InvalidArgument(f"bar_count must be a positive integer, got {bar_count!r}")
        daily = self._freq.get(frequency)
        if daily is None:
            daily = self._freq[frequency] = self._m.parse_frequency(frequency) == "1d"
        if isinstance(fields, str) and isinstance(assets, Asset):
            if fields not in _HISTORY_FIELDS:
                raise InvalidArgument(f"unknown history field {fields!r}; use one of {', '.join(_HISTORY_FIELDS)}")
            values = self._window(self._col[assets.sid], fields, bar_count, daily)
            return _series(values, self._window_index(bar_count, daily), assets)
        if _is_continuous(assets):
            return self._history_continuous(assets, fields, bar_count, daily)
        many_assets = not isinstance(assets, Asset | str | int)
        many_fields = not isinstance(fields, str)
        asset_list = [self._resolve(a) for a in (assets if many_assets else [assets])]
        field_list = list(fields) if many_fields else [fields]
        for f in field_list:
            if f not in _HISTORY_FIELDS:
                raise InvalidArgument(f"unknown history field {f!r}; use one of {', '.join(_HISTORY_FIELDS)}")
        index = self._window_index(bar_count, daily)
        cols = [self._col[a.sid] for a in asset_list]
        if not many_fields:
            f = field_list[0]
            if not many_assets:
                return _series(self._window(cols[0], f, bar_count, daily), index, asset_list[0])
            data = np.column_stack([self._window(j, f, bar_count, daily) for j in cols])
            return pd.DataFrame(data, index=index, columns=pd.Index(asset_list, dtype=object))
        if not many_assets:
            data = np.column_stack([self._window(cols[0], f, bar_count, daily) for f in field_list])
            return pd.DataFrame(data, index=index, columns=pd.Index(field_list))
        blocks = {f: np.column_stack([self._window(j, f, bar_count, daily) for j in cols]).ravel() for f in field_list}
        rows = pd.MultiIndex.from_product([index, pd.Index(asset_list, dtype=object)])
        return pd.DataFrame(blocks, index=rows)

    # --- continuous futures -----------------------------------------------------------------------------------
    def _current_continuous(self, future, fields):
        if not isinstance(fields, str):
            return pd.Series({f: self._current_continuous(future, f) for f in fields}, name=future)
        if self.i < 0:
            return None if fields == "contract" else float("nan")
        contract = future.contract_at(self.session)
        if fields == "contract":
            return contract
        return self.current(contract, fields)

    def _history_continuous(self, future, fields, bar_count: int, daily: bool):
        if daily and self._m.intraday:
            raise InvalidArgument("continuous futures history needs a daily bundle")
        if not isinstance(fields, str):
            return pd.DataFrame({f: self._history_continuous(future, f, bar_count, daily) for f in fields})
        if fields not in _HISTORY_FIELDS:
            raise InvalidArgument(f"unknown history field {fields!r}; use one of {', '.join(_HISTORY_FIELDS)}")
        if self.i < 0:
            raise InvalidArgument("no bar exists yet (before the bundle's first bar)")
        end = pd.Timestamp(int(self._m.labels[self.i]), tz="UTC")
        return future.history(end, bar_count, fields)

    # --- tradability -------------------------------------------------------------------------------------------
    def _alive(self, asset: Asset) -> bool:
        session = self.session
        start, end = asset.start_date, asset.end_date
        return (start is None or start <= session) and (end is None or session <= end)

    def can_trade(self, assets):
        """True where the asset is listed in the current session and has a price at or before the current bar."""
        if isinstance(assets, Asset):
            return self._can_trade(assets)
        if not isinstance(assets, str | int) and not hasattr(assets, "sid"):
            asset_list = [self._resolve(a) for a in assets]
            return pd.Series([self._can_trade(a) for a in asset_list], index=pd.Index(asset_list, dtype=object))
        return self._can_trade(self._resolve(assets))

    def _can_trade(self, asset: Asset) -> bool:
        j = self._col.get(asset.sid)
        if j is None or self.i < 0 or not self._alive(asset):
            return False
        return not np.isnan(self._m.price_column(j)[self.i])

    def is_stale(self, assets):
        """True where the asset is listed and has a price, but did not trade in the current bar."""
        if not isinstance(assets, Asset | str | int) and not hasattr(assets, "sid"):
            asset_list = [self._resolve(a) for a in assets]
            return pd.Series([self._is_stale(a) for a in asset_list], index=pd.Index(asset_list, dtype=object))
        return self._is_stale(assets if isinstance(assets, Asset) else self._resolve(assets))

    def _is_stale(self, asset: Asset) -> bool:
        j = self._col.get(asset.sid)
        if j is None or self.i < 0 or not self._alive(asset):
            return False
        return np.isnan(self._raw["close"][self.i, j]) and not np.isnan(self._m.price_column(j)[self.i])

    def __repr__(self) -> str:
        return f"BarData({self.current_dt})"
