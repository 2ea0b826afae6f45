"""One front door for bundles: ``Catalog.register/ingest``, ``rustybt.data.bundles.register/ingest`` and
``Bundle.ingest`` are one implementation with one set of defaults.

Everything runs on the shipped sample data (data/sample) into a real catalog in tmp_path; the expected bars are
read from the CSV files with plain pandas.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from rustybt import Catalog
from rustybt.data import bundles
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.catalog.ingest import resolve_mode
from rustybt.data.catalog.metadata import BundleRecord
from rustybt.data.validation import ValidationConfig
from rustybt.errors import IngestionError, InvalidArgument
from rustybt.sample import sample_data_dir

SAMPLE = sample_data_dir()
EQUITIES = SAMPLE / "equities"


@pytest.fixture(autouse=True)
def _forget_live_adapters():
    yield
    bundles._LIVE_ADAPTERS.clear()


def csv_bars(symbol: str, start: str, end: str) -> pd.DataFrame:
    """The sample CSV rows of ``symbol`` between two dates (inclusive), as the independent expectation."""
    frame = pd.read_csv(EQUITIES / "daily" / f"{symbol}.csv", parse_dates=["date"])
    frame = frame[(frame["date"] >= start) & (frame["date"] <= end)]
    return frame[["date", "open", "high", "low", "close", "volume"]].reset_index(drop=True)


def assert_bars_match_csv(bars: pl.DataFrame, symbols: list[str], start: str, end: str) -> None:
    assert sorted(bars["symbol"].unique().to_list()) == sorted(symbols)
    for symbol in symbols:
        got = bars.filter(pl.col("symbol") == symbol).to_pandas()
        expected = csv_bars(symbol, start, end)
        assert len(got) == len(expected) > 0, symbol
        assert list(got["timestamp"].dt.tz_convert(None)) == list(expected["date"]), symbol
        for col in ("open", "high", "low", "close", "volume"):
            assert got[col].to_numpy() == pytest.approx(expected[col].to_numpy(dtype=float), rel=0, abs=0), col


def registration(record: BundleRecord) -> tuple:
    """What a registration decides (everything but its name and creation time)."""
    return (record.adapter, record.adapter_params, record.calendar, record.resolution, record.options)


# --- one set of defaults ---------------------------------------------------------------------------------------


def test_both_spellings_store_the_same_registration_with_the_catalogs_defaults(catalog: Catalog):
    adapter = CSVAdapter.from_csvdir(EQUITIES)
    by_catalog = catalog.register("a", adapter, symbols=["AAPL", "KO"], start_date="2013-01-01", end_date="2013-12-31")
    by_bundles = bundles.register(
        bundle_name="b",
        adapter=adapter,
        symbols=["AAPL", "KO"],
        start_date="2013-01-01",
        end_date="2013-12-31",
        catalog=catalog,
    )
    assert registration(by_catalog) == registration(by_bundles)
    opts = by_catalog.options
    assert by_catalog.calendar == "XNYS" and by_catalog.resolution == "1d"
    assert opts["strict"] is True and opts["overlap"] == 1 and opts["exchange"] == ""
    assert opts["validation"]["mode"] == "strict" and opts["validation"]["max_abs_return"] == 0.5
    assert pd.Timestamp(opts["start_date"]) == pd.Timestamp("2013-01-01", tz="UTC")


def test_crypto_adapters_get_the_24_7_calendar_and_the_crypto_preset_on_both_spellings(catalog: Catalog):
    adapter = CSVAdapter(SAMPLE / "crypto" / "1h", resolution="1h", asset_class="crypto_spot")
    by_catalog = catalog.register("a", adapter, validation="lenient")
    by_bundles = bundles.register("b", adapter, catalog=catalog, validation="lenient")
    assert registration(by_catalog) == registration(by_bundles)
    assert by_catalog.calendar == "24/7" and by_catalog.resolution == "1h"
    validation = by_catalog.options["validation"]
    assert validation["mode"] == "lenient" and validation["max_abs_return"] == 0.75  # ValidationConfig.crypto


def test_bundles_register_takes_ziplines_calendar_name(catalog: Catalog):
    record = bundles.register("b", CSVAdapter.from_csvdir(EQUITIES), calendar_name="XNYS", catalog=catalog)
    assert record.calendar == "XNYS"
    with pytest.raises(InvalidArgument, match="calendar_name"):
        bundles.register("c", CSVAdapter.from_csvdir(EQUITIES), calendar="24/7", calendar_name="XNYS", catalog=catalog)
    with pytest.raises(InvalidArgument, match="start_date"):
        catalog.register("d", CSVAdapter.from_csvdir(EQUITIES), start_date="not a date")


# --- end to end ------------------------------------------------------------------------------------------------


def test_reference_spelling_end_to_end_register_ingest_and_bundle_ingest(catalog: Catalog):
    bundles.register(
        bundle_name="eq",
        adapter=CSVAdapter.from_csvdir(EQUITIES),
        symbols=["AAPL", "ZZA"],
        start_date="2013-01-01",
        end_date="2013-12-31",
        catalog=catalog,
    )
    first = bundles.ingest("eq", catalog=catalog, show_progress=False)
    assert (first.mode, first.n_assets, first.rows) == ("replace", 2, 2 * 252)
    bundle = catalog.bundle("eq")
    assert_bars_match_csv(bundle.bars(), ["AAPL", "ZZA"], "2013-01-01", "2013-12-31")

    # the reference documentation's call on a Bundle: the same ingestion, arguments override the registration
    second = bundle.ingest(
        symbols=["AAPL", "IBM"], start_date="2014-01-01", end_date="2014-06-30", n_workers=4, progress=False
    )
    assert second.mode == "replace"  # a file source is read again whole
    assert catalog.live_ingestion("eq").id == second.id
    assert_bars_match_csv(catalog.bundle("eq").bars(), ["AAPL", "IBM"], "2014-01-01", "2014-06-30")
    # the Bundle in hand stays pinned to the ingestion it was opened on
    assert bundle.ingestion_id == first.id
    assert_bars_match_csv(bundle.bars(), ["AAPL", "ZZA"], "2013-01-01", "2013-12-31")


def test_catalog_and_bundles_spellings_store_identical_bars(tmp_path: Path):
    kwargs = {"symbols": ["KO", "ZZB"], "start_date": "2012-06-01", "end_date": "2014-06-30"}
    one = Catalog(root=tmp_path / "one")
    one.register("eq", CSVAdapter.from_csvdir(EQUITIES), **kwargs)
    one.ingest("eq", progress=False)
    two = Catalog(root=tmp_path / "two")
    bundles.register("eq", CSVAdapter.from_csvdir(EQUITIES), catalog=two, **kwargs)
    bundles.ingest("eq", catalog=two, progress=False)
    a, b = one.bundle("eq"), two.bundle("eq")
    assert a.bars(exact=True).equals(b.bars(exact=True))
    assert a.adjustments().equals(b.adjustments())
    assert_bars_match_csv(a.bars(), ["KO", "ZZB"], "2012-06-01", "2014-06-30")


def test_bundles_default_catalog_is_the_one_at_rustybt_data_dir(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("RUSTYBT_DATA_DIR", str(tmp_path / "env-root"))
    bundles.register("eq", CSVAdapter.from_csvdir(EQUITIES), ["MSFT"], "2014-12-01", "2014-12-31")
    bundles.ingest("eq", progress=False)
    bars = Catalog(root=tmp_path / "env-root").bundle("eq").bars()
    assert_bars_match_csv(bars, ["MSFT"], "2014-12-01", "2014-12-31")


@pytest.mark.parametrize("spelling", ["catalog", "bundles", "bundle"])
def test_strict_is_the_default_everywhere_and_strict_false_keeps_what_loaded(catalog: Catalog, spelling: str):
    adapter = CSVAdapter.from_csvdir(EQUITIES)
    bundles.register("eq", adapter, ["KO"], "2014-01-01", "2014-03-31", catalog=catalog)
    live = catalog.ingest("eq", progress=False)
    ingest = {
        "catalog": lambda **kw: catalog.ingest("eq", progress=False, **kw),
        "bundles": lambda **kw: bundles.ingest("eq", catalog=catalog, progress=False, **kw),
        "bundle": lambda **kw: catalog.bundle("eq").ingest(progress=False, **kw),
    }[spelling]
    with pytest.raises(IngestionError, match="nothing was changed") as refused:
        ingest(symbols=["KO", "NOPE"])
    assert "NOPE: csv: no data for symbol 'NOPE'" in str(refused.value)
    assert catalog.live_ingestion("eq").id == live.id
    partial = ingest(symbols=["KO", "NOPE"], strict=False)
    assert list(partial.failures) == ["NOPE"] and catalog.bundle("eq").symbols == ["KO"]
    assert_bars_match_csv(catalog.bundle("eq").bars(), ["KO"], "2014-01-01", "2014-03-31")


# --- the default mode ------------------------------------------------------------------------------------------


class _PerSymbolStarts:
    """An adapter shape that fetches from a date per symbol (what every network adapter's iter_bars takes)."""

    def iter_bars(self, symbols, start_date, end_date, resolution="1d", n_workers=1, starts=None):  # pragma: no cover
        return iter(())


def _record(options: dict, live: str | None) -> BundleRecord:
    return BundleRecord("b", "x", {}, "XNYS", "1d", options, "", live)


def test_default_mode_is_an_incremental_append_only_where_the_source_can_do_it():
    csv = CSVAdapter.from_csvdir(EQUITIES)
    network = _PerSymbolStarts()
    incremental = _record({"overlap": 1}, "live")
    assert resolve_mode(None, incremental, network) == "append"
    assert resolve_mode(None, incremental, csv) == "replace"  # file sources are read again whole
    assert resolve_mode(None, _record({}, "live"), network) == "replace"  # registered with overlap=None
    assert resolve_mode(None, _record({"overlap": 1}, None), network) == "replace"  # the first ingest
    assert resolve_mode("append", _record({"overlap": 1}, None), csv) == "replace"
    assert resolve_mode("append", incremental, csv) == "append"
    assert resolve_mode("replace", incremental, network) == "replace"


def test_an_ingest_in_this_process_reuses_the_registered_adapter_object(catalog: Catalog):
    adapter = CSVAdapter.from_csvdir(EQUITIES)
    calls = []
    original = adapter.iter_bars

    def counting(*args, **kwargs):
        calls.append(list(args[0]))
        return original(*args, **kwargs)

    adapter.iter_bars = counting
    record = catalog.register("eq", adapter, symbols=["IBM"], start_date="2014-01-01", end_date="2014-01-31")
    Catalog(root=catalog.root).ingest("eq", progress=False)  # another Catalog object over the same root
    assert calls == [["IBM"]]
    # registered again elsewhere (another process) with other parameters: the object no longer describes the
    # registration, so the ingest rebuilds the adapter from what is stored
    other = CSVAdapter.from_csvdir(EQUITIES, missing="skip")
    catalog.store.add_bundle(replace(record, adapter_params=other.to_config()), overwrite=True)
    catalog.ingest("eq", progress=False)
    assert calls == [["IBM"]]
    assert_bars_match_csv(catalog.bundle("eq").bars(), ["IBM"], "2014-01-01", "2014-01-31")


def test_a_validation_mode_at_ingest_keeps_the_registered_thresholds(catalog: Catalog, tmp_path: Path):
    """``ingest(validation="lenient")`` changes the mode only: a crypto bundle keeps the crypto preset's 75% jump
    threshold, a bundle registered with the plain config keeps its 50% (a +60% bar is a price_jump there)."""
    folder = tmp_path / "1h"
    folder.mkdir()
    stamps = pd.date_range("2024-01-01", periods=6, freq="h", tz="UTC")
    closes = [100, 101, 162, 163, 164, 165]
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{t:%Y-%m-%dT%H:%M:%SZ},{c},{c},{c},{c},1" for t, c in zip(stamps, closes, strict=True)]
    (folder / "BTC-USDT.csv").write_text("\n".join(lines) + "\n")
    crypto = CSVAdapter(folder, resolution="1h", asset_class="crypto_spot")
    catalog.register("preset", crypto)
    catalog.register("plain", crypto, validation=ValidationConfig())
    assert catalog.ingest("preset", progress=False, validation="lenient").report.counts() == {}
    assert catalog.ingest("plain", progress=False, validation="lenient").report.counts() == {"price_jump": 1}
