"""AssetDispatchBarReader routes sids to the reader of their asset class and keeps the column order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rustybt import Catalog
from rustybt.assets import AssetFinder, Future
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.readers import ParquetDailyBarReader
from rustybt.data.readers.dispatch import AssetDispatchBarReader
from rustybt.errors import NoDataForSid
from rustybt.sample import sample_data_dir


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    catalog = Catalog(root=tmp_path_factory.mktemp("dispatch"))
    catalog.register("s", adapter=CSVAdapter.from_csvdir(sample_data_dir() / "equities"), validation="lenient")
    catalog.ingest("s", progress=False)
    bundle = catalog.bundle("s")
    finder = AssetFinder([*bundle.assets, Future(999, "XFZ14", root_symbol="XF")])
    return AssetDispatchBarReader(finder, {"equity": ParquetDailyBarReader(bundle)}), bundle


def test_routes_and_keeps_order(reader):
    dispatch, bundle = reader
    direct = ParquetDailyBarReader(bundle)
    sids = list(reversed(bundle.sids[:5]))
    start, end = pd.Timestamp("2014-06-02"), pd.Timestamp("2014-06-10")
    (got,) = dispatch.load_raw_arrays(["close"], start, end, sids)
    (expected,) = direct.load_raw_arrays(["close"], start, end, sids)
    np.testing.assert_array_equal(got, expected)
    assert dispatch.get_value(sids[0], pd.Timestamp("2014-06-10"), "close") == expected[-1, 0]


def test_unknown_class_is_a_clear_error(reader):
    dispatch, _ = reader
    with pytest.raises(NoDataForSid, match="no reader for asset class 'future'"):
        dispatch.get_value(999, pd.Timestamp("2014-06-10"), "close")
