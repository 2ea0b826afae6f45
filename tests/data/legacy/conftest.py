"""Fixtures of the legacy-format tests: the zipline bundle files in tests/resources/zipline-bundle."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

RESOURCES = Path(__file__).parents[2] / "resources"
ZIPLINE = RESOURCES / "zipline-bundle"
INGESTION = ZIPLINE / "csvdir-ingestion"
HDF5 = ZIPLINE / "daily_bars.h5"
MINUTE_INGESTION = ZIPLINE / "minute-ingestion"
CSVDIR = RESOURCES / "zipline-csvdir" / "daily"
SYMBOLS = ("AAPL", "IBM", "KO", "MSFT")  # zipline sids 0..3


def read_csv_ints(symbol: str) -> dict[str, dict[str, int]]:
    """The csvdir file of ``symbol`` as zipline stores it: {date: {field: integer}}, prices as
    ``round(value * 1000)`` (zipline's ``(x * 1000).round()``, half to even on the float product)."""
    out: dict[str, dict[str, int]] = {}
    with open(CSVDIR / f"{symbol}.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            out[row["date"]] = {
                **{f: round(float(row[f]) * 1000) for f in ("open", "high", "low", "close")},
                "volume": int(float(row["volume"])),
            }
    return out


@pytest.fixture
def ingestion_copy(tmp_path: Path) -> Path:
    """A writable copy of the csvdir ingestion (for damaging it)."""
    target = tmp_path / "zipline" / "csvdir" / "2024-01-05T10;00;00.000000"
    shutil.copytree(INGESTION, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target
