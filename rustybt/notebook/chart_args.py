"""Argument checks shared by the chart builders: dates, the bundle behind a source, a date range."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from rustybt._utils import to_utc
from rustybt.errors import InvalidArgument

if TYPE_CHECKING:
    from rustybt.data.catalog.bundle import Bundle


__all__ = ["parse_date"]


def parse_date(value: Any, name: str = "date") -> pd.Timestamp | None:
    """A UTC timestamp from a date string, date, datetime or Timestamp; None stays None.

    Raises
    ------
    InvalidArgument
        The value is not a date; the message names the argument and shows the expected form.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise InvalidArgument(f"{name} {value!r} is not a date; write it as YYYY-MM-DD (e.g. 2014-06-09)") from None
    return to_utc(ts)


def _bundle_of(source: Any) -> Bundle:
    """A Bundle from a Bundle or a DataPortal."""
    bundle = getattr(source, "bundle", source)
    if not hasattr(bundle, "bars") or not hasattr(bundle, "asset_finder"):
        raise InvalidArgument(
            f"expected a Bundle or a DataPortal, got {type(source).__name__}; use catalog.bundle(NAME)"
        )
    return bundle


def _check_range(start: pd.Timestamp | None, end: pd.Timestamp | None) -> None:
    if start is not None and end is not None and start > end:
        raise InvalidArgument(f"start {start.date()} is after end {end.date()}; swap them")
