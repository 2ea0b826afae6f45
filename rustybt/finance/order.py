"""Orders and transactions (zipline's ``Order`` and ``Transaction``, same fields and trigger rules)."""

from __future__ import annotations

import uuid
from enum import IntEnum

import pandas as pd

__all__ = ["ORDER_STATUS", "Order", "Transaction"]


class ORDER_STATUS(IntEnum):  # noqa: N801  (zipline's name)
    OPEN = 0
    FILLED = 1
    CANCELLED = 2
    REJECTED = 3
    HELD = 4


class Order:
    """An order for ``amount`` of ``asset`` placed at ``dt``; ``limit`` / ``stop`` prices make it conditional.

    ``filled`` and ``commission`` accumulate over its fills; ``open_amount`` is what is left to fill.
    """

    __slots__ = (
        "_status",
        "amount",
        "asset",
        "commission",
        "created",
        "direction",
        "dt",
        "filled",
        "id",
        "limit",
        "limit_reached",
        "reason",
        "stop",
        "stop_reached",
    )

    def __init__(self, dt, asset, amount, stop=None, limit=None, filled=0, commission=0.0, id=None) -> None:
        self.id = id or uuid.uuid4().hex
        self.dt = dt
        self.reason = None
        self.created = dt
        self.asset = asset
        self.amount = amount
        self.filled = filled
        self.commission = commission
        self._status = ORDER_STATUS.OPEN
        self.stop = stop
        self.limit = limit
        self.stop_reached = False
        self.limit_reached = False
        self.direction = 1 if amount > 0 else -1

    @property
    def sid(self):
        """The asset (zipline's backwards-compatible alias)."""
        return self.asset

    @property
    def open_amount(self):
        return self.amount - self.filled

    @property
    def status(self) -> ORDER_STATUS:
        if not self.open_amount:
            return ORDER_STATUS.FILLED
        if self._status == ORDER_STATUS.HELD and self.filled:
            return ORDER_STATUS.OPEN
        return self._status

    @status.setter
    def status(self, value: ORDER_STATUS) -> None:
        self._status = value

    @property
    def open(self) -> bool:
        return self.status in (ORDER_STATUS.OPEN, ORDER_STATUS.HELD)

    @property
    def triggered(self) -> bool:
        """True once the stop (if any) and the limit (if any) are reached."""
        if self.stop is not None and not self.stop_reached:
            return False
        return not (self.limit is not None and not self.limit_reached)

    def cancel(self) -> None:
        self._status = ORDER_STATUS.CANCELLED

    def reject(self, reason: str = "") -> None:
        self._status = ORDER_STATUS.REJECTED
        self.reason = reason

    def check_triggers(self, price: float, dt) -> None:
        """Update ``stop_reached`` / ``limit_reached`` at ``price`` (a reached stop-limit becomes a limit order)."""
        if self.triggered:
            return
        stop_reached = limit_reached = sl_stop_reached = False
        buy = self.amount > 0
        stop, limit = self.stop, self.limit
        if stop is not None and limit is not None:
            if (buy and price >= stop) or (not buy and price <= stop):
                sl_stop_reached = True
                if (buy and price <= limit) or (not buy and price >= limit):
                    limit_reached = True
        elif stop is not None:
            stop_reached = price >= stop if buy else price <= stop
        elif limit is not None:
            limit_reached = price <= limit if buy else price >= limit
        if (stop_reached, limit_reached) != (self.stop_reached, self.limit_reached):
            self.dt = dt
        self.stop_reached = stop_reached
        self.limit_reached = limit_reached
        if sl_stop_reached:
            self.stop = None

    def handle_split(self, ratio: float) -> None:
        """Scale the order by a split (new amount = old / ratio; prices x ratio), as zipline does."""
        remaining = int(self.open_amount / ratio)
        self.filled = int(self.filled / ratio)
        self.amount = self.filled + remaining
        if self.limit is not None:
            self.limit = round(self.limit * ratio, 2)
        if self.stop is not None:
            self.stop = round(self.stop * ratio, 2)

    def to_dict(self) -> dict:
        """zipline's dict form (the perf frame's ``orders`` column)."""
        return {
            "id": self.id,
            "dt": self.dt,
            "reason": self.reason,
            "created": self.created,
            "amount": self.amount,
            "filled": self.filled,
            "commission": self.commission,
            "stop": self.stop,
            "limit": self.limit,
            "stop_reached": self.stop_reached,
            "limit_reached": self.limit_reached,
            "sid": self.asset,
            "status": self.status,
        }

    def __repr__(self) -> str:
        return f"Order({self.asset!r}, amount={self.amount}, filled={self.filled}, status={self.status.name})"


class Transaction:
    """A fill: ``amount`` of ``asset`` at ``price`` on ``dt`` for order ``order_id``."""

    __slots__ = ("amount", "asset", "dt", "order_id", "price")

    def __init__(self, asset, amount, dt, price, order_id) -> None:
        self.asset = asset
        self.amount = amount
        self.dt = dt
        self.price = price
        self.order_id = order_id

    def to_dict(self) -> dict:
        """zipline's dict form (the perf frame's ``transactions`` column)."""
        return {
            "amount": self.amount,
            "dt": self.dt,
            "price": self.price,
            "order_id": self.order_id,
            "sid": self.asset,
            "commission": None,
        }

    def __repr__(self) -> str:
        return f"Transaction({self.asset!r}, amount={self.amount}, price={self.price}, dt={pd.Timestamp(self.dt)})"
