"""The %rustybt magics, driven in a real IPython shell whose run_cell raises on error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from IPython.core.error import UsageError

from rustybt.errors import BundleNotFound

CSVDIR = Path(__file__).resolve().parents[1] / "resources" / "zipline-csvdir"


def _one_paragraph(message: str) -> None:
    assert "\n" not in message, message
    assert "Traceback" not in message
    assert 20 < len(message) < 900


# --- loading ---------------------------------------------------------------------------------------------


def test_load_ext_registers_line_and_cell_magic(ip):
    magics = ip.magics_manager.magics
    assert "rustybt" in magics["line"] and "rustybt" in magics["cell"]
    assert any(type(c).__name__ == "RustyBTMagics" for c in ip.configurables)


def test_import_rustybt_stays_free_of_notebook_libraries():
    code = (
        "import sys, rustybt; assert callable(rustybt.load_ipython_extension); "
        "print(','.join(m for m in ('IPython', 'ipywidgets', 'plotly', 'rustybt.notebook') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_load_ext_does_not_import_plotly_or_ipywidgets():
    code = (
        "import sys; from IPython.core.interactiveshell import InteractiveShell; "
        "ip = InteractiveShell.instance(); ip.run_line_magic('load_ext', 'rustybt'); "
        "print(','.join(m for m in ('ipywidgets', 'plotly') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out.splitlines()[-1:] in ([], [""])


def test_unload_and_reload(ip):
    ip.run_line_magic("unload_ext", "rustybt")
    assert "rustybt" not in ip.magics_manager.magics["line"]
    with pytest.raises(UsageError):
        ip.run_cell("%rustybt bundles")
    ip.run_line_magic("load_ext", "rustybt")
    assert "rustybt" in ip.magics_manager.magics["line"]


# --- subcommands -----------------------------------------------------------------------------------------


def test_bundles_lists_the_catalog(ip, sample_root):
    ip.run_cell("cat = %rustybt bundles")
    catalog = ip.user_ns["cat"]
    assert Path(catalog.root) == sample_root
    html = catalog._repr_html_()
    assert "sample_crypto" in html and "22,165" in html and "4,368" in html


def test_bundles_on_an_empty_root_says_what_to_do(ip, magics, tmp_path):
    magics.catalog_root = str(tmp_path / "empty")
    html = ip.run_line_magic("rustybt", "bundles")._repr_html_()
    assert "No bundles yet" in html and "%rustybt ingest sample" in html


def test_catalog_root_defaults_to_rustybt_data_dir(ip, magics, tmp_path, monkeypatch):
    monkeypatch.setenv("RUSTYBT_DATA_DIR", str(tmp_path / "from-env"))
    magics.catalog_root = ""
    catalog = ip.run_line_magic("rustybt", "bundles")
    assert Path(catalog.root) == tmp_path / "from-env"
    view = ip.run_line_magic("rustybt", "config")
    assert dict(view.rows)["root comes from"] == "RUSTYBT_DATA_DIR"


def test_ingest_sample_into_a_fresh_root(ip, magics, tmp_path):
    magics.catalog_root = str(tmp_path / "cat")
    ip.run_cell("ing = %rustybt ingest sample")
    ingestion = ip.user_ns["ing"]
    assert (ingestion.bundle, ingestion.rows, ingestion.n_assets) == ("sample", 22165, 30)
    assert "Ingestion of sample" in ingestion._repr_html_()
    assert ip.run_line_magic("rustybt", "bundles").bundles() == ["sample", "sample_crypto", "sample_futures"]


def test_ingest_csvdir_registers_and_ingests(ip, magics, tmp_path):
    magics.catalog_root = str(tmp_path / "cat")
    ingestion = ip.run_line_magic("rustybt", f"ingest zl --csvdir {CSVDIR} --lenient")
    assert ingestion.bundle == "zl" and ingestion.n_assets == 4
    again = ip.run_line_magic("rustybt", "ingest zl --mode append")
    assert again.mode == "append" and again.replaced_rows == again.rows


def test_info_returns_the_bundle_and_uses_the_default_bundle(ip):
    bundle = ip.run_line_magic("rustybt", "info sample_crypto")
    assert bundle.name == "sample_crypto" and bundle.resolution == "1h"
    ip.run_cell("%config RustyBTMagics.default_bundle = 'sample'")
    assert ip.run_line_magic("rustybt", "info").name == "sample"


def test_show_draws_the_requested_range(ip, sample_csv):
    fig = ip.run_line_magic("rustybt", "show sample AAPL --start 2014-05-01 --end 2014-06-30")
    rows = [r for r in sample_csv("AAPL") if "2014-05-01" <= r["date"] <= "2014-06-30"]
    meta = fig.layout.meta
    assert (meta["symbol"], meta["frequency"], meta["candles"]) == ("AAPL", "1d", len(rows))
    raw = fig.data[2]  # the "raw" button's view
    assert list(raw.close) == [float(r["close"]) for r in rows]
    assert meta["adjusted"] is True and fig.data[0].visible is not False and raw.visible is False


def test_show_with_default_bundle_frequency_and_max_candles(ip):
    ip.run_cell("%config RustyBTMagics.default_bundle = 'sample'")
    weekly = ip.run_line_magic("rustybt", "show KO --start 2013-01-01 --end 2013-12-31 --frequency 1w")
    assert weekly.layout.meta["frequency"] == "1w" and weekly.layout.meta["candles"] == 53
    coarse = ip.run_line_magic("rustybt", "show KO --max-candles 200")
    assert coarse.layout.meta["frequency"] == "1w" and coarse.layout.meta["candles"] <= 200


def test_max_candles_setting(ip, magics):
    magics.max_candles = 100
    fig = ip.run_line_magic("rustybt", "show sample MSFT")
    assert fig.layout.meta["frequency"] == "1M" and fig.layout.meta["candles"] == 36


def test_browse_opens_a_browser(ip):
    browser = ip.run_line_magic("rustybt", "browse sample_crypto")
    assert (browser.bundle, browser.symbol) == ("sample_crypto", "BTC-USDT")
    assert browser.figure is not None and browser.error is None


def test_cache_stats_and_clear(ip, capsys):
    from rustybt.notebook.magics import session_cache

    cache = session_cache()
    key = cache.make_key("notebook-test", 1)
    cache.put(key, np.arange(10.0))
    assert cache.get(key) is not None
    stats = ip.run_line_magic("rustybt", "cache stats")
    assert stats.entries >= 1 and stats.hits >= 1
    cleared = ip.run_line_magic("rustybt", "cache clear")
    assert cleared.entries == 0
    assert "cache cleared" in capsys.readouterr().out


def test_config_shows_the_settings(ip, magics, sample_root):
    ip.run_cell("%config RustyBTMagics.default_bundle = 'sample'")
    view = ip.run_line_magic("rustybt", "config")
    rows = dict(view.rows)
    assert rows["catalog root"] == str(sample_root)
    assert rows["root comes from"] == "RustyBTMagics.catalog_root"
    assert rows["default bundle"] == "sample"
    assert "RustyBT settings" in view._repr_html_() and "catalog root" in repr(view)


def test_config_magic_sets_catalog_root(ip, magics, tmp_path):
    target = tmp_path / "via-config"
    ip.run_cell(f"%config RustyBTMagics.catalog_root = {str(target)!r}")
    assert Path(ip.run_line_magic("rustybt", "bundles").root) == target


@pytest.mark.parametrize("sub", ["bundles", "ingest", "info", "show", "browse", "cache", "config"])
def test_help_per_subcommand(ip, capsys, sub):
    ip.run_cell(f"%rustybt {sub} --help")
    out = capsys.readouterr().out
    assert f"%rustybt {sub}" in out and "--debug" in out


def test_overview_help(ip, capsys):
    ip.run_cell("%rustybt")
    ip.run_cell("%%rustybt pipeline --help\npass\n")
    out = capsys.readouterr().out
    assert "%rustybt show" in out and "%%rustybt pipeline" in out and "--chunksize" in out


# --- bad input: each one readable paragraph --------------------------------------------------------------


def test_unknown_subcommand(ip):
    with pytest.raises(UsageError, match="unknown subcommand 'shwo'") as info:
        ip.run_cell("%rustybt shwo sample AAPL")
    _one_paragraph(str(info.value))
    assert "Did you mean `show`" in str(info.value)


def test_cell_subcommand_used_as_line_magic(ip):
    with pytest.raises(UsageError, match="%%rustybt pipeline"):
        ip.run_cell("%rustybt pipeline --bundle sample")


def test_unknown_bundle(ip):
    with pytest.raises(UsageError, match="no bundle named 'nosuch'") as info:
        ip.run_cell("%rustybt info nosuch")
    _one_paragraph(str(info.value))
    assert "%rustybt bundles" in str(info.value)


def test_unknown_bundle_with_debug_raises_the_original_error(ip):
    with pytest.raises(BundleNotFound):
        ip.run_cell("%rustybt info nosuch --debug")


def test_unknown_symbol(ip):
    with pytest.raises(UsageError, match="symbol 'APPL' not found") as info:
        ip.run_cell("%rustybt show sample APPL")
    _one_paragraph(str(info.value))
    assert "AAPL" in str(info.value)


def test_bad_date(ip):
    with pytest.raises(UsageError, match="'2014-13-45' is not a date") as info:
        ip.run_cell("%rustybt show sample AAPL --start 2014-13-45")
    _one_paragraph(str(info.value))
    assert "YYYY-MM-DD" in str(info.value)


def test_start_after_end(ip):
    with pytest.raises(UsageError, match="after end") as info:
        ip.run_cell("%rustybt show sample AAPL --start 2014-06-01 --end 2014-01-01")
    _one_paragraph(str(info.value))


def test_show_on_a_range_without_data(ip):
    with pytest.raises(UsageError, match="no AAPL bars") as info:
        ip.run_cell("%rustybt show sample AAPL --start 2016-01-01 --end 2016-03-01")
    _one_paragraph(str(info.value))
    assert "2012-01-03 .. 2014-12-31" in str(info.value)


def test_frequency_finer_than_stored(ip):
    with pytest.raises(UsageError, match="stores 1d bars") as info:
        ip.run_cell("%rustybt show sample AAPL --frequency 1h")
    _one_paragraph(str(info.value))


def test_missing_bundle_name_without_default(ip):
    with pytest.raises(UsageError, match="default_bundle is not set") as info:
        ip.run_cell("%rustybt info")
    _one_paragraph(str(info.value))


def test_bad_arguments(ip):
    with pytest.raises(UsageError, match="invalid choice") as info:
        ip.run_cell("%rustybt cache explode")
    _one_paragraph(str(info.value))
    with pytest.raises(UsageError, match="unrecognized arguments"):
        ip.run_cell("%rustybt bundles --nope")
    with pytest.raises(UsageError, match="quotes"):
        ip.run_cell("%rustybt show sample 'AAPL")


def test_ingest_of_an_unregistered_bundle(ip, magics, tmp_path):
    magics.catalog_root = str(tmp_path / "cat")
    with pytest.raises(UsageError, match="no bundle named 'mine'") as info:
        ip.run_cell("%rustybt ingest mine")
    _one_paragraph(str(info.value))


def test_pipeline_cell_that_raises(ip):
    with pytest.raises(UsageError, match="the cell raised ZeroDivisionError at line 2") as info:
        ip.run_cell("%%rustybt pipeline --bundle sample\nx = 1\ny = x / 0\n")
    _one_paragraph(str(info.value))


def test_pipeline_cell_with_a_syntax_error(ip):
    with pytest.raises(UsageError, match="not valid Python") as info:
        ip.run_cell("%%rustybt pipeline --bundle sample\npipe = (\n")
    _one_paragraph(str(info.value))


def test_pipeline_cell_that_defines_no_pipeline(ip):
    with pytest.raises(UsageError, match="defines no Pipeline") as info:
        ip.run_cell("%%rustybt pipeline --bundle sample\nx = 41 + 1\nx\n")
    _one_paragraph(str(info.value))
    assert "got a int" in str(info.value)


def test_pipeline_cell_bad_out_name(ip):
    with pytest.raises(UsageError, match="not a valid Python variable name"):
        ip.run_cell("%%rustybt pipeline --bundle sample --out 1x\npipe = None\n")


def test_pipeline_cell_on_unknown_bundle(ip):
    with pytest.raises(UsageError, match="no bundle named 'nosuch'") as info:
        ip.run_cell("%%rustybt pipeline --bundle nosuch\npipe = None\n")
    _one_paragraph(str(info.value))


# --- %%rustybt pipeline with the pipeline package ----------------------------------------------------------

PIPELINE_CELL = """%%rustybt pipeline --bundle sample --start 2013-02-01 --end 2013-03-28 {opts}
window = n_days + 1
pipe = Pipeline({{"ret": Returns(window_length=window), "last": EquityPricing.close.latest}})
"""


def test_pipeline_cell_stores_the_result(ip, sample_csv):
    ip.user_ns["n_days"] = 5  # the cell sees the notebook's names
    ip.run_cell(PIPELINE_CELL.format(opts="--out res"))
    res = ip.user_ns["res"]
    dates = res.index.get_level_values(0).unique()
    assert (str(dates[0].date()), str(dates[-1].date())) == ("2013-02-01", "2013-03-28")
    # ZZD has no split or dividend: Returns(6) on day D = close[D-1] / close[D-6] - 1 (a 6-bar window ending at D-1)
    rows = [r for r in sample_csv("ZZD") if r["date"] < "2013-03-01"]
    zzd = res.xs("2013-03-01", level=0)
    zzd = zzd[[a.symbol == "ZZD" for a in zzd.index]].iloc[0]
    assert zzd["last"] == pytest.approx(float(rows[-1]["close"]))
    assert zzd["ret"] == pytest.approx(float(rows[-1]["close"]) / float(rows[-6]["close"]) - 1)
    assert "pipe" not in ip.user_ns and "window" not in ip.user_ns


def test_pipeline_cell_last_expression_default_bundle_and_chunks(ip, magics):
    ip.run_cell("%config RustyBTMagics.default_bundle = 'sample'")
    one = ip.run_cell(
        "%%rustybt pipeline --start 2013-01-07 --end 2013-06-28\nPipeline({'sma': SimpleMovingAverage("
        "inputs=[EquityPricing.close], window_length=10)})\n"
    ).result
    chunked = ip.run_cell(
        "%%rustybt pipeline --start 2013-01-05 --end 2013-06-30 --chunksize 20\nPipeline({'sma': SimpleMovingAverage("
        "inputs=[EquityPricing.close], window_length=10)})\n"
    ).result
    assert one.shape == chunked.shape and one.shape[0] > 0
    assert np.allclose(one["sma"].to_numpy(), chunked["sma"].to_numpy(), equal_nan=True)


def test_pipeline_cell_does_not_reuse_an_old_pipe(ip):
    ip.run_cell("from rustybt.pipeline import Pipeline\npipe = Pipeline({})")
    with pytest.raises(UsageError, match="defines no Pipeline"):
        ip.run_cell("%%rustybt pipeline --bundle sample\nx = 1\n")


def test_pipeline_cell_with_an_invalid_term(ip):
    with pytest.raises(UsageError, match="invalid pipeline term") as info:
        ip.run_cell("%%rustybt pipeline --bundle sample\npipe = Pipeline({'x': EquityPricing.close})\n")
    _one_paragraph(str(info.value))
    assert "?." not in str(info.value)


def test_pipeline_cell_on_a_range_without_sessions(ip):
    with pytest.raises(UsageError, match="no XNYS session between 2013-01-05 and 2013-01-06") as info:
        ip.run_cell(
            "%%rustybt pipeline --bundle sample --start 2013-01-05 --end 2013-01-06\n"
            "Pipeline({'r': Returns(window_length=2)})\n"
        )
    _one_paragraph(str(info.value))


def test_pipeline_displays_with_the_notebook_repr(ip):
    pipe = ip.run_cell(
        "from rustybt.pipeline import Pipeline\nfrom rustybt.pipeline.factors import Returns\n"
        "Pipeline({'r': Returns(window_length=3)})"
    ).result
    html = ip.display_formatter.format(pipe)[0]["text/html"]
    assert html.startswith('<div class="rbt rbt-pipeline">') and "<svg" in html and "Returns" in html


def test_views_are_the_same_with_or_without_the_extension(ip, sample_catalog, tmp_path):
    """Every object renders itself with rustybt._html: %load_ext adds no formatter, so the HTML IPython shows is
    the object's own _repr_html_, loaded or not (Pipeline and ContinuousFuture used to differ)."""
    from rustybt import Catalog
    from rustybt.data.cache import CacheManager
    from rustybt.data.readers import DataPortal
    from rustybt.pipeline import Pipeline
    from rustybt.pipeline.factors import Returns
    from rustybt.sample import register_sample

    catalog = Catalog(root=tmp_path / "futures")
    register_sample(catalog)
    catalog.ingest("sample_futures", progress=False)
    cache = CacheManager(max_memory_mb=1, disk_cache_path=None, enabled=True)
    objects = {
        "catalog": sample_catalog,
        "bundle": sample_catalog.bundle("sample"),
        "report": sample_catalog.bundle("sample").report,
        "cache": cache,
        "stats": cache.stats,
        "continuous-future": DataPortal.from_catalog(catalog, "sample_futures").continuous_future("XF"),
    }
    objects["pipeline"] = Pipeline({"r": Returns(window_length=3)})

    def shown() -> dict[str, str]:
        return {name: ip.display_formatter.format(obj)[0]["text/html"] for name, obj in objects.items()}

    loaded = shown()
    ip.run_line_magic("unload_ext", "rustybt")
    try:
        unloaded = shown()
    finally:
        ip.run_line_magic("load_ext", "rustybt")
    assert loaded == unloaded == {name: obj._repr_html_() for name, obj in objects.items()}
    for name, html in loaded.items():
        assert html.startswith('<div class="rbt rbt-') and html.count("<style>") == 1, name
    assert "Chain (6 contracts)" in loaded["continuous-future"] and "calendar_gap" in loaded["report"]


def test_config_lists_every_runtime_switch(ip, monkeypatch):
    from rustybt.config import SWITCHES

    monkeypatch.setenv("RUSTYBT_OFFLINE", "yes")
    rows = dict(ip.run_line_magic("rustybt", "config").rows)
    assert rows["RUSTYBT_OFFLINE"] == "on (environment)"
    assert all(s.name in rows for s in SWITCHES)
