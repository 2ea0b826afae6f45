"""Slippage models: the price and size of a fill (zipline-reloaded's names, parameters, defaults and arithmetic).

A model's :meth:`SlippageModel.simulate` runs once per bar and asset over the asset's open orders, in order; each
fill is ``(price, amount)`` from :meth:`SlippageModel.process_order`. Orders never fill in a bar without volume.
Share counts are whole numbers for equities and futures (as zipline) and fractional for crypto and forex.
"""

from __future__ import annotations

import math

import numpy as np

from rustybt.errors import InvalidArgument
from rustybt.finance.order import Transaction

__all__ = [
    "FRACTIONAL_CLASSES",
    "FixedBasisPointsSlippage",
    "FixedSlippage",
    "LiquidityExceeded",
    "NoSlippage",
    "SlippageModel",
    "VolumeShareSlippage",
    "create_transaction",
    "fill_price_worse_than_limit_price",
]

#: asset classes traded in fractional amounts
FRACTIONAL_CLASSES = frozenset({"crypto_spot", "crypto_perpetual", "forex"})


class LiquidityExceeded(Exception):
    """No volume left in this bar for further fills of the asset."""


def fractional(asset) -> bool:
    """True if ``asset`` trades in fractional amounts (crypto, forex)."""
    return getattr(asset, "asset_class", "") in FRACTIONAL_CLASSES


def create_transaction(order, dt, price: float, amount: float) -> Transaction:
    """A fill of ``order``. Whole shares for equities and futures (zipline truncates), fractional for crypto."""
    if fractional(order.asset):
        if amount == 0:
            raise InvalidArgument(f"a fill of {order.asset!r} needs a non-zero amount")
        return Transaction(order.asset, float(amount), dt, price, order.id)
    if int(abs(amount)) < 1:
        raise InvalidArgument("Transaction magnitude must be at least 1.")
    return Transaction(order.asset, int(amount), dt, price, order.id)


def fill_price_worse_than_limit_price(fill_price: float, order) -> bool:
    """True if a fill at ``fill_price`` would break ``order``'s limit."""
    limit = order.limit
    if not limit:
        return False
    return (order.direction > 0 and fill_price > limit) or (order.direction < 0 and fill_price < limit)


class SlippageModel:
    """Base class: subclasses implement :meth:`process_order` returning ``(price, amount)`` or ``(None, None)``."""

    def __init__(self) -> None:
        self._volume_for_bar = 0

    @property
    def volume_for_bar(self):
        """Amount already filled for the current asset in the current bar."""
        return self._volume_for_bar

    def process_order(self, data, order):
        raise NotImplementedError

    def simulate(self, data, asset, orders_for_asset):
        """Yield ``(order, transaction)`` for the fills of ``orders_for_asset`` in the current bar."""
        self._volume_for_bar = 0
        volume = data.current(asset, "volume")
        if volume == 0:
            return
        price = data.current(asset, "close")
        if price != price:  # no trade in this bar
            return
        dt = data.current_dt
        for order in orders_for_asset:
            if order.open_amount == 0:
                continue
            order.check_triggers(price, dt)
            if not order.triggered:
                continue
            txn = None
            try:
                execution_price, execution_volume = self.process_order(data, order)
                if execution_price is not None:
                    txn = create_transaction(order, dt, execution_price, execution_volume)
            except LiquidityExceeded:
                break
            if txn:
                self._volume_for_bar += abs(txn.amount)
                yield order, txn

    def asdict(self) -> dict:
        return dict(self.__dict__)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.asdict() == other.asdict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(type(self))


class NoSlippage(SlippageModel):
    """Fill the whole order at the bar's close (no volume limit, no price impact)."""

    def process_order(self, data, order):
        return data.current(order.asset, "close"), order.amount  # zipline: the whole order at once

    def __repr__(self) -> str:
        return "NoSlippage()"


class FixedSlippage(SlippageModel):
    """Fill at ``close + spread / 2`` (buys) or ``close - spread / 2`` (sells), the whole order at once.

    Parameters
    ----------
    spread
        Size of the assumed spread, in price units.
    """

    def __init__(self, spread: float = 0.0) -> None:
        super().__init__()
        self.spread = spread

    def process_order(self, data, order):
        price = data.current(order.asset, "close")
        return price + (self.spread / 2.0 * order.direction), order.amount

    def __repr__(self) -> str:
        return f"FixedSlippage(spread={self.spread})"


class VolumeShareSlippage(SlippageModel):
    """Fill at most ``volume_limit`` of the bar's volume; the price moves by ``price_impact * share**2``.

    Parameters
    ----------
    volume_limit
        Largest share of a bar's volume the simulation may fill (across all orders of the asset).
    price_impact
        Scales the quadratic price impact: ``close * (1 + direction * price_impact * volume_share**2)``.
    """

    def __init__(self, volume_limit: float = 0.025, price_impact: float = 0.1) -> None:
        super().__init__()
        self.volume_limit = volume_limit
        self.price_impact = price_impact

    def process_order(self, data, order):
        volume = data.current(order.asset, "volume")
        max_volume = self.volume_limit * volume
        remaining_volume = max_volume - self._volume_for_bar
        frac = fractional(order.asset)
        if remaining_volume < (0 if frac else 1) or remaining_volume <= 0:
            raise LiquidityExceeded()
        cur_volume = min(remaining_volume, abs(order.open_amount))
        if not frac:
            cur_volume = int(cur_volume)
            if cur_volume < 1:
                return None, None
        total_volume = self._volume_for_bar + cur_volume
        volume_share = min(total_volume / volume, self.volume_limit)
        price = data.current(order.asset, "close")
        if np.isnan(price):
            return None, None
        simulated_impact = volume_share**2 * math.copysign(self.price_impact, order.direction) * price
        impacted_price = price + simulated_impact
        if fill_price_worse_than_limit_price(impacted_price, order):
            return None, None
        return impacted_price, math.copysign(cur_volume, order.direction)

    def __repr__(self) -> str:
        return f"VolumeShareSlippage(volume_limit={self.volume_limit}, price_impact={self.price_impact})"


class FixedBasisPointsSlippage(SlippageModel):
    """Fill at ``close`` moved ``basis_points`` against the order, at most ``volume_limit`` of the bar's volume.

    Parameters
    ----------
    basis_points
        Price move per fill, in basis points (5 = 0.05%).
    volume_limit
        Largest share of a bar's volume the simulation may fill.
    """

    def __init__(self, basis_points: float = 5.0, volume_limit: float = 0.1) -> None:
        super().__init__()
        self.basis_points = basis_points
        self.percentage = basis_points / 10000.0
        self.volume_limit = volume_limit

    def process_order(self, data, order):
        volume = data.current(order.asset, "volume")
        max_volume = self.volume_limit * volume
        if not fractional(order.asset):
            max_volume = int(max_volume)
        price = data.current(order.asset, "close")
        shares_to_fill = min(abs(order.open_amount), max_volume - self._volume_for_bar)
        if shares_to_fill <= 0:
            raise LiquidityExceeded()
        return price + price * (self.percentage * order.direction), shares_to_fill * order.direction

    def __repr__(self) -> str:
        return f"FixedBasisPointsSlippage(basis_points={self.basis_points}, volume_limit={self.volume_limit})"
