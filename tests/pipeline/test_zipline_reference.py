"""The engine against zipline-reloaded's own numbers (tests/reference/zipline_csvdir_pipeline.csv).

A small test-side pricing loader (``_csvdir_loader.py``) serves the csvdir sample the way zipline's bundle does
(rounded prices, one-session shift, point-in-time split/dividend adjustments); the 19 reference columns must
match to 1e-12 relative. ``ann_vol`` is NaN in the reference on its first three dates (zipline raised there for
lack of data); only the reference's non-NaN cells are compared.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _csvdir_loader import CsvdirPricingLoader, finder_for, load_bars

from rustybt.pipeline import US_EQUITIES, Pipeline, SimplePipelineEngine
from rustybt.pipeline.data import USEquityPricing
from rustybt.pipeline.factors import (
    EWMA,
    EWMSTD,
    RSI,
    VWAP,
    AnnualizedVolatility,
    AverageDollarVolume,
    BollingerBands,
    MaxDrawdown,
    Returns,
    SimpleMovingAverage,
)

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "zipline_csvdir_pipeline.csv"


def reference_pipeline() -> Pipeline:
    close = USEquityPricing.close
    r20 = Returns(window_length=20)
    sma20 = SimpleMovingAverage(inputs=[close], window_length=20)
    bb = BollingerBands(window_length=20, k=2)
    return Pipeline(
        {
            "close_latest": close.latest,
            "sma_20": sma20,
            "sma_200": SimpleMovingAverage(inputs=[close], window_length=200),
            "ewma_span20": EWMA.from_span(inputs=[close], window_length=60, span=20),
            "ewmstd_span20": EWMSTD.from_span(inputs=[close], window_length=60, span=20),
            "rsi": RSI(),
            "returns_20": r20,
            "returns_120": Returns(window_length=120),
            "adv_20": AverageDollarVolume(window_length=20),
            "bb_lower": bb.lower,
            "bb_middle": bb.middle,
            "bb_upper": bb.upper,
            "ann_vol": AnnualizedVolatility(),
            "vwap_20": VWAP(window_length=20),
            "max_dd_60": MaxDrawdown(inputs=[close], window_length=60),
            "returns_20_rank": r20.rank(),
            "returns_20_zscore": r20.zscore(),
            "returns_20_demean": r20.demean(),
            "sma_20_quartiles": sma20.quartiles(),
        }
    )


@pytest.fixture(scope="module")
def result():
    bars = load_bars()
    engine = SimplePipelineEngine(CsvdirPricingLoader(bars), finder_for(bars), US_EQUITIES)
    out = engine.run_pipeline(reference_pipeline(), "2013-01-02", "2014-12-31", progress=False)
    out.index = pd.MultiIndex.from_arrays(
        [out.index.get_level_values(0), [a.sid for a in out.index.get_level_values(1)]], names=["date", "sid"]
    )
    return out.sort_index()


@pytest.fixture(scope="module")
def reference():
    return pd.read_csv(REFERENCE, parse_dates=["date"]).set_index(["date", "sid"]).sort_index()


def test_same_rows(result, reference):
    assert len(result) == len(reference) == 2016
    assert result.index.equals(reference.index)


@pytest.mark.parametrize("column", list(reference_pipeline().columns))
def test_column_matches_zipline(result, reference, column):
    expected = reference[column].to_numpy(dtype=float)
    got = result[column].to_numpy(dtype=float)
    known = ~np.isnan(expected)
    if column == "ann_vol":
        assert (~known).sum() == 12
    else:
        assert known.all()
    np.testing.assert_allclose(got[known], expected[known], rtol=1e-12, atol=0)
    if column in ("returns_20_rank", "sma_20_quartiles", "close_latest", "returns_20", "max_dd_60"):
        np.testing.assert_array_equal(got[known], expected[known])
