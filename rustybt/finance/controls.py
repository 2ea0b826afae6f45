"""Trading controls (zipline's ``set_long_only``, ``set_max_position_size``, ``set_max_order_count``,
``set_max_order_size``, ``set_max_leverage``): checked before an order is placed, or on the account at each
session's end. A breach raises :class:`~rustybt.errors.TradingControlViolation` (``on_error="fail"``, zipline's
default) or logs it (``on_error="log"``) and lets the order through.
"""

from __future__ import annotations

import logging
import math

from rustybt.errors import InvalidArgument, TradingControlViolation

__all__ = [
    "AccountControl",
    "LongOnly",
    "MaxLeverage",
    "MaxOrderCount",
    "MaxOrderSize",
    "MaxPositionSize",
    "TradingControl",
]

log = logging.getLogger(__name__)


class TradingControl:
    """Base of the order controls."""

    def __init__(self, on_error: str = "fail") -> None:
        if on_error not in ("fail", "log"):
            raise InvalidArgument(f"on_error must be 'fail' or 'log', got {on_error!r}")
        self.on_error = on_error

    def validate(self, asset, amount, portfolio, dt, data) -> None:
        raise NotImplementedError

    def fail(self, asset, amount, dt, detail: str) -> None:
        message = (
            f"order for {amount} {getattr(asset, 'symbol', asset)} at {dt} violates {type(self).__name__}: {detail}"
        )
        if self.on_error == "fail":
            raise TradingControlViolation(message)
        log.error(message)


class LongOnly(TradingControl):
    """No order may leave a short position."""

    def validate(self, asset, amount, portfolio, dt, data) -> None:
        if portfolio.positions[asset].amount + amount < 0:
            self.fail(asset, amount, dt, "it would leave a short position (set_long_only)")


class MaxOrderCount(TradingControl):
    """At most ``max_count`` orders per session."""

    def __init__(self, max_count: int, on_error: str = "fail") -> None:
        super().__init__(on_error)
        if max_count < 0:
            raise InvalidArgument(f"max_count must be >= 0, got {max_count}")
        self.max_count = max_count
        self.orders_placed = 0
        self.session = None

    def validate(self, asset, amount, portfolio, dt, data) -> None:
        session = dt.normalize() if hasattr(dt, "normalize") else dt
        if session != self.session:
            self.session = session
            self.orders_placed = 0
        if self.orders_placed >= self.max_count:
            self.fail(asset, amount, dt, f"more than {self.max_count} orders in one session")
        self.orders_placed += 1


class _SizeLimit(TradingControl):
    def __init__(self, asset=None, max_shares=None, max_notional=None, on_error: str = "fail") -> None:
        super().__init__(on_error)
        for name, value in (("max_shares", max_shares), ("max_notional", max_notional)):
            if value is not None and (not math.isfinite(value) or value < 0):
                raise InvalidArgument(f"{name} must be a finite number >= 0, got {value!r}")
        self.asset = asset
        self.max_shares = max_shares
        self.max_notional = max_notional

    def _check(self, asset, amount, shares, dt, data, what: str) -> None:
        if self.asset is not None and self.asset != asset:
            return
        if self.max_shares is not None and abs(shares) > self.max_shares:
            self.fail(asset, amount, dt, f"{what} of {abs(shares)} exceeds max_shares={self.max_shares}")
        if self.max_notional is not None:
            value = shares * data.current(asset, "price")
            if abs(value) > self.max_notional:
                self.fail(asset, amount, dt, f"{what} worth {abs(value):,.2f} exceeds max_notional={self.max_notional}")


class MaxOrderSize(_SizeLimit):
    """No single order larger than ``max_shares`` or ``max_notional`` (of ``asset``, or of any asset)."""

    def validate(self, asset, amount, portfolio, dt, data) -> None:
        self._check(asset, amount, amount, dt, data, "an order")


class MaxPositionSize(_SizeLimit):
    """No position larger than ``max_shares`` or ``max_notional`` after the order (of ``asset``, or of any)."""

    def validate(self, asset, amount, portfolio, dt, data) -> None:
        self._check(asset, amount, portfolio.positions[asset].amount + amount, dt, data, "a position")


class AccountControl:
    """Base of the controls checked on the account at each session's end."""

    def validate(self, portfolio, account, dt) -> None:
        raise NotImplementedError


class MaxLeverage(AccountControl):
    """Gross leverage may not exceed ``max_leverage`` at a session's end."""

    def __init__(self, max_leverage: float) -> None:
        if max_leverage is None or not max_leverage >= 0:
            raise InvalidArgument(f"max_leverage must be a number >= 0, got {max_leverage!r}")
        self.max_leverage = float(max_leverage)

    def validate(self, portfolio, account, dt) -> None:
        if account.leverage > self.max_leverage:
            raise TradingControlViolation(
                f"leverage {account.leverage:.4f} at {dt} exceeds set_max_leverage({self.max_leverage})"
            )
