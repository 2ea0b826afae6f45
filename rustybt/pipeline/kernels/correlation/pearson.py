"""Rolling Pearson correlation and linear regression: population co-moments from shifted running sums.

Semantics follow zipline-reloaded's ``pipeline.factors.statistical``: :func:`rolling_pearson` is
``vectorized_pearson_r(..., allowed_missing=0)`` (any NaN in the window of either series gives NaN);
:func:`rolling_linear_regression` is ``scipy.stats.linregress(x=regressor, y=target)`` per window: alpha
(intercept), beta (slope), r_value, p_value (two-sided, Student t with n - 2 dof), stderr (of the slope). Windows
where an input is exactly constant give NaN correlations (``linregress`` raises on constant ``x``, where these
kernels return NaN for all five outputs).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._arrays import alloc_out
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column
from rustybt.pipeline.kernels.correlation._regressor import one_output, prepare
from rustybt.pipeline.kernels.correlation._tdist import t_two_sided_p

__all__ = [
    "LinearRegressionResult",
    "linear_regression_kernel",
    "pearson_kernel",
    "rolling_linear_regression",
    "rolling_pearson",
]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

_HAS_NAN = 1
_CONST_X = 2
_CONST_Y = 4


@njit(**_JIT)
def _first_valid(v, s, t):
    for r in range(s, t + 1):
        if not np.isnan(v[r]):
            return v[r]
    return 0.0


@njit(**_JIT)
def _comoments_run(yc, xc, wl, t0, t1, mx, my, vx, vy, cxy, flag):
    """Population means/variances/covariance of x (regressor) and y (target) for the window ends ``t0 <= t < t1``,
    via shifted running sums (rebuilt at ``t0`` and every ``wl`` rows). ``flag`` bits: any NaN, x constant, y
    constant (exact, tracked with the last row where the value changed); constant moments are written exactly
    (var 0, cov 0)."""
    kx = 0.0
    ky = 0.0
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    nan_rows = 0
    chg_x = -1
    chg_y = -1
    since = 0
    for t in range(t0, t1):
        s = t - wl + 1
        if t == t0 or since >= wl:
            kx = _first_valid(xc, s, t)
            ky = _first_valid(yc, s, t)
            sx = 0.0
            sy = 0.0
            sxx = 0.0
            syy = 0.0
            sxy = 0.0
            nan_rows = 0
            chg_x = -1
            chg_y = -1
            for r in range(s, t + 1):
                a = xc[r]
                b = yc[r]
                if np.isnan(a) or np.isnan(b):
                    nan_rows += 1
                else:
                    a -= kx
                    b -= ky
                    sx += a
                    sy += b
                    sxx += a * a
                    syy += b * b
                    sxy += a * b
                if r > s:
                    if xc[r] != xc[r - 1]:
                        chg_x = r
                    if yc[r] != yc[r - 1]:
                        chg_y = r
            since = 0
        else:
            r = s - 1
            a = xc[r]
            b = yc[r]
            if np.isnan(a) or np.isnan(b):
                nan_rows -= 1
            else:
                a -= kx
                b -= ky
                sx -= a
                sy -= b
                sxx -= a * a
                syy -= b * b
                sxy -= a * b
            a = xc[t]
            b = yc[t]
            if np.isnan(a) or np.isnan(b):
                nan_rows += 1
            else:
                a -= kx
                b -= ky
                sx += a
                sy += b
                sxx += a * a
                syy += b * b
                sxy += a * b
            if xc[t] != xc[t - 1]:
                chg_x = t
            if yc[t] != yc[t - 1]:
                chg_y = t
            since += 1
        f = 0
        if nan_rows > 0:
            f |= _HAS_NAN
        if chg_x <= s:
            f |= _CONST_X
        if chg_y <= s:
            f |= _CONST_Y
        flag[s] = f
        mxs = sx / wl
        mys = sy / wl
        if f & _CONST_X:
            mx[s] = xc[t]
            vx[s] = 0.0
        else:
            mx[s] = kx + mxs
            vx[s] = max(sxx / wl - mxs * mxs, 0.0)
        if f & _CONST_Y:
            my[s] = yc[t]
            vy[s] = 0.0
        else:
            my[s] = ky + mys
            vy[s] = max(syy / wl - mys * mys, 0.0)
        if f & (_CONST_X | _CONST_Y):
            cxy[s] = 0.0
        else:
            cxy[s] = sxy / wl - mxs * mys


@njit(**_JIT)
def _comoments(target, regressor, wl, target_adjustments, regressor_adjustments, j, n_out):
    """The co-moments of every window of target column ``j`` and its regressor column (0 when single)."""
    jr = np.int64(0) if regressor.shape[1] == 1 else np.int64(j)
    yc = working_column(target, target_adjustments, j)
    xc = working_column(regressor, regressor_adjustments, jr)
    mx = np.empty(n_out)
    my = np.empty(n_out)
    vx = np.empty(n_out)
    vy = np.empty(n_out)
    cxy = np.empty(n_out)
    flag = np.empty(n_out, np.int64)
    cursor = segment_cursor((target_adjustments, regressor_adjustments), (np.int64(j), jr))
    t0 = wl - 1
    while t0 < yc.shape[0]:
        t1 = next_segment((yc, xc), (target_adjustments, regressor_adjustments), (np.int64(j), jr), cursor, t0)
        _comoments_run(yc, xc, wl, t0, t1, mx, my, vx, vy, cxy, flag)
        t0 = t1
    return mx, my, vx, vy, cxy, flag


@njit(parallel=True, **_JIT)
def pearson_kernel(target, regressor, wl, target_adjustments, regressor_adjustments, out):
    """Rolling Pearson r of each target column with the regressor (column j, or column 0 when it has one column)."""
    n, m = target.shape
    n_out = n - wl + 1
    for j in prange(m):
        _, _, vx, vy, cxy, flag = _comoments(target, regressor, wl, target_adjustments, regressor_adjustments, j, n_out)
        for i in range(n_out):
            if flag[i] != 0:
                out[i, j] = np.nan
            else:
                r = cxy[i] / math.sqrt(vx[i] * vy[i])
                out[i, j] = min(1.0, max(-1.0, r))


class LinearRegressionResult(NamedTuple):
    alpha: np.ndarray
    beta: np.ndarray
    r_value: np.ndarray
    p_value: np.ndarray
    stderr: np.ndarray


@njit(parallel=True, **_JIT)
def linear_regression_kernel(
    target, regressor, wl, target_adjustments, regressor_adjustments,
    out_alpha, out_beta, out_r, out_p, out_stderr,
):  # fmt: skip
    """``scipy.stats.linregress(x=regressor window, y=target window)`` for every window and target column."""
    n, m = target.shape
    n_out = n - wl + 1
    tiny = 1.0e-20
    df = wl - 2.0
    for j in prange(m):
        mx, my, vx, vy, cxy, flag = _comoments(
            target, regressor, wl, target_adjustments, regressor_adjustments, j, n_out
        )
        for i in range(n_out):
            f = flag[i]
            if f & (_HAS_NAN | _CONST_X):
                out_alpha[i, j] = np.nan
                out_beta[i, j] = np.nan
                out_r[i, j] = np.nan
                out_p[i, j] = np.nan
                out_stderr[i, j] = np.nan
                continue
            ssxm = vx[i]
            ssym = vy[i]
            ssxym = cxy[i]
            if ssxm == 0.0 or ssym == 0.0:
                r = np.nan if ssxym == 0.0 else 0.0
            else:
                r = ssxym / math.sqrt(ssxm * ssym)
                r = min(1.0, max(-1.0, r))
            slope = ssxym / ssxm
            out_beta[i, j] = slope
            out_alpha[i, j] = my[i] - slope * mx[i]
            out_r[i, j] = r
            if wl == 2:
                out_p[i, j] = 1.0 if f & _CONST_Y else 0.0
                out_stderr[i, j] = 0.0
            else:
                tstat = r * math.sqrt(df / ((1.0 - r + tiny) * (1.0 + r + tiny)))
                out_p[i, j] = t_two_sided_p(tstat, df)
                out_stderr[i, j] = math.sqrt((1.0 - r * r) * ssym / ssxm / df)


def rolling_pearson(target, regressor, window_length: int, target_adjustments=None, regressor_adjustments=None):
    """zipline ``RollingPearson`` (``window_length >= 2``): (n - wl + 1, n_assets)."""
    return one_output(
        pearson_kernel, "rolling_pearson", 2, target, regressor, window_length, target_adjustments,
        regressor_adjustments,
    )  # fmt: skip


def rolling_linear_regression(
    target, regressor, window_length: int, target_adjustments=None, regressor_adjustments=None
) -> LinearRegressionResult:
    """zipline ``RollingLinearRegression(dependent=target, independent=regressor)`` (``window_length >= 2``).

    Returns (alpha, beta, r_value, p_value, stderr), each (n - wl + 1, n_assets). Windows with a NaN or a constant
    regressor give NaN in all five outputs.
    """
    target, reg, wl, ta, ra = prepare(
        target, regressor, window_length, 2, "rolling_linear_regression", target_adjustments, regressor_adjustments
    )
    outs = [alloc_out(target.shape[0], wl, target.shape[1], np.nan) for _ in range(5)]
    linear_regression_kernel(target, reg, wl, ta, ra, *outs)
    return LinearRegressionResult(*outs)
