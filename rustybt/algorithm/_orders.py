"""zipline's order API: ``order``, ``order_value`` ... ``order_target_percent``, open orders and cancelling."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from rustybt.assets import Asset
from rustybt.errors import CannotOrderDelistedAsset, InvalidArgument, InvalidOrder
from rustybt.finance.execution import ExecutionStyle, LimitOrder, MarketOrder, StopLimitOrder, StopOrder
from rustybt.finance.slippage import fractional

__all__ = ["OrdersMixin"]


class OrdersMixin:
    """Order placement: amounts checked and rounded, trading controls applied, then handed to the blotter."""

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
        amount = _finite(amount, f"amount for {asset.symbol}")
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


def _round_if_near_integer(a: float, epsilon: float = 1e-4) -> float:
    return round(a) if abs(a - round(a)) <= epsilon else a


def _finite(value: Any, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidOrder(f"order {what} must be a number, got {value!r}") from exc
    if not math.isfinite(out):
        raise InvalidOrder(f"order {what} must be finite, got {value!r}")
    return out
