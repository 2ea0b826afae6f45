"""Frames for the validation tests: adapter-form bars written out row by row, and the real AAPL bars of 2014."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from rustybt.data.validation import ValidationConfig, ValidationReport, Violation, validate_bars

AAPL_CSV = Path(__file__).parents[2] / "resources" / "yahoo-2014-raw" / "AAPL.csv"
NOW = datetime(2024, 1, 2, 12, 0, tzinfo=UTC)
TS = pl.Datetime("ns", "UTC")
LENIENT = ValidationConfig(mode="lenient")
NO_OUTLIERS = ValidationConfig(max_abs_return=None, volume_spike_factor=None)


def bars(rows: list[tuple], *, file: str | None = "prices.csv", ident: str = "symbol") -> pl.DataFrame:
    """Adapter-form frame from (day, symbol, open, high, low, close, volume) rows; row i is line i + 2."""
    frame = pl.DataFrame(
        rows,
        schema={
            "timestamp": pl.String,
            ident: pl.Int64 if ident == "sid" else pl.String,
            "open": pl.Float64,
            "high": pl.Float64,
            "low": pl.Float64,
            "close": pl.Float64,
            "volume": pl.Float64,
        },
        orient="row",
    ).with_columns(pl.col("timestamp").str.to_date().cast(pl.Datetime("ns")).dt.replace_time_zone("UTC"))
    if file is not None:
        frame = frame.with_columns(
            pl.lit(file).alias("_source_file"), pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("_source_row")
        )
    return frame


def good(day: str, symbol: str | int = "AAPL", close: float = 10.0, volume: float = 1000.0) -> tuple:
    return (day, symbol, close, close + 1.0, close - 1.0, close, volume)


def inverted(day: str, symbol: str = "AAPL") -> tuple:
    """A bar whose high (9.0) is below its low (9.5); high is then also below open and close (9.5)."""
    return (day, symbol, 9.5, 9.0, 9.5, 9.5, 1000.0)


def run(frame: pl.DataFrame, config: ValidationConfig | None = None, **kwargs):
    return validate_bars(frame, config=config or NO_OUTLIERS, now=NOW, **kwargs)


def only(report: ValidationReport, rule: str) -> Violation:
    found = report.by_rule().get(rule, [])
    assert len(found) == 1, (rule, report.summary())
    return found[0]


def aapl_2014() -> pl.DataFrame:
    raw = pl.read_csv(AAPL_CSV, schema_overrides={"day": pl.String})
    return raw.select(
        pl.col("day").str.to_date().cast(pl.Datetime("ns")).dt.replace_time_zone("UTC").alias("timestamp"),
        pl.lit("AAPL").alias("symbol"),
        "open",
        "high",
        "low",
        "close",
        pl.col("volume").cast(pl.Float64),
        pl.lit("AAPL.csv").alias("_source_file"),
        pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("_source_row"),
    )
