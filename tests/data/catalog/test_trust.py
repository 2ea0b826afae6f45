"""Ingested values are the file's values (issue 16, items 3-5): dates with UTC offsets, precision, order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rustybt import Catalog
from rustybt.data.adapters.csv import CSVAdapter


def _frame(index: pd.DatetimeIndex) -> pd.DataFrame:
    n = len(index)
    close = 10.0 + np.arange(n)
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1000 + np.arange(n)},
        index=index.rename("date"),
    )


@pytest.mark.parametrize("tz", ["Europe/Berlin", "Asia/Tokyo", "America/New_York", "UTC"])
def test_daily_dates_with_an_offset_keep_the_date_written(catalog: Catalog, tmp_path: Path, tz: str):
    sessions = pd.DatetimeIndex(["2012-01-03", "2012-01-04", "2012-01-05", "2012-01-06", "2012-01-09"])
    path = tmp_path / "AAA.csv"
    _frame(sessions.tz_localize(tz)).to_csv(path)  # pandas writes "2012-01-03 00:00:00+01:00"
    catalog.register("d", adapter=CSVAdapter([path]), calendar="XNYS")
    catalog.ingest("d", progress=False)
    bars = catalog.bundle("d").bars()
    assert bars["timestamp"].to_list() == list(sessions.tz_localize("UTC"))
    assert bars["close"].to_list() == [10.0, 11.0, 12.0, 13.0, 14.0]


def test_intraday_timestamps_with_an_offset_convert_to_utc(catalog: Catalog, tmp_path: Path):
    local = pd.date_range("2012-01-03 09:30", periods=4, freq="1min", tz="America/New_York")
    path = tmp_path / "AAA.csv"
    _frame(local).to_csv(path)
    catalog.register("m", adapter=CSVAdapter([path], resolution="1m"), calendar="XNYS", resolution="1m")
    catalog.ingest("m", progress=False)
    got = catalog.bundle("m").bars()["timestamp"].to_list()
    assert got == list(local.tz_convert("UTC"))
    assert got[0] == pd.Timestamp("2012-01-03 14:30", tz="UTC")


def _write(path: Path, closes: list[str]) -> None:
    days = ["2012-01-03", "2012-01-04", "2012-01-05", "2012-01-06", "2012-01-09"][: len(closes)]
    lines = ["date,open,high,low,close,volume"]
    lines += [f"{d},{c},{c},{c},{c},100" for d, c in zip(days, closes, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def test_every_digit_up_to_28_significant_is_kept(catalog: Catalog, tmp_path: Path):
    from decimal import Decimal

    closes = ["0.0000000000000000000001234", "123.4567890123456789012345678", "1.5", "0.00000000000000000001"]
    _write(tmp_path / "AAA.csv", closes)
    catalog.register("p", adapter=CSVAdapter([tmp_path / "AAA.csv"]), calendar="XNYS")
    catalog.ingest("p", progress=False)
    got = catalog.bundle("p").bars(exact=True)["close"].to_list()
    assert [Decimal(str(v)) for v in got] == [Decimal(c) for c in closes]


def test_a_value_that_cannot_be_stored_exactly_is_refused_naming_file_line_and_field(catalog: Catalog, tmp_path):
    from rustybt.errors import DataFormatError

    path = tmp_path / "AAA.csv"
    _write(path, ["0.000000000000000000000000000001", "1.5", "123456789012.25"])  # 30 decimals, then 12 digits
    catalog.register("p", adapter=CSVAdapter([path]), calendar="XNYS")
    with pytest.raises(DataFormatError, match=r"AAA\.csv, line 4, field 'open'.*123456789012\.25"):
        catalog.ingest("p", progress=False)
    assert "p" in catalog and not catalog.ingestions("p")
