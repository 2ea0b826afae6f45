"""Rolling correlation / regression kernels against scipy.stats and zipline's vectorized_beta."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import special, stats

from rustybt.pipeline.kernels import correlation as ck
from rustybt.testing.pit import adjusted_as_of as _adjusted_as_of

RTOL = 1e-8
ATOL = 1e-10


# ---------------------------------------------------------------------------------------------------------------
# data and adjustment helpers
# ---------------------------------------------------------------------------------------------------------------


def _returns(seed: int, n: int = 40, m: int = 5, nan_frac: float = 0.05, decimals: int | None = None):
    """Returns-like target (n, m) and a 1-D regressor with NaNs, a late starter and constant stretches."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0.0, 0.01, n)
    target = 0.8 * base[:, None] + rng.normal(0.0, 0.01, (n, m))
    regressor = base.copy()
    if decimals is not None:
        target, regressor = np.round(target, decimals), np.round(regressor, decimals)
    target[rng.random((n, m)) < nan_frac] = np.nan
    target[: n // 5, 0] = np.nan
    target[n // 2 : n // 2 + 4, 1] = 0.0  # constant target stretch
    regressor[rng.random(n) < nan_frac / 2] = np.nan
    regressor[n - 12 : n - 7] = 0.0  # constant regressor stretch
    return target, regressor


def _adjustments(seed: int, n: int, m: int, max_per_col: int = 4):
    """Random CSR adjustments: mostly history-modifying, some ranges past the apply row, all three ops."""
    rng = np.random.default_rng(seed)
    cols = []
    for _ in range(m):
        rows = []
        for _ in range(int(rng.integers(0, max_per_col + 1))):
            apply_row = int(rng.integers(0, n + 2))
            first = int(rng.integers(-2, n))
            last = (
                int(rng.integers(first, n + 2))
                if rng.random() < 0.3
                else int(rng.integers(first, max(first, apply_row) + 1))
            )
            op = int(rng.integers(0, 3))
            if op == 0:
                value = float(rng.uniform(0.5, 1.5))
            elif op == 1:
                value = float(rng.normal(0.0, 0.01))
            else:
                value = float(rng.normal(0.0, 0.01)) if rng.random() < 0.85 else np.nan
            rows.append((apply_row, first, last, value, op))
        rows.sort(key=lambda r: r[0])
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


def _brute_force(pair_ref, target, regressor, wl, t_adj=None, r_adj=None, n_outputs=1):
    """For each window end t and target column j: ``pair_ref(y_window, x_window)`` on point-in-time data."""
    n, m = target.shape
    reg2 = regressor.reshape(n, -1)
    outs = np.full((n_outputs, n - wl + 1, m), np.nan)
    for t in range(wl - 1, n):
        tgt = _adjusted_as_of(target, t_adj, t) if t_adj is not None else target
        reg = _adjusted_as_of(reg2, r_adj, t) if r_adj is not None else reg2
        for j in range(m):
            y = tgt[t - wl + 1 : t + 1, j]
            x = reg[t - wl + 1 : t + 1, 0 if reg.shape[1] == 1 else j]
            res = pair_ref(y, x)
            outs[:, t - wl + 1, j] = res if n_outputs > 1 else [res]
    return outs if n_outputs > 1 else outs[0]


def _assert_close(actual, expected):
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, equal_nan=True)


# ---------------------------------------------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------------------------------------------


def _ref_pearson(y, x):
    if np.isnan(x).any() or np.isnan(y).any() or np.all(x == x[0]) or np.all(y == y[0]):
        return np.nan
    return stats.pearsonr(x, y)[0]


def _ref_spearman(y, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return stats.spearmanr(y, x)[0]


def _ref_linregress(y, x):
    if np.isnan(x).any() or np.isnan(y).any() or np.all(x == x[0]):
        return [np.nan] * 5  # scipy propagates NaN oddly / raises on constant x; the kernel gives NaN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.linregress(x=x, y=y)
    return [res.intercept, res.slope, res.rvalue, res.pvalue, res.stderr]


def _ref_vectorized_beta(allowed_missing):
    """zipline's vectorized_beta on one column."""

    def ref(y, x):
        independent = np.where(np.isnan(y), np.nan, x)
        if np.isnan(independent).sum() > allowed_missing or np.isnan(independent).all():
            return np.nan
        ind_residual = independent - np.nanmean(independent)
        covariance = np.nanmean(ind_residual * y)
        variance = np.nanmean(ind_residual**2)
        valid = ~np.isnan(independent)
        if np.all(independent[valid] == independent[valid][0]):
            return np.nan  # exact arithmetic: 0 / 0
        return covariance / variance

    return ref


# ---------------------------------------------------------------------------------------------------------------
# Pearson
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wl", [2, 3, 4, 5, 10])
@pytest.mark.parametrize("two_d", [False, True])
def test_rolling_pearson_matches_scipy(wl, two_d):
    target, regressor = _returns(1)
    if two_d:
        regressor = target[:, ::-1] + 0.5 * np.random.default_rng(2).normal(0, 0.01, target.shape)
    out = ck.rolling_pearson(target, regressor, wl)
    _assert_close(out, _brute_force(_ref_pearson, target, regressor, wl))
    assert out.flags.f_contiguous


@pytest.mark.parametrize("wl", [2, 3, 4, 5])
@pytest.mark.parametrize("two_d", [False, True])
def test_rolling_pearson_point_in_time_adjustments(wl, two_d):
    target, regressor = _returns(3)
    ta = _adjustments(30 + wl, *target.shape)
    if two_d:
        regressor = np.round(np.random.default_rng(wl).normal(0, 0.01, target.shape), 3)
    ra = _adjustments(40 + wl, target.shape[0], regressor.reshape(len(regressor), -1).shape[1], max_per_col=6)
    out = ck.rolling_pearson(target, regressor, wl, target_adjustments=ta, regressor_adjustments=ra)
    _assert_close(out, _brute_force(_ref_pearson, target, regressor, wl, ta, ra))


def test_rolling_pearson_long_series_and_price_level_inputs():
    rng = np.random.default_rng(4)
    target = 500.0 + rng.standard_normal((700, 3)).cumsum(axis=0)
    regressor = 80.0 + rng.standard_normal(700).cumsum()
    out = ck.rolling_pearson(target, regressor, 6)
    _assert_close(out, _brute_force(_ref_pearson, target, regressor, 6))


def test_constant_windows_give_nan():
    target = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0], [2.0, 5.0]])
    regressor = np.array([1.0, 2.0, 4.0, 4.0])
    out = ck.rolling_pearson(target, regressor, 3)
    assert np.isnan(out[0, 0])  # constant target
    assert out[0, 1] == pytest.approx(stats.pearsonr([1.0, 2.0, 4.0], [2.0, 3.0, 5.0])[0])
    assert np.isnan(ck.rolling_spearman(target, regressor, 3)[0, 0])


