"""Damaged or edited stored data is never read as data: byte flips in a Parquet file, a manifest that lost an entry,
edited SQLite rows and an altered dense copy are each detected (on read, or by ``verify``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from rustybt import Catalog
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.catalog.manifest import Manifest
from rustybt.data.catalog.storage import forget_checked_files
from rustybt.data.readers import ParquetDailyBarReader
from rustybt.errors import CorruptDataError


@pytest.fixture
def zl(catalog: Catalog, csvdir: Path) -> Catalog:
    catalog.register("zl", adapter=CSVAdapter.from_csvdir(csvdir), calendar="XNYS")
    catalog.ingest("zl", progress=False)
    return catalog


def _year_file(catalog: Catalog, year: int) -> Path:
    bundle = catalog.bundle("zl")
    (entry,) = [f for f in bundle.manifest.files if f.year == year]
    return bundle.path / entry.path


def test_every_byte_flip_is_detected_or_harmless(zl: Catalog):
    """A stride through a year's file: each flipped byte either raises CorruptDataError naming bundle, ingestion
    and file, or leaves every value identical."""
    bundle = zl.bundle("zl")
    path = _year_file(zl, 2013)
    original = path.read_bytes()
    expected = bundle.bars(start="2013-01-01", end="2013-12-31", exact=True)
    stride = max(1, len(original) // 150)
    detected = harmless = 0
    try:
        for pos in range(0, len(original), stride):
            damaged = bytearray(original)
            damaged[pos] ^= 0x5A
            path.write_bytes(bytes(damaged))
            forget_checked_files()
            try:
                got = bundle.bars(start="2013-01-01", end="2013-12-31", exact=True)
            except CorruptDataError as exc:
                message = str(exc)
                assert "'zl'" in message and bundle.ingestion_id in message and str(path) in message
                assert "rustybt verify zl" in message
                detected += 1
                continue
            assert got.equals(expected), f"byte {pos}: silently different values"
            harmless += 1
    finally:
        path.write_bytes(original)
        forget_checked_files()
    assert detected > 100
    assert bundle.bars(start="2013-01-01", end="2013-12-31", exact=True).equals(expected)


def test_a_file_changed_after_the_first_read_is_checked_again(zl: Catalog):
    bundle = zl.bundle("zl")
    assert bundle.bars("AAPL").height == 754
    path = _year_file(zl, 2012)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))  # a new mtime: checked again without forgetting anything
    with pytest.raises(CorruptDataError, match="2012"):
        bundle.bars("AAPL")


def test_a_manifest_that_lost_an_entry_is_refused_on_read_and_by_verify(zl: Catalog):
    bundle = zl.bundle("zl")
    manifest = Manifest.read(bundle.path)
    lost = manifest.files.pop(0)
    manifest.write(bundle.path)
    with pytest.raises(CorruptDataError, match="run `rustybt verify zl`"):
        zl.bundle("zl").bars("AAPL")
    report = zl.verify("zl")
    problems = {(p.path, p.problem) for p in report.problems}
    assert (lost.path, "not in manifest") in problems
    assert ("manifest.json", "row count mismatch") in problems


def _sql(catalog: Catalog, statement: str, *params) -> None:
    with sqlite3.connect(catalog.root / "catalog.sqlite") as con:
        con.execute(statement, params)


def test_verify_notices_edited_row_counts(zl: Catalog):
    assert zl.verify("zl").ok
    _sql(zl, "UPDATE assets SET rows = rows - 1 WHERE symbol = 'KO'")
    assert [(p.path, p.problem) for p in zl.verify("zl").problems] == [("catalog.sqlite", "metadata mismatch")]
    _sql(zl, "UPDATE ingestions SET rows = rows + 5")
    problems = {(p.path, p.problem) for p in zl.verify("zl").problems}
    assert ("manifest.json", "row count mismatch") in problems and ("catalog.sqlite", "row count mismatch") in problems


def test_verify_notices_two_symbols_swapped(zl: Catalog):
    live = zl.live_ingestion("zl").id
    with sqlite3.connect(zl.root / "catalog.sqlite") as con:
        rows = dict(con.execute("SELECT symbol, record FROM assets WHERE ingestion = ?", (live,)).fetchall())
        swap = {"AAPL": "IBM", "IBM": "AAPL"}
        for symbol, new in swap.items():
            record = rows[symbol].replace(f'"symbol": "{symbol}"', f'"symbol": "{new}"')
            con.execute(
                "UPDATE assets SET symbol = ?, record = ? WHERE ingestion = ? AND symbol = ?",
                (new + "_", record, live, symbol),
            )
        con.execute("UPDATE assets SET symbol = rtrim(symbol, '_') WHERE ingestion = ?", (live,))
    report = zl.verify("zl")
    assert [(p.path, p.problem) for p in report.problems] == [("catalog.sqlite", "metadata mismatch")]


def test_an_altered_dense_copy_is_noticed_and_never_served(zl: Catalog, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    bundle = zl.bundle("zl")
    start, end = bundle.start, bundle.end
    sids = bundle.sids
    expected = ParquetDailyBarReader(bundle).load_raw_arrays(["close"], start, end, sids)[0].copy()
    (copy,) = (tmp_path / "home").rglob("close.npy")
    arr = np.load(copy, mmap_mode="r+")
    arr[100:600, 0] += 1.0  # 500 values altered
    arr.flush()
    del arr
    report = zl.verify("zl")
    assert [p.problem for p in report.problems] == [
        "dense copy damaged: its checksum differs from the one recorded when it was built"
    ]
    got = ParquetDailyBarReader(zl.bundle("zl")).load_raw_arrays(["close"], start, end, sids)[0]
    np.testing.assert_array_equal(got, expected)
    reference = bundle.bars(exact=False).pivot(on="sid", index="timestamp", values="close").sort("timestamp")
    np.testing.assert_array_equal(
        got[:, 0][~np.isnan(got[:, 0])], reference.get_column(str(sids[0])).drop_nulls().to_numpy()
    )
    assert zl.verify("zl").ok  # rebuilt


def test_verify_cost_is_once_per_file_and_process(zl: Catalog, monkeypatch):
    """The check hashes a file at its first read only."""
    from rustybt.data.catalog import storage

    calls = []
    real = storage.crc32_file
    monkeypatch.setattr(storage, "crc32_file", lambda p: calls.append(p) or real(p))
    forget_checked_files()
    bundle = zl.bundle("zl")
    for _ in range(3):
        bundle.bars(start=pd.Timestamp("2014-01-01"), end=pd.Timestamp("2014-12-31"))
    assert len(calls) == 1
    assert bundle.bars().select(pl.len()).item() == 4 * 754


def test_a_file_that_is_not_parquet_is_named(zl: Catalog):
    path = _year_file(zl, 2014)
    path.write_bytes(b"date,open\n" * (path.stat().st_size // 10) + b"x" * (path.stat().st_size % 10))
    with pytest.raises(CorruptDataError, match=f"file {path}.*rustybt verify zl"):
        zl.bundle("zl").bars("KO")
