"""``TradingAlgorithm``: the event loop of a backtest over one bundle, with zipline's API and semantics.

Two styles over one engine: subclass and override ``initialize(self, context)``, ``handle_data(self, context,
data)``, ``before_trading_start(self, context, data)`` and ``analyze(self, context, perf)``; or pass zipline's
functions (``initialize(context)`` ...) to the constructor or :func:`~rustybt.algorithm.run_algorithm`.

Per session (zipline's order): dividends going ex are earned and paid, splits adjust positions and open orders,
``before_trading_start`` sees the previous bar, then for each bar of the session the orders placed before it fill
through the slippage and commission models, ``handle_data`` and the scheduled functions run, and at the session's
end positions are marked to the last price and a perf row is written.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from rustybt.algorithm._assets import AssetsMixin
from rustybt.algorithm._loop import LoopMixin
from rustybt.algorithm._orders import OrdersMixin
from rustybt.algorithm._perf import PerfMixin
from rustybt.algorithm._pipelines import PipelineMixin
from rustybt.algorithm._settings import SettingsMixin
from rustybt.algorithm._setup import SetupMixin
from rustybt.algorithm._user_code import UserCodeMixin
from rustybt.algorithm.bar_data import BarData
from rustybt.algorithm.events import EventManager
from rustybt.assets import Asset
from rustybt.errors import InvalidArgument
from rustybt.finance.blotter import Blotter
from rustybt.finance.ledger import Ledger

__all__ = ["AlgorithmContext", "TradingAlgorithm"]

#: from this many positions on, marking them to market uses the whole price matrix (built once) instead of one
#: column lookup per position
_MATRIX_MARK = 64


class AlgorithmContext:
    """``context``: a namespace for the user's state; reads of names it does not hold go to the algorithm
    (``context.portfolio``, ``context.account``, ``context.get_datetime()`` ...)."""

    def __init__(self, algo: TradingAlgorithm) -> None:
        object.__setattr__(self, "_algo", algo)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(object.__getattribute__(self, "_algo"), name)

    def __repr__(self) -> str:
        user = {k: v for k, v in self.__dict__.items() if k != "_algo"}
        return f"AlgorithmContext({user})"


class TradingAlgorithm(
    SetupMixin, UserCodeMixin, LoopMixin, PerfMixin, AssetsMixin, OrdersMixin, SettingsMixin, PipelineMixin
):
    """A backtest of one strategy over one bundle.

    Parameters
    ----------
    bundle
        Bundle name (opened from ``catalog``) or a :class:`~rustybt.data.catalog.Bundle`.
    start, end
        First and last session (dates; naive values are UTC).
    capital_base
        Starting cash (> 0).
    data_frequency
        ``"daily"`` for a daily bundle; ``"1h"``, ``"1m"`` or ``"minute"`` for an intraday bundle (must match
        what the bundle stores).
    initialize, handle_data, before_trading_start, analyze
        zipline-style functions (``initialize(context)``, ``handle_data(context, data)`` ...); a subclass
        overrides the methods of the same names instead.
    catalog
        The :class:`~rustybt.Catalog` holding ``bundle`` (default ``Catalog()``).
    benchmark_returns
        Daily benchmark returns indexed by session (or use :meth:`set_benchmark`); zero when neither is given.
    """

    def __init__(
        self,
        bundle: Any = None,
        start: Any = None,
        end: Any = None,
        capital_base: float = 100_000.0,
        data_frequency: str = "daily",
        *,
        initialize: Callable | None = None,
        handle_data: Callable | None = None,
        before_trading_start: Callable | None = None,
        analyze: Callable | None = None,
        catalog: Any = None,
        benchmark_returns: pd.Series | None = None,
        **kwargs: Any,
    ) -> None:
        if bundle is None:
            raise InvalidArgument("TradingAlgorithm needs bundle= (a bundle name or a Bundle)")
        if start is None or end is None:
            raise InvalidArgument("TradingAlgorithm needs start= and end= (the first and last session)")
        try:
            capital_base = float(capital_base)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"capital_base must be a positive number, got {capital_base!r}") from exc
        if not math.isfinite(capital_base) or capital_base <= 0:
            raise InvalidArgument(f"capital_base must be a positive, finite number, got {capital_base!r}")
        self.capital_base = capital_base
        self._fn_initialize = initialize
        self._fn_handle_data = handle_data
        self._fn_before_trading_start = before_trading_start
        self._fn_analyze = analyze
        self._benchmark_returns = benchmark_returns
        self._benchmark_asset: Asset | None = None
        self.namespace = dict(kwargs.pop("namespace", {}) or {})
        if kwargs:
            raise InvalidArgument(f"unknown argument(s) to TradingAlgorithm: {', '.join(sorted(kwargs))}")
        self._open_bundle(bundle, catalog)
        self._check_frequency(data_frequency)
        self._set_range(start, end)
        self.context = AlgorithmContext(self)
        self.blotter = Blotter()
        self.ledger = Ledger(capital_base, len(self._sim_sessions), self._sim_sessions[0])
        self.data = BarData(self.market, self._resolve)
        self.event_manager = EventManager()
        self._pipelines: dict[str, Any] = {}
        self._pipeline_frames: dict[str, tuple[int, int, pd.DataFrame, dict]] = {}
        self._recorded: dict[str, Any] = {}
        self._controls: list = []
        self._account_controls: list = []
        self._initialized = False
        self._started = False
        self._in_before_trading_start = False
        self._synced_at = -2
        self.perf: pd.DataFrame | None = None

    # --- the user's hooks (override in a subclass, or pass functions) ---------------------------------------
    def initialize(self, context: AlgorithmContext) -> None:
        """Called once before the first session (set models, schedule functions, attach pipelines)."""
        if self._fn_initialize is not None:
            self._fn_initialize(context)

    def handle_data(self, context: AlgorithmContext, data: BarData) -> None:
        """Called at every bar."""
        if self._fn_handle_data is not None:
            self._fn_handle_data(context, data)

    def before_trading_start(self, context: AlgorithmContext, data: BarData) -> None:
        """Called once per session before its first bar (``data`` shows the previous bar)."""
        if self._fn_before_trading_start is not None:
            self._fn_before_trading_start(context, data)

    def analyze(self, context: AlgorithmContext, perf: pd.DataFrame) -> None:
        """Called once with the perf DataFrame after the last session."""
        if self._fn_analyze is not None:
            self._fn_analyze(context, perf)

    # --- running -------------------------------------------------------------------------------------------
    def run(self):
        """Run the backtest; returns a :class:`~rustybt.algorithm.result.BacktestResult` (``.perf`` is zipline's
        perf DataFrame)."""
        from rustybt import api
        from rustybt.algorithm.result import BacktestResult

        if self._started:
            raise InvalidArgument(f"{type(self).__name__} already ran; create a new instance to run again")
        self._started = True
        token = api._push(self)
        try:
            self._call("initialize", self.initialize, self.context)
            self._initialized = True
            self._prepare_events()
            # the perf rows keep millions of small dicts (positions, orders, fills) alive: with the cyclic
            # collector on, each of its full passes walks all of them again (measured: a third of a 500-position
            # backtest). The loop makes no reference cycles of its own; the collector resumes afterwards.
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                perf = self._loop()
            finally:
                if was_enabled:
                    gc.enable()
            self.perf = perf
            self._call("analyze", self.analyze, self.context, perf)
        finally:
            api._pop(token)
        return BacktestResult(perf, self)

    # --- clock -----------------------------------------------------------------------------------------------
    def get_datetime(self, tz: Any = None) -> pd.Timestamp | None:
        """The simulation time (UTC, or converted to ``tz``)."""
        dt = self.data.current_dt
        if dt is not None and tz is not None:
            return dt.tz_convert(tz)
        return dt

    @property
    def datetime(self) -> pd.Timestamp | None:
        return self.data.current_dt

    # --- portfolio --------------------------------------------------------------------------------------------
    def _sync(self) -> None:
        if self._synced_at != self.data.i and self._initialized:
            self._sync_to(self.data.i, self.data.current_dt)

    def _sync_to(self, row: int, dt: pd.Timestamp) -> None:
        """Mark every position at its price (last close, forward-filled) at bar ``row``."""
        positions = self.ledger.positions
        if positions:
            m = self.market
            if len(positions) >= _MATRIX_MARK:  # many positions: one fancy index into the price matrix
                sids = np.fromiter((a.sid for a in positions), dtype=np.int64, count=len(positions))
                prices = m.price_matrix[row, m.columns_of(sids)].tolist()
            else:
                col, columns, price_column = m.col, m._price, m.price_column
                prices = []
                for asset in positions:
                    j = col[asset.sid]
                    arr = columns.get(j)
                    if arr is None:
                        arr = price_column(j)
                    prices.append(float(arr[row]))
            self.ledger.mark(dt, prices)
        self._synced_at = row

    @property
    def portfolio(self):
        """zipline's portfolio (positions marked at the current bar's price)."""
        self._sync()
        return self.ledger.current_portfolio()

    @property
    def account(self):
        """zipline's account (leverage, net liquidation ...)."""
        self._sync()
        return self.ledger.account

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(bundle={self.bundle.name!r}, {self._sim_sessions[0].date()}.."
            f"{self._sim_sessions[-1].date()}, capital_base={self.capital_base:,.0f}, {self.data_frequency})"
        )
