"""ccxt on the wire: what one request saw (ccxt keeps it only in shared attributes or drops it), why a candle
is broken, and ccxt candles to the adapter frame. Used by :mod:`rustybt.data.adapters.ccxt`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import polars as pl

from rustybt.data.adapters._vendor import decimal_texts
from rustybt.data.adapters.network import normalize_frame
from rustybt.data.resolution import RESOLUTIONS, parse_resolution
from rustybt.data.schema import ADAPTER_COLUMNS, TIMESTAMP_DTYPE, VALUE_COLUMNS

__all__ = [
    "CAPTURE",
    "Capture",
    "bars_frame",
    "candle_problem",
    "exact_rows",
    "instrument",
    "iso",
    "ms",
    "shape_problem",
]

#: Catalog resolution -> polars duration of one bar.
_DURATION = {r: ("1mo" if r == "1M" else r) for r in RESOLUTIONS}


@dataclass
class Capture:
    """The raw side of one ``fetch_ohlcv`` call: HTTP status, headers and body, and the candles before parsing."""

    status: int | None = None
    headers: Mapping[str, str] | None = None
    body: str | None = None
    raw: Any = None
    parsed: bool = False


# Per task (each symbol runs in its own task), so concurrent requests never see each other's responses.
CAPTURE: contextvars.ContextVar[Capture | None] = contextvars.ContextVar("rustybt_ccxt_capture", default=None)


def instrument(exchange: Any) -> None:
    """Wrap ``handle_errors`` and ``parse_ohlcvs`` of ``exchange`` to record, per call, what the exchange sent.

    ccxt drops candles it cannot parse without a word and keeps response headers only in shared attributes;
    both wrappers call the original unchanged and only note their arguments in the running task's context.
    """
    if getattr(exchange, "_rustybt_instrumented", False):
        return
    handle_errors = exchange.handle_errors
    parse_ohlcvs = exchange.parse_ohlcvs

    def recording_handle_errors(*args: Any, **kwargs: Any) -> Any:
        capture = CAPTURE.get()
        if capture is not None and len(args) >= 6:
            capture.status, capture.headers = args[0], args[4]
            capture.body = args[5] if isinstance(args[5], str) else None
        return handle_errors(*args, **kwargs)

    def recording_parse_ohlcvs(ohlcvs: Any, *args: Any, **kwargs: Any) -> Any:
        capture = CAPTURE.get()
        if capture is not None:
            capture.raw, capture.parsed = ohlcvs, True
        return parse_ohlcvs(ohlcvs, *args, **kwargs)

    exchange.handle_errors = recording_handle_errors
    exchange.parse_ohlcvs = recording_parse_ohlcvs
    exchange._rustybt_instrumented = True


def exact_rows(exchange: Any, market: Mapping[str, Any], rows: list, raw: Any) -> list:
    """``rows`` (ccxt's float candles) with each value replaced by the exchange's own decimal string.

    ccxt parses the exchange's strings to floats, which keep 17 significant digits at most; the raw candles
    (recorded by :func:`instrument`) still hold the strings. Each raw candle is parsed again with the
    exchange's ``parse_ohlcv`` to find its open time, and each float is replaced by the raw field it came from:
    the field at the same position when its value is equal (the unified order, which most exchanges use), else
    the first field of equal value. Values the exchange sent as JSON numbers stay ccxt's floats.
    """
    items = list(raw.values()) if isinstance(raw, dict) else raw if isinstance(raw, list | tuple) else None
    if not items or not rows:
        return rows
    by_time: dict[int, list] = {}
    for item in items:
        fields = list(item.values()) if isinstance(item, dict) else list(item) if isinstance(item, list | tuple) else []
        if not any(isinstance(f, str) for f in fields):
            continue
        try:
            parsed = exchange.parse_ohlcv(item, market)
        except Exception:  # an unreadable candle: _check_page reports it
            continue
        if parsed and isinstance(parsed[0], int):
            by_time[parsed[0]] = fields
    out = []
    for row in rows:
        fields = by_time.get(row[0]) if isinstance(row, list | tuple) and row else None
        if fields is None:
            out.append(row)
            continue
        exact = [row[0]]
        for i, value in enumerate(row[1:6], start=1):
            exact.append(_raw_field(fields, i, value))
        out.append(exact + list(row[6:]))
    return out


def _raw_field(fields: Sequence[Any], position: int, value: Any) -> Any:
    """The string among ``fields`` that ``value`` was parsed from (``position`` first), else ``value``."""
    if not isinstance(value, float):
        return value
    order = ([position] if position < len(fields) else []) + list(range(len(fields)))
    for i in order:
        field = fields[i]
        if isinstance(field, str):
            try:
                if float(field) == value:
                    return _plain(field)
            except ValueError:
                continue
    return value


def _plain(text: str) -> str:
    """The exchange's decimal without padding zeros (``"42283.58000000"`` -> ``"42283.58"``), every digit kept."""
    number = Decimal(text.strip())
    return format(number.normalize(), "f") if number else "0"


def shape_problem(item: Any) -> str | None:
    """Why ``item`` cannot be a candle (too few fields, not a list or object), or None."""
    if isinstance(item, list | tuple) and len(item) < 6:
        return f"{item!r} has {len(item)} field(s)"
    if not isinstance(item, list | tuple | dict):
        return f"{item!r} is not a candle"
    return None


def candle_problem(exchange: Any, item: Any, market: Mapping[str, Any]) -> str | None:
    """Why ccxt could not turn ``item`` into a candle, or None when it is fine (e.g. before ``since``)."""
    shape = shape_problem(item)
    if shape:
        return shape
    try:
        parsed = exchange.parse_ohlcv(item, market)
    except Exception as exc:
        return f"{item!r} cannot be read: {exc}"
    if not parsed or not isinstance(parsed[0], int):
        return f"{item!r} has no valid open time"
    return None


_EPOCH = pd.Timestamp(0, tz="UTC")


def ms(ts: pd.Timestamp) -> int:
    return int((ts - _EPOCH) // pd.Timedelta(milliseconds=1))


def iso(epoch_ms: int) -> str:
    """ISO time of epoch milliseconds, with the milliseconds when there are any (``since`` is last bar + 1 ms)."""
    text = (_EPOCH + pd.Timedelta(milliseconds=epoch_ms)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{epoch_ms % 1000:03d}Z" if epoch_ms % 1000 else f"{text}Z"


def bars_frame(rows: Sequence[Sequence[Any]], symbol: str, resolution: str, now: pd.Timestamp | None) -> pl.DataFrame:
    """The adapter frame of ccxt candles ``[ms, open, high, low, close, volume]``, in the order received."""
    if not rows:
        return normalize_frame(pl.DataFrame(), symbol)
    data: dict[str, pl.Series] = {"timestamp": pl.Series([row[0] for row in rows], dtype=pl.Int64)}
    for i, column in enumerate(VALUE_COLUMNS, start=1):
        data[column] = decimal_texts([row[i] for row in rows])
    frame = pl.DataFrame(data).with_columns(
        pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC").cast(TIMESTAMP_DTYPE),
        pl.lit(symbol).alias("symbol"),
    )
    if now is not None:  # the bar still forming
        frame = frame.filter(
            pl.col("timestamp").dt.offset_by(_DURATION[resolution]) <= pl.lit(now.to_pydatetime()).cast(TIMESTAMP_DTYPE)
        )
    if not parse_resolution(resolution).is_intraday:  # a day, week or month: its first day at midnight UTC
        frame = frame.with_columns(pl.col("timestamp").dt.truncate(_DURATION[resolution]))
    return frame.select(ADAPTER_COLUMNS)
