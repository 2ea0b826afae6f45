"""Point-in-time adjustments: for every (start, end) pair over a stretch crossing several adjustments and every
window length 1..5, results computed from raw data + adjustments equal results computed on data pre-adjusted as
of each window's end (no lookahead, nothing missed), for kernel-based, Python and Numba custom factors."""

from __future__ import annotations

import itertools

import numba
import numpy as np
import pandas as pd
import pytest
from _world import xnys_sessions

from rustybt.assets import AssetFinder, Equity
from rustybt.pipeline import US_EQUITIES, CustomFactor, Pipeline, SimplePipelineEngine
from rustybt.pipeline.adjusted_array import AdjustedArray
from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.factors import EWMA, MaxDrawdown, Returns, SimpleMovingAverage
from rustybt.pipeline.loaders import DataFrameLoader

SESSIONS = xnys_sessions("2014-03-03", "2014-04-30")
SIDS = [1, 2, 3]


class PyWeighted(CustomFactor):
    inputs = [P.close]

    def compute(self, today, assets, out, close):
        w = np.arange(1, close.shape[0] + 1, dtype=float)[:, None]
        out[:] = np.nansum(close * w, axis=0) + close[0]


@numba.njit(cache=True)
def _jit_weighted(self, today, assets, out, close):
    n, m = close.shape
    for j in range(m):
        acc = 0.0
        for i in range(n):
            v = close[i, j]
            if v == v:
                acc += v * (i + 1)
        out[j] = acc + close[0, j]


class JitWeighted(CustomFactor):
    inputs = [P.close]
    compute = _jit_weighted


def reference_weighted(w):
    return np.nansum(w * np.arange(1, w.shape[0] + 1, dtype=float)[:, None], axis=0) + w[0]


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(11)
    n = len(SESSIONS)
    raw = 20 + rng.random((n, len(SIDS))) * 10
    raw[rng.random(raw.shape) < 0.06] = np.nan
    frame = pd.DataFrame(raw, index=SESSIONS, columns=SIDS)
    s = SESSIONS
    adjustments = pd.DataFrame(
        {
            "sid": [1, 2, 1, 3, 2],
            "value": [0.5, 3.0, 0.9, 2.0, 1.5],
            "kind": [0, 0, 0, 1, 0],  # multiply, multiply, multiply, add, multiply
            "start_date": [pd.NaT, pd.NaT, s[18], pd.NaT, s[10]],
            "end_date": [s[21], s[23], s[24], s[22], s[25]],
            "apply_date": [s[22], s[24], s[25], s[23], s[26]],
        }
    )
    finder = AssetFinder([Equity(sid, f"S{sid}", start_date=pd.Timestamp("2013-01-02")) for sid in SIDS])
    engine = SimplePipelineEngine(
        {P.close: DataFrameLoader(P.close, frame, adjustments)}, finder, default_domain=US_EQUITIES
    )
    return frame, adjustments, engine


def adjusted_as_of(frame: pd.DataFrame, adjustments: pd.DataFrame, day) -> np.ndarray:
    data = frame.to_numpy().copy()
    for _, adj in adjustments.sort_values(["apply_date", "sid"], kind="stable").iterrows():
        if adj["apply_date"] > day:
            continue
        j = SIDS.index(adj["sid"])
        lo = 0 if pd.isna(adj["start_date"]) else frame.index.searchsorted(adj["start_date"])
        hi = frame.index.searchsorted(adj["end_date"], side="right") - 1
        if adj["kind"] == 0:
            data[lo : hi + 1, j] *= adj["value"]
        elif adj["kind"] == 1:
            data[lo : hi + 1, j] += adj["value"]
        else:
            data[lo : hi + 1, j] = adj["value"]
    return data


FUNCS = {
    "latest": lambda w: w[-1],
    "sma": lambda w: (
        np.where(np.isnan(w).all(0), np.nan, np.nanmean(np.where(np.isnan(w), 0, w), 0) * 0)
        + np.nansum(w, 0) / np.maximum((~np.isnan(w)).sum(0), 1)
    ),
    "returns": lambda w: (w[-1] - w[0]) / w[0],
    "ewma": lambda w: np.average(w, axis=0, weights=np.full(len(w), 0.7) ** np.arange(len(w) + 1, 1, -1)),
    "py": reference_weighted,
    "jit": reference_weighted,
}


