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


def _unsorted_csv(path: Path, dividend: str = "") -> None:
    path.write_text(
        "date,open,high,low,close,volume,dividend\n"
        "2012-01-04,10,10,10,10,100,\n"
        "2012-01-03,10,10,10,10,100,\n"
        f"2012-01-05,10,10,10,10,100,{dividend}\n"
        "2012-01-06,10,10,10,10,100,\n"
    )


def test_unsorted_rows_fail_a_strict_ingest_and_are_counted_by_a_lenient_one(catalog: Catalog, tmp_path: Path):
    from rustybt.errors import ValidationError

    path = tmp_path / "AAA.csv"
    _unsorted_csv(path)
    catalog.register("u", adapter=CSVAdapter([path]), calendar="XNYS")
    with pytest.raises(ValidationError, match=r"unsorted.*AAA\.csv row 3"):
        catalog.ingest("u", progress=False)
    catalog.ingest("u", validation="lenient", progress=False)
    bundle = catalog.bundle("u")
    assert bundle.quality["by_rule"] == {"unsorted": 1}
    assert bundle.bars()["timestamp"].is_sorted()


def test_a_negative_dividend_fails_strict_and_is_left_out_and_counted_when_lenient(catalog: Catalog, tmp_path):
    from rustybt.errors import IngestionError

    path = tmp_path / "AAA.csv"
    path.write_text(
        "date,open,high,low,close,volume,dividend\n"
        "2012-01-03,10,10,10,10,100,\n2012-01-04,10,10,10,10,100,-0.5\n2012-01-05,10,10,10,10,100,0.25\n"
    )
    catalog.register("v", adapter=CSVAdapter([path], columns={"dividend": "dividend"}), calendar="XNYS")
    with pytest.raises(IngestionError, match=r"AAA: dividend -0\.5 on 2012-01-04"):
        catalog.ingest("v", progress=False)
    assert not catalog.ingestions("v")
    catalog.ingest("v", validation="lenient", progress=False)
    bundle = catalog.bundle("v")
    assert bundle.adjustments()["amount"].to_list() == [0.25]
    assert bundle.quality["by_rule"] == {"dividend_ignored": 1} and bundle.quality["warnings"] == 1
