"""Rolling-window kernels against plain numpy references (zipline's own ``compute`` formulas) and pandas.

The adjustment property is checked by brute force: output row ``i`` must equal the reference on the window
``[i, i + wl)`` of the data adjusted with exactly the adjustments whose ``apply_row <= i + wl - 1``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from rustybt.pipeline.kernels._adjust import Adjustments, empty_adjustments
from rustybt.pipeline.kernels.rolling import (
    MEAN,
    RESUM_PERIOD,
    annualized_volatility,
    average_dollar_volume,
    linear_weighted_moving_average,
    linear_weighted_moving_average_kernel,
    max_drawdown,
    rolling_count,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_moments_kernel,
    rolling_std,
    rolling_sum,
    rolling_var,
    rsi,
    vwap,
    weighted_average_kernel,
    weighted_average_value,
)
from rustybt.testing.pit import adjusted_as_of

WINDOWS = (1, 2, 5, 20)
N_DATES = 90
N_ASSETS = 12

# --------------------------------------------------------------------------------------------------------------
# data, adjustments and the brute-force point-in-time reference
# --------------------------------------------------------------------------------------------------------------


def make_prices(seed: int, n: int = N_DATES, m: int = N_ASSETS) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, size=(n, m)), axis=0))
    x[:, 0] = np.round(x[:, 0])  # ties (max/min/drawdown tie-breaking)
    x[rng.random((n, m)) < 0.08] = np.nan  # scattered NaNs
    x[: n // 3, 1] = np.nan  # leading NaNs: the asset starts late
    x[:, 2] = np.nan  # never trades
    x[n // 4 : n // 4 + 25, 3] = np.nan  # gap longer than every window: all-NaN windows
    x[:, 4] = 7.25  # constant
    x[::2, 5] = np.nan  # every other row missing
    x[:, 6] = rng.normal(0.0, 1.0, n).round(1)  # signed, with zeros and ties
    x[-5:, 7] = np.nan  # trailing NaNs
    return x


def make_volume(seed: int, n: int = N_DATES, m: int = N_ASSETS) -> np.ndarray:
    rng = np.random.default_rng(seed + 1000)
    v = rng.integers(0, 5000, size=(n, m)).astype(np.float64)
    v[rng.random((n, m)) < 0.1] = 0.0
    v[rng.random((n, m)) < 0.08] = np.nan
    v[: n // 2, 8] = 0.0  # all-zero volume windows: 0 / 0
    v[:, 9] = np.nan
    return v


def make_adjustments(seed: int, n: int = N_DATES, m: int = N_ASSETS, ops=(0, 1, 2)) -> tuple:
    """Random CSR adjustments: mostly back-adjustments (rows before apply_row), some arbitrary and out of range."""
    rng = np.random.default_rng(seed + 2000)
    cols = []
    for j in range(m):
        k = 0 if j % 4 == 3 else int(rng.integers(1, 6))
        applies = np.sort(rng.integers(-3, n + 3, size=k))
        rows = []
        for a in applies:
            op = int(rng.choice(ops))
            if rng.random() < 0.7:
                first, last = int(rng.integers(-3, max(a, 0) + 1)), int(a) - 1
            else:
                first = int(rng.integers(-5, n))
                last = first + int(rng.integers(0, n // 2))
            if op == 0:
                value = float(rng.uniform(0.2, 1.5))
            elif op == 1:
                value = float(rng.normal(0.0, 3.0))
            else:
                value = float(rng.uniform(1.0, 80.0))
            rows.append((int(a), first, last, value, op))
        cols.append(rows)
    offsets = np.zeros(m + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c) for c in cols])
    flat = [r for c in cols for r in c]
    return (
        offsets,
        np.array([r[0] for r in flat], dtype=np.int64),
        np.array([r[1] for r in flat], dtype=np.int64),
        np.array([r[2] for r in flat], dtype=np.int64),
        np.array([r[3] for r in flat], dtype=np.float64),
        np.array([r[4] for r in flat], dtype=np.int64),
    )


def point_in_time_reference(ref, inputs, adjs, wl: int) -> np.ndarray:
    n, m = inputs[0].shape
    rows = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for i in range(n - wl + 1):
            t = i + wl - 1
            windows = [adjusted_as_of(x, a, t)[i : i + wl] for x, a in zip(inputs, adjs, strict=True)]
            rows.append(ref(*windows))
    return np.array(rows, dtype=np.float64).reshape(n - wl + 1, m)


def assert_same(got: np.ndarray, want: np.ndarray, rtol: float = 1e-9, atol: float = 1e-9) -> None:
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


# --------------------------------------------------------------------------------------------------------------
# references: zipline-reloaded's compute() formulas, on one (wl, n_assets) window
# --------------------------------------------------------------------------------------------------------------


def ref_lwma(data):
    ndays = data.shape[0]
    weights = np.arange(1, ndays + 1, dtype=np.float64).reshape(ndays, 1)
    normalizer = (ndays * (ndays + 1)) / 2
    return np.nansum(data * weights, axis=0) / normalizer


def ref_max_drawdown(data):
    out = np.empty(data.shape[1])
    drawdowns = np.fmax.accumulate(data, axis=0) - data
    drawdowns[np.isnan(drawdowns)] = -np.inf
    drawdown_ends = np.nanargmax(drawdowns, axis=0)
    for i, end in enumerate(drawdown_ends):
        peak = np.nanmax(data[: end + 1, i])
        out[i] = (peak - data[end, i]) / data[end, i]
    return out


def ref_rsi(closes):
    diffs = np.diff(closes, axis=0)
    ups = np.nanmean(np.clip(diffs, 0, np.inf), axis=0)
    downs = np.abs(np.nanmean(np.clip(diffs, -np.inf, 0), axis=0))
    return 100 - (100 / (1 + (ups / downs)))


SINGLE = {
    "sum": (rolling_sum, lambda w: np.nansum(w, axis=0)),
    "mean": (rolling_mean, lambda w: np.nanmean(w, axis=0)),
    "var": (rolling_var, lambda w: np.nanvar(w, axis=0)),
    "std": (rolling_std, lambda w: np.nanstd(w, axis=0)),
    "min": (rolling_min, lambda w: np.nanmin(w, axis=0)),
    "max": (rolling_max, lambda w: np.nanmax(w, axis=0)),
    "count": (rolling_count, lambda w: np.sum(~np.isnan(w), axis=0)),
    "lwma": (linear_weighted_moving_average, ref_lwma),
    "max_drawdown": (max_drawdown, ref_max_drawdown),
    "annualized_volatility": (
        lambda x, wl, adjustments=None: annualized_volatility(x, wl, adjustments=adjustments),
        lambda r: np.nanstd(r, axis=0) * (252.0**0.5),
    ),
    "rsi": (rsi, ref_rsi),
}

PAIR = {
    "weighted_average_value": (
        lambda b, w, wl, a1=None, a2=None: weighted_average_value(b, w, wl, a1, a2),
        lambda b, w: np.nansum(b * w, axis=0) / np.nansum(w, axis=0),
    ),
    "vwap": (
        lambda c, v, wl, a1=None, a2=None: vwap(c, v, wl, close_adjustments=a1, volume_adjustments=a2),
        lambda c, v: np.nansum(c * v, axis=0) / np.nansum(v, axis=0),
    ),
    "average_dollar_volume": (
        lambda c, v, wl, a1=None, a2=None: average_dollar_volume(c, v, wl, a1, a2),
        lambda c, v: np.nansum(c * v, axis=0) / len(c),
    ),
}


def _order(x: np.ndarray, order: str) -> np.ndarray:
    return np.asfortranarray(x) if order == "F" else np.ascontiguousarray(x)


# --------------------------------------------------------------------------------------------------------------
# plain windows, F- and C-ordered input
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["F", "C"])
@pytest.mark.parametrize("wl", WINDOWS)
@pytest.mark.parametrize("name", list(SINGLE))
def test_single_input_matches_reference(name, wl, order):
    fn, ref = SINGLE[name]
    x = make_prices(seed=wl)
    got = fn(_order(x, order), wl)
    assert got.flags.f_contiguous
    want = point_in_time_reference(ref, [x], [empty_adjustments(x.shape[1])], wl)
    assert_same(got, want)


@pytest.mark.parametrize("order", ["F", "C"])
@pytest.mark.parametrize("wl", WINDOWS)
@pytest.mark.parametrize("name", list(PAIR))
def test_pair_input_matches_reference(name, wl, order):
    fn, ref = PAIR[name]
    c, v = make_prices(seed=wl), make_volume(seed=wl)
    got = fn(_order(c, order), _order(v, order), wl)
    e = empty_adjustments(c.shape[1])
    assert_same(got, point_in_time_reference(ref, [c, v], [e, e], wl))


# --------------------------------------------------------------------------------------------------------------
# point-in-time adjustments
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wl", WINDOWS)
@pytest.mark.parametrize("name", list(SINGLE))
def test_single_input_adjustments_are_point_in_time(name, wl):
    fn, ref = SINGLE[name]
    x = make_prices(seed=10 + wl)
    adj = make_adjustments(seed=10 + wl)
    got = fn(x, wl, adjustments=adj)
    want = point_in_time_reference(ref, [x], [adj], wl)
    assert_same(got, want)


@pytest.mark.parametrize("wl", WINDOWS)
@pytest.mark.parametrize("name", list(PAIR))
def test_pair_input_adjustments_are_point_in_time(name, wl):
    fn, ref = PAIR[name]
    c, v = make_prices(seed=20 + wl), make_volume(seed=20 + wl)
    ca = make_adjustments(seed=20 + wl, ops=(0, 1))
    va = make_adjustments(seed=40 + wl, ops=(0, 2))
    got = fn(c, v, wl, ca, va)
    assert_same(got, point_in_time_reference(ref, [c, v], [ca, va], wl))


def test_adjustments_on_one_input_only():
    c, v = make_prices(seed=3), make_volume(seed=3)
    va = make_adjustments(seed=3)
    e = empty_adjustments(c.shape[1])
    got = vwap(c, v, 5, volume_adjustments=va)
    want = point_in_time_reference(lambda a, b: np.nansum(a * b, axis=0) / np.nansum(b, axis=0), [c, v], [e, va], 5)
    assert_same(got, want)


def test_adjustment_is_invisible_before_its_apply_row():
    """A 2:1 split known at row 30 halves the history only for windows ending at row 30 or later."""
    x = np.full((40, 1), 100.0)
    x[30:, 0] = 50.0
    adj = (
        np.array([0, 1], dtype=np.int64),
        np.array([30], dtype=np.int64),
        np.array([0], dtype=np.int64),
        np.array([29], dtype=np.int64),
        np.array([0.5]),
        np.array([0], dtype=np.int64),
    )
    got = rolling_mean(x, 5, adjustments=adj)[:, 0]
    np.testing.assert_array_equal(got[:26], 100.0)  # windows ending at rows 4..29: unadjusted
    np.testing.assert_array_equal(got[26:], 50.0)  # windows ending at 30+: the split is known
    raw = rolling_mean(x, 5)[:, 0]
    assert raw[26] == 90.0  # without the adjustment the split shows as a price drop


# --------------------------------------------------------------------------------------------------------------
# infinities (evaluated directly with numpy semantics)
# --------------------------------------------------------------------------------------------------------------


def _with_infinities(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[10, 0] = np.inf
    x[12, 0] = -np.inf
    x[30, 8] = np.inf
    x[31, 9] = -np.inf
    x[50:53, 10] = np.inf
    return x


@pytest.mark.parametrize("wl", [1, 3, 20])
@pytest.mark.parametrize("name", list(SINGLE))
def test_single_input_with_infinities(name, wl):
    fn, ref = SINGLE[name]
    x = _with_infinities(make_prices(seed=5))
    adj = make_adjustments(seed=5, ops=(0, 1))
    got = fn(x, wl, adjustments=adj)
    assert_same(got, point_in_time_reference(ref, [x], [adj], wl))


@pytest.mark.parametrize("name", list(PAIR))
def test_pair_input_with_infinities(name):
    fn, ref = PAIR[name]
    c, v = _with_infinities(make_prices(seed=6)), make_volume(seed=6)
    v[40, 11] = np.inf
    v[41, 4] = -np.inf
    e = empty_adjustments(c.shape[1])
    assert_same(fn(c, v, 4), point_in_time_reference(ref, [c, v], [e, e], 4))


# --------------------------------------------------------------------------------------------------------------
# long series: periodic re-summation, pandas cross-check, precision
# --------------------------------------------------------------------------------------------------------------


def test_long_series_matches_pandas_rolling():
    rng = np.random.default_rng(7)
    n, m = 5 * RESUM_PERIOD + 17, 6
    x = 100.0 + np.cumsum(rng.normal(0.0, 1.0, size=(n, m)), axis=0)
    x[rng.random((n, m)) < 0.1] = np.nan
    x[1000:1100, 1] = np.nan
    x[:3000, 2] = np.nan
    frame = pd.DataFrame(x)
    for wl in (5, 63, 252):
        roll = frame.rolling(wl, min_periods=1)
        full = slice(wl - 1, None)
        assert_same(rolling_mean(x, wl), roll.mean().to_numpy()[full])
        assert_same(rolling_sum(x, wl), frame.rolling(wl, min_periods=0).sum().to_numpy()[full])
        # pandas' online variance leaves residue (~1e-6) on single-value windows; numpy gives 0, so do we
        count = roll.count().to_numpy()[full]
        std = rolling_std(x, wl)
        assert_same(std[count >= 2], roll.std(ddof=0).to_numpy()[full][count >= 2], atol=1e-8)
        assert np.all(std[count == 1] == 0.0)
        assert_same(rolling_min(x, wl), roll.min().to_numpy()[full], rtol=0, atol=0)
        assert_same(rolling_max(x, wl), roll.max().to_numpy()[full], rtol=0, atol=0)
        assert_same(rolling_count(x, wl), roll.count().to_numpy()[full], rtol=0, atol=0)


def test_long_series_precision_is_bounded_by_resummation():
    """200,000 rows of ~1e6 + small noise: running sums stay within a few ulps of an exact (fsum) reference."""
    rng = np.random.default_rng(11)
    n, wl = 200_000, 50
    level = 1e6 + np.cumsum(rng.normal(0.0, 0.5, n))  # drifting level: the shift must follow it
    x = (level + rng.normal(0.0, 1e-3, n)).reshape(n, 1)
    mean = rolling_mean(x, wl)[:, 0]
    total = rolling_sum(x, wl)[:, 0]
    std = rolling_std(x, wl)[:, 0]
    lwma = linear_weighted_moving_average(x, wl)[:, 0]
    # windows right before a periodic rebuild (largest drift), at the very end, and random ones
    checks = sorted(
        {i * RESUM_PERIOD - 1 for i in range(1, n // RESUM_PERIOD)}
        | set(range(n - wl - 20, n - wl + 1))
        | set(rng.integers(0, n - wl + 1, 300).tolist())
    )
    weights = np.arange(1, wl + 1, dtype=np.float64)
    worst = dict.fromkeys(("mean", "sum", "std", "lwma"), 0.0)
    for i in checks:
        w = x[i : i + wl, 0]
        s = math.fsum(w)
        mu = s / wl
        var = math.fsum((v - mu) ** 2 for v in w) / wl
        lw = math.fsum((w * weights).tolist()) / (wl * (wl + 1) / 2)
        worst["sum"] = max(worst["sum"], abs(total[i] - s) / abs(s))
        worst["mean"] = max(worst["mean"], abs(mean[i] - mu) / abs(mu))
        worst["lwma"] = max(worst["lwma"], abs(lwma[i] - lw) / abs(lw))
        worst["std"] = max(worst["std"], abs(std[i] - math.sqrt(var)) / math.sqrt(var))
    assert worst["sum"] < 1e-14, worst
    assert worst["mean"] < 1e-14, worst
    assert worst["lwma"] < 1e-14, worst
    # a naive running sum of squares is off by ~1e-2 here (x**2 ~ 1e12 against a variance ~ 1)
    assert worst["std"] < 1e-10, worst


# --------------------------------------------------------------------------------------------------------------
# engine entry points, inputs and validation
# --------------------------------------------------------------------------------------------------------------


def test_raw_kernels_fill_preallocated_out():
    x = make_prices(seed=1)
    adj = make_adjustments(seed=1)
    wl = 5
    out = np.full((x.shape[0] - wl + 1, x.shape[1]), -1.0, order="F")
    rolling_moments_kernel(np.asfortranarray(x), wl, Adjustments(*adj), out, MEAN, 1.0)
    assert_same(out, rolling_mean(x, wl, adjustments=adj), rtol=0, atol=0)
    linear_weighted_moving_average_kernel(np.asfortranarray(x), wl, Adjustments(*adj), out)
    assert_same(out, linear_weighted_moving_average(x, wl, adjustments=adj), rtol=0, atol=0)
    v = np.asfortranarray(make_volume(seed=1))
    e = empty_adjustments(x.shape[1])
    weighted_average_kernel(np.asfortranarray(x), v, wl, Adjustments(*adj), e, out, False)
    assert_same(out, weighted_average_value(x, v, wl, base_adjustments=adj), rtol=0, atol=0)


@pytest.mark.parametrize("name", list(SINGLE))
def test_read_only_input_is_accepted_and_untouched(name):
    fn, _ = SINGLE[name]
    x = np.asfortranarray(make_prices(seed=2))
    before = x.copy()
    x.flags.writeable = False
    adj = make_adjustments(seed=2)
    got = fn(x, 5, adjustments=adj)
    np.testing.assert_array_equal(x, before)
    assert_same(got, fn(before, 5, adjustments=adj), rtol=0, atol=0)
    assert_same(fn(x, 5), fn(before, 5), rtol=0, atol=0)


def test_input_is_not_modified_by_adjustments():
    x = np.asfortranarray(make_prices(seed=4))
    before = x.copy()
    rolling_std(x, 5, adjustments=make_adjustments(seed=4))
    np.testing.assert_array_equal(x, before)


def test_fewer_dates_than_window_gives_empty_output():
    x = make_prices(seed=1, n=4)
    assert rolling_mean(x, 5).shape == (0, N_ASSETS)
    assert vwap(x, x, 5).shape == (0, N_ASSETS)


def test_integer_input_is_converted():
    x = np.arange(20, dtype=np.int64).reshape(10, 2)
    np.testing.assert_array_equal(rolling_sum(x, 3)[:, 0], [3.0 * k + 6.0 for k in range(0, 16, 2)])


@pytest.mark.parametrize("wl", [0, -1])
def test_window_length_must_be_positive(wl):
    with pytest.raises(ValueError, match="wl must be at least 1"):
        rolling_mean(np.ones((5, 2)), wl)


def test_window_length_must_be_an_integer():
    with pytest.raises(TypeError, match="wl must be an integer"):
        rolling_mean(np.ones((5, 2)), 2.5)


def test_one_dimensional_input_is_rejected():
    with pytest.raises(ValueError, match="2-D"):
        rolling_mean(np.ones(5), 2)


def test_pair_inputs_must_have_the_same_shape():
    with pytest.raises(ValueError, match="same shape"):
        vwap(np.ones((5, 2)), np.ones((5, 3)), 2)


def test_malformed_adjustments_are_rejected():
    x = np.ones((10, 2))
    offsets, apply_row, first_row, last_row, value, op = make_adjustments(seed=0, n=10, m=2)
    with pytest.raises(ValueError, match="offsets must have"):
        rolling_mean(x, 2, adjustments=(offsets[:-1], apply_row, first_row, last_row, value, op))
    with pytest.raises(ValueError, match="six arrays"):
        rolling_mean(x, 2, adjustments=(offsets, apply_row))
    with pytest.raises(ValueError, match="value must have"):
        rolling_mean(x, 2, adjustments=(offsets, apply_row, first_row, last_row, value[:-1], op))
    bad = (np.array([0, 2, 2]), np.array([5, 3]), np.zeros(2), np.ones(2), np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match="sorted ascending"):
        rolling_mean(x, 2, adjustments=bad)
    bad_op = (np.array([0, 1, 1]), np.array([5]), np.zeros(1), np.ones(1), np.ones(1), np.array([7]))
    with pytest.raises(ValueError, match="op must be"):
        rolling_mean(x, 2, adjustments=bad_op)


@pytest.mark.parametrize("wl", [2, 5, 20])
def test_variance_stays_accurate_across_level_shifts(wl):
    """After a jump from ~1e6 to a tiny-variance regime the running sums must re-shift, not lose every digit."""
    rng = np.random.default_rng(wl)
    n = 3 * RESUM_PERIOD
    x = np.empty((n, 3))
    x[:, 0] = np.where(np.arange(n) < 700, 1e6, 3.0) + rng.normal(0.0, 1e-4, n)
    x[:, 1] = np.where(np.arange(n) % 400 < 200, -5e5, 5e5) + rng.normal(0.0, 1e-3, n)
    x[:, 2] = np.cumsum(rng.normal(0.0, 100.0, n)) + rng.normal(0.0, 1e-6, n)
    x[::97, 1] = np.nan  # the general (NaN-aware) path too
    e = empty_adjustments(3)
    want = point_in_time_reference(lambda w: np.nanstd(w, axis=0), [x], [e], wl)
    got = rolling_std(x, wl)
    # absolute tolerance a millionth of the noise (a naive sum of squares is off by ~1e-2 after the 1e6 level);
    # below that even numpy's two-pass result is only as good as the rounding of its mean
    for j, noise in enumerate((1e-4, 1e-3, 1e-6)):
        assert_same(got[:, j], want[:, j], rtol=1e-7, atol=1e-6 * noise)
