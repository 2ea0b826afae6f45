"""Pipeline on a real catalog bundle equals zipline-reloaded's own numbers (tests/reference, zipline 3.2.1).

The bundle is zipline's csvdir ingestion of the real AAPL/IBM/KO/MSFT samples, migrated to Parquet: the same
stored prices (zipline keeps 1/1000 units) and the same adjustments, so the only difference left is ours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rustybt import Catalog
from rustybt.pipeline import Pipeline
from rustybt.pipeline.bundle_engine import engine_for_bundle
from rustybt.pipeline.data import USEquityPricing as P
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

HERE = Path(__file__).parent
REFERENCE = HERE.parent / "reference" / "zipline_csvdir_pipeline.csv"
INGESTION = HERE.parent / "resources" / "zipline-bundle" / "csvdir-ingestion"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    catalog = Catalog(root=tmp_path_factory.mktemp("zl"))
    catalog.migrate(INGESTION, "zl", progress=False)
    sma_20 = SimpleMovingAverage(inputs=[P.close], window_length=20)
    r20 = Returns(window_length=20)
    bb = BollingerBands(window_length=20, k=2)
    pipe = Pipeline(
        {
            "close_latest": P.close.latest,
            "sma_20": sma_20,
            "sma_200": SimpleMovingAverage(inputs=[P.close], window_length=200),
            "ewma_span20": EWMA.from_span(inputs=[P.close], window_length=60, span=20),
            "ewmstd_span20": EWMSTD.from_span(inputs=[P.close], window_length=60, span=20),
            "rsi": RSI(),
            "returns_20": r20,
            "returns_120": Returns(window_length=120),
            "adv_20": AverageDollarVolume(window_length=20),
            "bb_lower": bb.lower,
            "bb_middle": bb.middle,
            "bb_upper": bb.upper,
            "vwap_20": VWAP(window_length=20),
            "max_dd_60": MaxDrawdown(inputs=[P.close], window_length=60),
            "returns_20_rank": r20.rank(),
            "returns_20_zscore": r20.zscore(),
            "returns_20_demean": r20.demean(),
            "sma_20_quartiles": sma_20.quartiles(),
        }
    )
    engine = engine_for_bundle("zl", catalog=catalog, progress=False)
    frame = engine.run_pipeline(pipe, "2013-01-02", "2014-12-31")
    vol = engine.run_pipeline(Pipeline({"ann_vol": AnnualizedVolatility()}), "2013-01-07", "2014-12-31")
    frame = frame.join(vol)
    frame.index = pd.MultiIndex.from_arrays(
        [frame.index.get_level_values(0).tz_localize(None), [a.symbol for a in frame.index.get_level_values(1)]],
        names=["date", "symbol"],
    )
    return frame


@pytest.fixture(scope="module")
def reference():
    ref = pd.read_csv(REFERENCE, parse_dates=["date"])
    return ref.set_index(["date", "symbol"]).drop(columns="sid")


def test_same_rows(result, reference):
    assert list(result.index) == list(reference.index)


@pytest.mark.parametrize(
    "column",
    [
        "close_latest", "sma_20", "sma_200", "ewma_span20", "ewmstd_span20", "rsi", "returns_20", "returns_120",
        "adv_20", "bb_lower", "bb_middle", "bb_upper", "ann_vol", "vwap_20", "max_dd_60",
        "returns_20_rank", "returns_20_zscore", "returns_20_demean", "sma_20_quartiles",
    ],
)  # fmt: skip
def test_column_equals_zipline(result, reference, column):
    expected = reference[column]
    got = result[column].reindex(expected.index).astype(float)
    known = expected.notna()
    assert known.sum() > 1000
    np.testing.assert_allclose(got[known].to_numpy(), expected[known].to_numpy(), rtol=1e-9, atol=1e-12)
