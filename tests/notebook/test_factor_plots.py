"""The factor tear sheet's charts draw the library's numbers (rustybt.pipeline.analysis, checked against
alphalens in tests/pipeline/analysis)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def view(sample_root):
    from rustybt import Catalog
    from rustybt.notebook.factor_plots import factor_tearsheet
    from rustybt.pipeline import Pipeline
    from rustybt.pipeline.engine import run_pipeline
    from rustybt.pipeline.factors import Returns

    bundle = Catalog(root=sample_root).bundle("sample")
    result = run_pipeline(Pipeline({"momentum": Returns(window_length=20)}), "2013-07-01", "2014-06-30", bundle=bundle)
    return factor_tearsheet(result, "momentum", bundle, periods=(1, 5))


def test_every_chart_of_the_tear_sheet(view):
    sheet, figs = view.sheet, view.figures
    assert list(figs) == ["quantile_returns", "cumulative", "spread", "ic", "ic_by_month", "turnover"]
    bars = figs["quantile_returns"]
    assert [t.name for t in bars.data] == ["1D", "5D"]
    np.testing.assert_allclose(bars.data[0].y, sheet.mean_return_by_quantile["1D"].to_numpy() * 1e4)
    np.testing.assert_allclose(bars.data[0].error_y.array, sheet.mean_return_std_error["1D"].to_numpy() * 1e4)
    cum = figs["cumulative"]
    assert [t.name for t in cum.data] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert cum.layout.meta["last"]["Q5"] == pytest.approx(sheet.cumulative_by_quantile[5].iloc[-1])
    assert figs["spread"].layout.meta["mean_bps"] == pytest.approx(sheet.spread["1D"].mean() * 1e4)
    assert figs["ic"].layout.meta["mean"] == pytest.approx(sheet.ic["1D"].mean())
    assert figs["ic_by_month"].layout.meta["months"] == 12
    assert set(figs["turnover"].layout.meta["autocorrelation"]) == {"1D", "5D"}


def test_display_shows_tables_then_charts(view, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    view._ipython_display_()
    assert "Factor tear sheet: momentum" in shown[0].data
    assert len(shown) == 1 + len(view.figures)
