"""Commission models (zipline-reloaded's names, parameters, defaults and arithmetic) plus crypto maker/taker fees.

A model's :meth:`CommissionModel.calculate` returns the *additional* commission a fill adds to its order; the
order keeps the running total (``order.commission``), so minimum trade costs are charged once per order.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "DEFAULT_MINIMUM_COST_PER_EQUITY_TRADE",
    "DEFAULT_PER_CONTRACT_COST",
    "DEFAULT_PER_DOLLAR_COST",
    "DEFAULT_PER_SHARE_COST",
    "CommissionModel",
    "MakerTakerFee",
    "NoCommission",
    "PerContract",
    "PerDollar",
    "PerShare",
    "PerTrade",
    "calculate_per_unit_commission",
]

DEFAULT_PER_SHARE_COST = 0.001
DEFAULT_PER_CONTRACT_COST = 0.85
DEFAULT_PER_DOLLAR_COST = 0.0015
DEFAULT_MINIMUM_COST_PER_EQUITY_TRADE = 0.0
DEFAULT_MINIMUM_COST_PER_FUTURE_TRADE = 0.0
FUTURE_EXCHANGE_FEES_BY_SYMBOL: dict[str, float] = {}


def calculate_per_unit_commission(order, transaction, cost_per_unit, initial_commission, min_trade_cost) -> float:
    """zipline's per-unit rule: the first fill pays ``max(min_trade_cost, units * cost + initial)``; later fills pay
    what the order's per-unit total exceeds what it already paid (nothing until the minimum is passed)."""
    additional_commission = abs(transaction.amount * cost_per_unit)
    if order.commission == 0:
        return max(min_trade_cost, additional_commission + initial_commission)
    per_unit_total = abs(order.filled * cost_per_unit) + additional_commission + initial_commission
    if per_unit_total < min_trade_cost:
        return 0.0
    return per_unit_total - order.commission


class CommissionModel:
    """Base class: :meth:`calculate` returns the commission a fill adds to its order."""

    def calculate(self, order, transaction) -> float:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(type(self))


class NoCommission(CommissionModel):
    """Trades cost nothing."""

    def calculate(self, order, transaction) -> float:
        return 0.0

    def __repr__(self) -> str:
        return "NoCommission()"


class PerShare(CommissionModel):
    """``cost`` per share, at least ``min_trade_cost`` per order.

    Parameters
    ----------
    cost
        Cost per share traded, in the asset's currency.
    min_trade_cost
        Least cost of an order (charged on its first fill).
    """

    def __init__(
        self, cost: float = DEFAULT_PER_SHARE_COST, min_trade_cost: float = DEFAULT_MINIMUM_COST_PER_EQUITY_TRADE
    ) -> None:
        self.cost_per_share = float(cost)
        self.min_trade_cost = min_trade_cost or 0

    def calculate(self, order, transaction) -> float:
        return calculate_per_unit_commission(order, transaction, self.cost_per_share, 0.0, self.min_trade_cost)

    def __repr__(self) -> str:
        return f"PerShare(cost_per_share={self.cost_per_share}, min_trade_cost={self.min_trade_cost})"


class PerContract(CommissionModel):
    """Futures: ``cost`` per contract plus a one-time ``exchange_fee`` per order, per root symbol if dicts.

    Parameters
    ----------
    cost
        Cost per contract, or a mapping root symbol -> cost.
    exchange_fee
        Fee per order, or a mapping root symbol -> fee.
    min_trade_cost
        Least cost of an order.
    """

    def __init__(
        self,
        cost: float | Mapping[str, float] = DEFAULT_PER_CONTRACT_COST,
        exchange_fee: float | Mapping[str, float] = 0.0,
        min_trade_cost: float = DEFAULT_MINIMUM_COST_PER_FUTURE_TRADE,
    ) -> None:
        self._cost = cost
        self._exchange_fee = exchange_fee
        self.min_trade_cost = min_trade_cost or 0

    @staticmethod
    def _lookup(value, root: str) -> float:
        if isinstance(value, Mapping):
            return float(value[root])
        return float(value)

    def calculate(self, order, transaction) -> float:
        root = getattr(order.asset, "root_symbol", "")
        return calculate_per_unit_commission(
            order,
            transaction,
            self._lookup(self._cost, root),
            self._lookup(self._exchange_fee, root),
            self.min_trade_cost,
        )

    def __repr__(self) -> str:
        return (
            f"PerContract(cost={self._cost}, exchange_fee={self._exchange_fee}, min_trade_cost={self.min_trade_cost})"
        )


class PerTrade(CommissionModel):
    """A flat ``cost`` per order, charged on its first fill."""

    def __init__(self, cost: float = DEFAULT_MINIMUM_COST_PER_EQUITY_TRADE) -> None:
        self.cost = float(cost)

    def calculate(self, order, transaction) -> float:
        return self.cost if order.commission == 0 else 0.0

    def __repr__(self) -> str:
        return f"PerTrade(cost_per_trade={self.cost})"


class PerDollar(CommissionModel):
    """``cost`` per dollar traded (0.0015 = 15 bp of the fill's value)."""

    def __init__(self, cost: float = DEFAULT_PER_DOLLAR_COST) -> None:
        self.cost_per_dollar = float(cost)

    def calculate(self, order, transaction) -> float:
        return abs(transaction.amount) * transaction.price * self.cost_per_dollar

    def __repr__(self) -> str:
        return f"PerDollar(cost_per_dollar={self.cost_per_dollar})"


class MakerTakerFee(CommissionModel):
    """Crypto exchange fees in basis points of the fill's value: ``maker_bps`` for limit orders (they rest in the
    book), ``taker_bps`` for market and stop orders (they take liquidity).

    Parameters
    ----------
    maker_bps, taker_bps
        Fees in basis points (10 = 0.10%) of ``abs(amount) * price``.
    """

    def __init__(self, maker_bps: float = 10.0, taker_bps: float = 10.0) -> None:
        if maker_bps < -100 or taker_bps < 0:
            from rustybt.errors import InvalidArgument

            raise InvalidArgument(f"fees must be >= 0 bp (maker rebates >= -100 bp), got {maker_bps}, {taker_bps}")
        self.maker_bps = float(maker_bps)
        self.taker_bps = float(taker_bps)

    def calculate(self, order, transaction) -> float:
        bps = self.maker_bps if order.limit is not None else self.taker_bps
        return abs(transaction.amount) * transaction.price * bps / 10_000.0

    def __repr__(self) -> str:
        return f"MakerTakerFee(maker_bps={self.maker_bps}, taker_bps={self.taker_bps})"
