"""Loaders over a real bundle: a user Parquet dataset served as of each session, keyed by its DataSet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from rustybt import Catalog
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.pipeline import Pipeline
from rustybt.pipeline.bundle_engine import engine_for_bundle
from rustybt.pipeline.data import Column, DataSet
from rustybt.pipeline.errors import UnknownColumn
from rustybt.pipeline.loaders import ParquetLoader
from rustybt.sample import sample_data_dir


class Fundamentals(DataSet):
    pe_ratio = Column(float)


class Unserved(DataSet):
    x = Column(float)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    cat = Catalog(root=tmp_path_factory.mktemp("fund"))
    cat.register("s", adapter=CSVAdapter.from_csvdir(sample_data_dir() / "equities"), validation="lenient")
    cat.ingest("s", progress=False)
    return cat


def test_parquet_dataset_is_served_as_of_each_session(catalog, tmp_path):
    bundle = catalog.bundle("s")
    aapl = bundle.asset_finder.lookup_symbol("AAPL").sid
    path = tmp_path / "fund.parquet"
    pl.DataFrame(
        {
            "asof": [pd.Timestamp("2014-07-15"), pd.Timestamp("2014-07-22")],
            "sid": [aapl, aapl],
            "pe": [15.0, 16.5],
        }
    ).write_parquet(path)
    loader = ParquetLoader(path, date_column="asof", sid_column="sid", columns={"pe_ratio": "pe"})
    engine = engine_for_bundle(bundle, loaders={Fundamentals: loader}, progress=False)
    result = engine.run_pipeline(Pipeline({"pe": Fundamentals.pe_ratio.latest}), "2014-07-14", "2014-07-24")
    pe = result["pe"].unstack()[aapl]
    got = {d.strftime("%Y-%m-%d"): v for d, v in pe.items()}
    # known strictly before the session: the 07-15 value first shows on 07-16, the 07-22 value on 07-23
    assert np.isnan(got["2014-07-14"]) and np.isnan(got["2014-07-15"])
    assert got["2014-07-16"] == 15.0 and got["2014-07-22"] == 15.0
    assert got["2014-07-23"] == 16.5 and got["2014-07-24"] == 16.5


def test_unserved_dataset_is_a_clear_error(catalog):
    engine = engine_for_bundle(catalog.bundle("s"), progress=False)
    with pytest.raises(UnknownColumn, match="no loader for column"):
        engine.run_pipeline(Pipeline({"x": Unserved.x.latest}), "2014-07-14", "2014-07-24")


def _many_pricing_factors():
    from rustybt.pipeline.data import EquityPricing as P
    from rustybt.pipeline.factors import (
        EWMA,
        RSI,
        VWAP,
        AnnualizedVolatility,
        AverageDollarVolume,
        BollingerBands,
        FastStochasticOscillator,
        MaxDrawdown,
        Returns,
        SimpleMovingAverage,
        TrueRange,
    )

    bb = BollingerBands(window_length=20, k=2)
    return Pipeline(
        {
            "close": P.close.latest,
            "volume": P.volume.latest,
            "sma": SimpleMovingAverage(inputs=[P.close], window_length=30),
            "ewma": EWMA.from_span(inputs=[P.close], window_length=40, span=10),
            "rsi": RSI(),
            "bb_upper": bb.upper,
            "vwap": VWAP(window_length=10),
            "adv": AverageDollarVolume(window_length=20),
            "ret": Returns(window_length=60),
            "ret_z": Returns(window_length=60).zscore(),
            "dd": MaxDrawdown(inputs=[P.close], window_length=30),
            "vol": AnnualizedVolatility(window_length=60),
            "fso": FastStochasticOscillator(),
            "tr": TrueRange(),
        },
        screen=AverageDollarVolume(window_length=20).top(3),
    )


def test_repeated_runs_reuse_loaded_arrays_and_give_identical_results(catalog, monkeypatch):
    bundle = catalog.bundle("s")
    engine = engine_for_bundle(bundle, progress=False)
    pipe = _many_pricing_factors()
    first = engine.run_pipeline(pipe, "2013-06-03", "2014-12-31")
    assert len(first) > 0 and not first.isna().all().any()

    from rustybt.pipeline.data import EquityPricing

    loader = engine._get_loader(EquityPricing.close)
    calls = []
    monkeypatch.setattr(loader.reader, "load_raw_arrays", lambda *a, **k: calls.append(a) or 1 / 0)
    again = engine.run_pipeline(pipe, "2013-06-03", "2014-12-31")
    shorter = engine.run_pipeline(pipe, "2014-03-03", "2014-09-30")  # a sub-range: a row slice of the cache
    assert calls == []
    pd.testing.assert_frame_equal(again, first)
    monkeypatch.undo()

    fresh = engine_for_bundle(catalog.bundle("s"), progress=False).run_pipeline(pipe, "2014-03-03", "2014-09-30")
    pd.testing.assert_frame_equal(shorter, fresh)
    pd.testing.assert_frame_equal(shorter, first.loc["2014-03-03":"2014-09-30"])


def test_pricing_loader_rejects_a_negative_cache_size(catalog):
    from rustybt.pipeline.loaders.pricing import PricingLoader

    with pytest.raises(ValueError, match="raw_cache_mb must be a size in MiB >= 0"):
        PricingLoader(catalog.bundle("s"), raw_cache_mb=-5)
