"""Violation rows of the checks that fired, at most the rows the report keeps: one polars select per check."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from rustybt.data.validation.config import RULES
from rustybt.data.validation.frame import _FILE, _ID, _IDX, _ROW, _TS, _Calendar, _fc
from rustybt.data.validation.rules import _Check


def _json_values(values: Mapping[str, pl.Expr]) -> pl.Expr:
    return pl.struct([expr.alias(name) for name, expr in values.items()]).struct.json_encode()


def _detail_columns(rule: str, severity: str, field_name: str | None, values: Mapping[str, pl.Expr]) -> list[pl.Expr]:
    return [
        pl.lit(rule).alias("rule"),
        pl.lit(severity).alias("severity"),
        pl.col(_ID).cast(pl.String).alias("symbol"),
        pl.col(_TS).alias("timestamp"),
        pl.lit(field_name, pl.String).alias("field"),
        pl.col(_FILE).alias("file"),
        pl.col(_ROW).alias("row"),
        pl.col(_IDX).alias("index"),
        _json_values(values).alias("detail"),
    ]


def _detail(source: pl.DataFrame, check: _Check, limit: int) -> pl.DataFrame:
    if check.prepare:  # values that look at neighbouring rows: computed before the flagged rows are picked
        source = source.with_columns(check.prepare)
    rows = source.filter(check.mask.fill_null(False)).head(limit)
    return rows.select(_detail_columns(check.rule, check.severity, check.field, check.values))


def _spike_detail(good: pl.DataFrame, spikes: pl.DataFrame, factor: float, limit: int) -> pl.DataFrame:
    head = spikes.head(limit)
    rows = good[head.get_column("p")].with_columns(head.get_column("m").alias("__v_median_volume"))
    values = {
        "volume": _fc("volume"),
        "median_volume": pl.col("__v_median_volume"),
        "factor": pl.lit(factor),
    }
    return rows.select(_detail_columns("volume_spike", RULES["volume_spike"], "volume", values))


def _gap_detail(gaps: pl.DataFrame, cal: _Calendar, limit: int) -> pl.DataFrame:
    """One violation per missing session, for the first gaps up to ``limit`` rows."""
    head = gaps.filter((pl.col("gap").cum_sum() - pl.col("gap")) < limit)
    rows = head.with_columns(pl.int_ranges("from", "to").alias("j")).explode("j").head(limit)
    rows = rows.with_columns(cal.sessions.gather(rows.get_column("j")).alias("session"))
    epoch = pl.lit(date(1970, 1, 1))
    return rows.select(
        pl.lit("calendar_gap").alias("rule"),
        pl.lit("warning").alias("severity"),
        pl.col(_ID).cast(pl.String).alias("symbol"),
        pl.col("session").cast(pl.Datetime("ns")).dt.replace_time_zone("UTC").alias("timestamp"),
        pl.lit("timestamp").alias("field"),
        pl.col(_FILE).alias("file"),
        pl.lit(None, pl.Int64).alias("row"),
        pl.lit(None, pl.Int64).alias("index"),
        _json_values(
            {
                "session": pl.col("session"),
                "previous_bar": epoch + pl.duration(days=pl.col("prev_day")),
                "next_bar": epoch + pl.duration(days=pl.col("day")),
                "missing_sessions": pl.col("gap"),
                "calendar": pl.lit(cal.name),
            }
        ).alias("detail"),
    )
