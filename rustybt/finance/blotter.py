"""The blotter: open orders, their fills through the slippage and commission models, cancels and splits.

zipline's timing: an order placed during bar t is filled, if at all, in bar t+1 (``get_transactions`` runs at the
start of each bar, before the algorithm sees it). Orders stay open until filled or cancelled (zipline's default
``NeverCancel``); ``EODCancel`` cancels what is left at the end of each session.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from rustybt.errors import InvalidArgument
from rustybt.finance.commission import CommissionModel, MakerTakerFee, PerContract, PerShare
from rustybt.finance.order import Order
from rustybt.finance.slippage import FixedBasisPointsSlippage, SlippageModel

__all__ = ["Blotter", "EODCancel", "NeverCancel", "default_commission", "default_slippage"]

log = logging.getLogger(__name__)

_MAX_SHARES = int(1e11)


class NeverCancel:
    """Orders stay open until filled or cancelled by the algorithm (zipline's default)."""

    warn_on_cancel = False

    def should_cancel(self, event: str) -> bool:
        return False


class EODCancel:
    """Cancel every open order at the end of the session."""

    def __init__(self, warn_on_cancel: bool = True) -> None:
        self.warn_on_cancel = warn_on_cancel

    def should_cancel(self, event: str) -> bool:
        return event == "session_end"


def default_slippage(asset_class: str) -> SlippageModel:
    """zipline's default slippage (5 bp, 10% of volume) for every class (zipline's futures model needs a
    volatility estimate the catalog does not hold)."""
    return FixedBasisPointsSlippage()


def default_commission(asset_class: str) -> CommissionModel:
    """zipline's defaults: ``PerShare()`` for equities, ``PerContract()`` for futures; crypto pays 10 bp fees."""
    if asset_class == "future":
        return PerContract()
    if asset_class in ("crypto_spot", "crypto_perpetual", "forex"):
        return MakerTakerFee()
    return PerShare()


class Blotter:
    """Open orders by asset, every order by id, and the models that fill them."""

    def __init__(self, cancel_policy=None) -> None:
        self.open_orders: dict = defaultdict(list)
        self.orders: dict[str, Order] = {}
        self.new_orders: list[Order] = []
        self.current_dt = None
        self.cancel_policy = cancel_policy or NeverCancel()
        self.slippage_models: dict[str, SlippageModel] = {}
        self.commission_models: dict[str, CommissionModel] = {}

    # --- models --------------------------------------------------------------------------------------------
    def slippage_for(self, asset) -> SlippageModel:
        cls = asset.asset_class
        model = self.slippage_models.get(cls)
        if model is None:
            model = self.slippage_models[cls] = default_slippage(cls)
        return model

    def commission_for(self, asset) -> CommissionModel:
        cls = asset.asset_class
        model = self.commission_models.get(cls)
        if model is None:
            model = self.commission_models[cls] = default_commission(cls)
        return model

    # --- orders --------------------------------------------------------------------------------------------
    def order(self, asset, amount, style, order_id: str | None = None) -> str | None:
        """Place an order; returns its id (None for a zero amount: nothing to do, as zipline)."""
        if amount == 0:
            return None
        if abs(amount) > _MAX_SHARES:
            raise InvalidArgument(f"order of {amount} {asset.symbol} exceeds the limit of {_MAX_SHARES:,} units")
        is_buy = amount > 0
        order = Order(
            dt=self.current_dt,
            asset=asset,
            amount=amount,
            stop=style.get_stop_price(is_buy),
            limit=style.get_limit_price(is_buy),
            id=order_id,
        )
        self.open_orders[asset].append(order)
        self.orders[order.id] = order
        self.new_orders.append(order)
        return order.id

    def cancel(self, order_id: str, relay_status: bool = True) -> None:
        order = self.orders.get(order_id)
        if order is None or not order.open:
            return
        orders = self.open_orders.get(order.asset)
        if orders and order in orders:
            orders.remove(order)
            if not orders:
                del self.open_orders[order.asset]
        if order in self.new_orders:
            self.new_orders.remove(order)
        order.cancel()
        order.dt = self.current_dt
        if relay_status:
            self.new_orders.append(order)

    def cancel_all_orders_for_asset(self, asset, warn: bool = False, relay_status: bool = True) -> None:
        for order in list(self.open_orders.get(asset, ())):
            self.cancel(order.id, relay_status)
            if warn:
                log.warning(
                    "Your order for %s shares of %s has been partially filled. %s shares were successfully "
                    "purchased. %s shares were not filled by the end of day and were canceled.",
                    order.amount,
                    order.asset.symbol,
                    order.filled,
                    order.amount - order.filled,
                )
        self.open_orders.pop(asset, None)

    def execute_cancel_policy(self, event: str) -> None:
        if self.cancel_policy.should_cancel(event):
            warn = self.cancel_policy.warn_on_cancel
            for asset in list(self.open_orders):
                self.cancel_all_orders_for_asset(asset, warn, relay_status=False)

    def reject(self, order_id: str, reason: str = "") -> None:
        order = self.orders.get(order_id)
        if order is None:
            return
        orders = self.open_orders.get(order.asset)
        if orders and order in orders:
            orders.remove(order)
        order.reject(reason)
        order.dt = self.current_dt
        self.new_orders.append(order)

    def process_splits(self, splits) -> None:
        for asset, ratio in splits:
            orders = self.open_orders.get(asset)
            if not orders:
                continue
            for order in orders:
                order.handle_split(ratio)
            for order in [o for o in orders if o.open_amount == 0]:
                orders.remove(order)
                if order in self.new_orders:
                    self.new_orders.remove(order)

    # --- fills ---------------------------------------------------------------------------------------------
    def get_transactions(self, bar_data):
        """Fills of the open orders in the current bar: ``(transactions, commissions, closed_orders)``."""
        transactions = []
        commissions = []
        closed = []
        if not self.open_orders:
            return transactions, commissions, closed
        for asset, asset_orders in self.open_orders.items():
            slippage = self.slippage_for(asset)
            commission = self.commission_for(asset)
            for order, txn in slippage.simulate(bar_data, asset, asset_orders):
                additional = commission.calculate(order, txn)
                if additional > 0:
                    commissions.append((order.asset, order, additional))
                order.filled += txn.amount
                order.commission += additional
                order.dt = txn.dt
                transactions.append(txn)
                if not order.open:
                    closed.append(order)
        return transactions, commissions, closed

    def prune_orders(self, closed_orders) -> None:
        for order in closed_orders:
            orders = self.open_orders.get(order.asset)
            if orders is None:
                continue
            if order in orders:
                orders.remove(order)
            if not orders:
                del self.open_orders[order.asset]
        for asset in [a for a, o in self.open_orders.items() if not o]:
            del self.open_orders[asset]

    def open_orders_for(self, asset=None):
        """Open orders of ``asset`` (a list), or of every asset (a dict asset -> list)."""
        if asset is None:
            return {a: list(o) for a, o in self.open_orders.items() if o}
        return list(self.open_orders.get(asset, ()))
