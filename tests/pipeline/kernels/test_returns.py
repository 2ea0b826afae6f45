"""Returns / PercentChange / DailyReturns / RateOfChangePercentage against zipline's formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rustybt.pipeline.kernels._adjust import Adjustments, empty_adjustments
from rustybt.pipeline.kernels.returns import (
    PERCENT_CHANGE,
    RETURNS,
    daily_returns,
    percent_change,
    rate_of_change_percentage,
    returns,
    returns_kernel,
)
from rustybt.testing.pit import make_adjustments, point_in_time_reference

WINDOWS = (2, 5, 20)


def make_prices(seed: int, n: int = 90, m: int = 10) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, size=(n, m)), axis=0))
    x[rng.random((n, m)) < 0.08] = np.nan
    x[: n // 3, 1] = np.nan  # leading NaNs
    x[:, 2] = np.nan
    x[:, 3] = rng.normal(0.0, 1.0, n).round(1)  # signed values and zeros: x / 0, 0 / 0, abs(old)
    x[5, 4], x[20, 4] = np.inf, -np.inf
    return x


# zipline-reloaded's compute() bodies
def ref_returns(close):
    return (close[-1] - close[0]) / close[0]


def ref_percent_change(values):
    return (values[-1] - values[0]) / abs(values[0])


def ref_roc(close):
    today_close = close[-1]
    prev_close = close[0]
    return ((today_close - prev_close) / prev_close) * 100


KERNELS = {
    "returns": (returns, ref_returns),
    "percent_change": (percent_change, ref_percent_change),
    "rate_of_change_percentage": (rate_of_change_percentage, ref_roc),
}


def assert_same(got, want):
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0, equal_nan=True)


@pytest.mark.parametrize("order", ["F", "C"])
@pytest.mark.parametrize("wl", WINDOWS)
@pytest.mark.parametrize("name", list(KERNELS))
def test_matches_zipline_formula(name, wl, order):
    fn, ref = KERNELS[name]
    x = make_prices(seed=wl)
    data = np.asfortranarray(x) if order == "F" else np.ascontiguousarray(x)
    got = fn(data, wl)
    assert got.flags.f_contiguous
    assert_same(got, point_in_time_reference(ref, x, empty_adjustments(x.shape[1]), wl))


@pytest.mark.parametrize("wl", WINDOWS)
@pytest.mark.parametrize("name", list(KERNELS))
def test_adjustments_are_point_in_time(name, wl):
    fn, ref = KERNELS[name]
    x = make_prices(seed=50 + wl)
    adj = make_adjustments(seed=50 + wl)
    assert_same(fn(x, wl, adjustments=adj), point_in_time_reference(ref, x, adj, wl))


def test_split_does_not_show_as_a_return_once_known():
    """A 2:1 split at row 10, known from row 10: returns over windows ending at 10+ see adjusted history."""
    x = np.full((15, 1), 100.0)
    x[10:, 0] = 50.0
    adj = (np.array([0, 1]), np.array([10]), np.array([0]), np.array([9]), np.array([0.5]), np.array([0]))
    got = returns(x, 3, adjustments=adj)[:, 0]
    np.testing.assert_array_equal(got, np.zeros(13))
    assert returns(x, 3)[8, 0] == -0.5  # the raw data shows the split as a -50% return


def test_daily_returns_is_returns_with_window_two():
    x = make_prices(seed=4)
    adj = make_adjustments(seed=4)
    np.testing.assert_array_equal(daily_returns(x, adjustments=adj), returns(x, 2, adjustments=adj))


def test_daily_returns_match_pandas_pct_change():
    x = make_prices(seed=6)
    x[:, 3] = np.abs(x[:, 3]) + 1.0  # no zeros and no infinities: pandas and numpy agree on finite ratios
    x[:, 4] = np.where(np.isinf(x[:, 4]), np.nan, x[:, 4])
    want = pd.DataFrame(x).pct_change(fill_method=None).to_numpy()[1:]  # pandas: new / old - 1
    np.testing.assert_allclose(daily_returns(x), want, rtol=1e-11, atol=1e-15, equal_nan=True)


def test_rate_of_change_accepts_window_one():
    x = make_prices(seed=5)
    with np.errstate(all="ignore"):
        want = (x - x) / x * 100
    np.testing.assert_array_equal(rate_of_change_percentage(x, 1), want)


@pytest.mark.parametrize("fn", [returns, percent_change])
def test_window_length_at_least_two(fn):
    with pytest.raises(ValueError, match="at least 2"):
        fn(np.ones((5, 2)), 1)


def test_raw_kernels_fill_preallocated_out():
    x = np.asfortranarray(make_prices(seed=7))
    adj = make_adjustments(seed=7)
    out = np.full((x.shape[0] - 4, x.shape[1]), -1.0, order="F")
    returns_kernel(x, 5, Adjustments(*adj), out, RETURNS)
    np.testing.assert_array_equal(out, returns(x, 5, adjustments=adj))
    returns_kernel(x, 5, Adjustments(*adj), out, PERCENT_CHANGE)
    np.testing.assert_array_equal(out, percent_change(x, 5, adjustments=adj))


def test_read_only_input():
    x = np.asfortranarray(make_prices(seed=8))
    before = x.copy()
    x.flags.writeable = False
    adj = make_adjustments(seed=8)
    got = returns(x, 5, adjustments=adj)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(got, returns(before, 5, adjustments=adj))


def test_fewer_dates_than_window():
    assert returns(np.ones((3, 4)), 5).shape == (0, 4)