# ---------------------------------------------------------------------------------------------------------------
# Spearman
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wl", [2, 3, 4, 5, 12])
@pytest.mark.parametrize("decimals", [None, 2])
def test_rolling_spearman_matches_scipy_with_ties(wl, decimals):
    target, regressor = _returns(5, decimals=decimals)  # decimals=2 -> many ties -> average ranks
    out = ck.rolling_spearman(target, regressor, wl)
    _assert_close(out, _brute_force(_ref_spearman, target, regressor, wl))


def test_rolling_spearman_two_d_regressor():
    target, _ = _returns(6, decimals=2)
    regressor = np.round(np.random.default_rng(7).normal(0, 0.01, target.shape), 2)
    out = ck.rolling_spearman(target, regressor, 6)
    _assert_close(out, _brute_force(_ref_spearman, target, regressor, 6))


@pytest.mark.parametrize("wl", [2, 3, 4, 5])
@pytest.mark.parametrize("two_d", [False, True])
def test_rolling_spearman_point_in_time_adjustments(wl, two_d):
    target, regressor = _returns(8, decimals=3)
    ta = _adjustments(80 + wl, *target.shape)
    if two_d:
        regressor = np.round(np.random.default_rng(wl).normal(0, 0.01, target.shape), 3)
    ra = _adjustments(90 + wl, target.shape[0], regressor.reshape(len(regressor), -1).shape[1], max_per_col=6)
    out = ck.rolling_spearman(target, regressor, wl, target_adjustments=ta, regressor_adjustments=ra)
    _assert_close(out, _brute_force(_ref_spearman, target, regressor, wl, ta, ra))


# ---------------------------------------------------------------------------------------------------------------
# Linear regression
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wl", [2, 3, 4, 5, 20])
def test_rolling_linear_regression_matches_linregress(wl):
    target, regressor = _returns(9)
    res = ck.rolling_linear_regression(target, regressor, wl)
    assert res._fields == ("alpha", "beta", "r_value", "p_value", "stderr")
    expected = _brute_force(_ref_linregress, target, regressor, wl, n_outputs=5)
    for k, actual in enumerate(res):
        _assert_close(actual, expected[k])


