"""The per-run array pool: what it may recycle, and that recycling never changes results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _world import xnys_sessions
from scipy import stats

from rustybt.assets import AssetFinder, Equity
from rustybt.pipeline import US_EQUITIES, Pipeline, SimplePipelineEngine
from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.factors import Factor, Returns, SimpleMovingAverage
from rustybt.pipeline.kernels import _pool
from rustybt.pipeline.loaders import DataFrameLoader

BIG = (400, 400)  # 1.2 MiB of float64: above the pool's size threshold


def test_release_keeps_only_unreferenced_owning_arrays():
    pool = _pool.ArrayPool()
    box = {"free": np.empty(BIG), "kept": np.empty(BIG), "view": np.empty((401, 400))[1:], "small": np.empty(10)}
    kept = box["kept"]
    # (outside assert statements: pytest's assertion rewriting keeps references to the values it shows)
    released = [pool.release(box.pop("free"))]
    released.append(pool.release(box.pop("kept")))  # someone still holds it
    released.append(pool.release(box.pop("view")))  # a view of another array
    released.append(pool.release(box.pop("small")))
    assert released == [True, False, False, False]
    assert pool.released == 1 and kept.shape == BIG

    with _pool.pooled(pool):
        again = _pool.empty(BIG, order="C")
        assert pool.reused == 1 and again.shape == BIG
        fresh = _pool.full(BIG, np.nan, order="C")  # the pool is empty now: a new array
        assert np.isnan(fresh).all() and fresh is not again
    assert _pool.active_pool() is None
    assert _pool.empty(BIG).flags.f_contiguous


def test_released_array_in_use_elsewhere_is_not_recycled():
    pool = _pool.ArrayPool()
    box = {"a": np.ones(BIG)}
    alias = [box["a"]]
    released = pool.release(box.pop("a"))
    assert released is False
    with _pool.pooled(pool):
        other = _pool.full(BIG, 7.0)
    assert (alias[0] == 1.0).all() and (other == 7.0).all()


def test_a_kept_buffer_serves_other_shapes_as_a_view_and_comes_back():
    pool = _pool.ArrayPool()
    box = {"a": np.empty(BIG)}
    buffer_id = id(box["a"])
    released = [pool.release(box.pop("a"))]  # (outside asserts: see above)
    with _pool.pooled(pool):
        box["v"] = _pool.empty((390, 400), np.float64, "F")  # 2.5% smaller: a view of the kept buffer
        assert box["v"].flags.f_contiguous and id(box["v"].base) == buffer_id and pool.nbytes == 0
        box["v"][:] = 3.0
        released.append(pool.release(box.pop("v")))  # the buffer returns
        assert released == [True, True]
        assert pool.nbytes == np.empty(BIG).nbytes
        whole = _pool.empty(BIG, order="C")  # the exact shape again: the buffer itself
        assert id(whole) == buffer_id and whole.base is None
    assert pool.reused == 2


def test_a_lent_view_is_not_recycled_while_its_buffer_is_used_elsewhere():
    pool = _pool.ArrayPool()
    box = {"a": np.empty(BIG)}
    pool.release(box.pop("a"))
    with _pool.pooled(pool):
        box["v"] = _pool.full((390, 400), 1.0)
        user_slice = box["v"][10:]  # the user kept a view of the result: it shares the buffer
        released = pool.release(box.pop("v"))
        assert released is False
        other = _pool.full((390, 400), 2.0)  # so this one is new memory
    assert (user_slice == 1.0).all() and (other == 2.0).all()


def test_lent_buffers_dropped_without_release_are_freed():
    import gc
    import weakref

    pool = _pool.ArrayPool()
    box = {"a": np.empty(BIG)}
    pool.release(box.pop("a"))
    with _pool.pooled(pool):
        view = _pool.empty((390, 400))
    buffer = weakref.ref(view.base)
    del view
    gc.collect()
    assert buffer() is None and len(pool._lent) == 0


def test_a_much_larger_buffer_is_not_spent_on_a_small_request():
    pool = _pool.ArrayPool()
    box = {"a": np.empty(BIG)}
    pool.release(box.pop("a"))
    with _pool.pooled(pool):
        small = _pool.empty((200, 400))  # half the size: a kept buffer this much larger stays for a larger request
    assert small.base is None and pool.reused == 0 and pool.nbytes > 0


class _Stash(Factor):
    """Twice its input; keeps a reference to each result it returns, as user code might."""

    window_length = 0
    dtype = np.dtype("float64")
    kept: list = []

    def _compute(self, arrays, dates, assets, mask):
        out = np.asfortranarray(np.asarray(arrays[0]) * 2.0)
        type(self).kept.append(out)
        return out


@pytest.fixture(scope="module")
def big_world():
    sessions = xnys_sessions("2012-01-03", "2013-08-30")
    sids = np.arange(1, 401)
    rng = np.random.default_rng(3)
    close = pd.DataFrame(
        50 * np.exp(np.cumsum(rng.normal(0, 0.02, (len(sessions), len(sids))), axis=0)), index=sessions, columns=sids
    )
    close.iloc[rng.random(close.shape) < 0.02] = np.nan
    start = sessions[0] - pd.Timedelta(days=1)
    equities = [Equity(int(s), f"S{s}", start_date=start, end_date=sessions[-1], exchange="NYSE") for s in sids]
    finder = AssetFinder(equities)
    engine = SimplePipelineEngine({P.close: DataFrameLoader(P.close, close)}, finder, default_domain=US_EQUITIES)
    return engine, close


def test_results_with_recycled_arrays_match_plain_references(big_world):
    engine, close = big_world
    ret = Returns(window_length=5)
    stash = _Stash(inputs=[SimpleMovingAverage(inputs=[P.close], window_length=10)])
    pipe = Pipeline(
        {
            "stash": stash,  # first: every later term allocates after it was released (if it wrongly were)
            "close": P.close.latest,
            "sma10": SimpleMovingAverage(inputs=[P.close], window_length=10),
            "sma30": SimpleMovingAverage(inputs=[P.close], window_length=30),
            "ret": ret,
            "ret_z": ret.zscore(),
            "ret_rank": ret.rank(),
        }
    )
    start, end = close.index[40], close.index[-1]
    _Stash.kept = []
    with _pool.pooled() as pool:
        result = engine.run_pipeline(pipe, start, end)
    assert pool.reused > 0  # the run did recycle arrays

    def wide(name):
        col = result[name]
        frame = pd.Series(col.to_numpy(), index=pd.MultiIndex.from_arrays(
            [col.index.get_level_values(0), [a.sid for a in col.index.get_level_values(1)]]))  # fmt: skip
        return frame.unstack().reindex(index=close.loc[start:end].index, columns=close.columns)

    window = close.loc[:end]
    expected = {
        "close": window,
        "sma10": window.rolling(10, min_periods=1).mean(),
        "sma30": window.rolling(30, min_periods=1).mean(),
        "ret": window / window.shift(4) - 1,
        "stash": 2 * window.rolling(10, min_periods=1).mean(),
    }
    r = expected["ret"].loc[start:end]
    expected["ret_z"] = r.sub(r.mean(axis=1), axis=0).div(r.std(axis=1, ddof=0), axis=0)
    ranks = np.full(r.shape, np.nan)
    for i, row in enumerate(r.to_numpy()):
        ok = ~np.isnan(row)
        ranks[i, ok] = stats.rankdata(row[ok], method="ordinal")
    expected["ret_rank"] = pd.DataFrame(ranks, index=r.index, columns=r.columns)
    for name, ref in expected.items():
        got, want = wide(name).to_numpy(), ref.loc[start:end].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=name)

    # the array the term returned (and its author kept) was not recycled: later terms did not overwrite it
    (kept,) = _Stash.kept
    np.testing.assert_allclose(kept[-len(r) :], wide("stash").to_numpy(), rtol=1e-12)


def test_engine_keeps_its_pool_between_runs(big_world):
    engine, close = big_world
    engine.array_pool.clear()
    pipe = Pipeline({"sma": SimpleMovingAverage(inputs=[P.close], window_length=10), "ret": Returns(window_length=5)})
    start, end = close.index[40], close.index[-1]
    first = engine.run_pipeline(pipe, start, end)
    held, reused = engine.array_pool.nbytes, engine.array_pool.reused
    assert held > 0  # the run's released arrays stay for the next one
    again = engine.run_pipeline(pipe, start, end)
    assert engine.array_pool.reused > reused
    pd.testing.assert_frame_equal(again, first)
    engine.array_pool.clear()
    assert engine.array_pool.nbytes == 0


def test_multiple_output_arrays_are_recycled(big_world):
    from rustybt.pipeline.factors import BollingerBands

    engine, close = big_world
    bb = BollingerBands(window_length=10, k=2)
    pipe = Pipeline({"lower": bb.lower, "middle": bb.middle, "upper": bb.upper})
    start, end = close.index[40], close.index[-1]
    with _pool.pooled() as pool:
        result = engine.run_pipeline(pipe, start, end)
    # the three band arrays come back once gathered (the multiple-output value held them until it was dropped)
    assert pool.released == 3
    window = close.loc[:end]
    mean = window.rolling(10, min_periods=1).mean()  # zipline's nanmean / nanstd over each window
    std = window.rolling(10, min_periods=1).std(ddof=0)
    for name, ref in {"lower": mean - 2 * std, "middle": mean, "upper": mean + 2 * std}.items():
        col = result[name]
        got = pd.Series(col.to_numpy(), index=pd.MultiIndex.from_arrays(
            [col.index.get_level_values(0), [a.sid for a in col.index.get_level_values(1)]])).unstack()  # fmt: skip
        want = ref.loc[start:end].reindex(columns=got.columns)
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9, atol=1e-9, err_msg=name)


def test_recycling_across_shapes_keeps_results_exact(big_world):
    # terms with different lookback rows (and bool filters) share buffers through views of other-shaped arrays
    engine, close = big_world
    daily = Returns(window_length=2)
    pipe = Pipeline(
        {
            "ret2": daily,
            "ret2_sma20": SimpleMovingAverage(inputs=[daily], window_length=20),  # daily gets 19 lookback rows
            "close": P.close.latest,
            "sma30": SimpleMovingAverage(inputs=[P.close], window_length=30),
            "up": daily > 0,
        }
    )
    start, end = close.index[40], close.index[-1]
    engine.array_pool.clear()
    box = {"spare": np.empty((len(close) + 10, close.shape[1]), order="F")}  # larger than any array of the run
    engine.array_pool.release(box.pop("spare"))
    views_before = engine.array_pool.views
    result = engine.run_pipeline(pipe, start, end)
    assert engine.array_pool.views > views_before  # kernels wrote into a view of the spare buffer

    window = close.loc[:end]
    ret2 = window / window.shift(1) - 1
    expected = {
        "ret2": ret2,
        "ret2_sma20": ret2.rolling(20, min_periods=1).mean(),
        "close": window,
        "sma30": window.rolling(30, min_periods=1).mean(),
        "up": (ret2 > 0).astype(float),
    }
    sids = [a.sid for a in result.index.get_level_values(1)]
    for name, ref in expected.items():
        got = pd.Series(result[name].to_numpy(dtype=float), index=pd.MultiIndex.from_arrays(
            [result.index.get_level_values(0), sids])).unstack()  # fmt: skip
        want = ref.loc[start:end].reindex(index=got.index, columns=got.columns)
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def _sma_wide(result, close, start, end, name="sma"):
    col = result[name]
    got = pd.Series(col.to_numpy(), index=pd.MultiIndex.from_arrays(
        [col.index.get_level_values(0), [a.sid for a in col.index.get_level_values(1)]])).unstack()  # fmt: skip
    want = close.loc[:end].rolling(10, min_periods=1).mean().loc[start:end].reindex(columns=got.columns)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def _fresh_results(big_world):
    """The engine with an empty pool, a two-column pipeline, its range, and the result-reuse count so far."""
    engine, close = big_world
    engine.array_pool.clear()
    pipe = Pipeline({"sma": SimpleMovingAverage(inputs=[P.close], window_length=10), "ret": Returns(window_length=5)})
    return engine, close, pipe, close.index[40], close.index[-1], engine.array_pool.results_reused


def test_a_dropped_result_lends_its_block_to_a_later_result(big_world):
    engine, close, pipe, start, end, base = _fresh_results(big_world)
    df = engine.run_pipeline(pipe, start, end)
    df = engine.run_pipeline(pipe, start, end)  # the first result is dropped only after this one is computed
    assert engine.array_pool.results_reused == base
    for _ in range(3):  # as a notebook cell run again: df = run_pipeline(...)
        df = engine.run_pipeline(pipe, start, end)
        _sma_wide(df, close, start, end)
    assert engine.array_pool.results_reused == base + 3
    engine.array_pool.clear()
    df = engine.run_pipeline(pipe, start, end)  # clear() forgets the buffers
    assert engine.array_pool.results_reused == base + 3


def test_results_and_what_was_taken_from_them_are_never_overwritten(big_world):
    engine, close, pipe, start, end, base = _fresh_results(big_world)
    kept = [engine.run_pipeline(pipe, start, end) for _ in range(3)]  # all alive
    series = engine.run_pipeline(pipe, start, end)["sma"]  # the frame is gone, a column of it is not
    array = engine.run_pipeline(pipe, start, end)[["sma", "ret"]].to_numpy()  # nor an array taken from it
    before = [k.copy(deep=True) for k in kept], series.copy(deep=True), array.copy()
    assert engine.array_pool.results_reused == base
    other = Pipeline({"sma": SimpleMovingAverage(inputs=[P.close], window_length=3), "ret": Returns(window_length=3)})
    for _ in range(3):  # same-sized result blocks, other values: none of the above may be handed out
        engine.run_pipeline(other, start, end)
    for k, b in zip(kept, before[0], strict=True):
        pd.testing.assert_frame_equal(k, b)
    pd.testing.assert_series_equal(series, before[1])
    np.testing.assert_array_equal(array, before[2])
    _sma_wide(kept[0], close, start, end)
    # the remembered buffers were the series' and the array's (a view of its frame's block): the loop's first
    # result took new memory, the next two reused it
    assert engine.array_pool.results_reused == base + 2


def test_a_kept_polars_result_is_never_overwritten(big_world):
    engine, _close, pipe, start, end, base = _fresh_results(big_world)
    kept = engine.run_pipeline(pipe, start, end, output="polars")
    snapshot = {c: kept.get_column(c).to_numpy().copy() for c in ("sma", "ret")}
    for _ in range(3):  # df = run_pipeline(...) again and again, while the polars result lives
        engine.run_pipeline(pipe, start, end)
    for column, values in snapshot.items():
        np.testing.assert_array_equal(kept.get_column(column).to_numpy(), values, err_msg=column)
    assert engine.array_pool.results_reused >= base + 1  # the pandas results dropped meanwhile were reused
