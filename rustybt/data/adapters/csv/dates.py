"""Timestamps of CSV files: the formats recognised, their detection per file, parsing to UTC, range bounds.

``_to_utc`` is the one place where a naive or offset-carrying timestamp column becomes UTC (daily bars: the
session date at midnight UTC; an offset-carrying daily timestamp keeps the date written in the file, see
``_written_date``), for the one-file and the batched reading alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import polars as pl

from rustybt._utils import to_utc
from rustybt.data.schema import (
    SOURCE_ROW_COLUMN,
    TIMESTAMP_DTYPE,
)
from rustybt.errors import DataFormatError

if TYPE_CHECKING:  # annotations only: layout and options import this module
    from rustybt.data.adapters.csv.layout import _Layout
    from rustybt.data.adapters.csv.options import _Options

_EPOCH_FORMATS = {"epoch": None, "epoch_s": "s", "epoch_ms": "ms", "epoch_us": "us", "epoch_ns": "ns"}
_SAMPLE_SIZE = 20


_NS_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


@dataclass(frozen=True)
class _DateFormat:
    """One timestamp format: a full-match regex guarding a polars/chrono ``strptime`` format, or an epoch."""

    label: str
    regex: str | None  # None: trust the (user-given) format without a shape check
    strptime: str | None  # None: integer epoch
    aware: bool = False  # the text carries its UTC offset
    epoch_unit: str | None = None  # fixed epoch unit; None with strptime None: decided by magnitude

    @property
    def is_epoch(self) -> bool:
        return self.strptime is None


def _build_formats() -> tuple[_DateFormat, ...]:
    dates = (
        ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
        ("%Y%m%d", r"\d{8}"),
        ("%Y/%m/%d", r"\d{4}/\d{1,2}/\d{1,2}"),
        ("%m/%d/%Y", r"\d{1,2}/\d{1,2}/\d{4}"),
        ("%d/%m/%Y", r"\d{1,2}/\d{1,2}/\d{4}"),
        ("%d.%m.%Y", r"\d{1,2}\.\d{1,2}\.\d{4}"),
        ("%Y.%m.%d", r"\d{4}\.\d{1,2}\.\d{1,2}"),
    )
    clocks = (("%H:%M:%S%.f", r"\d{1,2}:\d{2}:\d{2}(?:\.\d{1,9})?"), ("%H:%M", r"\d{1,2}:\d{2}"))
    offsets = (("", "", False), ("%#z", r"(?:Z|[+-]\d{2}:?\d{2})", True))
    formats = []
    for dfmt, dre in dates:
        formats.append(_DateFormat(dfmt, f"^{dre}$", dfmt))
        for sep in ("T", " "):
            for cfmt, cre in clocks:
                for zfmt, zre, aware in offsets:
                    fmt = f"{dfmt}{sep}{cfmt}{zfmt}"
                    formats.append(_DateFormat(fmt, f"^{dre}{sep}{cre}{zre}$", fmt, aware))
    formats.append(_DateFormat("epoch", r"^-?\d+$", None, aware=True))
    return tuple(formats)


_FORMATS = _build_formats()
_FORMAT_REGEXES = {f.label: re.compile(f.regex) for f in _FORMATS if f.regex}


def _user_format(date_format: str) -> _DateFormat:
    if date_format in _EPOCH_FORMATS:
        return _DateFormat(date_format, r"^-?\d+$", None, aware=True, epoch_unit=_EPOCH_FORMATS[date_format])
    aware = re.search(r"%[#:]*z", date_format) is not None
    return _DateFormat(date_format, None, date_format, aware)


def _epoch_multiplier(ints: pl.Expr, unit: str | None, by: str | None) -> pl.Expr:
    """Nanoseconds per epoch unit: ``unit``, or by the magnitude of the largest value (of each ``by`` group).

    Seconds stay below 1e11 until the year 5138, milliseconds below 1e14, microseconds below 1e17.
    """
    if unit is not None:
        return pl.lit(_NS_PER_UNIT[unit], dtype=pl.Int64)
    largest = ints.abs().max()
    if by is not None:
        largest = largest.over(by)
    return (
        pl.when(largest < 10**11)
        .then(pl.lit(10**9, dtype=pl.Int64))
        .when(largest < 10**14)
        .then(pl.lit(10**6, dtype=pl.Int64))
        .when(largest < 10**17)
        .then(pl.lit(10**3, dtype=pl.Int64))
        .otherwise(pl.lit(1, dtype=pl.Int64))
    )


# --- configuration ---------------------------------------------------------------------------------------


def _bound(value: pd.Timestamp | str | None) -> int | None:
    """A start/end bound as UTC nanoseconds; naive values are UTC."""
    return None if value is None else int(to_utc(value).value)


def _filter(frame: pl.DataFrame, bounds: tuple[int | None, int | None]) -> pl.DataFrame:
    start, end = bounds
    if start is None and end is None:
        return frame
    ns = pl.col("timestamp").dt.epoch("ns")
    cond = pl.lit(True)
    if start is not None:
        cond = cond & (ns >= start)
    if end is not None:
        cond = cond & (ns <= end)
    return frame.filter(cond)


def _first_row(frame: pl.DataFrame, predicate: pl.Expr) -> dict[str, Any]:
    return frame.filter(predicate).sort(SOURCE_ROW_COLUMN).row(0, named=True)


def _detect_format(frame: pl.DataFrame, layout: _Layout, path: Path) -> list[_DateFormat]:
    """Formats whose shape fits every sampled timestamp, most likely first."""
    sample = frame.select("timestamp", SOURCE_ROW_COLUMN).head(_SAMPLE_SIZE).rows()
    first_text, first_line = sample[0]
    candidates = [f for f in _FORMATS if _FORMAT_REGEXES[f.label].match(first_text)]
    if not candidates:
        raise DataFormatError(
            f"{path}, line {first_line}, column {layout.column_of('timestamp')!r}: unrecognised date format "
            f"{first_text!r}; known: ISO 8601 dates and datetimes (optionally with offset), %Y%m%d, "
            "%Y/%m/%d, %m/%d/%Y, %d/%m/%Y, %d.%m.%Y, %Y.%m.%d, integer epochs; "
            "pass date_format='...' (a strptime format)"
        )
    for text, line in sample[1:]:
        fitting = [f for f in candidates if _FORMAT_REGEXES[f.label].match(text)]
        if not fitting:
            raise DataFormatError(
                f"{path}, line {line}, column {layout.column_of('timestamp')!r}: {text!r} is not in the "
                f"format of line {first_line} ({first_text!r}, {candidates[0].label}); pass date_format='...'"
            )
        candidates = fitting
    return candidates


def _parse_expr(fmt: _DateFormat, by: str | None = None) -> pl.Expr:
    """Naive (wall time) or UTC-aware Datetime(ns) from the ``timestamp`` text; null where it fails.

    ``by`` names the column that tells files apart in a batch (epoch units are decided per file).
    """
    text = pl.col("timestamp")
    if fmt.is_epoch:
        ints = text.cast(pl.Int64, strict=False)
        nanos = ints * _epoch_multiplier(ints, fmt.epoch_unit, by)
        parsed = nanos.cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    else:
        parsed = text.str.to_datetime(fmt.strptime, time_unit="ns", strict=False)
        if fmt.aware:
            parsed = parsed.dt.convert_time_zone("UTC")
    if fmt.regex is not None:
        parsed = pl.when(text.str.contains(fmt.regex)).then(parsed).otherwise(None)
    return parsed


def _parse(frame: pl.DataFrame, fmt: _DateFormat, path: Path) -> pl.DataFrame:
    try:
        return frame.with_columns(_parse_expr(fmt).alias("_naive"))
    except pl.exceptions.PolarsError as exc:
        raise DataFormatError(f"{path}: cannot parse timestamps with format {fmt.label!r}: {exc}") from None


def _to_utc(expr: pl.Expr, fmt: _DateFormat, options: _Options) -> pl.Expr:
    """``expr`` (parsed from the ``timestamp`` text by :func:`_parse_expr`) as UTC: intraday instants converted;
    daily bars at midnight UTC of their session date."""
    if options.daily and fmt.aware and not fmt.is_epoch:
        # a daily bar's session is the date written in the file, whatever its offset: "2012-01-03 00:00:00+01:00"
        # (pandas writing a Europe/Berlin index) is the session 2012-01-03, not the UTC instant's 2012-01-02
        return pl.when(expr.is_not_null()).then(_written_date(fmt))
    if options.daily:  # the session date: as written when naive; an epoch's date in `timezone`
        if fmt.aware:
            expr = expr.dt.convert_time_zone(options.timezone).dt.replace_time_zone(None)
        return expr.dt.truncate("1d").dt.replace_time_zone("UTC")
    if fmt.aware:
        return expr
    if options.timezone == "UTC":
        return expr.dt.replace_time_zone("UTC")
    local = expr.dt.replace_time_zone(options.timezone, ambiguous="null", non_existent="null")
    return local.dt.convert_time_zone("UTC")


def _written_date(fmt: _DateFormat) -> pl.Expr:
    """Midnight UTC of the date as written in an offset-carrying timestamp (its offset dropped, not applied)."""
    wall_format = re.sub(r"%[#:]*z", "", fmt.strptime or "").strip()
    text = pl.col("timestamp").str.replace(r"\s*(?:Z|[+-]\d{2}:?\d{2})$", "").str.strip_chars()
    wall = text.str.to_datetime(wall_format, time_unit="ns", strict=False)
    return wall.dt.truncate("1d").dt.replace_time_zone("UTC")


def _with_timestamps(frame: pl.DataFrame, layout: _Layout, path: Path, options: _Options) -> pl.DataFrame:
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, dtype=TIMESTAMP_DTYPE).alias("timestamp"))
    candidates = [options.date_format] if options.date_format else _detect_format(frame, layout, path)
    attempts = []
    for fmt in candidates:  # e.g. %m/%d/%Y, then %d/%m/%Y when a day above 12 rules the first out
        attempt = _parse(frame, fmt, path)
        if attempt.get_column("_naive").null_count() == 0:
            break
        attempts.append(attempt)
    else:
        fmt, attempt = candidates[0], attempts[0]
        row = _first_row(attempt, pl.col("_naive").is_null())
        raise DataFormatError(
            f"{path}, line {row[SOURCE_ROW_COLUMN]}, column {layout.column_of('timestamp')!r}: cannot parse "
            f"{row['timestamp']!r} as {fmt.label} (the format of the file's first rows); "
            "pass date_format='...'"
        )
    parsed = attempt
    parsed = parsed.with_columns(_to_utc(pl.col("_naive"), fmt, options).alias("_utc"))
    if parsed.get_column("_utc").null_count():
        row = _first_row(parsed, pl.col("_utc").is_null())
        raise DataFormatError(
            f"{path}, line {row[SOURCE_ROW_COLUMN]}, column {layout.column_of('timestamp')!r}: local time "
            f"{row['timestamp']!r} is ambiguous or does not exist in {options.timezone} (a daylight-saving "
            "change); store such files in UTC or with offsets"
        )
    return parsed.drop("timestamp", "_naive").rename({"_utc": "timestamp"})
