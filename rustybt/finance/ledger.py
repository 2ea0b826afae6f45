"""The ledger: cash, positions, dividends owed, and the portfolio and account views (zipline's ``Ledger``).

Bookkeeping follows zipline-reloaded: a fill moves cash by ``-price * amount`` (futures settle price changes
instead: ``(new - old) * amount * multiplier``), commissions leave cash and raise the cost basis, a split changes
the share count at the open of its ex-date and pays out the fractional share, and a cash dividend is earned by the
shares held at the open of its ex-date and paid on its pay date. The catalog records one date per dividend, so
the pay date is the ex-date: the cash arrives at the open of the ex-date.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from rustybt.finance.position import Position, Positions

__all__ = ["Account", "Ledger", "Portfolio", "PositionStats"]


class PositionStats:
    """Long/short counts, values and exposures of the positions (futures have exposure but no value)."""

    __slots__ = (
        "gross_exposure",
        "long_exposure",
        "long_value",
        "longs_count",
        "net_exposure",
        "net_value",
        "short_exposure",
        "short_value",
        "shorts_count",
    )

    def __init__(self, positions: Iterable[Position]) -> None:
        longs = shorts = 0
        long_value = short_value = long_exposure = short_exposure = 0.0
        for p in positions:
            exposure = p.amount * p.last_sale_price
            if p.asset.asset_class == "future":
                value = 0.0
                exposure *= p.asset.multiplier
            else:
                value = exposure
            if exposure > 0:
                longs += 1
                long_value += value
                long_exposure += exposure
            elif exposure < 0:
                shorts += 1
                short_value += value
                short_exposure += exposure
        self.longs_count = longs
        self.shorts_count = shorts
        self.long_value = long_value
        self.short_value = short_value
        self.long_exposure = long_exposure
        self.short_exposure = short_exposure
        self.net_value = long_value + short_value
        self.gross_exposure = long_exposure - short_exposure
        self.net_exposure = long_exposure + short_exposure


class Portfolio:
    """``context.portfolio``: zipline's fields (``positions[asset].amount``, ``portfolio_value``, ``cash`` ...)."""

    def __init__(self, start_date=None, capital_base: float = 0.0) -> None:
        self.cash_flow = 0.0
        self.starting_cash = capital_base
        self.portfolio_value = capital_base
        self.pnl = 0.0
        self.returns = 0.0
        self.cash = capital_base
        self.positions = Positions()
        self.start_date = start_date
        self.positions_value = 0.0
        self.positions_exposure = 0.0

    @property
    def capital_used(self) -> float:
        """Net cash spent since the start (zipline's alias of ``cash_flow``)."""
        return self.cash_flow

    @property
    def current_portfolio_weights(self) -> pd.Series:
        """Each position's value as a share of the portfolio value (futures by notional exposure)."""
        values = {}
        for asset, p in self.positions.items():
            mult = asset.multiplier if asset.asset_class == "future" else 1.0
            values[asset] = p.amount * p.last_sale_price * mult
        return pd.Series(values, dtype=float) / self.portfolio_value

    def __repr__(self) -> str:
        return (
            f"Portfolio(portfolio_value={self.portfolio_value:.2f}, cash={self.cash:.2f}, "
            f"positions={len(self.positions)}, returns={self.returns:.6f})"
        )


class Account:
    """``context.account``: zipline's account fields derived from the portfolio (no margin model)."""

    def __init__(self) -> None:
        self.settled_cash = 0.0
        self.accrued_interest = 0.0
        self.buying_power = math.inf
        self.equity_with_loan = 0.0
        self.total_positions_value = 0.0
        self.total_positions_exposure = 0.0
        self.regt_equity = 0.0
        self.regt_margin = math.inf
        self.initial_margin_requirement = 0.0
        self.maintenance_margin_requirement = 0.0
        self.available_funds = 0.0
        self.excess_liquidity = 0.0
        self.cushion = 0.0
        self.day_trades_remaining = math.inf
        self.leverage = 0.0
        self.net_leverage = 0.0
        self.gross_leverage = 0.0
        self.net_liquidation = 0.0

    def __repr__(self) -> str:
        return f"Account(leverage={self.leverage:.4f}, net_liquidation={self.net_liquidation:.2f})"


