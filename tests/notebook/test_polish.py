"""Issue 19's polish items seen in JupyterLab, each reproduced in the testing shell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from IPython.core.error import UsageError

from rustybt.notebook.magics import strip_comment


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ingest sample  # the shipped data", "ingest sample"),
        ("show sample AAPL", "show sample AAPL"),
        ("# only a comment", ""),
        ("show 'a # b' AAPL # note", "show 'a # b' AAPL"),
        ('config "x#y"', 'config "x#y"'),
        ("show sample AAPL#x", "show sample AAPL#x"),  # not a comment: '#' inside a word
    ],
)
def test_strip_comment(line, expected):
    assert strip_comment(line) == expected


def test_line_magic_accepts_a_trailing_comment(ip):
    catalog = ip.run_cell("%rustybt bundles  # which bundles are there?").result
    assert "sample" in catalog.bundles()


def test_pipeline_without_out_shows_the_rows_once(ip, capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    result = ip.run_cell(
        "%%rustybt pipeline --bundle sample --start 2013-02-01 --end 2013-02-28\n"
        "Pipeline({'r': Returns(window_length=2)})\n"
    ).result
    assert shown == [], "no extra HTML copy of the rows: the returned DataFrame is the one view"
    assert len(result) > 0
    ip.run_cell(
        "%%rustybt pipeline --bundle sample --start 2013-02-01 --end 2013-02-28 --out res\n"
        "Pipeline({'r': Returns(window_length=2)})\n"
    )
    assert len(shown) == 1 and "Pipeline result" in shown[0].data, "with --out: the summary, once"


@pytest.mark.parametrize("opts", ["--start 2027-12-08", "--end 2011-01-03"])
def test_pipeline_out_of_range_names_the_bundle_range(ip, opts):
    with pytest.raises(UsageError, match="which covers 2012-01-03 .. 2014-12-31") as info:
        ip.run_cell(f"%%rustybt pipeline --bundle sample {opts}\nPipeline({{'r': Returns(window_length=2)}})\n")
    assert "Nearest sessions" not in str(info.value)


# --- chart template and HTML fallback ---------------------------------------------------------------------


@pytest.fixture
def restore_template():
    from rustybt.notebook import plots, theme

    before = theme._template_setting
    yield plots
    theme._template_setting = before


def test_template_follows_a_dark_jupyterlab_theme(restore_template, tmp_path, monkeypatch):
    plots = restore_template
    plots.set_template("auto")
    settings = tmp_path / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(tmp_path))
    assert plots.template() == "plotly_white", "no setting: light"
    (settings / "themes.jupyterlab-settings").write_text('{\n  // chosen in Settings\n  "theme": "JupyterLab Dark"\n}')
    assert plots.template() == "plotly_dark"
    (settings / "themes.jupyterlab-settings").write_text('{"theme": "JupyterLab Light"}')
    assert plots.template() == "plotly_white"


def test_template_set_by_config_reaches_the_charts(ip, restore_template, sample_catalog):
    plots = restore_template
    ip.run_cell("%config RustyBTMagics.plotly_template = 'ggplot2'")
    assert plots.template() == "ggplot2"
    fig = plots.candlestick(sample_catalog.bundle("sample"), "IBM", "2014-01-02", "2014-01-31")
    assert (
        fig.layout.template.layout.to_plotly_json()
        == __import__("plotly.io").io.templates["ggplot2"].layout.to_plotly_json()
    )
    with pytest.raises(Exception, match="unknown plotly template 'nope'"):
        plots.set_template("nope")
    html = ip.run_cell("%rustybt config").result._repr_html_()
    assert "ggplot2" in html


def test_plotly_outputs_carry_an_html_fallback(monkeypatch):
    import plotly.graph_objects as go
    import plotly.io as pio

    from rustybt.notebook.plots import use_html_fallback

    monkeypatch.delenv("PLOTLY_RENDERER", raising=False)
    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")  # what plotly picks in a Jupyter kernel
    assert use_html_fallback() == "plotly_mimetype+notebook_connected"
    bundle = go.Figure(go.Scatter(y=[1, 2]))._repr_mimebundle_()
    assert "application/vnd.plotly.v1+json" in bundle and "text/html" in bundle
    monkeypatch.setattr(pio.renderers, "default", "browser")  # a renderer the user chose is kept
    assert use_html_fallback() == "browser"


# --- tab completion and %rustybt? -------------------------------------------------------------------------


def _matches(ip, line):
    """The lines the completions JupyterLab asks for (ipykernel's completer API) would produce, as text
    following what was typed: each replaces the text from its start to the cursor."""
    from IPython.core.completer import provisionalcompleter

    with provisionalcompleter():
        done = [line[: c.start] + c.text for c in ip.Completer.completions(line, len(line))]
    words = line.split()
    typed_start = len(line) - (0 if line.endswith(" ") else len(words[-1]))
    return [d[typed_start:] for d in done if d.startswith(line[:typed_start]) and d[typed_start:]]


def test_completion_of_subcommands_bundles_symbols_options(ip):
    assert {"show", "ingest", "explore", "browse"} <= set(_matches(ip, "%rustybt "))
    assert "show" in _matches(ip, "%rustybt sh")
    assert "sample" in _matches(ip, "%rustybt show sa") and "sample_crypto" in _matches(ip, "%rustybt show sa")
    assert "AAPL" in _matches(ip, "%rustybt show sample AA")
    assert "--max-candles" in _matches(ip, "%rustybt show sample AAPL --")
    assert "--out" in _matches(ip, "%%rustybt pipeline --")
    assert "sample" in _matches(ip, "%%rustybt pipeline --bundle ")
    assert {"backtest", "pipeline"} <= set(_matches(ip, "%%rustybt "))


def test_question_mark_shows_the_overview(ip):
    from rustybt.notebook.magics import overview

    info = ip.object_inspect("%rustybt")
    assert info["found"]
    assert overview().splitlines()[0] in info["docstring"]
    assert "%rustybt explore" in info["docstring"]


# --- widgets replace their outputs (no stale chart, nothing left waiting for a front end) -----------------


@pytest.fixture
def kernel(monkeypatch):
    """As in a notebook: the widgets' outputs are filled (they are skipped without a kernel)."""
    import plotly.io as pio

    monkeypatch.setattr("rustybt.notebook.widgets._has_kernel", lambda: True)
    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")  # what plotly picks in a kernel


def test_browser_clears_the_chart_when_the_range_has_no_data(kernel, sample_catalog):
    from rustybt.notebook.widgets import BundleBrowser

    browser = BundleBrowser(sample_catalog, "sample")
    assert len(browser.chart.outputs) == 1
    assert "application/vnd.plotly.v1+json" in browser.chart.outputs[0]["data"]
    browser.update(start="2014-12-27", end="2014-12-28")  # a weekend: no bars
    assert browser.error is not None and browser.figure is None
    assert browser.chart.outputs == (), "the previous chart is gone"


def test_explorer_and_builder_fill_their_outputs_directly(kernel, sample_catalog):
    from rustybt.notebook.builder import PipelineBuilder

    builder = PipelineBuilder(sample_catalog, "sample", state={"start": "2014-03-03", "end": "2014-06-30"})
    builder.run()
    assert builder.error is None
    assert len(builder.explorer_out.outputs) == 1  # the explorer widget
    assert len(builder.explorer.histogram_out.outputs) == 1 and len(builder.explorer.timeseries_out.outputs) == 1
    outputs = builder.analysis_out.outputs
    assert len(outputs) == 1 + 6  # tables, then the six charts
    assert "Factor tear sheet" in outputs[0]["data"]["text/html"]
    assert all("application/vnd.plotly.v1+json" in o["data"] for o in outputs[1:])
    assert "application/vnd.jupyter.widget-view+json" in builder.explorer_out.outputs[0]["data"]
    builder.set_state(universe=["NOPE"])
    assert builder.run() is None
    assert builder.explorer_out.outputs == () and builder.analysis_out.outputs == ()


def test_explorer_date_label_and_series_title(sample_catalog):
    from rustybt.notebook.widgets import PipelineExplorer
    from rustybt.pipeline import Pipeline
    from rustybt.pipeline.engine import run_pipeline
    from rustybt.pipeline.factors import Returns

    result = run_pipeline(
        Pipeline({"r": Returns(window_length=5)}), "2014-06-02", "2014-06-30", bundle=sample_catalog.bundle("sample")
    )
    explorer = PipelineExplorer(result, column="r", asset="KO")
    assert explorer.date_slider.readout is False and explorer.date_label.value == "2014-06-30"
    explorer.update(date="2014-06-09")
    assert explorer.date_label.value == "2014-06-09"
    assert explorer.timeseries.layout.title.text == "r of KO"


# --- adjusted charts by default, raw one click away, events marked ----------------------------------------


def test_candlestick_is_adjusted_as_of_the_range_end_with_events(sample_catalog, sample_csv):
    from rustybt.notebook import plots

    bundle = sample_catalog.bundle("sample")
    fig = plots.candlestick(bundle, "AAPL", "2014-05-01", "2014-06-30")
    rows = [r for r in sample_csv("AAPL") if "2014-05-01" <= r["date"] <= "2014-06-30"]
    raw_close = np.array([float(r["close"]) for r in rows])
    events = [
        (pd.Timestamp(d), r)
        for k, d, r in bundle.adjustments()
        .filter(pl.col("symbol") == "AAPL")
        .select("kind", "effective_date", "ratio")
        .iter_rows()
        if k in ("split", "dividend")
    ]
    end = pd.Timestamp("2014-06-30")
    factor = np.array(
        [np.prod([r for d, r in events if pd.Timestamp(row["date"]) < d <= end] or [1.0]) for row in rows]
    )
    adjusted, _, raw, _ = fig.data[:4]
    np.testing.assert_allclose(np.asarray(adjusted.close), raw_close * factor, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(raw.close), raw_close)
    closes = dict(zip([r["date"] for r in rows], np.asarray(adjusted.close), strict=True))
    assert closes["2014-06-06"] == pytest.approx(
        645.57 / 7 * factor[[r["date"] for r in rows].index("2014-06-09")], rel=1e-9
    )
    assert abs(closes["2014-06-09"] / closes["2014-06-06"] - 1) < 0.05, "no 7:1 cliff"
    kinds = {(e["kind"], e["date"]) for e in fig.layout.meta["events"]}
    assert ("split", "2014-06-09") in kinds and ("dividend", "2014-05-08") in kinds
    markers = [t for t in fig.data if t.type == "scatter"]
    assert {t.name for t in markers} == {"split", "dividend"}
    assert "split 7:1" in markers[[t.name for t in markers].index("split")].text
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["adjusted", "raw"]
    assert buttons[1].args[0]["visible"][:4] == [False, False, True, True]
    assert "adjusted as of 2014-06-30" in fig.layout.title.text
    # as of an earlier end nothing later leaks in: May alone is adjusted for the May dividend only
    may = plots.candlestick(bundle, "AAPL", "2014-05-01", "2014-05-30")
    assert np.asarray(may.data[0].close)[-1] == pytest.approx(raw_close[[r["date"] for r in rows].index("2014-05-30")])


def test_browser_chart_is_adjusted_with_raw_one_click_away(sample_catalog):
    from rustybt.notebook.widgets import BundleBrowser

    browser = BundleBrowser(sample_catalog, "sample")
    browser.update(symbol="AAPL", start="2014-05-01", end="2014-06-30")
    meta = browser.figure.layout.meta
    assert meta["adjusted"] is True and meta["views"] == 2
    assert [b.label for b in browser.figure.layout.updatemenus[0].buttons] == ["adjusted", "raw"]


# --- errors shown once; progress on by default ------------------------------------------------------------


def test_a_failing_magic_does_not_repeat_its_error_as_a_log_box(ip, caplog):
    import logging

    def failing(args):
        logging.getLogger("rustybt.data.catalog.ingest").error("ingestion of bundle 'x' failed; nothing kept")
        raise ValueError("the CSV has no date column")

    magics = ip.magics_manager.registry["RustyBTMagics"]
    magics._do_info = failing
    try:
        with caplog.at_level(logging.INFO), pytest.raises(UsageError, match="no date column"):
            ip.run_cell("%rustybt info sample")
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "the one-line error is the only one"
    finally:
        del magics._do_info


def test_errors_of_a_magic_that_succeeds_are_still_logged(caplog):
    import logging

    from rustybt.notebook.magics import _errors_reported_once

    with caplog.at_level(logging.INFO), _errors_reported_once():
        logging.getLogger("rustybt.data.catalog.catalog").error("bundle 'x' ingestion 1: 2 problem(s)")
        logging.getLogger("rustybt.data").info("kept as it is")
    assert [r.getMessage() for r in caplog.records] == ["kept as it is", "bundle 'x' ingestion 1: 2 problem(s)"]


def test_progress_is_on_by_default_in_the_magics(ip):
    magics = ip.magics_manager.registry["RustyBTMagics"]
    assert type(magics).show_progress.default_value is True
