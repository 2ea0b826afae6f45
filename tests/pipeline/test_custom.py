"""CustomFactor / CustomFilter / CustomClassifier: the Python per-day path and the compiled (Numba) path."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pytest
from _world import rolling_reference, wide

from rustybt.pipeline import CustomClassifier, CustomFactor, CustomFilter
from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.errors import CustomTermComputeError, UnsupportedDataType, WindowLengthNotPositive
from rustybt.pipeline.factors import SimpleMovingAverage
from rustybt.pipeline.filters import StaticSids


class Range(CustomFactor):
    inputs = [P.high, P.low]
    window_length = 6

    def compute(self, today, assets, out, highs, lows):
        out[:] = np.nanmax(highs, axis=0) - np.nanmin(lows, axis=0)


class Scaled(CustomFactor):
    inputs = [P.close]
    params = {"scale": 2.0}

    def compute(self, today, assets, out, close, scale):
        out[:] = close[-1] * scale + close.shape[0]


@numba.njit(cache=True)
def _jit_range(self, today, assets, out, highs, lows):
    for j in range(highs.shape[1]):
        hi = -np.inf
        lo = np.inf
        for i in range(highs.shape[0]):
            if highs[i, j] > hi:
                hi = highs[i, j]
            if lows[i, j] < lo:
                lo = lows[i, j]
        out[j] = hi - lo if hi != -np.inf and lo != np.inf else np.nan


class JitRange(CustomFactor):
    inputs = [P.high, P.low]
    window_length = 6
    compute = _jit_range


class JitScaled(CustomFactor):
    inputs = [P.close]
    params = {"scale": 2.0}
    jit = True

    def compute(self, today, assets, out, close, scale):
        for j in range(close.shape[1]):
            out[j] = close[-1, j] * scale + close.shape[0]


class MeanAndMax(CustomFactor):
    inputs = [P.close]
    outputs = ["avg", "peak"]
    window_length = 4

    def compute(self, today, assets, out, close):
        out.avg[:] = np.nanmean(close, axis=0)
        out.peak[:] = np.nanmax(close, axis=0)


class Recorder(CustomFactor):
    """Records what compute receives."""

    inputs = [P.close]
    window_length = 3
    calls: list = []

    def compute(self, today, assets, out, close):
        Recorder.calls.append((today, np.asarray(assets).copy(), close.shape))
        out[:] = 1.0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_python_path_matches_reference(world):
    res = world.run(
        {"range": Range(), "scaled": Scaled(window_length=3), "scaled3": Scaled(window_length=3, scale=3.0)}
    )
    start = res.index.get_level_values(0)[0]
    ref = rolling_reference(world, ["high", "low"], 6, lambda h, lo: np.nanmax(h, 0) - np.nanmin(lo, 0), start)
    np.testing.assert_allclose(wide(res, "range", world).loc[start:], ref, equal_nan=True)
    for name, scale in (("scaled", 2.0), ("scaled3", 3.0)):
        ref = rolling_reference(world, "close", 3, lambda c, s=scale: c[-1] * s + 3, start)
        np.testing.assert_allclose(wide(res, name, world).loc[start:], ref, equal_nan=True)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_jit_path_equals_python_path(world):
    mask = StaticSids([1, 3, 4, 6])
    res = world.run(
        {
            "py": Range(),
            "jit": JitRange(),
            "py_masked": Range(mask=mask),
            "jit_masked": JitRange(mask=mask),
            "py_scaled": Scaled(window_length=5, scale=1.5),
            "jit_scaled": JitScaled(window_length=5, scale=1.5),
        }
    )
    np.testing.assert_allclose(res["jit"], res["py"], equal_nan=True)
    np.testing.assert_allclose(res["jit_masked"], res["py_masked"], equal_nan=True)
    np.testing.assert_allclose(res["jit_scaled"], res["py_scaled"], equal_nan=True)
    sids = np.array([int(a) for a in res.index.get_level_values(1)])
    assert res["jit_masked"][~np.isin(sids, [1, 3, 4, 6])].isna().all()


def test_compute_receives_masked_assets_and_windows(world):
    Recorder.calls.clear()
    mask = StaticSids([2, 3])
    start, end = world.sessions[50], world.sessions[53]
    world.run({"r": Recorder(mask=mask)}, start=start, end=end)
    assert len(Recorder.calls) == 4
    for today, assets, shape in Recorder.calls:
        assert isinstance(today, pd.Timestamp)
        assert list(assets) == [2, 3]
        assert shape == (3, 2)
    assert Recorder.calls[0][0] == start


def test_multiple_outputs(world):
    f = MeanAndMax()
    avg, peak = f
    assert avg is f.avg and peak is f.peak
    with pytest.raises(AttributeError, match="no output named"):
        f.nonexistent  # noqa: B018
    with pytest.raises(ValueError, match="does not have multiple outputs"):
        iter(Range())
    res = world.run({"avg": f.avg, "peak": f.peak, "sma": SimpleMovingAverage(inputs=[P.close], window_length=4)})
    np.testing.assert_allclose(res["avg"], res["sma"], rtol=1e-12, equal_nan=True)
    assert (res["peak"].fillna(np.inf) >= res["avg"].fillna(-np.inf)).all()


class Boom(CustomFactor):
    inputs = [P.close]
    window_length = 2

    def compute(self, today, assets, out, close):
        if today >= pd.Timestamp("2014-03-05"):
            raise ZeroDivisionError("boom")
        out[:] = 1.0


class WrongShape(CustomFactor):
    inputs = [P.close]
    window_length = 2

    def compute(self, today, assets, out, close):
        out[:] = np.zeros(len(out) + 1)


@numba.njit
def _jit_wrong_shape(self, today, assets, out, close):
    out[:] = np.zeros(out.shape[0] + 2)


class JitWrongShape(CustomFactor):
    inputs = [P.close]
    window_length = 2
    compute = _jit_wrong_shape


@numba.njit
def _not_nopython(self, today, assets, out, close):
    out[:] = {"a": close}  # not valid nopython code


class JitBadCode(CustomFactor):
    inputs = [P.close]
    window_length = 2
    compute = _not_nopython


def test_compute_errors_name_term_and_date(world):
    with pytest.raises(CustomTermComputeError, match=r"Boom.compute failed on 2014-03-05: ZeroDivisionError"):
        world.run({"b": Boom()}, start="2014-03-03", end="2014-03-10")
    with pytest.raises(
        CustomTermComputeError, match=r"(?s)WrongShape.compute failed on 2014-03-03.*one entry per asset"
    ):
        world.run({"w": WrongShape()}, start="2014-03-03", end="2014-03-04")
    with pytest.raises(CustomTermComputeError, match=r"JitWrongShape.compute failed on 2014-03-03"):
        world.run({"w": JitWrongShape()}, start="2014-03-03", end="2014-03-04")
    with pytest.raises(CustomTermComputeError, match="could not be compiled by Numba"):
        world.run({"w": JitBadCode()}, start="2014-03-03", end="2014-03-04")


def test_custom_term_construction_errors():
    with pytest.raises(TypeError, match="unexpected keyword"):
        Range(foo=1)
    with pytest.raises(WindowLengthNotPositive):
        Range(window_length=0)
    with pytest.raises(UnsupportedDataType, match="CustomFilter"):
        Range(dtype=bool)
    with pytest.raises(UnsupportedDataType, match="CustomFactor"):
        AboveMean(dtype=float)

    class NoCompute(CustomFactor):
        inputs = [P.close]
        window_length = 2

    with pytest.raises(NotImplementedError):
        NoCompute().compute(None, None, None)


class AboveMean(CustomFilter):
    inputs = [P.close]
    window_length = 5

    def compute(self, today, assets, out, close):
        out[:] = close[-1] > np.nanmean(close, axis=0)


class Bucket(CustomClassifier):
    inputs = [P.close]
    window_length = 1
    dtype = np.int64
    missing_value = -1

    def compute(self, today, assets, out, close):
        out[:] = np.where(np.isnan(close[-1]), -1, (close[-1] // 10).astype(np.int64))


class Size(CustomClassifier):
    inputs = [P.close]
    window_length = 1
    dtype = object
    missing_value = None

    def compute(self, today, assets, out, close):
        out[:] = np.where(close[-1] > 40, "big", "small")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_custom_filter_and_classifiers(world):
    res = world.run(
        {
            "close": P.close.latest,
            "sma5": SimpleMovingAverage(inputs=[P.close], window_length=5),
            "above": AboveMean(),
            "bucket": Bucket(),
            "size": Size(),
            "z_by_size": P.close.latest.zscore(groupby=Size()),
        }
    )
    expected_above = (res["close"] > res["sma5"]).to_numpy()
    assert (res["above"].to_numpy() == expected_above).all()
    expected_bucket = np.where(res["close"].isna(), -1, res["close"] // 10)
    np.testing.assert_array_equal(res["bucket"].to_numpy(), expected_bucket)
    assert isinstance(res["size"].dtype, pd.CategoricalDtype)
    assert set(res["size"].cat.categories) <= {"big", "small"}
    expected_size = np.where(res["close"] > 40, "big", "small")
    assert (res["size"].astype(str).to_numpy() == expected_size).all()
    dates = res.index.get_level_values(0)
    grp = res.groupby([dates, res["size"].astype(str)], observed=True)["close"]
    z = (res["close"] - grp.transform("mean")) / grp.transform(lambda x: x.std(ddof=0))
    np.testing.assert_allclose(res["z_by_size"], z, rtol=1e-10, atol=1e-12, equal_nan=True)
