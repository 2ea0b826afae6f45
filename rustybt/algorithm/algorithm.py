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

import difflib
import gc
import logging
import math
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from rustybt.algorithm._market import MarketData
from rustybt.algorithm.bar_data import BarData
from rustybt.algorithm.events import DateRule, EventManager, ScheduledFunction, TimeRule, date_rules, time_rules
from rustybt.algorithm.metrics import PERF_COLUMNS, risk_columns
from rustybt.assets import Asset
from rustybt.data.resolution import parse_resolution
from rustybt.errors import (
    AlgorithmError,
    CannotOrderDelistedAsset,
    InvalidArgument,
    InvalidOrder,
    NoDataAfterDate,
    NoDataBeforeDate,
    PipelineNotAttached,
    ResolutionError,
    RustyBTError,
    SymbolNotFound,
)
from rustybt.finance.blotter import Blotter
from rustybt.finance.commission import CommissionModel
from rustybt.finance.controls import (
    LongOnly,
    MaxLeverage,
    MaxOrderCount,
    MaxOrderSize,
    MaxPositionSize,
)
from rustybt.finance.execution import ExecutionStyle, LimitOrder, MarketOrder, StopLimitOrder, StopOrder
from rustybt.finance.ledger import Ledger
from rustybt.finance.order import Transaction
from rustybt.finance.slippage import SlippageModel, fractional

__all__ = ["AlgorithmContext", "TradingAlgorithm"]

log = logging.getLogger(__name__)

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_EQUITY_LIKE = ("equity", "crypto_spot", "crypto_perpetual", "forex", "option", "asset")
_PIPELINE_CHUNK = 252
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


def _round_if_near_integer(a: float, epsilon: float = 1e-4) -> float:
    return round(a) if abs(a - round(a)) <= epsilon else a