def test_rolling_linear_regression_two_d_and_constant_target():
    target, _ = _returns(10)
    regressor = np.random.default_rng(11).normal(0, 0.02, target.shape)
    res = ck.rolling_linear_regression(target, regressor, 4)
    expected = _brute_force(_ref_linregress, target, regressor, 4, n_outputs=5)
    for k, actual in enumerate(res):
        _assert_close(actual, expected[k])
    # target column 1 is constant 0.0 over rows [20, 24): slope 0, r NaN, as scipy in exact arithmetic
    assert res.beta[20, 1] == 0.0 and res.alpha[20, 1] == 0.0 and np.isnan(res.r_value[20, 1])


@pytest.mark.parametrize("wl", [2, 3, 4, 5])
def test_rolling_linear_regression_point_in_time_adjustments(wl):
    target, regressor = _returns(12)
    ta = _adjustments(120 + wl, *target.shape)
    ra = _adjustments(130 + wl, target.shape[0], 1, max_per_col=6)
    res = ck.rolling_linear_regression(target, regressor, wl, target_adjustments=ta, regressor_adjustments=ra)
    expected = _brute_force(_ref_linregress, target, regressor, wl, ta, ra, n_outputs=5)
    for k, actual in enumerate(res):
        _assert_close(actual, expected[k])


def test_p_value_matches_scipy_over_a_wide_range():
    rng = np.random.default_rng(13)
    for n in (3, 4, 7, 30, 250):
        x = rng.normal(size=n)
        for strength in (0.0, 0.05, 0.3, 1.0, 5.0, 50.0):
            y = strength * x + rng.normal(size=n)
            res = ck.rolling_linear_regression(y[:, None], x, n)
            expected = stats.linregress(x, y)
            # the t statistic is ill-conditioned as |r| -> 1, so compare the distribution part on our own r ...
            r = res.r_value[0, 0]
            df = n - 2
            t = r * np.sqrt(df / ((1.0 - r + 1e-20) * (1.0 + r + 1e-20)))
            assert res.p_value[0, 0] == pytest.approx(2 * special.stdtr(df, -abs(t)), rel=1e-10, abs=1e-300)
            # ... and the end result against linregress with a tolerance that allows for that conditioning
            assert res.p_value[0, 0] == pytest.approx(expected.pvalue, rel=1e-5, abs=1e-300)
            assert res.stderr[0, 0] == pytest.approx(expected.stderr, rel=1e-5)
            assert r == pytest.approx(expected.rvalue, rel=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# SimpleBeta
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wl", [3, 4, 5, 8])
@pytest.mark.parametrize("pct", [0.0, 0.25, 0.5, 1.0])
def test_simple_beta_matches_vectorized_beta(wl, pct):
    target, regressor = _returns(14, nan_frac=0.15)
    out = ck.simple_beta(target, regressor, wl, allowed_missing_percentage=pct)
    _assert_close(out, _brute_force(_ref_vectorized_beta(int(pct * wl)), target, regressor, wl))


@pytest.mark.parametrize("wl", [3, 4, 5])
def test_simple_beta_point_in_time_adjustments(wl):
    target, regressor = _returns(15, nan_frac=0.1)
    ta = _adjustments(150 + wl, *target.shape)
    ra = _adjustments(160 + wl, target.shape[0], 1, max_per_col=6)
    out = ck.simple_beta(target, regressor, wl, 0.4, target_adjustments=ta, regressor_adjustments=ra)
    expected = _brute_force(_ref_vectorized_beta(int(0.4 * wl)), target, regressor, wl, ta, ra)
    _assert_close(out, expected)


def test_simple_beta_long_series():
    target, regressor = _returns(16, n=800, m=3, nan_frac=0.05)
    out = ck.simple_beta(target, regressor, 10)
    _assert_close(out, _brute_force(_ref_vectorized_beta(2), target, regressor, 10))


# ---------------------------------------------------------------------------------------------------------------
# wrappers
# ---------------------------------------------------------------------------------------------------------------


def test_minimum_window_lengths_and_shapes_are_validated():
    target, regressor = _returns(17)
    with pytest.raises(ValueError, match=">= 2"):
        ck.rolling_pearson(target, regressor, 1)
    with pytest.raises(ValueError, match=">= 3"):
        ck.simple_beta(target, regressor, 2)
    with pytest.raises(ValueError, match="regressor must have shape"):
        ck.rolling_spearman(target, regressor[:-1], 3)
    with pytest.raises(ValueError, match="allowed_missing_percentage"):
        ck.simple_beta(target, regressor, 5, allowed_missing_percentage=1.5)
