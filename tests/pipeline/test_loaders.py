"""DataFrameLoader (zipline's semantics) and the loader protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _world import xnys_sessions

from rustybt.pipeline import US_EQUITIES
from rustybt.pipeline.adjusted_array import ADD, MULTIPLY, OVERWRITE, AdjustedArray
from rustybt.pipeline.data import Column, DataSet
from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.loaders import DataFrameLoader, PipelineLoader, PrecomputedLoader

DATES = xnys_sessions("2014-01-02", "2014-01-31")


def test_protocol():
    loader = DataFrameLoader(P.close, pd.DataFrame(1.0, index=DATES, columns=[1, 2]))
    assert isinstance(loader, PipelineLoader)
    assert isinstance(PrecomputedLoader({P.close: 1.0}, DATES, [1]), PipelineLoader)


def test_baseline_alignment_and_masking():
    frame = pd.DataFrame(np.arange(20.0).reshape(10, 2), index=DATES[:10], columns=[1, 2])
    loader = DataFrameLoader(P.close, frame)
    dates = DATES[5:15]  # runs past the frame's last date
    sids = np.array([2, 3, 1])  # 3 is unknown to the frame
    mask = np.ones((10, 3), dtype=bool)
    mask[0, 2] = False
    aa = loader.load_adjusted_array(US_EQUITIES, [P.close], dates, sids, mask)[P.close]
    assert aa.shape == (10, 3) and not aa.has_adjustments
    expected = np.full((10, 3), np.nan)
    expected[:5, 0] = frame.loc[DATES[5:10], 2]
    expected[:5, 2] = frame.loc[DATES[5:10], 1]
    expected[0, 2] = np.nan  # masked
    np.testing.assert_array_equal(aa.data, expected)
    with pytest.raises(ValueError, match="multiple columns"):
        loader.load_adjusted_array(US_EQUITIES, [P.close, P.open], dates, sids, mask)
    with pytest.raises(ValueError, match="unknown column"):
        loader.load_adjusted_array(US_EQUITIES, [P.open], dates, sids, mask)


def test_adjustment_formatting():
    frame = pd.DataFrame(1.0, index=DATES, columns=[1, 2])
    d = DATES
    weekend = pd.Timestamp("2014-01-11")  # a Saturday
    adjustments = pd.DataFrame(
        {
            "sid": [1, 2, 1, 2, 1, 1],
            "value": [0.5, 3.0, 7.0, 1.0, 2.0, 9.0],
            "kind": [MULTIPLY, ADD, OVERWRITE, MULTIPLY, MULTIPLY, MULTIPLY],
            "start_date": [pd.NaT, d[2], pd.NaT, pd.NaT, pd.NaT, pd.NaT],
            "end_date": [d[5], weekend, d[8], d[1], d[3], d[2]],
            "apply_date": [d[6], d[9], weekend, d[3], d[20], d[1]],
        }
    )
    loader = DataFrameLoader(P.close, frame, adjustments)
    dates = d[2:12]
    records = loader.format_adjustments(dates, [1, 2])
    # sorted by apply_date then sid; rows are positions in `dates`; apply/start bfill, end ffill;
    # dropped: apply_date after the last date (d[20]), apply_date before the first date (d[1]),
    # end_date before the first date (d[1] with apply d[3])
    assert records == [
        (4, 0, 0, 3, MULTIPLY, 0.5),  # apply d[6] -> row 4; end d[5] -> row 3
        (5, 0, 0, 6, OVERWRITE, 7.0),  # apply on Saturday 01-11 -> bfill to d[7] (row 5); end d[8] -> row 6
        (7, 1, 0, 4, ADD, 3.0),  # apply d[9]; start d[2] -> row 0; end Saturday -> ffill to d[6] (row 4)
    ]
    aa = loader.load_adjusted_array(US_EQUITIES, [P.close], dates, np.array([1, 2]), np.ones((10, 2), bool))[P.close]
    assert aa.has_adjustments
    np.testing.assert_array_equal(aa.as_of(3)[:, 0], np.ones(10))
    np.testing.assert_array_equal(aa.as_of(4)[:, 0], [0.5] * 4 + [1.0] * 6)
    np.testing.assert_array_equal(aa.as_of(9)[:, 0], [7.0] * 7 + [1.0] * 3)
    np.testing.assert_array_equal(aa.as_of(9)[:, 1], [4.0] * 5 + [1.0] * 5)


def test_adjustment_frame_validation():
    frame = pd.DataFrame(1.0, index=DATES, columns=[1])
    with pytest.raises(ValueError, match="lack column"):
        DataFrameLoader(P.close, frame, pd.DataFrame({"sid": [1], "value": [1.0]}))
    bad_kind = pd.DataFrame(
        {
            "sid": [1],
            "value": [1.0],
            "kind": [7],
            "start_date": [pd.NaT],
            "end_date": [DATES[1]],
            "apply_date": [DATES[2]],
        }
    )
    with pytest.raises(ValueError, match="unknown adjustment kind"):
        DataFrameLoader(P.close, frame, bad_kind)


def test_typed_columns():
    class D(DataSet):
        code = Column(np.int64, missing_value=-1)
        flag = Column(bool)
        name = Column(object)
        when = Column("datetime64[ns]")

    n = 5
    dates = DATES[:n]
    frames = {
        D.code: pd.DataFrame(np.arange(n * 2).reshape(n, 2), index=dates, columns=[1, 2]),
        D.flag: pd.DataFrame(np.arange(n * 2).reshape(n, 2) % 2 == 0, index=dates, columns=[1, 2]),
        D.name: pd.DataFrame(
            [["a", None], ["b", "a"], ["c", "c"], [None, "b"], ["a", "a"]], index=dates, columns=[1, 2]
        ),
        D.when: pd.DataFrame(
            np.array(["2014-01-01", "NaT"] * n, dtype="datetime64[us]").reshape(n, 2), index=dates, columns=[1, 2]
        ),
    }
    mask = np.ones((n, 2), dtype=bool)
    mask[0, 1] = False
    for column, frame in frames.items():
        aa = DataFrameLoader(column, frame).load_adjusted_array(US_EQUITIES, [column], dates, np.array([1, 2]), mask)
        aa = aa[column]
        if column is D.name:
            assert list(aa.categories) == ["a", "b", "c"]
            assert aa.data[0, 1] == -1 and aa.data[1, 1] == 0
            assert aa.baseline().as_object_array()[3, 0] is None
        elif column is D.when:
            assert aa.data.dtype == np.dtype("datetime64[ns]") and np.isnat(aa.data[0, 1])
        else:
            assert aa.data.dtype == column.dtype
            assert aa.data[0, 1] == column.missing_value


def test_precomputed_loader():
    loader = PrecomputedLoader({P.close: 2.5, P.volume: np.arange(6.0).reshape(3, 2)}, DATES[:3], [1, 2])
    out = loader.load_adjusted_array(US_EQUITIES, [P.close, P.volume], DATES[:3], np.array([1, 2]),
                                     np.ones((3, 2), bool))  # fmt: skip
    assert set(out) == {P.close, P.volume}
    np.testing.assert_array_equal(out[P.close].data, np.full((3, 2), 2.5))
    np.testing.assert_array_equal(out[P.volume].data, np.arange(6.0).reshape(3, 2))
    assert isinstance(out[P.close], AdjustedArray)
