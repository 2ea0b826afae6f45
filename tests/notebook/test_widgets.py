"""The widgets, driven from Python (properties and raw widget values) without a browser."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from rustybt.assets import Equity
from rustybt.errors import BundleNotFound, RustyBTError, SymbolNotFound
from rustybt.notebook.widgets import AUTO, BundleBrowser, PipelineExplorer

# --- BundleBrowser ---------------------------------------------------------------------------------------


@pytest.fixture
def browser(sample_catalog):
    return BundleBrowser(sample_catalog)


def test_defaults(browser):
    assert (browser.bundle, browser.symbol, browser.resolution) == ("sample", "AAPL", AUTO)
    assert (browser.start, browser.end) == (dt.date(2012, 1, 3), dt.date(2014, 12, 31))
    assert browser.bundle_dropdown.options == ("sample", "sample_crypto"), "only ingested bundles"
    assert browser.refreshes == 1 and browser.error is None
    assert browser.figure.layout.meta["candles"] == 754
    assert browser.bars.height == 754


def test_update_changes_everything_with_one_refresh(browser):
    before = browser.refreshes
    browser.update(bundle="sample_crypto", symbol="ETH-USDT", start="2024-02-01", end="2024-02-29")
    assert browser.refreshes == before + 1
    meta = browser.figure.layout.meta
    assert (meta["bundle"], meta["symbol"], meta["frequency"], meta["candles"]) == (
        "sample_crypto",
        "ETH-USDT",
        "1h",
        29 * 24,
    )
    assert browser.resolution_dropdown.options == (AUTO, "1h", "2h", "4h", "1d", "1w", "1M")


def test_whole_crypto_range_is_coarsened(sample_catalog):
    browser = BundleBrowser(sample_catalog, bundle="sample_crypto")
    assert browser.figure.layout.meta["frequency"] == "2h"
    browser.resolution = "1d"
    assert (browser.figure.layout.meta["frequency"], browser.bars.height) == ("1d", 91)


def test_setting_widget_values_directly(browser, sample_csv):
    browser.symbol_select.value = "KO"
    assert browser.figure.layout.meta["symbol"] == "KO"
    browser.start_picker.value = dt.date(2014, 3, 3)
    browser.end_picker.value = dt.date(2014, 3, 7)
    assert browser.bars.height == 5
    rows = [r for r in sample_csv("KO") if "2014-03-03" <= r["date"] <= "2014-03-07"]
    assert browser.bars.get_column("close").to_list() == [float(r["close"]) for r in rows]
    assert "2014-03-03" in browser.table.value and rows[0]["close"].rstrip("0") in browser.table.value
    browser.resolution_dropdown.value = "1w"
    assert browser.figure.layout.meta["frequency"] == "1w" and browser.bars.height == 1


def test_search_filters_symbols(browser):
    browser.search = "zz"
    assert all(s.startswith("ZZ") for s in browser.symbol_select.options)
    assert len(browser.symbol_select.options) == 26
    assert browser.symbol == "ZZA" and browser.figure.layout.meta["symbol"] == "ZZA"
    browser.search = "zzk"
    assert browser.symbol_select.options == ("ZZK",) and browser.symbol == "ZZK"
    browser.symbol = "AAPL"  # not in the filtered list: the filter is cleared
    assert browser.search == "" and browser.symbol == "AAPL"


def test_validation_summary_for_the_symbol(browser):
    browser.symbol = "ZZK"
    assert "calendar_gap" in browser.quality.value and "ZZK: " in browser.quality.value
    browser.symbol = "MSFT"
    assert "No stored violation example names MSFT" in browser.quality.value


def test_range_without_data_shows_a_message(browser):
    browser.update(start="2016-01-01", end="2016-02-01")
    assert browser.figure is None and browser.bars is None
    assert "no AAPL bars" in browser.error and "\n" not in browser.error
    assert "no AAPL bars" in browser.status.value
    browser.update(start="2014-01-01", end="2014-01-31")
    assert browser.error is None and browser.figure.layout.meta["candles"] == 21


def test_start_after_end_from_the_pickers(browser):
    browser.update(start="2014-05-01", end="2014-04-01")
    assert "after end" in browser.error


def test_bad_programmatic_settings_raise(browser):
    with pytest.raises(SymbolNotFound, match="APPL"):
        browser.symbol = "APPL"
    with pytest.raises(BundleNotFound):
        browser.bundle = "nosuch"
    with pytest.raises(RustyBTError, match="resolution '1m' is not available"):
        browser.resolution = "1m"
    with pytest.raises(TypeError, match="unknown setting"):
        browser.update(colour="red")


def test_empty_catalog(tmp_path):
    from rustybt import Catalog

    browser = BundleBrowser(Catalog(root=tmp_path / "empty"))
    assert browser.figure is None and "no ingested bundle" in browser.error


# --- PipelineExplorer ------------------------------------------------------------------------------------


@pytest.fixture
def result():
    assets = [Equity(sid=i, symbol=f"S{i}") for i in range(12)]
    dates = pd.date_range("2014-01-02", periods=5, freq="B")
    index = pd.MultiIndex.from_product([dates, assets])
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"alpha": rng.normal(size=len(index)), "beta": rng.normal(size=len(index)), "name": "x"}, index=index
    )
    frame.iloc[3, 0] = np.nan
    return frame


def test_explorer_defaults(result):
    explorer = PipelineExplorer(result)
    assert explorer.column_dropdown.options == ("alpha", "beta"), "only numeric columns"
    assert explorer.date == pd.Timestamp("2014-01-08") and explorer.asset.symbol == "S0"
    assert explorer.histogram.layout.meta["n"] == 12
    expected = result["alpha"].xs(pd.Timestamp("2014-01-08"), level=0).sort_values(ascending=False)
    assert list(explorer.top.index) == list(expected.index[:10])
    assert list(explorer.bottom.index) == list(expected.index[::-1][:10])
    assert "alpha on 2014-01-08" in explorer.table.value and "Top 10" in explorer.table.value


def test_explorer_is_driven_from_python(result):
    explorer = PipelineExplorer(result, top_n=3)
    before = explorer.refreshes
    explorer.update(column="beta", date="2014-01-02", asset="S5")
    assert explorer.refreshes == before + 1
    assert explorer.histogram.layout.meta == {
        "kind": "factor_histogram",
        "column": "beta",
        "date": "2014-01-02",
        "n": 12,
    }
    assert explorer.timeseries.layout.meta["assets"] == ["S5"]
    section = result["beta"].xs(pd.Timestamp("2014-01-02"), level=0)
    assert explorer.top.iloc[0] == section.max() and explorer.bottom.iloc[0] == section.min()
    explorer.date_slider.value = pd.Timestamp("2014-01-02")
    explorer.column_dropdown.value = "alpha"
    assert explorer.histogram.layout.meta["n"] == 11  # the NaN of S3 on 2014-01-02
    explorer.asset_dropdown.value = 7
    assert explorer.asset.symbol == "S7" and explorer.timeseries.layout.meta["assets"] == ["S7"]


def test_explorer_bad_input(result):
    explorer = PipelineExplorer(result)
    with pytest.raises(RustyBTError, match="no numeric column 'name'"):
        explorer.column = "name"
    with pytest.raises(RustyBTError, match="2015-01-01 is not in the result"):
        explorer.date = "2015-01-01"
    with pytest.raises(RustyBTError, match="indexed by \\(date, asset\\)"):
        PipelineExplorer(result.reset_index())
    with pytest.raises(RustyBTError, match="no numeric column"):
        PipelineExplorer(result[["name"]])