class Ledger:
    """Cash and positions of one simulation, with zipline's portfolio arithmetic.

    Parameters
    ----------
    capital_base
        Starting cash.
    n_sessions
        Sessions of the simulation (length of :attr:`daily_returns`).
    start_date
        First session.
    """

    def __init__(self, capital_base: float, n_sessions: int, start_date=None) -> None:
        self.portfolio = Portfolio(start_date, capital_base)
        self.positions: dict = self.portfolio.positions
        self._account = Account()
        self._unpaid_dividends: dict = {}
        self._payout_last_sale_prices: dict = {}
        self.daily_returns = np.full(n_sessions, np.nan)
        self._previous_total_returns = 0.0
        self._dirty = True
        self._stats: PositionStats | None = None
        self.transactions_today: list[dict] = []
        self.orders_today: dict = {}

    # --- cash ----------------------------------------------------------------------------------------------
    def _cash_flow(self, amount: float) -> None:
        self._dirty = True
        p = self.portfolio
        p.cash_flow += amount
        p.cash += amount

    # --- sessions ------------------------------------------------------------------------------------------
    def start_of_session(self) -> None:
        self.transactions_today = []
        self.orders_today = {}
        self._previous_total_returns = self.portfolio.returns

    def end_of_session(self, session_ix: int) -> None:
        self.daily_returns[session_ix] = self.todays_returns

    @property
    def todays_returns(self) -> float:
        """Return since the previous session's close (in returns space, as zipline)."""
        return (self.current_portfolio().returns + 1) / (self._previous_total_returns + 1) - 1

    # --- events --------------------------------------------------------------------------------------------
    def process_transaction(self, txn) -> None:
        asset = txn.asset
        if asset.asset_class == "future":
            old_price = self._payout_last_sale_prices.get(asset)
            if old_price is None:
                self._payout_last_sale_prices[asset] = txn.price
            else:
                amount = self.positions[asset].amount
                self._cash_flow((txn.price - old_price) * asset.multiplier * amount)
                if amount + txn.amount == 0:
                    del self._payout_last_sale_prices[asset]
                else:
                    self._payout_last_sale_prices[asset] = txn.price
        else:
            self._cash_flow(-(txn.price * txn.amount))
        position = self.positions.get(asset)
        if position is None:
            position = self.positions[asset] = Position(asset)
        position.update(txn)
        if position.amount == 0:
            del self.positions[asset]
        self._stats = None
        self.transactions_today.append(txn.to_dict())

    def process_commission(self, asset, cost: float) -> None:
        position = self.positions.get(asset)
        if position is not None:
            position.adjust_commission_cost_basis(cost)
        self._cash_flow(-cost)

    def process_order(self, order) -> None:
        self.orders_today[order.id] = order

    def process_splits(self, splits: Iterable[tuple]) -> None:
        """Apply ``(asset, ratio)`` splits to held positions; pay out fractional shares."""
        leftover = 0.0
        for asset, ratio in splits:
            position = self.positions.get(asset)
            if position is None:
                continue
            leftover += position.handle_split(ratio)
            if position.amount == 0:
                del self.positions[asset]
            self._stats = None
            self._dirty = True
        if leftover:
            self._cash_flow(leftover)

    def process_dividends(self, session, dividends: Iterable[tuple], pay_dates: Callable | None = None) -> None:
        """Earn ``(asset, amount_per_share)`` cash dividends going ex on ``session`` and pay what is due.

        The pay date is the ex-date (``pay_dates`` may map an asset to another one).
        """
        for asset, amount in dividends:
            position = self.positions.get(asset)
            if position is None or position.amount == 0:
                continue
            pay = session if pay_dates is None else pay_dates(asset)
            self._unpaid_dividends.setdefault(pay, []).append(position.earn_dividend(amount))
        due = self._unpaid_dividends.pop(session, None)
        if due:
            self._cash_flow(float(sum(due)))

    def sync_last_sale_prices(self, dt, price_of: Callable) -> None:
        """Set each position's last sale price to ``price_of(asset)`` (NaN keeps the previous one)."""
        for position in self.positions.values():
            price = price_of(position.asset)
            if price == price:
                position.last_sale_price = price
                position.last_sale_date = dt
        self._stats = None
        self._dirty = True

    def mark(self, dt, prices) -> None:
        """Like :meth:`sync_last_sale_prices` with ``prices`` a sequence aligned with ``positions.values()``."""
        for position, price in zip(self.positions.values(), prices, strict=True):
            if price == price:
                position.last_sale_price = price
                position.last_sale_date = dt
        self._stats = None
        self._dirty = True

    # --- views ---------------------------------------------------------------------------------------------
    @property
    def stats(self) -> PositionStats:
        if self._stats is None:
            self._stats = PositionStats(self.positions.values())
        return self._stats

    def current_portfolio(self) -> Portfolio:
        """The portfolio, brought up to date with the positions' last sale prices (zipline's compounding)."""
        if not self._dirty:
            return self.portfolio
        p = self.portfolio
        stats = self.stats
        p.positions_value = position_value = stats.net_value
        p.positions_exposure = stats.net_exposure
        if self._payout_last_sale_prices:
            self._cash_flow(self._payout_total())
        start_value = p.portfolio_value
        p.portfolio_value = end_value = p.cash + position_value
        pnl = end_value - start_value
        returns = pnl / start_value if start_value != 0 else 0.0
        p.pnl += pnl
        p.returns = (1 + p.returns) * (1 + returns) - 1
        self._dirty = False
        return p

    def _payout_total(self) -> float:
        total = 0.0
        for asset, old_price in self._payout_last_sale_prices.items():
            position = self.positions[asset]
            self._payout_last_sale_prices[asset] = price = position.last_sale_price
            total += (price - old_price) * asset.multiplier * position.amount
        return total

    @property
    def account(self) -> Account:
        p = self.current_portfolio()
        a = self._account
        a.settled_cash = p.cash
        a.equity_with_loan = p.portfolio_value
        a.total_positions_value = p.portfolio_value - p.cash
        a.total_positions_exposure = p.positions_exposure
        a.regt_equity = p.cash
        a.available_funds = p.cash
        a.excess_liquidity = p.cash
        a.cushion = p.cash / p.portfolio_value if p.portfolio_value else np.nan
        a.net_liquidation = p.portfolio_value
        if p.portfolio_value == 0:
            a.gross_leverage = a.net_leverage = np.inf
        else:
            stats = self.stats
            a.gross_leverage = stats.gross_exposure / p.portfolio_value
            a.net_leverage = stats.net_exposure / p.portfolio_value
        a.leverage = a.gross_leverage
        return a

    def position_list(self) -> list[dict]:
        """zipline's ``positions`` list: the dict form of every non-empty position."""
        # the dict literal inline: once per session and position, the method call would cost more than the dict
        return [
            {"sid": p.asset, "amount": p.amount, "cost_basis": p.cost_basis, "last_sale_price": p.last_sale_price}
            for p in self.positions.values()
            if p.amount != 0
        ]
