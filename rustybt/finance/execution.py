"""Order styles: how an order's limit and stop prices are set (zipline's ``zipline.finance.execution``).

Prices are rounded to the asset's tick asymmetrically, as zipline does: a buy limit rounds down, a sell limit up
(never a worse price than asked), and stops the other way round.
"""

from __future__ import annotations

import math
from sys import float_info

from rustybt.errors import InvalidArgument

__all__ = ["ExecutionStyle", "LimitOrder", "MarketOrder", "StopLimitOrder", "StopOrder", "asymmetric_round_price"]


def _decimal_places(value: float) -> int:
    text = f"{value:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _round_half_away(x: float) -> float:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def asymmetric_round_price(price: float, prefer_round_down: bool, tick_size: float = 0.01, diff: float = 0.95) -> float:
    """zipline's rounding of a limit or stop price to ``tick_size``.

    Rounds ``price`` towards the side given by ``prefer_round_down`` unless it lies within ``1 - diff`` ticks
    of the other neighbour (e.g. a buy limit of 0.0396 rounds to 0.04, of 0.035 to 0.03).
    """
    precision = _decimal_places(tick_size)
    multiplier = round(tick_size * (10**precision))
    diff -= 0.5
    diff *= 10**-precision
    diff *= multiplier
    diff -= float_info.epsilon * 10
    rounded = tick_size * _round_half_away((price - (diff if prefer_round_down else -diff)) / tick_size)
    if abs(rounded) < 1e-8:
        return 0.0
    return rounded


def _check_price(price: float, label: str) -> float:
    price = float(price)
    if not math.isfinite(price) or price < 0:
        raise InvalidArgument(f"{label} price must be a finite, non-negative number, got {price!r}")
    return price


class ExecutionStyle:
    """Base class of order styles (zipline's names)."""

    asset = None

    def get_limit_price(self, is_buy: bool) -> float | None:
        """Limit price for a buy (``is_buy``) or sell order, or None."""
        return None

    def get_stop_price(self, is_buy: bool) -> float | None:
        """Stop price for a buy (``is_buy``) or sell order, or None."""
        return None

    def _tick(self) -> float:
        return float(getattr(self.asset, "tick_size", 0.01) or 0.01)


class MarketOrder(ExecutionStyle):
    """Fill at the next bar's price (through the slippage model)."""

    def __init__(self, exchange: str | None = None) -> None:
        self.exchange = exchange

    def __repr__(self) -> str:
        return "MarketOrder()"


class LimitOrder(ExecutionStyle):
    """Fill only at ``limit_price`` or better."""

    def __init__(self, limit_price: float, asset=None, exchange: str | None = None) -> None:
        self.limit_price = _check_price(limit_price, "limit")
        self.asset = asset
        self.exchange = exchange

    def get_limit_price(self, is_buy: bool) -> float:
        return asymmetric_round_price(self.limit_price, is_buy, tick_size=self._tick())

    def __repr__(self) -> str:
        return f"LimitOrder({self.limit_price})"


class StopOrder(ExecutionStyle):
    """Becomes a market order once the price crosses ``stop_price``."""

    def __init__(self, stop_price: float, asset=None, exchange: str | None = None) -> None:
        self.stop_price = _check_price(stop_price, "stop")
        self.asset = asset
        self.exchange = exchange

    def get_stop_price(self, is_buy: bool) -> float:
        return asymmetric_round_price(self.stop_price, not is_buy, tick_size=self._tick())

    def __repr__(self) -> str:
        return f"StopOrder({self.stop_price})"


class StopLimitOrder(ExecutionStyle):
    """Becomes a limit order at ``limit_price`` once the price crosses ``stop_price``."""

    def __init__(self, limit_price: float, stop_price: float, asset=None, exchange: str | None = None) -> None:
        self.limit_price = _check_price(limit_price, "limit")
        self.stop_price = _check_price(stop_price, "stop")
        self.asset = asset
        self.exchange = exchange

    def get_limit_price(self, is_buy: bool) -> float:
        return asymmetric_round_price(self.limit_price, is_buy, tick_size=self._tick())

    def get_stop_price(self, is_buy: bool) -> float:
        return asymmetric_round_price(self.stop_price, not is_buy, tick_size=self._tick())

    def __repr__(self) -> str:
        return f"StopLimitOrder({self.limit_price}, {self.stop_price})"
