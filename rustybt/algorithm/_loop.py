"""The event loop of a backtest: sessions and bars in zipline's order (see :mod:`rustybt.algorithm.algorithm`),
scheduled functions, the session-end clean-up of expired assets, and dividends and splits by session."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rustybt.algorithm.events import ScheduledFunction
from rustybt.assets import Asset
from rustybt.finance.order import Transaction

__all__ = ["LoopMixin"]


class LoopMixin:
    """``_loop()`` runs every session and returns the perf frame; the per-bar work stays inline in it."""

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
        return self._adjustments_by_session("dividend", "amount")

    def _splits_by_session(self) -> dict[int, list]:
        return self._adjustments_by_session("split", "ratio")

    def _adjustments_by_session(self, kind: str, column: str) -> dict[int, list]:
        """The bundle's ``kind`` adjustments effective in the simulation: session index -> [(asset, value)]."""
        frame = self.bundle.adjustments(kind)
        out: dict[int, list] = {}
        if frame.height == 0:
            return out
        days = pd.DatetimeIndex(pd.to_datetime(frame["effective_date"].to_numpy()))
        pos = self._sim_sessions.get_indexer(days)
        by_sid = self.market.asset_by_sid
        for k, sid, value in zip(pos, frame["sid"].to_list(), frame[column].to_list(), strict=True):
            if k >= 0 and value is not None and sid in by_sid:
                out.setdefault(int(k), []).append((by_sid[sid], float(value)))
        return out


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
