"""migrate(): zipline bundle -> Parquet bundle on top of the catalog's atomic ingest, validated value by value."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from _legacy_data import HDF5, INGESTION, MINUTE_INGESTION, SYMBOLS, read_csv_ints

from rustybt import Catalog
from rustybt.data.legacy import MigrationMismatch, MigrationReport, ZiplineBundleAdapter, migrate
from rustybt.data.legacy import adapter as adapter_module
from rustybt.errors import BundleExists, IngestionError, ValidationError


@pytest.fixture
def migrated(catalog: Catalog) -> MigrationReport:
    return migrate(catalog, INGESTION, "zl", progress=False)


def test_migrated_bars_equal_the_csv_source_to_zipline_precision(catalog, migrated):
    bars = catalog.bundle("zl").bars(exact=True)
    assert bars.height == 4 * 754
    for symbol in SYMBOLS:
        expected = read_csv_ints(symbol)
        rows = bars.filter(pl.col("symbol") == symbol)
        assert rows.height == len(expected)
        for row in rows.iter_rows(named=True):
            want = expected[row["timestamp"].strftime("%Y-%m-%d")]
            for f in ("open", "high", "low", "close"):
                assert row[f] * 1000 == want[f], (symbol, row["timestamp"], f)  # exact decimals
            assert row["volume"] == want["volume"]
    floats = catalog.bundle("zl").bars("AAPL", start="2014-06-09", end="2014-06-09")
    assert floats.get_column("close").to_list() == [read_csv_ints("AAPL")["2014-06-09"]["close"] / 1000]


def test_adjustments_arrive_with_zipline_ratios(catalog, migrated):
    adj = catalog.bundle("zl").adjustments()
    splits = adj.filter(pl.col("kind") == "split").select("symbol", pl.col("effective_date").cast(pl.String), "ratio")
    assert splits.sort("symbol").rows() == [
        ("AAPL", "2014-06-09", pytest.approx(1 / 7, rel=1e-15)),
        ("KO", "2012-08-13", 0.5),
    ]
    dividends = adj.filter(pl.col("kind") == "dividend")
    assert dividends.height == 46
    first = dividends.filter(pl.col("symbol") == "AAPL").sort("effective_date").row(0, named=True)
    assert str(first["effective_date"]) == "2012-08-09"
    assert first["ratio"] == 0.9957248365348782 and first["amount"] == 0.37857  # zipline's own ratio, kept


def test_report_counts(catalog, migrated):
    report = migrated
    assert (report.rows, report.assets) == (3016, 4)
    assert report.adjustments == {"dividend": 46, "split": 2}
    assert report.validated and report.ok and report.mismatches == [] and report.mismatch_count == 0
    assert report.values_compared == 3016 * 5
    assert report.sid_map == {0: 0, 1: 1, 2: 2, 3: 3}
    assert report.source_kind == "bcolz" and report.frequency == "daily"
    assert report.bytes_before == sum(
        f.stat().st_size for f in (INGESTION / "daily_equities.bcolz").rglob("*") if f.is_file()
    )
    assert report.bytes_after == sum(f.stat().st_size for f in catalog.bundle("zl").path.rglob("*") if f.is_file())
    assert report.seconds >= report.validation_seconds > 0
    text = repr(report)
    assert "rows         3,016" in text and "OK: 15,080 values identical" in text
    assert report.ingestion_id == catalog.bundle("zl").ingestion_id


def test_asset_records_keep_zipline_metadata(catalog, migrated):
    records = catalog.store.assets("zl", migrated.ingestion_id)
    aapl = next(r for r in records if r["symbol"] == "AAPL")
    assert aapl["zipline_sid"] == 0 and aapl["exchange"] == "CSVDIR" and aapl["asset_class"] == "equity"
    assert aapl["start_date"] == "2012-01-03T00:00:00" and aapl["rows"] == 754


def test_html_report_escapes(catalog):
    report = MigrationReport(
        bundle="<b>",
        ingestion_id="x",
        source="a&b",
        source_kind="bcolz",
        frequency="daily",
        rows=1,
        assets=1,
        adjustments={},
        validated=True,
    )
    page = report._repr_html_()
    assert "&lt;b&gt;" in page and "a&amp;b" in page and "<b>" not in page


def test_hdf5_migration_equals_the_bcolz_one(catalog, migrated):
    report = migrate(
        catalog,
        HDF5,
        "zl-h5",
        progress=False,
        compression="snappy",
        assets_db=INGESTION / "assets-7.sqlite",
        adjustments_db=INGESTION / "adjustments.sqlite",
    )
    assert report.ok and report.source_kind == "hdf5" and report.rows == 3016
    a = catalog.bundle("zl").bars(exact=True)
    b = catalog.bundle("zl-h5").bars(exact=True)
    assert a.equals(b)
    assert catalog.bundle("zl-h5").adjustments().equals(catalog.bundle("zl").adjustments())


def test_minute_migration_is_validated(catalog):
    report = migrate(catalog, MINUTE_INGESTION, "zl-min", progress=False, frequency="minute")
    assert report.ok and report.frequency == "minute" and report.assets == 2
    bundle = catalog.bundle("zl-min")
    assert bundle.resolution == "1m"
    future = next(a for a in bundle.assets if a.symbol == "CLF15")
    assert future.asset_class == "future" and future.root_symbol == "CL" and future.multiplier == 1000.0
    assert str(future.expiration_date.date()) == "2014-12-19"
    assert bundle.adjustments().rows() and bundle.adjustments().row(0, named=True)["symbol"] == "NEWCO"


def test_existing_bundle_is_refused_unless_overwrite(catalog, migrated):
    before = catalog.bundle("zl").ingestion_id
    with pytest.raises(BundleExists, match="--overwrite"):
        migrate(catalog, INGESTION, "zl", progress=False)
    assert catalog.bundle("zl").ingestion_id == before
    report = migrate(catalog, INGESTION, "zl", progress=False, overwrite=True, validate=False)
    assert report.ingestion_id != before and not report.validated and not report.ok
    assert catalog.bundle("zl").ingestion_id == report.ingestion_id
    assert len(catalog.ingestions("zl")) == 2


def _explode_after(monkeypatch, n: int, exc: BaseException) -> None:
    """Make the adapter raise after yielding ``n`` symbols: the failure arrives in the middle of the ingest."""
    original = ZiplineBundleAdapter.iter_bars

    def iter_bars(self, *args, **kwargs):
        for i, item in enumerate(original(self, *args, **kwargs)):
            if i == n:
                raise exc
            yield item

    monkeypatch.setattr(ZiplineBundleAdapter, "iter_bars", iter_bars)


def _visible_dirs(catalog: Catalog, name: str) -> list[Path]:
    directory = catalog.root / "bundles" / name
    if not directory.exists():
        return []
    staged = list((directory / ".staging").iterdir()) if (directory / ".staging").exists() else []
    return staged + [p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")]


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_interrupted_migration_leaves_no_bundle(catalog, monkeypatch, exc):
    _explode_after(monkeypatch, 2, exc)
    with pytest.raises((IngestionError, KeyboardInterrupt)):
        migrate(catalog, INGESTION, "zl", progress=False)
    assert "zl" not in catalog.bundles()
    assert _visible_dirs(catalog, "zl") == []


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_interrupted_overwrite_keeps_the_previous_bundle(catalog, monkeypatch, csvdir, exc):
    from rustybt.data.adapters.csv import CSVAdapter

    catalog.register("zl", CSVAdapter.from_csvdir(csvdir))
    catalog.ingest("zl", progress=False)
    before = catalog.bundle("zl")
    bars = before.bars(exact=True)
    record = catalog.store.get_bundle("zl")
    _explode_after(monkeypatch, 3, exc)
    with pytest.raises((IngestionError, KeyboardInterrupt)):
        migrate(catalog, INGESTION, "zl", progress=False, overwrite=True)
    after = catalog.bundle("zl")
    assert after.ingestion_id == before.ingestion_id and after.bars(exact=True).equals(bars)
    assert catalog.store.get_bundle("zl") == record  # the registration (source) is the old one again
    assert [p.name for p in _visible_dirs(catalog, "zl")] == [before.ingestion_id]


def test_a_bad_source_registers_nothing(catalog, ingestion_copy):
    (ingestion_copy / "daily_equities.bcolz" / "close" / "data" / "__0.blp").write_bytes(b"blpk")
    with pytest.raises(Exception, match="truncated or damaged"):
        migrate(catalog, ingestion_copy, "zl", progress=False)
    assert "zl" not in catalog.bundles()


def test_a_changed_value_is_found_by_validation(catalog, monkeypatch):
    """Validation reads the source independently of the adapter: a value altered on the way is reported."""
    original = adapter_module.raw_to_adapter_frame

    def tampered(raw, symbols, ratios):
        frame = original(raw, symbols, ratios)
        row = (pl.col("symbol") == "IBM") & (pl.col("timestamp").dt.strftime("%Y-%m-%d") == "2012-01-10")
        bump = pl.when(row).then(pl.col("close") + 1).otherwise(pl.col("close"))
        return frame.with_columns(bump.cast(frame.schema["close"]).alias("close"))

    monkeypatch.setattr(adapter_module, "raw_to_adapter_frame", tampered)
    with pytest.raises(MigrationMismatch) as err:
        migrate(catalog, INGESTION, "zl", progress=False)
    report = err.value.report
    assert report.mismatch_count == 1
    m = report.mismatches[0]
    assert (m.symbol, m.sid, m.field, str(m.timestamp.date())) == ("IBM", 1, "close", "2012-01-10")
    assert m.migrated - m.source == 1000
    assert "differs from" in str(err.value) and "IBM" in str(err.value)


def test_a_dropped_bar_is_found_by_validation(catalog, monkeypatch):
    original = adapter_module.raw_to_adapter_frame

    def dropping(raw, symbols, ratios):
        frame = original(raw, symbols, ratios)
        return frame.filter(~((pl.col("symbol") == "MSFT") & (pl.col("timestamp") == pl.col("timestamp").min())))

    monkeypatch.setattr(adapter_module, "raw_to_adapter_frame", dropping)
    with pytest.raises(MigrationMismatch) as err:
        migrate(catalog, INGESTION, "zl", progress=False)
    kinds = sorted((m.field, m.source, m.migrated) for m in err.value.report.mismatches)
    assert kinds == [("bar", "bar", None), ("rows", 754, 753)]


def test_invalid_source_bars_stop_a_strict_migration_and_are_counted_in_a_lenient_one(catalog, ingestion_copy):
    bcolz = pytest.importorskip("bcolz")
    table = bcolz.ctable(rootdir=str(ingestion_copy / "daily_equities.bcolz"), mode="a")
    table.cols["high"][20] = 1000  # AAPL 2012-02-01: high 1.000 below its low
    table.flush()
    with pytest.raises(ValidationError):
        migrate(catalog, ingestion_copy, "zl", progress=False)
    assert "zl" not in catalog.bundles()
    report = migrate(catalog, ingestion_copy, "zl", progress=False, validation="lenient")
    assert report.ok and report.dropped == 1 and report.rows == 3015
    assert "1 invalid source bar(s) dropped" in repr(report)


def test_the_migrated_bundle_can_be_re_ingested_from_its_stored_source(catalog, migrated):
    assert catalog.bundle("zl").source == {
        "adapter": "zipline-bundle",
        "params": {"source": str(INGESTION), "frequency": "daily"},
    }
    again = catalog.ingest("zl", progress=False)  # rebuilt from the registration: the adapter registry knows it
    assert again.rows == 3016 and catalog.bundle("zl").bars(exact=True).equals(
        catalog.bundle("zl", migrated.ingestion_id).bars(exact=True)
    )
