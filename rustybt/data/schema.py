"""The canonical bar schema and the one place where stored decimals become float64.

Every frame above the adapters has these columns (DESIGN.md, "Data model"):

``timestamp``  Datetime(ns, UTC); for daily and coarser bars the session date at midnight UTC
``sid``        Int64
``open high low close volume``  exact decimals on disk (Decimal(38, scale)), float64 on compute paths

Adapters emit the same columns with ``symbol`` (String) in place of ``sid``; the catalog assigns sids.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import polars as pl

__all__ = [
    "ADAPTER_COLUMNS",
    "BAR_COLUMNS",
    "MAX_SCALE",
    "PRICE_COLUMNS",
    "TIMESTAMP_DTYPE",
    "VALUE_COLUMNS",
    "decimal_dtype",
    "decimal_source",
    "infer_scale",
    "infer_scales",
    "to_compute",
    "to_decimal",
]

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
VALUE_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
BAR_COLUMNS: tuple[str, ...] = ("timestamp", "sid", *VALUE_COLUMNS)
ADAPTER_COLUMNS: tuple[str, ...] = ("timestamp", "symbol", *VALUE_COLUMNS)
TIMESTAMP_DTYPE = pl.Datetime("ns", "UTC")
DECIMAL_PRECISION = 38
# The scale of each column is chosen from its data (the most digits after the point any value was written with), so
# every digit the source gave is kept; the 38 digits are shared between the two sides of the point, and a value that
# does not fit is refused at ingest (naming file, line and field), never truncated.
MAX_SCALE = DECIMAL_PRECISION


def decimal_dtype(scale: int) -> pl.Decimal:
    """Storage dtype of a value column with ``scale`` digits after the point."""
    return pl.Decimal(DECIMAL_PRECISION, min(max(int(scale), 0), MAX_SCALE))


def infer_scale(values: pl.Series) -> int:
    """Digits after the decimal point needed to keep every value of ``values`` exactly.

    Strings count their written digits ("58.4857140" -> 7). Floats count the digits of their shortest
    round-trip representation (what ``repr`` prints), so 523.4200440000001 keeps all 13 and 0.1 keeps 1.
    Decimals keep their own scale. Integers need 0.
    """
    dtype = values.dtype
    if isinstance(dtype, pl.Decimal):
        return int(dtype.scale or 0)
    if dtype.is_integer() or values.len() == 0:
        return 0
    if dtype == pl.String:
        text = values.drop_nulls()
    elif dtype.is_float():
        finite = values.drop_nulls().filter(values.drop_nulls().is_finite())
        # polars prints floats as their shortest round-trip decimal, like Python's repr
        text = finite.cast(pl.String)
    else:
        raise TypeError(f"cannot infer a decimal scale for dtype {dtype}")
    if text.len() == 0:
        return 0
    # one pass: digits after the point (trailing blanks ignored) and whether any value uses an exponent
    stripped = text.str.strip_chars_end()
    point = stripped.str.find(".", literal=True)
    frac = (stripped.str.len_bytes().cast(pl.Int64) - point.cast(pl.Int64) - 1).fill_null(0)
    if bool(text.str.contains("[eE]").any()):
        return _scale_from_python(text.to_list())
    return min(int(frac.max() or 0), MAX_SCALE)


def infer_scales(frame: pl.DataFrame, columns: Iterable[str] = VALUE_COLUMNS) -> dict[str, int]:
    """:func:`infer_scale` for several columns at once; string columns are measured in one parallel pass."""
    cols = [c for c in columns if c in frame.columns]
    text = [c for c in cols if frame.schema[c] == pl.String]
    scales = {c: infer_scale(frame.get_column(c)) for c in cols if c not in text}
    if text:
        exprs = []
        for c in text:
            stripped = pl.col(c).str.strip_chars_end()
            frac = stripped.str.len_bytes().cast(pl.Int64) - stripped.str.find(".", literal=True).cast(pl.Int64) - 1
            exprs.append(frac.max().alias(f"{c}__frac"))
            exprs.append(pl.col(c).str.contains("[eE]").any().alias(f"{c}__exp"))
        row = frame.select(exprs).row(0, named=True)
        for c in text:
            if row[f"{c}__exp"]:
                scales[c] = infer_scale(frame.get_column(c))
            else:
                scales[c] = min(int(row[f"{c}__frac"] or 0), MAX_SCALE)
    return scales


def _scale_from_python(texts: Iterable[str]) -> int:
    best = 0
    for text in texts:
        try:
            number = float(text)
        except ValueError:
            continue
        if not math.isfinite(number):
            continue
        exponent = __import__("decimal").Decimal(repr(number)).as_tuple().exponent
        if isinstance(exponent, int):
            best = max(best, -exponent)
    return min(best, MAX_SCALE)


def decimal_source(frame: pl.DataFrame, col: str, target: pl.Decimal) -> pl.Expr:
    """Column ``col`` ready to cast to the decimal ``target``: decimal text parsed at its scale (spaces stripped),
    numbers as they are."""
    expr = pl.col(col)
    if frame.schema[col] == pl.String:
        expr = expr.str.strip_chars().str.to_decimal(scale=target.scale)
    return expr


def to_decimal(frame: pl.DataFrame, scales: dict[str, int]) -> pl.DataFrame:
    """Cast the value columns of ``frame`` to storage decimals with the given per-column scales."""
    exprs = []
    for col in VALUE_COLUMNS:
        if col not in frame.columns:
            continue
        target = decimal_dtype(scales[col])
        exprs.append(decimal_source(frame, col, target).cast(target).alias(col))
    return frame.with_columns(exprs)


def to_compute(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """The one conversion from stored decimals to the float64 compute representation."""
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    return frame.with_columns(
        [pl.col(c).cast(pl.Float64) for c in VALUE_COLUMNS if c in schema and schema[c] != pl.Float64]
    )


# Optional provenance columns an adapter may add so errors can name the file and line of a bad bar.
SOURCE_FILE_COLUMN = "_source_file"
SOURCE_ROW_COLUMN = "_source_row"  # 1-based line number in the file, header = line 1
PROVENANCE_COLUMNS: tuple[str, ...] = (SOURCE_FILE_COLUMN, SOURCE_ROW_COLUMN)
__all__ += ["PROVENANCE_COLUMNS", "SOURCE_FILE_COLUMN", "SOURCE_ROW_COLUMN"]
