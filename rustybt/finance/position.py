"""A position in one asset (zipline's ``Position``: amount, cost basis, last sale price and date)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Position", "Positions"]


class Position:
    """``amount`` of ``asset`` (fractional for crypto), its average ``cost_basis`` and the ``last_sale_price``."""

    __slots__ = ("amount", "asset", "cost_basis", "last_sale_date", "last_sale_price")

    def __init__(self, asset, amount=0, cost_basis=0.0, last_sale_price=0.0, last_sale_date=None) -> None:
        self.asset = asset
        self.amount = amount
        self.cost_basis = cost_basis
        self.last_sale_price = last_sale_price
        self.last_sale_date = last_sale_date

    @property
    def sid(self):
        return self.asset

    def earn_dividend(self, amount_per_share: float) -> float:
        """Cash owed for a dividend of ``amount_per_share`` (negative for a short position)."""
        return self.amount * amount_per_share

    def handle_split(self, ratio: float) -> float:
        """Apply a split (new amount = amount / ratio, truncated to whole shares); returns the cash paid for the
        fractional share at the new cost basis rounded to cents, as zipline does."""
        raw_share_count = self.amount / float(ratio)
        full_share_count = np.trunc(raw_share_count)
        fractional_share_count = raw_share_count - full_share_count
        new_cost_basis = round(self.cost_basis * ratio, 2)
        self.cost_basis = new_cost_basis
        self.amount = int(full_share_count) if isinstance(self.amount, int) else float(full_share_count)
        return round(float(fractional_share_count * new_cost_basis), 2)

    def update(self, txn) -> None:
        """Apply a fill: average the cost basis when adding, reset it when crossing through zero."""
        total_shares = self.amount + txn.amount
        if total_shares == 0:
            self.cost_basis = 0.0
        else:
            prev_direction = math.copysign(1, self.amount)
            txn_direction = math.copysign(1, txn.amount)
            if prev_direction != txn_direction:
                if abs(txn.amount) > abs(self.amount):
                    self.cost_basis = txn.price
            else:
                prev_cost = self.cost_basis * self.amount
                txn_cost = txn.amount * txn.price
                self.cost_basis = (prev_cost + txn_cost) / total_shares
            if self.last_sale_date is None or txn.dt > self.last_sale_date:
                self.last_sale_price = txn.price
                self.last_sale_date = txn.dt
        self.amount = total_shares

    def adjust_commission_cost_basis(self, cost: float) -> None:
        """Spread a commission over the position's cost basis (per contract multiplier for futures)."""
        if cost == 0 or self.amount == 0:
            return
        prev_cost = self.cost_basis * self.amount
        multiplier = getattr(self.asset, "multiplier", 1.0) if self.asset.asset_class == "future" else 1.0
        self.cost_basis = (prev_cost + cost / multiplier) / self.amount

    def to_dict(self) -> dict:
        """zipline's dict form (the perf frame's ``positions`` column)."""
        return {
            "sid": self.asset,
            "amount": self.amount,
            "cost_basis": self.cost_basis,
            "last_sale_price": self.last_sale_price,
        }

    def __repr__(self) -> str:
        return (
            f"Position({self.asset!r}, amount={self.amount}, cost_basis={self.cost_basis}, "
            f"last_sale_price={self.last_sale_price})"
        )


class Positions(dict):
    """``context.portfolio.positions``: a dict asset -> Position; a missing asset reads as an empty position."""

    def __missing__(self, key):
        return Position(key)
