"""ZiplineBundleAdapter: the adapter frame form, asset info, adjustments, source discovery and bad input."""

from __future__ import annotations

import shutil
import sys

import polars as pl
import pytest
from _legacy_data import HDF5, INGESTION, MINUTE_INGESTION, read_csv_ints

from rustybt.data.adapters.base import ADJUSTMENT_SCHEMA, adapter_class
from rustybt.data.legacy import LegacyDependencyMissing, NotAZiplineBundle, ZiplineBundleAdapter
from rustybt.errors import RustyBTError, SymbolNotFound


@pytest.fixture(scope="module")
def adapter() -> ZiplineBundleAdapter:
    return ZiplineBundleAdapter(INGESTION)


def test_registered_under_zipline_bundle():
    assert adapter_class("zipline-bundle") is ZiplineBundleAdapter


def test_symbols_come_from_the_asset_db(adapter):
    assert adapter.symbols() == ["AAPL", "IBM", "KO", "MSFT"]
    assert adapter.symbol_of_sid == {0: "AAPL", 1: "IBM", 2: "KO", 3: "MSFT"}
    assert adapter.calendar_name == "XNYS" and adapter.resolution == "1d"


def test_frame_is_exact_three_decimal_prices(adapter):
    frame = adapter.fetch_sync(["KO"], "2012-08-09", "2012-08-14")
    assert frame.columns == ["timestamp", "symbol", "open", "high", "low", "close", "volume"]
    assert frame.schema["timestamp"] == pl.Datetime("ns", "UTC")
    assert all(frame.schema[c] == pl.Decimal(38, 3) for c in ("open", "high", "low", "close"))
    assert frame.schema["volume"] == pl.Int64
    ko = read_csv_ints("KO")
    days = frame.get_column("timestamp").dt.strftime("%Y-%m-%d").to_list()
    assert days == ["2012-08-09", "2012-08-10", "2012-08-13", "2012-08-14"]
    for row, day in zip(frame.iter_rows(named=True), days, strict=True):
        for f in ("open", "high", "low", "close"):
            assert row[f] * 1000 == ko[day][f]  # Decimal: exact
        assert row["volume"] == ko[day]["volume"]


def test_a_zero_is_no_bar_and_gives_no_row(tmp_path):
    bcolz = pytest.importorskip("bcolz")
    target = tmp_path / "ing"
    shutil.copytree(INGESTION, target)
    table = bcolz.ctable(rootdir=str(target / "daily_equities.bcolz"), mode="a")
    for col in ("open", "high", "low", "close", "volume"):
        table.cols[col][10] = 0  # AAPL, 2012-01-18
    table.cols["open"][11] = 0  # AAPL 2012-01-19: open missing only
    table.flush()
    frame = ZiplineBundleAdapter(target).fetch_sync(["AAPL"], "2012-01-17", "2012-01-20")
    assert frame.get_column("timestamp").dt.strftime("%d").to_list() == ["17", "19", "20"]
    assert frame.get_column("open").null_count() == 1  # a lone zero price is a missing value, not 0.000


def test_info_has_the_asset_record_fields(adapter):
    bars = {b.symbol: b for b in adapter.iter_bars(None, None, None)}
    info = bars["AAPL"].info
    assert info["asset_class"] == "equity" and info["exchange"] == "CSVDIR" and info["asset_name"] == ""
    assert info["zipline_sid"] == 0 and info["country_code"] == "US"
    assert info["symbol_history"] == [["AAPL", "2012-01-03T00:00:00", "2014-12-31T00:00:00"]]
    assert bars["AAPL"].bars.height == 754 and bars["AAPL"].source.endswith("daily_equities.bcolz")


def test_futures_info_and_symbol_changes_from_the_minute_ingestion():
    adapter = ZiplineBundleAdapter(MINUTE_INGESTION, frequency="minute")
    assert adapter.resolution == "1m" and adapter.symbols() == ["NEWCO", "CLF15"]
    future = adapter.info(12345)
    assert future["asset_class"] == "future" and future["root_symbol"] == "CL"
    assert future["expiration_date"] == "2014-12-19T00:00:00" and future["auto_close_date"] == "2014-12-17T00:00:00"
    assert future["multiplier"] == 1000.0 and future["exchange"] == "NYMEX"
    assert [s for s, _, _ in adapter.info(1)["symbol_history"]] == ["OLDCO", "NEWCO"]
    frame = adapter.fetch_sync(["CLF15"], "2014-11-28", "2014-11-28")
    first, last = frame.get_column("timestamp").min(), frame.get_column("timestamp").max()
    assert str(first) >= "2014-11-28 14:30:00+00:00" and str(last) <= "2014-11-28 17:59:00+00:00"  # early close