class TradingAlgorithm:
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

    # --- set-up --------------------------------------------------------------------------------------------
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

    def _call(self, phase: str, fn: Callable, *args: Any) -> Any:
        try:
            return fn(*args)
        except RustyBTError as exc:
            where = _user_location(exc)
            exc.add_note(f"raised in {phase} at {self.get_datetime()}" + (f", {where}" if where else ""))
            raise
        except Exception as exc:
            where = _user_location(exc)
            dt = self.get_datetime()
            raise AlgorithmError(
                f"{type(exc).__name__}: {exc} -- in {phase} at bar {dt}" + (f", {where}" if where else ""),
                dt=dt,
                location=where,
            ) from exc

    def _prepare_events(self) -> None:
        m = self.market
        # date rules count sessions on the calendar around the simulation, not just inside it
        cal = self.trading_calendar
        lo = self._sim_sessions[0] - pd.Timedelta(days=40)
        hi = self._sim_sessions[-1] + pd.Timedelta(days=40)
        all_sessions = cal.sessions_in_range(max(lo, cal.first_session), min(hi, cal.last_session))
        all_sessions = all_sessions.tz_localize(None) if all_sessions.tz is not None else all_sessions
        pos = all_sessions.get_indexer(self._sim_sessions)
        for ev in self.event_manager.events:
            ev.sessions = ev.date_rule.mask(all_sessions)[pos]
            if m.intraday:
                ev.bars = {}
        self._event_list = list(self.event_manager.events)

    def _loop(self) -> pd.DataFrame:
        m = self.market
        data = self.data
        ledger = self.ledger
        blotter = self.blotter
        events = self._event_list
        handle_data = self.handle_data
        ctx = self.context
        rows: list[dict] = []
        first_bar = m.session_first_bar
        n_bars = len(m.labels)
        intraday = m.intraday
        bar_ns = m.bar_ns
        closes = self._closes
        opens = self._opens
        dividends = self._dividends_by_session()
        splits = self._splits_by_session()
        prev_cash_flow = 0.0
        for k in range(len(self._sim_sessions)):
            s = self._s0 + k
            session = m.sessions[s]
            a = int(first_bar[s])
            b = int(first_bar[s + 1]) if s + 1 < len(first_bar) else n_bars
            if not intraday:
                b = a + 1
            # --- market open: dividends, metrics snapshot, splits
            ledger.start_of_session()
            divs = dividends.get(k)
            if divs and ledger.positions:
                ledger.process_dividends(session, divs)
            p = ledger.current_portfolio()
            start_pnl = p.pnl
            start_cash, start_value, start_exposure = p.cash, p.positions_value, p.positions_exposure
            spl = splits.get(k)
            if spl:
                held = [(asset, r) for asset, r in spl if asset in ledger.positions or asset in blotter.open_orders]
                if held:
                    blotter.process_splits(held)
                    ledger.process_splits(held)
            # --- before trading start: sees the previous bar
            bts_dt = opens[k] - pd.Timedelta(minutes=45)
            if intraday and a > 0:
                # sessions that abut (24/7): not before the previous session's last bar has closed, or the
                # algorithm would see that bar (and the pipeline row built from it) before its end
                prev_close = pd.Timestamp(int(m.labels[a - 1]) + bar_ns, tz="UTC")
                bts_dt = max(bts_dt, prev_close)
            data._set_bar(a - 1, k, session, bts_dt)  # -1 on the bundle's first bar: nothing to see yet
            blotter.current_dt = bts_dt
            self._in_before_trading_start = True
            self._call("before_trading_start", self.before_trading_start, ctx, data)
            self._in_before_trading_start = False
            self._collect_new_orders()
            for i in range(a, b):
                dt = pd.Timestamp(int(m.labels[i]) + bar_ns, tz="UTC") if intraday else closes[k]
                data._set_bar(i, k, session, dt)
                blotter.current_dt = dt
                if blotter.open_orders:
                    txns, commissions, closed = blotter.get_transactions(data)
                    blotter.prune_orders(closed)
                    for txn in txns:
                        ledger.process_transaction(txn)
                        ledger.process_order(blotter.orders[txn.order_id])
                    for asset, _order, cost in commissions:
                        ledger.process_commission(asset, cost)
                self._call("handle_data", handle_data, ctx, data)
                for ev in events:
                    if ev.sessions[k] and self._fires(ev, k, i, a, b, dt):
                        self._call(f"scheduled function {getattr(ev.func, '__name__', ev.func)!r}", ev.func, ctx, data)
                self._collect_new_orders()
            # --- market close
            last = b - 1
            self._sync_to(last, data.current_dt)
            self._close_expired(session, data.current_dt, last)
            blotter.execute_cancel_policy("session_end")
            p = ledger.current_portfolio()
            for control in self._account_controls:
                control.validate(p, ledger.account, data.current_dt)
            ledger.end_of_session(k)
            stats = ledger.stats
            account = ledger.account
            row = {
                "period_open": opens[k],
                "period_close": data.current_dt,
                "starting_exposure": start_exposure,
                "ending_exposure": p.positions_exposure,
                "starting_value": start_value,
                "ending_value": p.positions_value,
                "starting_cash": start_cash,
                "ending_cash": p.cash,
                "portfolio_value": p.portfolio_value,
                "longs_count": stats.longs_count,
                "shorts_count": stats.shorts_count,
                "long_value": stats.long_value,
                "short_value": stats.short_value,
                "long_exposure": stats.long_exposure,
                "short_exposure": stats.short_exposure,
                "gross_leverage": account.gross_leverage,
                "net_leverage": account.net_leverage,
                "returns": ledger.daily_returns[k],
                "pnl": p.pnl - start_pnl,
                "capital_used": p.cash_flow - prev_cash_flow,
                "orders": [o.to_dict() for o in ledger.orders_today.values()],
                "transactions": ledger.transactions_today,
                "positions": ledger.position_list(),
                "max_leverage": account.leverage,
            }
            row.update(self._recorded)
            rows.append(row)
            prev_cash_flow = p.cash_flow
        return self._perf_frame(rows)

    def _close_expired(self, session: pd.Timestamp, dt: pd.Timestamp, row: int) -> None:
        """zipline's clean-up at a session's end: positions in assets past their auto-close date (a future's
        ``auto_close_date``; for other assets the day after ``end_date``) are closed at the last price, and their
        open orders cancelled."""
        expired = self._expired_sids(session.value)
        if not expired:
            return
        ledger, blotter = self.ledger, self.blotter
        for asset in [a for a in ledger.positions if a.sid in expired]:
            position = ledger.positions[asset]
            price = float(self.market.price_column(self.market.col[asset.sid])[row])
            if price != price:
                price = position.last_sale_price
            ledger.process_transaction(Transaction(asset, -position.amount, dt, price, None))
        for asset in [a for a in blotter.open_orders if a.sid in expired]:
            blotter.cancel_all_orders_for_asset(asset)

    def _expired_sids(self, session_ns: int) -> set:
        """Sids whose auto-close session is at or before ``session_ns`` (grown as the sessions advance)."""
        state = self.__dict__.get("_expiry")
        if state is None:
            assets = self.market.assets
            ns = np.array([_auto_close_ns(a) for a in assets], dtype=np.int64)
            order = np.argsort(ns, kind="stable")
            state = self._expiry = [ns[order], [assets[i].sid for i in order], 0, set()]
        ns, sids, pos, expired = state
        stop = int(np.searchsorted(ns, session_ns, side="right"))
        if stop > pos:
            expired.update(sids[pos:stop])
            state[2] = stop
        return expired

    def _fires(self, ev: ScheduledFunction, k: int, i: int, a: int, b: int, dt: pd.Timestamp) -> bool:
        rule = ev.time_rule
        if not self.market.intraday or rule.anchor == "every_bar":
            return True
        target = ev.bars.get(k)
        if target is None:
            m = self.market
            ends = m.labels[a:b] + m.bar_ns
            if rule.anchor == "open":
                hits = np.flatnonzero(ends >= (self._opens[k] + rule.offset).value)
                target = a + int(hits[0]) if len(hits) else -1
            else:
                hits = np.flatnonzero(ends <= (self._closes[k] - rule.offset).value)
                target = a + int(hits[-1]) if len(hits) else -1
            ev.bars[k] = target
        return i == target

    def _collect_new_orders(self) -> None:
        blotter = self.blotter
        if blotter.new_orders:
            for order in blotter.new_orders:
                self.ledger.process_order(order)
            blotter.new_orders = []

    def _dividends_by_session(self) -> dict[int, list]:
        frame = self.bundle.adjustments("dividend")
        out: dict[int, list] = {}
        if frame.height == 0:
            return out
        days = pd.DatetimeIndex(pd.to_datetime(frame["effective_date"].to_numpy()))
        pos = self._sim_sessions.get_indexer(days)
        by_sid = self.market.asset_by_sid
        for k, sid, amount in zip(pos, frame["sid"].to_list(), frame["amount"].to_list(), strict=True):
            if k >= 0 and amount is not None and sid in by_sid:
                out.setdefault(int(k), []).append((by_sid[sid], float(amount)))
        return out

    def _splits_by_session(self) -> dict[int, list]:
        frame = self.bundle.adjustments("split")
        out: dict[int, list] = {}
        if frame.height == 0:
            return out
        days = pd.DatetimeIndex(pd.to_datetime(frame["effective_date"].to_numpy()))
        pos = self._sim_sessions.get_indexer(days)
        by_sid = self.market.asset_by_sid
        for k, sid, ratio in zip(pos, frame["sid"].to_list(), frame["ratio"].to_list(), strict=True):
            if k >= 0 and ratio is not None and sid in by_sid:
                out.setdefault(int(k), []).append((by_sid[sid], float(ratio)))
        return out

    def _perf_frame(self, rows: list[dict]) -> pd.DataFrame:
        perf = pd.DataFrame(rows)
        if perf.empty:
            return perf
        perf.index = pd.DatetimeIndex(perf["period_close"])
        perf.index.name = None
        bench = self._benchmark_array()
        risk = risk_columns(perf["returns"].to_numpy(dtype=float), bench)
        for name, values in risk.items():
            perf[name] = values
        perf["max_leverage"] = np.maximum.accumulate(perf["max_leverage"].to_numpy(dtype=float))
        perf["excess_return"] = 0.0
        perf["treasury_period_return"] = 0.0
        perf["trading_days"] = np.arange(1, len(perf) + 1)
        perf["period_label"] = [d.strftime("%Y-%m") for d in self._sim_sessions]
        recorded = [c for c in perf.columns if c in self._recorded]
        ordered = [c for c in PERF_COLUMNS if c in perf.columns]
        rest = [c for c in perf.columns if c not in ordered and c not in recorded]
        return perf[ordered + rest + recorded]

    def _benchmark_array(self) -> np.ndarray:
        n = len(self._sim_sessions)
        if self._benchmark_asset is not None:
            m = self.market
            j = m.col[self._benchmark_asset.sid]
            if m.intraday:
                # each session's last close (and the one before the first session)
                last_bars = [
                    int(m.session_first_bar[s + 1]) - 1 if s + 1 < len(m.sessions) else len(m.labels) - 1
                    for s in range(self._s0 - 1, self._s1)
                ]
                prices = np.array([m.price_column(j)[max(r, 0)] for r in last_bars])
            else:
                rows = np.arange(self._s0 - 1, self._s1)
                prices = m.price_column(j)[np.maximum(rows, 0)]
                b = m.factors(j, "price")
                if b is not None:
                    prices = prices * b[np.maximum(rows, 0)]
            with np.errstate(invalid="ignore", divide="ignore"):
                ret = prices[1:] / prices[:-1] - 1.0
            if self._s0 == 0:
                ret[0] = 0.0
            return np.nan_to_num(ret, nan=0.0)
        if self._benchmark_returns is not None:
            series = pd.Series(self._benchmark_returns)
            idx = pd.DatetimeIndex(series.index)
            idx = idx.tz_convert(None) if idx.tz is not None else idx
            series.index = idx.normalize()
            return series.reindex(self._sim_sessions).fillna(0.0).to_numpy(dtype=float)
        return np.zeros(n)

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

    # --- assets ------------------------------------------------------------------------------------------------
    def _resolve(self, asset: Any) -> Asset:
        if isinstance(asset, Asset):
            return asset
        if type(asset).__name__ == "ContinuousFuture":
            raise InvalidOrder(
                f"{asset!r} is a continuous future: trade its current contract, data.current(cf, 'contract')"
            )
        if isinstance(asset, int | np.integer):
            return self.asset_finder.retrieve_asset(int(asset))
        if isinstance(asset, str):
            return self.symbol(asset)
        raise InvalidArgument(f"expected an asset, a symbol or a sid, got {type(asset).__name__}: {asset!r}")

    def symbol(self, symbol_str: str, country_code: str | None = None) -> Asset:
        """The asset trading as ``symbol_str`` (ccxt's ``BTC/USDT`` and the catalog's ``BTC-USDT`` both work);
        an unknown symbol raises :class:`~rustybt.errors.SymbolNotFound` naming close matches."""
        if not isinstance(symbol_str, str) or not symbol_str:
            raise InvalidArgument(f"symbol must be a non-empty string, got {symbol_str!r}")
        candidates = [symbol_str, symbol_str.replace("/", "-"), symbol_str.replace("-", "/")]
        if ":" in symbol_str:
            candidates.append(symbol_str.split(":")[0].replace("/", "-"))
        finder = self.asset_finder
        for cand in dict.fromkeys(candidates):
            try:
                return finder.lookup_symbol(cand)
            except SymbolNotFound:
                continue
            except KeyError:
                continue
        known = sorted({a.symbol for a in self.bundle.assets})
        close = difflib.get_close_matches(symbol_str.upper().replace("/", "-"), known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; it holds {len(known)} symbols"
        raise SymbolNotFound(f"symbol {symbol_str!r} is not in bundle {self.bundle.name!r}{hint}")

    def continuous_future(
        self, root_symbol_str: str, offset: int = 0, roll: str = "volume", adjustment: str | None = "mul"
    ):
        """zipline's ``continuous_future``: ``data.current(cf, "contract")`` is the contract to trade,
        ``data.current(cf, "price")`` its price, ``data.history(cf, "price", n, "1d")`` the adjusted series."""
        return self.data_portal.continuous_future(root_symbol_str, offset=offset, roll=roll, adjustment=adjustment)

    def symbols(self, *args: str, **kwargs: Any) -> list[Asset]:
        """The assets of several symbols."""
        return [self.symbol(s, **kwargs) for s in args]

    def sid(self, sid: int) -> Asset:
        """The asset with integer id ``sid``."""
        return self.asset_finder.retrieve_asset(int(sid))

    # --- orders -----------------------------------------------------------------------------------------------
    def _style(self, limit_price, stop_price, style) -> ExecutionStyle:
        if style is not None:
            if limit_price is not None or stop_price is not None:
                raise InvalidOrder("pass either style= or limit_price/stop_price to an order, not both")
            if not isinstance(style, ExecutionStyle):
                raise InvalidOrder(f"style must be an ExecutionStyle (MarketOrder, LimitOrder ...), got {style!r}")
            return style
        if limit_price is not None and stop_price is not None:
            return StopLimitOrder(limit_price, stop_price)
        if limit_price is not None:
            return LimitOrder(limit_price)
        if stop_price is not None:
            return StopOrder(stop_price)
        return MarketOrder()

    def _check_orderable(self, asset: Asset) -> None:
        session = self.data.session
        if asset.end_date is not None and session > asset.end_date:
            raise CannotOrderDelistedAsset(
                f"cannot order {asset.symbol}: it stopped trading on {pd.Timestamp(asset.end_date).date()} "
                f"(now {session.date()})"
            )
        if asset.start_date is not None and session < asset.start_date:
            raise CannotOrderDelistedAsset(
                f"cannot order {asset.symbol}: it starts trading on {pd.Timestamp(asset.start_date).date()} "
                f"(now {session.date()})"
            )

    def order(self, asset, amount, limit_price=None, stop_price=None, style=None) -> str | None:
        """Place an order for ``amount`` units (negative sells); returns its id, None when ``amount`` rounds to 0.

        Equities and futures trade whole units (zipline's rounding: within 1e-4 of an integer rounds to it,
        otherwise truncates towards zero); crypto and forex keep fractional amounts.
        """
        if not self._initialized:
            raise InvalidOrder(
                "orders cannot be placed in initialize(); place them in handle_data or a scheduled function"
            )
        asset = self._resolve(asset)
        try:
            amount = float(amount)
        except (TypeError, ValueError) as exc:
            raise InvalidOrder(f"order amount for {asset.symbol} must be a number, got {amount!r}") from exc
        if not math.isfinite(amount):
            raise InvalidOrder(f"order amount for {asset.symbol} must be finite, got {amount!r}")
        self._check_orderable(asset)
        if fractional(asset):
            amount = float(_round_if_near_integer(amount, 1e-12))
        else:
            amount = int(_round_if_near_integer(amount))
        if amount == 0:
            return None
        style = self._style(limit_price, stop_price, style)
        if style.asset is None and hasattr(style, "asset"):
            style.asset = asset
        p = self.portfolio if self._controls else None
        for control in self._controls:
            control.validate(asset, amount, p, self.get_datetime(), self.data)
        return self.blotter.order(asset, amount, style)

    def _value_to_amount(self, asset: Asset, value: float) -> float:
        self._check_orderable(asset)
        price = self.data.current(asset, "price")
        if price != price:
            raise CannotOrderDelistedAsset(
                f"cannot order {asset.symbol} by value at {self.get_datetime()}: it has no price yet"
            )
        if abs(price) < 1e-12:
            return 0.0
        mult = asset.multiplier if asset.asset_class == "future" else 1.0
        return value / (price * mult)

    def order_value(self, asset, value, limit_price=None, stop_price=None, style=None):
        """Order ``value`` worth of ``asset`` at the current price."""
        asset = self._resolve(asset)
        return self.order(asset, self._value_to_amount(asset, _finite(value, "value")), limit_price, stop_price, style)

    def order_percent(self, asset, percent, limit_price=None, stop_price=None, style=None):
        """Order ``percent`` (a fraction) of the portfolio value of ``asset``."""
        asset = self._resolve(asset)
        value = self.portfolio.portfolio_value * _finite(percent, "percent")
        return self.order(asset, self._value_to_amount(asset, value), limit_price, stop_price, style)

    def _target_amount(self, asset: Asset, target: float) -> float:
        position = self.portfolio.positions.get(asset)
        return target - position.amount if position is not None else target

    def order_target(self, asset, target, limit_price=None, stop_price=None, style=None):
        """Order what brings the position in ``asset`` to ``target`` units (open orders are not counted)."""
        asset = self._resolve(asset)
        return self.order(asset, self._target_amount(asset, _finite(target, "target")), limit_price, stop_price, style)

    def order_target_value(self, asset, target, limit_price=None, stop_price=None, style=None):
        """Order what brings the position in ``asset`` to ``target`` value."""
        asset = self._resolve(asset)
        amount = self._value_to_amount(asset, _finite(target, "target"))
        return self.order(asset, self._target_amount(asset, amount), limit_price, stop_price, style)

    def order_target_percent(self, asset, target, limit_price=None, stop_price=None, style=None):
        """Order what brings the position in ``asset`` to ``target`` (a fraction) of the portfolio value."""
        asset = self._resolve(asset)
        value = self.portfolio.portfolio_value * _finite(target, "target")
        amount = self._value_to_amount(asset, value)
        return self.order(asset, self._target_amount(asset, amount), limit_price, stop_price, style)

    def get_open_orders(self, asset=None):
        """Open orders: a dict asset -> list of orders, or the list for ``asset``."""
        if asset is None:
            return self.blotter.open_orders_for()
        return self.blotter.open_orders_for(self._resolve(asset))

    def get_order(self, order_id: str):
        """The order with id ``order_id`` (None if unknown)."""
        return self.blotter.orders.get(order_id)

    def cancel_order(self, order_param) -> None:
        """Cancel an order (by id or order object)."""
        order_id = order_param if isinstance(order_param, str) else getattr(order_param, "id", None)
        if order_id is None:
            raise InvalidArgument(f"cancel_order needs an order id or an order, got {order_param!r}")
        self.blotter.cancel(order_id)

    # --- models and controls ------------------------------------------------------------------------------------
    def set_slippage(self, us_equities: SlippageModel | None = None, us_futures: SlippageModel | None = None) -> None:
        """Set the slippage models; the equity model also applies to crypto and forex (one model per bundle class)."""
        if self._initialized:
            raise InvalidArgument("set_slippage can only be called in initialize()")
        for model in (us_equities, us_futures):
            if model is not None and not isinstance(model, SlippageModel):
                raise InvalidArgument(f"set_slippage needs a SlippageModel, got {model!r}")
        if us_equities is not None:
            for cls in _EQUITY_LIKE:
                self.blotter.slippage_models[cls] = us_equities
        if us_futures is not None:
            self.blotter.slippage_models["future"] = us_futures

    def set_commission(
        self, us_equities: CommissionModel | None = None, us_futures: CommissionModel | None = None
    ) -> None:
        """Set the commission models; the equity model also applies to crypto and forex."""
        if self._initialized:
            raise InvalidArgument("set_commission can only be called in initialize()")
        for model in (us_equities, us_futures):
            if model is not None and not isinstance(model, CommissionModel):
                raise InvalidArgument(f"set_commission needs a CommissionModel, got {model!r}")
        if us_equities is not None:
            for cls in _EQUITY_LIKE:
                self.blotter.commission_models[cls] = us_equities
        if us_futures is not None:
            self.blotter.commission_models["future"] = us_futures

    def set_cancel_policy(self, cancel_policy) -> None:
        """``EODCancel()`` or ``NeverCancel()`` (the default)."""
        self.blotter.cancel_policy = cancel_policy

    def set_long_only(self, on_error: str = "fail") -> None:
        self._controls.append(LongOnly(on_error))

    def set_max_position_size(self, asset=None, max_shares=None, max_notional=None, on_error: str = "fail") -> None:
        self._controls.append(MaxPositionSize(asset and self._resolve(asset), max_shares, max_notional, on_error))

    def set_max_order_size(self, asset=None, max_shares=None, max_notional=None, on_error: str = "fail") -> None:
        self._controls.append(MaxOrderSize(asset and self._resolve(asset), max_shares, max_notional, on_error))

    def set_max_order_count(self, max_count: int, on_error: str = "fail") -> None:
        self._controls.append(MaxOrderCount(max_count, on_error))

    def set_max_leverage(self, max_leverage: float) -> None:
        self._account_controls.append(MaxLeverage(max_leverage))

    def set_benchmark(self, benchmark) -> None:
        """Use the daily returns of ``benchmark`` (an asset or symbol) for the benchmark columns."""
        self._benchmark_asset = self._resolve(benchmark)

    # --- record / schedule --------------------------------------------------------------------------------------
    def record(self, *args: Any, **kwargs: Any) -> None:
        """Record values under names, as columns of the perf frame (a value stays until recorded again)."""
        if len(args) % 2:
            raise InvalidArgument("record() takes name, value pairs or keyword arguments")
        for name, value in zip(args[::2], args[1::2], strict=True):
            self._recorded[name] = value
        self._recorded.update(kwargs)

    def schedule_function(
        self,
        func: Callable,
        date_rule: DateRule | None = None,
        time_rule: TimeRule | None = None,
        half_days: bool = True,
        calendar: Any = None,
    ) -> None:
        """Run ``func(context, data)`` on the sessions of ``date_rule`` at the bar of ``time_rule``."""
        if not callable(func):
            raise InvalidArgument(f"schedule_function needs a callable, got {func!r}")
        date_rule = date_rule or date_rules.every_day()
        time_rule = time_rule or time_rules.every_minute()
        if not isinstance(date_rule, DateRule) or not isinstance(time_rule, TimeRule):
            raise InvalidArgument("schedule_function takes a date_rules.* rule and a time_rules.* rule")
        self.event_manager.add(ScheduledFunction(func, date_rule, time_rule))
        if self._initialized:
            self._prepare_events()

    # --- pipelines --------------------------------------------------------------------------------------------
    def attach_pipeline(self, pipeline, name: str, chunks: Any = None, eager: bool = True):
        """Register ``pipeline`` under ``name``; :meth:`pipeline_output` gives its rows for the current session."""
        if name in self._pipelines:
            raise InvalidArgument(f"a pipeline named {name!r} is already attached")
        self._pipelines[name] = pipeline
        return pipeline

    def pipeline_output(self, name: str) -> pd.DataFrame:
        """The attached pipeline's rows for the current session, indexed by asset (zipline: the row for day D
        holds what was known at D's open)."""
        if name not in self._pipelines:
            known = ", ".join(repr(n) for n in self._pipelines) or "none"
            raise PipelineNotAttached(
                f"no pipeline named {name!r} was attached (attached: {known}); "
                f"call attach_pipeline(pipeline, {name!r}) in initialize()"
            )
        k = self.data.session_ix
        cached = self._pipeline_frames.get(name)
        if cached is None or not cached[0] <= k < cached[1]:
            cached = self._run_pipeline_chunk(name, k)
            self._pipeline_frames[name] = cached
        _lo, _hi, frame, slices = cached
        sl = slices.get(k)
        if sl is None:
            return frame.iloc[0:0]
        return frame.iloc[sl[0] : sl[1]]

    def _run_pipeline_chunk(self, name: str, k: int):
        from rustybt.pipeline.bundle_engine import engine_for_bundle

        engine = getattr(self, "_pipeline_engine", None)
        if engine is None:
            engine = self._pipeline_engine = engine_for_bundle(self.bundle)
        hi = min(k + _PIPELINE_CHUNK, len(self._sim_sessions))
        start, end = self._sim_sessions[k], self._sim_sessions[hi - 1]
        frame = engine.run_pipeline(self._pipelines[name], start, end)
        dates = frame.index.get_level_values(0)
        dates = (
            pd.DatetimeIndex(dates).tz_convert(None)
            if getattr(dates, "tz", None) is not None
            else pd.DatetimeIndex(dates)
        )
        pos = self._sim_sessions.get_indexer(dates)
        slices: dict[int, tuple[int, int]] = {}
        if len(pos):
            change = np.flatnonzero(np.diff(pos)) + 1
            starts = np.concatenate([[0], change])
            stops = np.concatenate([change, [len(pos)]])
            for s0, s1 in zip(starts, stops, strict=True):
                slices[int(pos[s0])] = (int(s0), int(s1))
        # indexed by asset alone once per chunk: a session's rows are then a cheap positional slice
        return k, hi, frame.droplevel(0), slices

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(bundle={self.bundle.name!r}, {self._sim_sessions[0].date()}.."
            f"{self._sim_sessions[-1].date()}, capital_base={self.capital_base:,.0f}, {self.data_frequency})"
        )


def _auto_close_ns(asset: Asset) -> int:
    """The session (midnight, ns) from which zipline closes positions in ``asset``: a future's auto-close date, the
    day after the end date for other assets; a far-future value when neither is known."""
    close = getattr(asset, "auto_close_date", None)
    if close is None and asset.end_date is not None:
        close = pd.Timestamp(asset.end_date) + pd.Timedelta(days=1)
    if close is None:
        return int(np.iinfo(np.int64).max)
    close = pd.Timestamp(close)
    if close.tzinfo is not None:
        close = close.tz_convert(None)
    return int(close.value)


def _finite(value: Any, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidOrder(f"order {what} must be a number, got {value!r}") from exc
    if not math.isfinite(out):
        raise InvalidOrder(f"order {what} must be finite, got {value!r}")
    return out


def _day(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


def _user_location(exc: BaseException) -> str | None:
    """``file:line in function`` of the innermost frame of the user's code in ``exc``'s traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    user = [
        f
        for f in frames
        if not os.path.abspath(f.filename).startswith(_PKG_DIR)
        and "site-packages" not in f.filename
        and not f.filename.startswith(sys.prefix)
    ]
    if not user:
        return None
    f = user[-1]
    line = f" -> {f.line.strip()}" if f.line else ""
    return f"{f.filename}:{f.lineno} in {f.name}{line}"
