"""The working frame :func:`~rustybt.data.validation.validate_bars` checks: input checks, Float64 values, UTC
timestamps, provenance, the (symbol, timestamp) order, and the calendar's sessions as lookup tables."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from rustybt.calendars import sessions_in_range
from rustybt.data.schema import SOURCE_FILE_COLUMN, SOURCE_ROW_COLUMN, TIMESTAMP_DTYPE, VALUE_COLUMNS
from rustybt.errors import DataFormatError

logger = logging.getLogger(__name__)

# Internal column names (prefixed so they never collide with a caller's columns).
_IDX = "__v_idx"
_ID = "__v_id"
_TS = "__v_ts"
_FILE = "__v_file"
_ROW = "__v_row"
_BAD = "__v_bad"

_NS_PER_DAY = 86_400_000_000_000


@dataclass
class _Calendar:
    """Sessions of a calendar over the data's days, as lookup tables indexed by ``day - first_day``."""

    name: str
    first_day: int
    sessions: pl.Series  # Date, sorted
    cum: pl.Series  # Int64: sessions on or before each day
    on: pl.Series  # Boolean: the day is a session

    def lookup(self, day: pl.Expr, table: pl.Series) -> pl.Expr:
        offset = day - self.first_day
        inside = (offset >= 0) & (offset < table.len())
        return pl.lit(table).gather(pl.when(inside).then(offset))


def _files_of(frame: pl.DataFrame) -> str:
    if SOURCE_FILE_COLUMN not in frame.columns or frame.height == 0:
        return ""
    files = frame.get_column(SOURCE_FILE_COLUMN).drop_nulls().unique(maintain_order=True).head(4).to_list()
    if not files:
        return ""
    shown = ", ".join(str(f) for f in files[:3]) + (", ..." if len(files) > 3 else "")
    return f" (file {shown})"


def _check_columns(frame: pl.DataFrame) -> str:
    if not isinstance(frame, pl.DataFrame):
        raise DataFormatError(f"validate_bars needs a polars DataFrame, not {type(frame).__name__}")
    cols = frame.columns
    expected = "timestamp, symbol (or sid), open, high, low, close, volume"
    if "symbol" in cols:
        id_col = "symbol"
    elif "sid" in cols:
        id_col = "sid"
    else:
        raise DataFormatError(
            f"bars are missing the required column 'symbol' (or 'sid'){_files_of(frame)}; "
            f"columns present: {cols}. Bars need the columns {expected}: rename the source's columns in the "
            "adapter."
        )
    for col in ("timestamp", *VALUE_COLUMNS):
        if col not in cols:
            raise DataFormatError(
                f"bars are missing the required column {col!r}{_files_of(frame)}; columns present: {cols}. "
                f"Bars need the columns {expected}: rename the source's columns in the adapter."
            )
    return id_col


def _identifier_expr(frame: pl.DataFrame, id_col: str) -> pl.Expr:
    """The symbol (String) or sid (integer) column; other types (Categorical...) compare as strings."""
    dtype = frame.schema[id_col]
    return pl.col(id_col) if dtype == pl.String or dtype.is_integer() else pl.col(id_col).cast(pl.String)


def _timestamp_expr(frame: pl.DataFrame) -> pl.Expr:
    dtype = frame.schema["timestamp"]
    col = pl.col("timestamp")
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            col = col.dt.replace_time_zone("UTC")
        elif dtype.time_zone != "UTC":
            col = col.dt.convert_time_zone("UTC")
        return col.dt.cast_time_unit("ns") if dtype.time_unit != "ns" else col
    if dtype == pl.Date:
        return col.cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    raise DataFormatError(
        f"column 'timestamp' has dtype {dtype}{_files_of(frame)}; it must be a Datetime (UTC) or a Date. "
        "Parse the dates in the adapter."
    )


def _float_exprs(frame: pl.DataFrame) -> tuple[dict[str, pl.Expr], list[str]]:
    """A Float64 expression for each value column, and the columns that were strings."""
    exprs: dict[str, pl.Expr] = {}
    strings: list[str] = []
    for col in VALUE_COLUMNS:
        dtype = frame.schema[col]
        if dtype == pl.Float64:
            exprs[col] = pl.col(col)
        elif dtype == pl.String:
            exprs[col] = pl.col(col).str.strip_chars().cast(pl.Float64, strict=False)
            strings.append(col)
        elif dtype.is_numeric() or dtype == pl.Null:  # integers, Float32, Decimal
            exprs[col] = pl.col(col).cast(pl.Float64)
        else:
            raise DataFormatError(
                f"column {col!r} has dtype {dtype}{_files_of(frame)}; values must be numbers "
                "(Float64, Decimal or decimal strings)."
            )
    return exprs, strings


def _f(col: str) -> str:
    return f"__v_f_{col}"


def _raw(col: str) -> str:
    return f"__v_raw_{col}"


def _fc(col: str) -> pl.Expr:
    return pl.col(_f(col))


def _carried_columns(frame: pl.DataFrame, id_col: str, raw_strings: Sequence[str]) -> dict[str, str]:
    """For each input column, the working-frame column that carries it unchanged to the output."""
    schema = frame.schema
    same: dict[str, str] = {}
    if schema[id_col] == pl.String or schema[id_col].is_integer():
        same[id_col] = _ID
    for col in VALUE_COLUMNS:
        if col in raw_strings:
            same[col] = _raw(col)
        elif schema[col] == pl.Float64:
            same[col] = _f(col)
    if schema["timestamp"] == TIMESTAMP_DTYPE:
        same["timestamp"] = _TS
    if schema.get(SOURCE_FILE_COLUMN) == pl.String:
        same[SOURCE_FILE_COLUMN] = _FILE
    if schema.get(SOURCE_ROW_COLUMN) == pl.Int64:
        same[SOURCE_ROW_COLUMN] = _ROW
    return {c: same.get(c, f"__v_keep_{i}") for i, c in enumerate(frame.columns)}


