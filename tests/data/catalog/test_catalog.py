"""Catalog: register, ingest, read, layout, metadata, adjustments, pinning, clean, verify."""

from __future__ import annotations

import csv
import itertools
import sqlite3
from decimal import Decimal
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from rustybt import Catalog
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.errors import BundleNotFound, IngestionNotFound, InvalidBundleName, ResolutionError


def read_csv_plain(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def zl(catalog: Catalog, csvdir: Path) -> Catalog:
    catalog.register("zl", adapter=CSVAdapter.from_csvdir(csvdir), calendar="XNYS")
    catalog.ingest("zl", progress=False)
    return catalog


def test_ingest_stores_every_csv_row_exactly(zl: Catalog, csvdir: Path):
    bundle = zl.bundle("zl")
    assert bundle.symbols == ["AAPL", "IBM", "KO", "MSFT"]
    for symbol in bundle.symbols:
        expected = read_csv_plain(csvdir / "daily" / f"{symbol}.csv")
        got = bundle.bars(symbol, exact=True)
        assert got.height == len(expected) == 754
        for col in ("open", "high", "low", "close", "volume"):
            assert [Decimal(str(v)) for v in got[col].to_list()] == [Decimal(r[col]) for r in expected], (
                symbol,
                col,
            )
        assert got["timestamp"].dt.date().cast(pl.String).to_list() == [r["date"] for r in expected]


def test_bars_default_to_float64_compute_values(zl: Catalog):
    bars = zl.bundle("zl").bars(["AAPL"], start="2012-01-03", end="2012-01-03")
    assert bars.schema["close"] == pl.Float64
    assert bars.row(0, named=True)["close"] == pytest.approx(58.747143, abs=0)


def test_bars_filters_inclusive_dates_and_symbols(zl: Catalog):
    bars = zl.bundle("zl").bars(["AAPL", "KO"], start="2014-01-01", end="2014-12-31")
    assert set(bars["symbol"].unique()) == {"AAPL", "KO"}
    assert bars["timestamp"].min() == pd.Timestamp("2014-01-02", tz="UTC")
    assert bars["timestamp"].max() == pd.Timestamp("2014-12-31", tz="UTC")
    assert bars.filter(pl.col("symbol") == "AAPL").height == 252


def test_timestamps_are_session_midnight_utc(zl: Catalog):
    bars = zl.bundle("zl").bars("MSFT")
    assert bars.schema["timestamp"] == pl.Datetime("ns", "UTC")
    assert (bars["timestamp"].dt.hour() == 0).all()


def test_weekly_resample_from_daily(zl: Catalog, csvdir: Path):
    weekly = zl.bundle("zl").bars("MSFT", start="2014-01-06", end="2014-01-10", frequency="1w")
    rows = [r for r in read_csv_plain(csvdir / "daily" / "MSFT.csv") if "2014-01-06" <= r["date"] <= "2014-01-10"]
    assert weekly.height == 1
    week = weekly.row(0, named=True)
    assert week["open"] == float(rows[0]["open"])
    assert week["close"] == float(rows[-1]["close"])
    assert week["high"] == max(float(r["high"]) for r in rows)
    assert week["low"] == min(float(r["low"]) for r in rows)
    assert week["volume"] == sum(float(r["volume"]) for r in rows)


def test_finer_frequency_than_stored_is_refused(zl: Catalog):
    with pytest.raises(ResolutionError, match="stores 1d bars"):
        zl.bundle("zl").bars("MSFT", frequency="1h")


def test_parquet_layout_partitioned_sorted_with_statistics(zl: Catalog):
    bundle = zl.bundle("zl")
    files = sorted(bundle.path.glob("bars/frequency=1d/year=*/part-0.parquet"))
    assert [f.parent.name for f in files] == ["year=2012", "year=2013", "year=2014"]
    for f in files:
        meta = pq.ParquetFile(f).metadata
        stats = meta.row_group(0).column(1).statistics  # sid
        assert stats is not None and stats.has_min_max
        table = pl.read_parquet(f)
        assert table.equals(table.sort(["sid", "timestamp"]))
        assert isinstance(table.schema["close"], pl.Decimal)


def test_metadata_lives_in_sqlite(zl: Catalog):
    con = sqlite3.connect(zl.root / "catalog.sqlite")
    live = con.execute("SELECT live_ingestion FROM bundles WHERE name='zl'").fetchone()[0]
    assert con.execute("SELECT COUNT(*) FROM ingestions WHERE bundle='zl'").fetchone()[0] == 1
    assert con.execute("SELECT id FROM ingestions").fetchone()[0] == live
    assert con.execute("SELECT COUNT(*) FROM assets WHERE ingestion=?", (live,)).fetchone()[0] == 4
    assert con.execute("SELECT SUM(rows) FROM assets").fetchone()[0] == 4 * 754


def test_split_and_dividend_adjustments(zl: Catalog, csvdir: Path):
    adj = zl.bundle("zl").adjustments()
    splits = adj.filter(pl.col("kind") == "split").sort("symbol")
    assert splits.select("symbol", "effective_date").rows() == [
        ("AAPL", pd.Timestamp("2014-06-09").date()),
        ("KO", pd.Timestamp("2012-08-13").date()),
    ]
    assert splits["ratio"].to_list() == pytest.approx([1 / 7, 0.5], abs=1e-15)
    # dividend ratio = 1 - amount / previous session's close, computed plainly from the CSV
    rows = read_csv_plain(csvdir / "daily" / "KO.csv")
    expected = {}
    for prev, row in itertools.pairwise(rows):
        if float(row["dividend"]) > 0:
            expected[row["date"]] = 1 - float(row["dividend"]) / float(prev["close"])
    ko = adj.filter((pl.col("symbol") == "KO") & (pl.col("kind") == "dividend"))
    got = {str(d): r for d, r in ko.select("effective_date", "ratio").rows()}
    assert got.keys() == expected.keys()
    for day, ratio in expected.items():
        assert got[day] == pytest.approx(ratio, rel=1e-12)


def test_asset_finder_and_date_ranges(zl: Catalog):
    bundle = zl.bundle("zl")
    aapl = bundle.asset_finder.lookup_symbol("AAPL")
    assert aapl.start_date == pd.Timestamp("2012-01-03")
    assert aapl.end_date == pd.Timestamp("2014-12-31")
    ranges = bundle.date_ranges
    assert ranges["rows"].to_list() == [754] * 4


def test_sids_are_stable_across_ingestions(zl: Catalog, csvdir: Path):
    before = {a.symbol: a.sid for a in zl.bundle("zl").assets}
    zl.ingest("zl", progress=False)
    after = {a.symbol: a.sid for a in zl.bundle("zl").assets}
    assert before == after


def test_open_bundle_stays_pinned_across_reingest(zl: Catalog, tmp_path: Path, csvdir: Path):
    pinned = zl.bundle("zl")
    first = pinned.ingestion_id
    before = pinned.bars("AAPL")
    # re-ingest from a source with one file changed
    changed = tmp_path / "changed" / "daily"
    changed.mkdir(parents=True)
    for f in (csvdir / "daily").glob("*.csv"):
        text = f.read_text()
        if f.stem == "AAPL":
            text = text.replace("2012-01-03,58.485714", "2012-01-03,58.5")
        (changed / f.name).write_text(text)
    zl.register("zl", adapter=CSVAdapter.from_csvdir(changed.parent), overwrite=True)
    zl.ingest("zl", progress=False)
    assert zl.bundle("zl").ingestion_id != first
    assert pinned.bars("AAPL").equals(before)
    assert zl.bundle("zl").bars("AAPL")["open"][0] == 58.5


def test_clean_keeps_last_and_never_the_live_one(zl: Catalog):
    zl.ingest("zl", progress=False)
    zl.ingest("zl", progress=False)
    ids = [r.id for r in zl.ingestions("zl")]
    removed = zl.clean("zl", keep_last=1)
    assert removed == ids[:2]
    assert [r.id for r in zl.ingestions("zl")] == ids[2:]
    assert zl.clean("zl", before="2100-01-01") == []  # the live one survives
    assert not (zl.root / "bundles" / "zl" / ids[0]).exists()


def test_verify_reports_changed_truncated_and_missing_files(zl: Catalog):
    assert zl.verify("zl").ok
    bundle = zl.bundle("zl")
    f2012, f2013, f2014 = sorted(bundle.path.glob("bars/frequency=1d/year=*/part-0.parquet"))
    data = f2012.read_bytes()
    f2012.write_bytes(data[: len(data) // 2])  # truncated
    raw = bytearray(f2013.read_bytes())
    raw[100] ^= 0xFF  # same size, different content
    f2013.write_bytes(bytes(raw))
    f2014.unlink()
    report = zl.verify("zl")
    problems = {Path(p.path).parent.name: p.problem for p in report.problems}
    assert problems == {
        "year=2012": "size mismatch",
        "year=2013": "checksum mismatch",
        "year=2014": "missing",
    }
    assert not report.ok


def test_unknown_bundle_error_names_it_and_suggests(zl: Catalog):
    with pytest.raises(BundleNotFound, match=r"no bundle named 'zk'.*Did you mean 'zl'"):
        zl.bundle("zk")


def test_bundle_without_ingestion(catalog: Catalog, csvdir: Path):
    catalog.register("empty", adapter=CSVAdapter.from_csvdir(csvdir))
    with pytest.raises(IngestionNotFound, match="has no ingestion yet"):
        catalog.bundle("empty")


@pytest.mark.parametrize("name", ["../evil", "a/b", "a\\b", "..", "", ".hidden", "x..y", "a b"])
def test_bad_bundle_names_are_refused(catalog: Catalog, csvdir: Path, name: str):
    with pytest.raises(InvalidBundleName):
        catalog.register(name, adapter=CSVAdapter.from_csvdir(csvdir))


def test_unregister_removes_files(zl: Catalog):
    zl.unregister("zl")
    assert "zl" not in zl
    assert not (zl.root / "bundles" / "zl").exists()


def test_summary_table(zl: Catalog):
    row = zl.summary().row(0, named=True)
    assert row["bundle"] == "zl"
    assert row["assets"] == 4
    assert row["rows"] == 3016
    assert row["size_bytes"] > 0


@pytest.mark.parametrize("name", ["abc\n", "abc\n\n", "a\nb"])
def test_names_with_newlines_are_refused(catalog: Catalog, csvdir: Path, name: str):
    with pytest.raises(InvalidBundleName):
        catalog.register(name, adapter=CSVAdapter.from_csvdir(csvdir))


def test_an_append_builds_on_the_live_ingestion_read_under_the_lock(catalog: Catalog, csvdir: Path):
    """An append that saw the bundle record before another append committed keeps that append's bars."""
    from rustybt.data.catalog.ingest import IngestOptions, run_ingestion

    catalog.register("zl", adapter=CSVAdapter.from_csvdir(csvdir), calendar="XNYS", symbols=["AAPL"])
    catalog.ingest("zl", progress=False)
    stale = catalog.store.get_bundle("zl")
    catalog.ingest("zl", "append", symbols=["KO"], progress=False)
    run_ingestion(
        catalog.store,
        catalog.root,
        "zstd",
        stale,
        IngestOptions(mode="append", symbols=["IBM"], progress=False),
        CSVAdapter.from_csvdir(csvdir),
    )
    assert catalog.bundle("zl").symbols == ["AAPL", "IBM", "KO"]