def columns_for(wl: int) -> dict:
    cols = {
        "latest": P.close.latest,
        "sma": SimpleMovingAverage(inputs=[P.close], window_length=wl),
        "ewma": EWMA(inputs=[P.close], window_length=wl, decay_rate=0.7),
        "py": PyWeighted(window_length=wl),
        "jit": JitWeighted(window_length=wl),
        "dd": MaxDrawdown(inputs=[P.close], window_length=wl),
    }
    if wl >= 2:
        cols["returns"] = Returns(window_length=wl)
    return cols


def _max_drawdown(w):
    out = np.empty(w.shape[1])
    draw = np.fmax.accumulate(w, axis=0) - w
    draw[np.isnan(draw)] = -np.inf
    for j, e in enumerate(np.argmax(draw, axis=0)):
        col = w[: e + 1, j]
        peak = np.nanmax(col) if np.any(~np.isnan(col)) else np.nan
        out[j] = (peak - w[e, j]) / w[e, j]
    return out


FUNCS["dd"] = _max_drawdown


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("wl", [1, 2, 3, 4, 5])
def test_adjustment_property(setup, wl):
    frame, adjustments, engine = setup
    stretch = SESSIONS[21:27]  # the adjustments apply on sessions 22..26
    pipe = Pipeline(columns_for(wl))
    expected = {}
    with np.errstate(all="ignore"):
        for day in stretch:
            i = SESSIONS.get_loc(day)
            window = adjusted_as_of(frame, adjustments, day)[i - wl + 1 : i + 1]
            expected[day] = {name: FUNCS[name](window) for name in pipe.columns}
    for start, end in itertools.combinations_with_replacement(stretch, 2):
        res = engine.run_pipeline(pipe, start, end, progress=False)
        for day in stretch[stretch.slice_indexer(start, end)]:
            row = res.loc[day]
            for name in res.columns:
                np.testing.assert_allclose(
                    row[name].to_numpy(dtype=float), expected[day][name], rtol=1e-12, atol=1e-12, equal_nan=True,
                    err_msg=f"{name} wl={wl} {start.date()}..{end.date()} on {day.date()}",
                )  # fmt: skip


def test_adjusted_array_keeps_column_contiguous_data_and_copies_the_rest():
    tall = np.asfortranarray(np.arange(40, dtype=float).reshape(10, 4))
    rows = tall[3:8]  # a row slice of an F-ordered array (a loader's rows of a longer array): columns contiguous
    assert not rows.flags.f_contiguous
    assert AdjustedArray(rows).data is rows  # kept as it is: the kernels only need each column contiguous
    c_order = np.ascontiguousarray(rows)
    data = AdjustedArray(c_order).data
    assert data.flags.f_contiguous and data is not c_order
    np.testing.assert_array_equal(data, c_order)
    every_other = tall[:, ::2]  # columns contiguous but the array is a column slice: kept too
    assert AdjustedArray(every_other).data is every_other


def test_adjusted_array_views():
    data = np.arange(12, dtype=float).reshape(6, 2)
    aa = AdjustedArray.from_records(data, [(3, 0, 0, 2, 0, 10.0), (4, 1, 1, 4, 2, -1.0)], np.nan)
    assert aa.has_adjustments and aa.shape == (6, 2)
    windows = [w.copy() for w in aa.traverse(2)]  # views into a working copy: copy to keep them
    assert len(windows) == 5
    np.testing.assert_array_equal(windows[1], data[1:3])  # ends at row 2: nothing applied yet
    np.testing.assert_array_equal(windows[2][:, 0], [40.0, 6.0])  # ends at row 3: column 0 rows 0..2 x10
    np.testing.assert_array_equal(windows[3][:, 1], [-1.0, -1.0])  # ends at row 4: column 1 rows 1..4 overwritten
    sliced = aa.sliced(2)
    assert sliced.shape == (4, 2)
    np.testing.assert_array_equal(sliced.as_of(1), aa.as_of(3)[2:])
    np.testing.assert_array_equal(aa.data, data)  # the baseline is never modified
    with pytest.raises(ValueError, match="2-D"):
        AdjustedArray(np.zeros(3))
    with pytest.raises(ValueError, match="ascending"):
        AdjustedArray(data, (np.array([0, 2, 2]), [3, 1], [0, 0], [1, 1], [1.0, 1.0], [0, 0]))
    with pytest.raises(ValueError, match="offsets"):
        AdjustedArray(data, (np.array([0, 1]), [3], [0], [1], [1.0], [0]))
