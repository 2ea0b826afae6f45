"""Paths and expectations of the legacy-format tests: the zipline bundle files in tests/resources/zipline-bundle.

A module of its own, not conftest.py: test modules import these names, and ``from conftest import ...`` picks
whichever conftest pytest imported first (tests/data/adapters has one too).
"""

from __future__ import annotations

import csv
from pathlib import Path

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
