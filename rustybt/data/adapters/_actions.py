"""Corporate actions reported by the vendor adapters, in the catalog's adjustment form.

The catalog stores raw prices and applies splits and dividends itself, point in time, from the frame an adapter
returns from :meth:`~rustybt.data.adapters.base.BarAdapter.adjustments` (:data:`ADJUSTMENT_SCHEMA`): a split
has the ratio that multiplies prices before its effective date (a 4-for-1 split: 1/4; a 1-for-10 reverse split:
10), a cash dividend its raw amount per share (the catalog derives its ratio from the previous close). The
vendors write splits in three ways; the helpers here turn each into that ratio.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from rustybt.data.adapters.base import ADJUSTMENT_SCHEMA

__all__ = ["ActionRow", "actions_frame", "day_of", "split_ratio"]

#: One adjustment: symbol, kind ("split" / "dividend"), effective day, ratio, amount.
ActionRow = tuple[str, str, dt.date, float | None, float | None]


def split_ratio(old_shares: Any, new_shares: Any) -> float:
    """The price ratio of a split that turns ``old_shares`` into ``new_shares`` (4-for-1: old 1, new 4 -> 0.25).

    Raises
    ------
    ValueError
        A share count that is not a positive finite number, or no change (1-for-1).
    """
    old, new = float(old_shares), float(new_shares)
    if not (math.isfinite(old) and math.isfinite(new) and old > 0 and new > 0):
        raise ValueError(f"split {old_shares!r} -> {new_shares!r} is not two positive share counts")
    if old == new:
        raise ValueError(f"split {old_shares!r} -> {new_shares!r} changes nothing")
    return old / new


def day_of(value: Any) -> dt.date:
    """A vendor's ``YYYY-MM-DD`` (or a date) as a date; ValueError otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def actions_frame(
    rows: Iterable[ActionRow], ranges: Mapping[str, tuple[dt.date | None, dt.date | None]]
) -> pl.DataFrame:
    """:data:`ADJUSTMENT_SCHEMA` rows, one per (symbol, kind, day), kept when inside the symbol's range.

    ``ranges`` maps a symbol to the first and last day of interest (None: open); actions of other symbols are
    dropped (a vendor may answer for related tickers).
    """
    seen: dict[tuple[str, str, dt.date], dict[str, Any]] = {}
    for symbol, kind, day, ratio, amount in rows:
        if symbol not in ranges:
            continue
        first, last = ranges[symbol]
        if (first is not None and day < first) or (last is not None and day > last):
            continue
        seen[(symbol, kind, day)] = {
            "symbol": symbol,
            "kind": kind,
            "effective_date": dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC),
            "ratio": ratio,
            "amount": amount,
        }
    if not seen:
        return pl.DataFrame(schema=ADJUSTMENT_SCHEMA)
    return pl.DataFrame(list(seen.values()), schema=ADJUSTMENT_SCHEMA).sort(["symbol", "effective_date", "kind"])