def test_adjustments_in_the_adjustment_schema_with_zipline_ratios(adapter):
    adj = adapter.adjustments()
    assert adj.schema == pl.Schema(ADJUSTMENT_SCHEMA)
    counts = dict(adj.group_by("kind").len().iter_rows())
    assert counts == {"split": 2, "dividend": 46}
    splits = adj.filter(pl.col("kind") == "split")
    assert splits.select("symbol", pl.col("effective_date").dt.strftime("%Y-%m-%d"), "ratio").rows() == [
        ("AAPL", "2014-06-09", pytest.approx(1 / 7, rel=1e-15)),
        ("KO", "2012-08-13", 0.5),
    ]
    dividends = adj.filter(pl.col("kind") == "dividend")
    assert dividends.get_column("ratio").null_count() == 0 and dividends.get_column("amount").null_count() == 0
    assert adapter.adjustments(["KO"]).get_column("symbol").unique().to_list() == ["KO"]


def test_unknown_symbol_is_an_error_naming_it(adapter):
    with pytest.raises(SymbolNotFound, match="'aapl' is not a symbol.*did you mean 'AAPL'"):
        adapter.fetch_sync(["aapl"], None, None)


def test_config_round_trip(adapter):
    config = adapter.to_config()
    assert config == {"source": str(INGESTION), "frequency": "daily"}
    again = ZiplineBundleAdapter.from_config(config)
    assert again.fetch_sync(["MSFT"], "2014-12-01", "2014-12-31").equals(
        adapter.fetch_sync(["MSFT"], "2014-12-01", "2014-12-31")
    )


def test_hdf5_source_serves_the_same_frame(adapter):
    h5 = ZiplineBundleAdapter(
        HDF5, assets_db=INGESTION / "assets-7.sqlite", adjustments_db=INGESTION / "adjustments.sqlite"
    )
    assert h5.source.kind == "hdf5"
    assert h5.fetch_sync(adapter.symbols(), None, None).equals(adapter.fetch_sync(adapter.symbols(), None, None))
    assert h5.adjustments().equals(adapter.adjustments())


def test_hdf5_without_databases_names_symbols_by_sid(tmp_path):
    shutil.copy(HDF5, tmp_path / "daily_bars.h5")
    lonely = ZiplineBundleAdapter(tmp_path / "daily_bars.h5")
    assert lonely.symbols() == ["SID0", "SID1", "SID2", "SID3"] and lonely.adjustments().height == 0


# --- source discovery and bad input -----------------------------------------------------------------------------


def test_a_bundle_directory_uses_its_latest_ingestion(tmp_path):
    bundle = tmp_path / "csvdir"
    shutil.copytree(INGESTION, bundle / "2024-01-05T10;00;00.000000")
    shutil.copytree(INGESTION, bundle / "2024-03-01T09;30;00.000000")
    adapter = ZiplineBundleAdapter(bundle)
    assert adapter.source.root.name == "2024-03-01T09;30;00.000000"


def test_a_directory_without_zipline_files_lists_what_was_expected(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(NotAZiplineBundle) as err:
        ZiplineBundleAdapter(tmp_path)
    message = str(err.value)
    for expected in ("daily_equities.bcolz/", "minute_equities.bcolz/", "assets-<N>.sqlite", "adjustments.sqlite"):
        assert expected in message
    assert "found: notes.txt" in message


def test_missing_files_are_named(ingestion_copy):
    (ingestion_copy / "adjustments.sqlite").unlink()
    with pytest.raises(
        NotAZiplineBundle, match="incomplete zipline ingestion for daily bars: missing adjustments.sqlite"
    ):
        ZiplineBundleAdapter(ingestion_copy)
    shutil.rmtree(ingestion_copy / "daily_equities.bcolz")
    (ingestion_copy / "assets-7.sqlite").unlink()
    with pytest.raises(
        NotAZiplineBundle, match=r"missing daily_equities.bcolz/, assets-<N>.sqlite, adjustments.sqlite"
    ):
        ZiplineBundleAdapter(ingestion_copy)


def test_a_file_that_is_not_hdf5(tmp_path):
    (tmp_path / "bars.csv").write_text("date,close\n")
    with pytest.raises(NotAZiplineBundle, match="not a zipline bundle"):
        ZiplineBundleAdapter(tmp_path / "bars.csv")
    with pytest.raises(NotAZiplineBundle, match="no such file or directory"):
        ZiplineBundleAdapter(tmp_path / "nope")


def test_missing_bcolz_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "bcolz", None)  # import bcolz -> ImportError
    adapter = ZiplineBundleAdapter(INGESTION)
    with pytest.raises(LegacyDependencyMissing, match=r"pip install 'rustybt\[legacy\]'") as err:
        adapter.reader  # noqa: B018
    assert isinstance(err.value, RustyBTError) and isinstance(err.value, ImportError)


def test_importing_the_package_does_not_import_bcolz_or_h5py():
    import subprocess

    code = "import sys, rustybt.data.legacy; print(','.join(m for m in ('bcolz', 'h5py') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
