"""zipline's asset and adjustment databases: supported versions, symbol history, futures, adjustments."""

from __future__ import annotations

import shutil
import sqlite3

import pandas as pd
import pytest
from _legacy_data import INGESTION, MINUTE_INGESTION, ZIPLINE

from rustybt.data.legacy import (
    SUPPORTED_ASSET_DB_VERSIONS,
    NotAZiplineBundle,
    UnsupportedLegacyVersion,
    read_adjustments,
    read_asset_db,
)
from rustybt.data.legacy.errors import CorruptLegacyData
from rustybt.data.legacy.zipline_db import find_asset_db


def test_supported_versions_are_listed_explicitly():
    assert SUPPORTED_ASSET_DB_VERSIONS == (5, 6, 7)


def test_version_7_equities_with_exchange_country():
    db = read_asset_db(INGESTION / "assets-7.sqlite")
    assert db.version == 7 and db.sids == [0, 1, 2, 3]
    aapl = db.assets[0]
    assert (aapl.symbol, aapl.asset_class, aapl.exchange, aapl.country_code) == ("AAPL", "equity", "CSVDIR", "US")
    assert aapl.start_date == pd.Timestamp("2012-01-03") and aapl.end_date == pd.Timestamp("2014-12-31")
    assert aapl.first_traded is None  # zipline's NaT
    assert aapl.symbol_history == (("AAPL", pd.Timestamp("2012-01-03"), pd.Timestamp("2014-12-31")),)


def test_version_6_written_by_zipline_downgrade_reads_the_same_assets():
    v6 = read_asset_db(ZIPLINE / "assets-v6.sqlite")
    v7 = read_asset_db(INGESTION / "assets-7.sqlite")
    assert v6.version == 6
    assert [(a.sid, a.symbol, a.start_date, a.end_date) for a in v6.assets.values()] == [
        (a.sid, a.symbol, a.start_date, a.end_date) for a in v7.assets.values()
    ]


def test_unsupported_version_names_the_version_and_the_file():
    path = ZIPLINE / "assets-v3.sqlite"
    with pytest.raises(UnsupportedLegacyVersion) as err:
        read_asset_db(path)
    message = str(err.value)
    assert "version 3 is not supported" in message and str(path) in message and "5, 6, 7" in message


def test_missing_version_table(tmp_path):
    path = tmp_path / "assets-7.sqlite"
    shutil.copy(INGESTION / "assets-7.sqlite", path)
    with sqlite3.connect(path) as con:
        con.execute("DROP TABLE version_info")
    with pytest.raises(UnsupportedLegacyVersion, match="no version_info table"):
        read_asset_db(path)


def test_not_a_database(tmp_path):
    bogus = tmp_path / "assets-7.sqlite"
    bogus.write_text("this is not sqlite " * 100)
    with pytest.raises(CorruptLegacyData, match="not a readable SQLite database"):
        read_asset_db(bogus)
    with pytest.raises(NotAZiplineBundle, match="assets-<N>.sqlite"):
        find_asset_db(tmp_path / "nowhere")


def test_symbol_history_and_futures_contracts():
    db = read_asset_db(MINUTE_INGESTION / "assets-7.sqlite")
    equity, future = db.assets[1], db.assets[12345]
    assert equity.symbol == "NEWCO"  # the symbol held last
    assert [s for s, _, _ in equity.symbol_history] == ["OLDCO", "NEWCO"]
    assert future.asset_class == "future" and future.symbol == "CLF15" and future.root_symbol == "CL"
    assert future.expiration_date == pd.Timestamp("2014-12-19") and future.auto_close_date == pd.Timestamp("2014-12-17")
    assert future.multiplier == 1000.0 and future.tick_size == 0.01 and future.exchange == "NYMEX"


def test_adjustments_carry_zipline_ratios():
    adj = read_adjustments(INGESTION / "adjustments.sqlite")
    assert adj.counts() == {
        "splits": 2,
        "mergers": 0,
        "dividends": 46,
        "dividend_payouts": 46,
        "stock_dividend_payouts": 0,
    }
    splits = {(r["sid"], str(r["effective_date"].date())): r["ratio"] for r in adj.splits.iter_rows(named=True)}
    assert splits == {(0, "2014-06-09"): pytest.approx(1 / 7, rel=1e-15), (2, "2012-08-13"): 0.5}
    first = adj.dividends.row(0, named=True)
    assert first["sid"] == 0 and str(first["effective_date"].date()) == "2012-08-09"
    assert first["ratio"] == pytest.approx(0.9957248365348782, rel=1e-15)
    assert adj.dividend_payouts.get_column("amount")[0] == 0.37857


def test_adjustment_db_errors(tmp_path):
    with pytest.raises(NotAZiplineBundle, match="adjustments.sqlite"):
        read_adjustments(tmp_path / "adjustments.sqlite")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE t (x)")
    with pytest.raises(NotAZiplineBundle, match="not a zipline adjustment database"):
        read_adjustments(other)
