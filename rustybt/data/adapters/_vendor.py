"""Helpers shared by the network adapters (ccxt, Yahoo, Polygon, Alpaca, Alpha Vantage).

* :func:`decimal_text` / :func:`decimal_texts`: vendor numbers as decimal strings (floats by their shortest repr,
  strings as sent), one value or a whole column;
* :func:`reset_at`: when a rate limit lifts, from ``Retry-After`` or ``X-RateLimit-Reset``;
* :func:`inclusive_end`: an end date covers its whole day;
* :func:`vendor_message`: the human part of an error body;
* :func:`session_labels`: daily, weekly and monthly bars labelled like the catalog labels them;
* :func:`bars_frame`: rows to the adapter frame.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
import polars as pl

from rustybt._utils import to_utc
from rustybt.data.schema import ADAPTER_COLUMNS, TIMESTAMP_DTYPE

__all__ = [
    "bars_frame",
    "decimal_text",
    "decimal_texts",
    "inclusive_end",
    "reset_at",
    "session_labels",
    "vendor_message",
]

_NS_PER_DAY = 86_400 * 10**9
_EPOCH = dt.date(1970, 1, 1)


def decimal_text(value: Any) -> str:
    """``value`` as a plain decimal string.

    Strings are kept as the vendor wrote them (exponent forms are written out: ``"7.05e+07"`` -> ``"70500000"``);
    floats become their shortest round-trip representation (``185.64``, never ``185.63999999999999``); ints
    their digits.

    Raises
    ------
    ValueError
        Not a number (a bool, None, an empty or non-numeric string, NaN or infinity).
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text else text
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return format(value, "f")
    if isinstance(value, str):
        text = value.strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return format(number, "f") if ("e" in text or "E" in text) else text
    raise ValueError(f"not a number: {value!r}")


def decimal_texts(values: Sequence[Any]) -> pl.Series:
    """:func:`decimal_text` of every value as a String series, None kept as null.

    A column of floats (what ccxt returns) is converted by polars in one pass: its Float64 -> String cast writes
    the same shortest round-trip digits as ``repr``; only values printed with an exponent go one by one.
    """
    if all(v is None or type(v) in (float, int) for v in values):
        text = pl.Series(values, dtype=pl.Float64, strict=False).cast(pl.String)
        if not bool(text.str.contains("e", literal=True).any()):
            return text
        return pl.Series([None if t is None else decimal_text(float(t)) for t in text.to_list()], dtype=pl.String)
    return pl.Series([None if v is None else decimal_text(v) for v in values], dtype=pl.String)


def reset_at(headers: Mapping[str, str] | None, now: pd.Timestamp | None = None) -> pd.Timestamp | None:
    """When a rate limit lifts (UTC), from ``Retry-After`` (seconds or an HTTP date) or ``X-RateLimit-Reset``
    (epoch seconds, or seconds from now when small); None when the vendor did not say."""
    if not headers:
        return None
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    headers = {str(k).lower(): v for k, v in headers.items()}  # HTTP header names are case-insensitive
    retry_after = headers.get("retry-after")
    if retry_after:
        text = str(retry_after).strip()
        try:
            return now + pd.Timedelta(seconds=max(float(text), 0.0))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return to_utc(when)
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            seconds = float(str(reset).strip())
        except ValueError:
            return None
        if seconds > 1e9:  # an epoch time
            return pd.Timestamp(seconds, unit="s", tz="UTC")
        return now + pd.Timedelta(seconds=max(seconds, 0.0))
    return None


def vendor_message(body: bytes | str | Mapping[str, Any] | None, limit: int = 300) -> str:
    """The message of an error body: the ``error`` / ``message`` / ... field of a JSON body, else its text."""
    if body is None:
        return ""
    payload: Any = body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            payload = json.loads(body)
        except ValueError:
            return " ".join(body.split())[:limit]
    if isinstance(payload, Mapping):
        for key in ("message", "error", "Error Message", "Information", "Note", "detail"):
            value = payload.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:limit]
    return " ".join(json.dumps(payload, default=str).split())[:limit]


def inclusive_end(end: pd.Timestamp | None) -> pd.Timestamp | None:
    """An end given as a date (midnight) covers that whole day: ``2024-01-05`` -> ``2024-01-05 23:59:59.999999999``."""
    if end is None:
        return None
    return end + pd.Timedelta(days=1) - pd.Timedelta(1, "ns") if end == end.normalize() else end


def session_labels(
    dates: Sequence[dt.date], resolution: str, calendar: str | None = None, *, week_start_labels: bool = False
) -> list[int]:
    """Epoch nanoseconds of the catalog's label for bars the vendor labelled with ``dates``.

    ``1d``: the date at midnight UTC. ``1w`` / ``1M``: the first session of that week (Monday-based) or month in
    ``calendar`` at midnight UTC, as :mod:`rustybt.data.resample` labels them (the period's first day without a
    calendar). ``week_start_labels``: the vendor labels a week by its first day, which may be the Sunday before
    the week's Monday (Polygon, Alpaca); otherwise any day of the week (Alpha Vantage: its last trading day).
    """
    if resolution == "1d":
        return [(d - _EPOCH).days * _NS_PER_DAY for d in dates]
    if resolution not in ("1w", "1M"):
        raise ValueError(f"session_labels: {resolution!r} is not a daily, weekly or monthly resolution")
    keys = [_period_key(d, resolution, week_start_labels) for d in dates]
    first = _first_sessions(set(keys), resolution, calendar) if calendar and keys else {}
    return [((first.get(k) or k) - _EPOCH).days * _NS_PER_DAY for k in keys]


def _period_key(day: dt.date, resolution: str, week_start_labels: bool) -> dt.date:
    if resolution == "1M":
        return day.replace(day=1)
    if week_start_labels:
        day = day + dt.timedelta(days=1)  # a Sunday-labelled week is the week of the following Monday
    return day - dt.timedelta(days=day.weekday())


def _first_sessions(keys: Iterable[dt.date], resolution: str, calendar: str) -> dict[dt.date, dt.date]:
    from rustybt.calendars import sessions_in_range

    keys = sorted(keys)
    end = keys[-1] + dt.timedelta(days=31 if resolution == "1M" else 6)
    try:
        sessions = sessions_in_range(calendar, pd.Timestamp(keys[0]), pd.Timestamp(end))
    except Exception:  # an unknown calendar or a range outside it: keep the period's first day
        return {}
    first: dict[dt.date, dt.date] = {}
    for session in sessions:
        day = session.date()
        first.setdefault(_period_key(day, resolution, False), day)
    return first


def bars_frame(symbol: str, timestamps_ns: Sequence[int], values: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """The adapter frame from epoch-nanosecond timestamps and decimal-string columns, sorted by time."""
    frame = pl.DataFrame(
        {
            "timestamp": pl.Series("timestamp", list(timestamps_ns), dtype=pl.Int64).cast(TIMESTAMP_DTYPE),
            "symbol": pl.Series("symbol", [symbol] * len(timestamps_ns), dtype=pl.String),
            **{col: pl.Series(col, list(values[col]), dtype=pl.String) for col in ADAPTER_COLUMNS[2:]},
        }
    )
    return frame.sort("timestamp", maintain_order=True)
