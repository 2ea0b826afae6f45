"""Point-in-time adjustments from a bundle's adjustments table.

A split, dividend or merger effective on session E multiplies every price *before* E by its ratio (a 7:1 split has
ratio 1/7; a dividend 1 - amount / previous close); volumes are divided by split ratios only. Seen from time t,
only events with E <= t are applied: a window ending at t never knows about later events.

With the events of one asset sorted by E, the factor that brings a bar at time r to the perspective of t is

    factor(r, t) = prod(ratio_k for E_k in (r, t]) = B(r) / B(t),   B(x) = prod(ratio_k for E_k > x)

so one suffix product per asset answers every (r, t) pair in O(1): no window is ever rebuilt from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import polars as pl

from rustybt.data.catalog.bundle import Bundle

__all__ = ["PRICE_KINDS", "AdjustmentReader", "Events", "backward_factors"]

PRICE_KINDS = ("split", "dividend", "merger")
_EMPTY_I = np.empty(0, dtype=np.int64)
_EMPTY_F = np.empty(0, dtype=np.float64)


@dataclass(frozen=True)
class Events:
    """Adjustment events of one asset for one kind of field: effective times (int64 ns, sorted) and ratios."""

    effective_ns: np.ndarray
    ratios: np.ndarray

    def __len__(self) -> int:
        return len(self.effective_ns)

    def factors(self, ts_ns: np.ndarray) -> np.ndarray:
        """``B(x)`` for each time in ``ts_ns``: product of the ratios of events strictly after it."""
        return backward_factors(ts_ns, self.effective_ns, self.ratios)


def backward_factors(ts_ns: np.ndarray, effective_ns: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """``prod(ratios[k] for effective_ns[k] > t)`` for each t of ``ts_ns`` (``effective_ns`` sorted)."""
    if len(effective_ns) == 0:
        return np.ones(len(ts_ns), dtype=np.float64)
    suffix = np.ones(len(ratios) + 1, dtype=np.float64)
    suffix[:-1] = np.cumprod(ratios[::-1])[::-1]
    return suffix[np.searchsorted(effective_ns, ts_ns, side="right")]


class AdjustmentReader:
    """Splits, dividends and mergers of one (pinned) bundle ingestion, indexed by sid."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle

    @cached_property
    def frame(self) -> pl.DataFrame:
        """All adjustments: sid, symbol, kind, effective_date, ratio, amount (ratio null rows excluded)."""
        return self.bundle.adjustments().filter(pl.col("ratio").is_not_null()).sort(["sid", "effective_date"])

    @cached_property
    def _by_sid(self) -> dict[int, tuple[Events, Events]]:
        out: dict[int, tuple[Events, Events]] = {}
        frame = self.frame.with_columns(
            pl.col("effective_date").cast(pl.Datetime("ns")).dt.epoch("ns").alias("effective_ns")
        )
        for (sid,), group in frame.group_by("sid", maintain_order=True):
            prices = group.filter(pl.col("kind").is_in(PRICE_KINDS))
            splits = group.filter(pl.col("kind") == "split")
            out[int(sid)] = (
                Events(prices["effective_ns"].to_numpy(), prices["ratio"].to_numpy()),
                Events(splits["effective_ns"].to_numpy(), splits["ratio"].to_numpy()),
            )
        return out

    def events(self, sid: int, field: str) -> Events:
        """Events that adjust ``field`` of ``sid``: all price events for OHLC, splits (ratio inverted) for volume."""
        price, split = self._by_sid.get(int(sid), (Events(_EMPTY_I, _EMPTY_F), Events(_EMPTY_I, _EMPTY_F)))
        if field == "volume":
            return Events(split.effective_ns, 1.0 / split.ratios) if len(split) else split
        return price

    def has_events(self, sid: int) -> bool:
        """True if ``sid`` has any adjustment."""
        return int(sid) in self._by_sid

    def splits_on(self, sids: list[int], session: pd.Timestamp) -> list[tuple[int, float]]:
        """(sid, ratio) of splits effective on ``session``."""
        day = pd.Timestamp(session).tz_localize(None).normalize().date() if pd.Timestamp(session).tzinfo else None
        day = day or pd.Timestamp(session).normalize().date()
        rows = self.frame.filter(
            (pl.col("kind") == "split") & (pl.col("effective_date") == day) & pl.col("sid").is_in(sids)
        )
        return [(int(s), float(r)) for s, r in rows.select("sid", "ratio").iter_rows()]

    def dividends(self, sids: list[int], start: pd.Timestamp, end: pd.Timestamp) -> pl.DataFrame:
        """Cash dividends with ex-date in [start, end]: sid, symbol, effective_date, amount, ratio."""
        lo = pd.Timestamp(start).date()
        hi = pd.Timestamp(end).date()
        return self.bundle.adjustments("dividend").filter(
            pl.col("sid").is_in(sids) & pl.col("effective_date").is_between(lo, hi)
        )
