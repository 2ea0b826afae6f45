"""ParquetBarReader.load_raw_arrays over many year partitions against a plain pandas pivot of the CSVs it was
ingested from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rustybt import Catalog
from rustybt.calendars import sessions_in_range
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.readers import ParquetDailyBarReader

SYMBOLS = ("AAA", "BBB", "CCC", "DDD")


@pytest.fixture(scope="module")
def decade(tmp_path_factory):
    """Four assets over 2005-2014 (ten year partitions), each with its own gaps, and the frames written."""
    root = tmp_path_factory.mktemp("decade")
    sessions = sessions_in_range("XNYS", pd.Timestamp("2005-01-03"), pd.Timestamp("2014-12-31"))
    rng = np.random.default_rng(5)
    (root / "src" / "daily").mkdir(parents=True)
    frames = {}
    for k, symbol in enumerate(SYMBOLS):
        keep = rng.random(len(sessions)) > 0.03 * (k + 1)
        days = sessions[keep][k * 40 :]  # later listings for later symbols
        close = np.round(20 + np.cumsum(rng.normal(0, 0.3, len(days))).clip(-15, None), 2)
        frame = pd.DataFrame(
            {
                "date": days.strftime("%Y-%m-%d"),
                "open": close,
                "high": close + 0.5,
                "low": close - 0.5,
                "close": close,
                "volume": rng.integers(1_000, 100_000, len(days)),
                "dividend": 0.0,
                "split": 1.0,
            }
        )
        frame.to_csv(root / "src" / "daily" / f"{symbol}.csv", index=False)
        frames[symbol] = frame.set_index(pd.DatetimeIndex(frame["date"]))
    catalog = Catalog(root=root / "cat")
    catalog.register("d", adapter=CSVAdapter.from_csvdir(root / "src"), validation="lenient")
    catalog.ingest("d", progress=False)
    return catalog, frames, sessions


def test_ten_year_partitions_match_a_pandas_pivot(decade):
    catalog, frames, sessions = decade
    bundle = catalog.bundle("d")
    reader = ParquetDailyBarReader(bundle)
    order = ["CCC", "AAA", "DDD", "BBB"]  # not in sid order
    sids = [bundle.asset_finder.lookup_symbol(s).sid for s in order]
    start, end = pd.Timestamp("2005-06-01"), pd.Timestamp("2014-11-28")
    close, volume = reader.load_raw_arrays(["close", "volume"], start, end, sids)
    days = sessions[(sessions >= start) & (sessions <= end)]
    assert close.shape == (len(days), 4) and close.flags.f_contiguous
    for j, symbol in enumerate(order):
        np.testing.assert_array_equal(close[:, j], frames[symbol]["close"].reindex(days).to_numpy(), err_msg=symbol)
        np.testing.assert_array_equal(volume[:, j], frames[symbol]["volume"].reindex(days).to_numpy(float))