def _sort_permutation(work: pl.DataFrame) -> tuple[pl.Series | None, pl.Series | None]:
    """Row order by (identifier, timestamp, input position), and where the input goes back in time.

    Returns ``(perm, previous)``: ``perm`` is None when the rows are in that order already; ``previous`` (in
    input order) is the timestamp of the previous input row of the same symbol, or None when no symbol's
    timestamps go backwards in the input.

    Two fast paths cover what adapters emit: rows already sorted (a few vectorized comparisons), and one
    contiguous, time-sorted block per symbol in another symbol order (the blocks are reordered). Anything
    else is sorted on one Int64 key, symbol rank x time span + time offset, with a stable sort so that
    duplicates keep their input order.
    """
    ident, ts = pl.col(_ID), pl.col(_TS)
    n = work.height
    change = (ident != ident.shift(1)).fill_null(True)
    probe = work.select(
        ((ts >= ts.shift(1)) | change).slice(1).fill_null(False).all().alias("time_sorted"),
        (ts >= ts.shift(1)).slice(1).fill_null(False).all().alias("all_time_sorted"),
        ((ident > ident.shift(1)) | ~change).slice(1).fill_null(False).all().alias("ident_sorted"),
        ((ident.null_count() == 0) & (ts.null_count() == 0)).alias("no_nulls"),
    ).row(0, named=True)
    if probe["no_nulls"] and probe["time_sorted"]:
        if probe["ident_sorted"]:
            return None, None
        blocks = work.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("start"), ident.alias("id"), change.alias("new")
        ).filter("new")
        if blocks.get_column("id").n_unique() == blocks.height:  # one block per symbol
            blocks = blocks.with_columns(pl.col("start").shift(-1, fill_value=n).alias("end")).sort("id")
            return blocks.select(pl.int_ranges("start", "end").explode()).to_series(), None

    uniques = work.get_column(_ID).drop_nulls().unique().sort()
    code = ident.replace_strict(uniques, pl.int_range(uniques.len(), dtype=pl.Int64, eager=True))
    staged = work.select(code.alias("code"), ts.cast(pl.Int64).alias("t"))
    offset, span = _time_offsets(staged.get_column("t"))
    if offset is not None and uniques.len() * span < 2**62:
        key = pl.col("code") * span + offset
    else:  # timestamps too fine for one key: rank them (ties stay in input order, the sort is stable)
        key = pl.col("code") * 2**32 + pl.col("t").rank("dense").cast(pl.Int64)
    perm = staged.select(pl.arg_sort_by(key.fill_null(2**63 - 1), maintain_order=True)).to_series()
    if probe["all_time_sorted"] and probe["no_nulls"]:  # e.g. all symbols of a day, day by day
        return perm, None
    previous = staged.select(pl.col("t").shift(1).over("code")).to_series()
    backwards = bool((staged.get_column("t") < previous).any())
    return perm, previous.cast(TIMESTAMP_DTYPE) if backwards else None


def _time_offsets(t: pl.Series) -> tuple[pl.Expr | None, int]:
    """``(t - min) // unit`` for the coarsest unit (day ... ns) dividing every offset, and the span in units."""
    lo, hi = t.min(), t.max()
    if lo is None or hi is None:
        return None, 0
    for unit in (_NS_PER_DAY, 3_600_000_000_000, 60_000_000_000, 1_000_000_000, 1_000_000, 1_000):
        if ((t - lo) % unit == 0).all():
            return (pl.col("t") - lo) // unit, (hi - lo) // unit + 1
    return pl.col("t") - lo, hi - lo + 1


def _future_limit(now: datetime, tolerance: timedelta) -> datetime | None:
    """Latest acceptable timestamp, or None when the tolerance reaches past what a ns timestamp can hold."""
    try:
        limit = now + tolerance
    except OverflowError:
        return None
    return limit if limit.year < 2262 else None


def _calendar_tables(work: pl.DataFrame, calendar: str, res: Any, limit: datetime | None) -> _Calendar | None:
    """Lookup tables of ``calendar`` over the days of the data (daily bars only; future bars ignored)."""
    if res.name != "1d":
        logger.debug("calendar checks skipped: they apply to daily bars, not %s", res.name)
        return None
    day = pl.col(_TS).cast(pl.Int64) // _NS_PER_DAY
    ts = pl.col(_TS) if limit is None else pl.when(pl.col(_TS) <= limit).then(pl.col(_TS))
    bounds = work.select(day.min().alias("lo"), (ts.max().cast(pl.Int64) // _NS_PER_DAY).alias("hi")).row(0)
    lo, hi = bounds
    if lo is None or hi is None or hi < lo:
        return None
    epoch = date(1970, 1, 1)
    idx = sessions_in_range(calendar, epoch + timedelta(days=lo), epoch + timedelta(days=hi))
    session_days = np.asarray(idx.values.astype("datetime64[D]").astype(np.int64))
    days = np.arange(lo, hi + 1, dtype=np.int64)
    cum = np.searchsorted(session_days, days, side="right").astype(np.int64)
    on = np.isin(days, session_days)
    return _Calendar(
        name=calendar,
        first_day=int(lo),
        sessions=pl.Series("session", session_days.astype("datetime64[D]"), dtype=pl.Date),
        cum=pl.Series("cum", cum),
        on=pl.Series("on", on),
    )


# ---------------------------------------------------------------------------------------------------------
# the checks
