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
