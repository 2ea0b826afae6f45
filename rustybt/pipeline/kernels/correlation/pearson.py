"""Rolling correlation and regression kernels: Pearson, Spearman, linear regression, SimpleBeta.

Each column of a 2-D ``target`` ``(n_dates, n_assets)`` is compared, over every trailing window, with a
``regressor`` that is either one series (``(n_dates,)`` or ``(n_dates, 1)``, e.g. one asset's returns) or 2-D of the
same shape as ``target`` (asset-wise). Semantics follow zipline-reloaded's ``pipeline.factors.statistical``:

- :func:`rolling_pearson` -- ``vectorized_pearson_r(..., allowed_missing=0)``: population co-moments, any NaN in
  the window of either series gives NaN.
- :func:`rolling_spearman` -- ``scipy.stats.spearmanr`` per window: Pearson of average ranks, NaN if any NaN.
- :func:`rolling_linear_regression` -- ``scipy.stats.linregress(x=regressor, y=target)`` per window: alpha
  (intercept), beta (slope), r_value, p_value (two-sided, Student t with n - 2 dof), stderr (of the slope).
- :func:`simple_beta` -- ``vectorized_beta``: slope over the pairwise-valid rows, NaN when more than
  ``int(allowed_missing_percentage * window_length)`` rows miss either value.

Windows where an input is exactly constant give NaN correlations (scipy warns and returns NaN; ``linregress``
raises on constant ``x``, where these kernels return NaN for all five outputs). Kernel layout and adjustment
handling are those of :mod:`rustybt.pipeline.kernels.technical`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._adjust import apply_pending
from rustybt.pipeline.kernels.technical import (
    Adjustments,
    _alloc,
    _as_adjustments,
    _as_input,
    _check_window,
    _dq_clear,
    _dq_expire,
    _dq_push_max,
    _dq_push_min,
    _working_column,
)

__all__ = [
    "LinearRegressionResult",
    "linear_regression_kernel",
    "pearson_kernel",
    "rolling_linear_regression",
    "rolling_pearson",
    "rolling_spearman",
    "simple_beta",
    "simple_beta_kernel",
    "spearman_kernel",
]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

_HAS_NAN = 1
_CONST_X = 2
_CONST_Y = 4


# ---------------------------------------------------------------------------------------------------------------
# Student t two-sided p-value (regularised incomplete beta, Lentz continued fraction)
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _betacf(a, b, x):
    fpmin = 1e-300
    eps = 1e-16
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < fpmin:
        d = fpmin
    d = 1.0 / d
    h = d
    for m in range(1, 100000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < fpmin:
            d = fpmin
        c = 1.0 + aa / c
        if abs(c) < fpmin:
            c = fpmin
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < fpmin:
            d = fpmin
        c = 1.0 + aa / c
        if abs(c) < fpmin:
            c = fpmin
        d = 1.0 / d
        de = d * c
        h *= de
        if abs(de - 1.0) < eps:
            break
    return h


@njit(**_JIT)
def _betainc_reg(a, b, x, xc):
    """Regularised incomplete beta I_x(a, b); ``xc`` is ``1 - x`` computed without cancellation."""
    if x <= 0.0:
        return 0.0
    if xc <= 0.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(xc)
    bt = math.exp(lbt)
    if x < (a + 1.0) / (a + b + 2.0):
        return bt * _betacf(a, b, x) / a
    return 1.0 - bt * _betacf(b, a, xc) / b


@njit(**_JIT)
def _t_two_sided_p(t, df):
    """2 * P(T_df > |t|) (scipy's ``2 * stdtr(df, -|t|)``)."""
    if np.isnan(t):
        return np.nan
    tt = t * t
    if np.isinf(tt):
        return 0.0
    den = df + tt
    return _betainc_reg(0.5 * df, 0.5, df / den, tt / den)


# ---------------------------------------------------------------------------------------------------------------
# rolling co-moments of one (target, regressor) column pair
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _first_valid(v, s, t):
    for r in range(s, t + 1):
        if not np.isnan(v[r]):
            return v[r]
    return 0.0


@njit(**_JIT)
def _comoments(
    yc,
    xc,
    wl,
    yp,
    yh,
    y_app,
    y_fst,
    y_lst,
    y_val,
    y_op,
    xp,
    xh,
    x_app,
    x_fst,
    x_lst,
    x_val,
    x_op,
    mx,
    my,
    vx,
    vy,
    cxy,
    flag,
):
    """Population means/variances/covariance of x (regressor) and y (target) for every window, via shifted running
    sums (re-summed every ``wl`` steps and on adjustments). ``flag`` bits: any NaN, x constant, y constant (exact,
    tracked with the last row where the value changed); constant moments are written exactly (var 0, cov 0)."""
    n = yc.shape[0]
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
    for t in range(wl - 1, n):
        s = t - wl + 1
        rebuild = t == wl - 1 or since >= wl
        if yp < yh and y_app[yp] <= t:
            yp = apply_pending(yc, yp, yh, t, y_app, y_fst, y_lst, y_val, y_op)
            rebuild = True
        if xp < xh and x_app[xp] <= t:
            xp = apply_pending(xc, xp, xh, t, x_app, x_fst, x_lst, x_val, x_op)
            rebuild = True
        if rebuild:
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


@njit(parallel=True, **_JIT)
def pearson_kernel(
    target, regressor, wl, t_off, t_app, t_fst, t_lst, t_val, t_op, r_off, r_app, r_fst, r_lst, r_val, r_op, out
):
    """Rolling Pearson r of each target column with the regressor (column j, or column 0 when it has one column)."""
    n, m = target.shape
    n_out = n - wl + 1
    single = regressor.shape[1] == 1
    for j in prange(m):
        jr = np.int64(0) if single else np.int64(j)
        yc = _working_column(target, j, t_off)
        xc = _working_column(regressor, jr, r_off)
        mx = np.empty(n_out)
        my = np.empty(n_out)
        vx = np.empty(n_out)
        vy = np.empty(n_out)
        cxy = np.empty(n_out)
        flag = np.empty(n_out, np.int64)
        _comoments(
            yc, xc, wl, t_off[j], t_off[j + 1], t_app, t_fst, t_lst, t_val, t_op,
            r_off[jr], r_off[jr + 1], r_app, r_fst, r_lst, r_val, r_op, mx, my, vx, vy, cxy, flag,
        )  # fmt: skip
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
    target,
    regressor,
    wl,
    t_off,
    t_app,
    t_fst,
    t_lst,
    t_val,
    t_op,
    r_off,
    r_app,
    r_fst,
    r_lst,
    r_val,
    r_op,
    out_alpha,
    out_beta,
    out_r,
    out_p,
    out_stderr,
):
    """``scipy.stats.linregress(x=regressor window, y=target window)`` for every window and target column."""
    n, m = target.shape
    n_out = n - wl + 1
    single = regressor.shape[1] == 1
    tiny = 1.0e-20
    df = wl - 2.0
    for j in prange(m):
        jr = np.int64(0) if single else np.int64(j)
        yc = _working_column(target, j, t_off)
        xc = _working_column(regressor, jr, r_off)
        mx = np.empty(n_out)
        my = np.empty(n_out)
        vx = np.empty(n_out)
        vy = np.empty(n_out)
        cxy = np.empty(n_out)
        flag = np.empty(n_out, np.int64)
        _comoments(
            yc, xc, wl, t_off[j], t_off[j + 1], t_app, t_fst, t_lst, t_val, t_op,
            r_off[jr], r_off[jr + 1], r_app, r_fst, r_lst, r_val, r_op, mx, my, vx, vy, cxy, flag,
        )  # fmt: skip
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
                out_p[i, j] = _t_two_sided_p(tstat, df)
                out_stderr[i, j] = math.sqrt((1.0 - r * r) * ssym / ssxm / df)


# ---------------------------------------------------------------------------------------------------------------
# Spearman
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _sort_key(v):
    return np.inf if np.isnan(v) else v


@njit(**_JIT)
def _sorted_build(col, s, t, keys, rows):
    wl = t - s + 1
    tmp = np.empty(wl)
    for r in range(s, t + 1):
        tmp[r - s] = _sort_key(col[r])
    order = np.argsort(tmp, kind="mergesort")
    for k in range(wl):
        keys[k] = tmp[order[k]]
        rows[k] = s + order[k]


@njit(**_JIT)
def _sorted_replace(keys, rows, wl, old_row, new_row, new_key):
    """Remove ``old_row`` and insert ``new_row`` with ``new_key``, keeping ``keys`` ascending; O(wl)."""
    k = 0
    while rows[k] != old_row:
        k += 1
    for i in range(k, wl - 1):
        keys[i] = keys[i + 1]
        rows[i] = rows[i + 1]
    lo = 0
    hi = wl - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] <= new_key:
            lo = mid + 1
        else:
            hi = mid
    for i in range(wl - 1, lo, -1):
        keys[i] = keys[i - 1]
        rows[i] = rows[i - 1]
    keys[lo] = new_key
    rows[lo] = new_row


@njit(**_JIT)
def _average_ranks(keys, rows, wl, s, ranks):
    """ranks[row - s] = 1-based average rank (scipy ``rankdata(method='average')``)."""
    i = 0
    while i < wl:
        e = i
        while e + 1 < wl and keys[e + 1] == keys[i]:
            e += 1
        rk = 0.5 * (i + e) + 1.0
        for k in range(i, e + 1):
            ranks[rows[k] - s] = rk
        i = e + 1


@njit(**_JIT)
def _rank_step(col, s, t, wl, rebuild, keys, rows, nan_count):
    """Advance one column's sorted window to ``[s, t]``; ``nan_count[0]`` counts NaNs in the window."""
    if rebuild:
        _sorted_build(col, s, t, keys, rows)
        c = 0
        for r in range(s, t + 1):
            if np.isnan(col[r]):
                c += 1
        nan_count[0] = c
    else:
        _sorted_replace(keys, rows, wl, s - 1, t, _sort_key(col[t]))
        if np.isnan(col[s - 1]):
            nan_count[0] -= 1
        if np.isnan(col[t]):
            nan_count[0] += 1


@njit(**_JIT)
def _window_ranks(col, wl, p, hi, app, fst, lst, val, op, ranks, nans):
    """Average ranks of every window of one (working) column: ``ranks[s]`` by row offset, ``nans[s]`` NaN count."""
    n = col.shape[0]
    keys = np.empty(wl)
    rows = np.empty(wl, np.int64)
    nan_count = np.zeros(1, np.int64)
    for t in range(wl - 1, n):
        s = t - wl + 1
        rebuild = t == wl - 1
        if p < hi and app[p] <= t:
            p = apply_pending(col, p, hi, t, app, fst, lst, val, op)
            rebuild = True
        _rank_step(col, s, t, wl, rebuild, keys, rows, nan_count)
        nans[s] = nan_count[0]
        if nan_count[0] == 0:
            _average_ranks(keys, rows, wl, s, ranks[s])


@njit(parallel=True, **_JIT)
def spearman_kernel(
    target, regressor, wl, t_off, t_app, t_fst, t_lst, t_val, t_op, r_off, r_app, r_fst, r_lst, r_val, r_op, out
):
    """Rolling Spearman rho (Pearson of average ranks); sorted windows are maintained in O(wl) per step, and a
    single-column regressor is ranked once for all assets."""
    n, m = target.shape
    n_out = n - wl + 1
    single = regressor.shape[1] == 1
    mean_rank = 0.5 * (wl + 1.0)
    if single:
        pre_ranks = np.empty((n_out, wl))
        pre_nans = np.empty(n_out, np.int64)
        xc0 = _working_column(regressor, 0, r_off)
        _window_ranks(xc0, wl, r_off[0], r_off[1], r_app, r_fst, r_lst, r_val, r_op, pre_ranks, pre_nans)
    else:
        pre_ranks = np.empty((1, wl))
        pre_nans = np.zeros(1, np.int64)
    for j in prange(m):
        yc = _working_column(target, j, t_off)
        yp = t_off[j]
        yh = t_off[j + 1]
        ykeys = np.empty(wl)
        yrows = np.empty(wl, np.int64)
        ynan = np.zeros(1, np.int64)
        yrank = np.empty(wl)
        jr = np.int64(0) if single else np.int64(j)
        xc = regressor[:, 0] if single else _working_column(regressor, jr, r_off)
        xp = r_off[jr]
        xh = r_off[jr + 1]
        xkeys = np.empty(wl)
        xrows = np.empty(wl, np.int64)
        xnan = np.zeros(1, np.int64)
        xrank = np.empty(wl)
        for t in range(wl - 1, n):
            s = t - wl + 1
            rebuild = t == wl - 1
            if yp < yh and t_app[yp] <= t:
                yp = apply_pending(yc, yp, yh, t, t_app, t_fst, t_lst, t_val, t_op)
                rebuild = True
            _rank_step(yc, s, t, wl, rebuild, ykeys, yrows, ynan)
            if single:
                x_nans = pre_nans[s]
                xr = pre_ranks[s]
            else:
                rebuild = t == wl - 1
                if xp < xh and r_app[xp] <= t:
                    xp = apply_pending(xc, xp, xh, t, r_app, r_fst, r_lst, r_val, r_op)
                    rebuild = True
                _rank_step(xc, s, t, wl, rebuild, xkeys, xrows, xnan)
                x_nans = xnan[0]
                xr = xrank
            if ynan[0] > 0 or x_nans > 0:
                out[s, j] = np.nan
                continue
            if not single:
                _average_ranks(xkeys, xrows, wl, s, xrank)
            _average_ranks(ykeys, yrows, wl, s, yrank)
            sxx = 0.0
            syy = 0.0
            sxy = 0.0
            for k in range(wl):
                a = xr[k] - mean_rank
                b = yrank[k] - mean_rank
                sxx += a * a
                syy += b * b
                sxy += a * b
            if sxx == 0.0 or syy == 0.0:
                out[s, j] = np.nan
            else:
                out[s, j] = min(1.0, max(-1.0, sxy / math.sqrt(sxx * syy)))


# ---------------------------------------------------------------------------------------------------------------
# SimpleBeta
# ---------------------------------------------------------------------------------------------------------------


@njit(parallel=True, **_JIT)
def simple_beta_kernel(
    target,
    regressor,
    wl,
    allowed_missing,
    t_off,
    t_app,
    t_fst,
    t_lst,
    t_val,
    t_op,
    r_off,
    r_app,
    r_fst,
    r_lst,
    r_val,
    r_op,
    out,
):
    """zipline's ``vectorized_beta``: Cov(x, y) / Var(x) over rows where both are present; NaN when more than
    ``allowed_missing`` rows miss either, or when x is constant over the present rows."""
    n, m = target.shape
    single = regressor.shape[1] == 1
    for j in prange(m):
        jr = np.int64(0) if single else np.int64(j)
        yc = _working_column(target, j, t_off)
        xc = _working_column(regressor, jr, r_off)
        yp = t_off[j]
        yh = t_off[j + 1]
        xp = r_off[jr]
        xh = r_off[jr + 1]
        qmax = np.empty(wl + 1, np.int64)
        smax = np.zeros(2, np.int64)
        qmin = np.empty(wl + 1, np.int64)
        smin = np.zeros(2, np.int64)
        kx = 0.0
        ky = 0.0
        sx = 0.0
        sy = 0.0
        sxx = 0.0
        sxy = 0.0
        cnt = 0
        since = 0
        for t in range(wl - 1, n):
            s = t - wl + 1
            rebuild = t == wl - 1 or since >= wl
            if yp < yh and t_app[yp] <= t:
                yp = apply_pending(yc, yp, yh, t, t_app, t_fst, t_lst, t_val, t_op)
                rebuild = True
            if xp < xh and r_app[xp] <= t:
                xp = apply_pending(xc, xp, xh, t, r_app, r_fst, r_lst, r_val, r_op)
                rebuild = True
            if rebuild:
                _dq_clear(smax)
                _dq_clear(smin)
                kx = 0.0
                ky = 0.0
                for r in range(s, t + 1):
                    if not (np.isnan(xc[r]) or np.isnan(yc[r])):
                        kx = xc[r]
                        ky = yc[r]
                        break
                sx = 0.0
                sy = 0.0
                sxx = 0.0
                sxy = 0.0
                cnt = 0
                for r in range(s, t + 1):
                    if not (np.isnan(xc[r]) or np.isnan(yc[r])):
                        a = xc[r] - kx
                        b = yc[r] - ky
                        sx += a
                        sy += b
                        sxx += a * a
                        sxy += a * b
                        cnt += 1
                        _dq_push_max(qmax, smax, xc, r)
                        _dq_push_min(qmin, smin, xc, r)
                since = 0
            else:
                r = s - 1
                if not (np.isnan(xc[r]) or np.isnan(yc[r])):
                    a = xc[r] - kx
                    b = yc[r] - ky
                    sx -= a
                    sy -= b
                    sxx -= a * a
                    sxy -= a * b
                    cnt -= 1
                _dq_expire(qmax, smax, s)
                _dq_expire(qmin, smin, s)
                if not (np.isnan(xc[t]) or np.isnan(yc[t])):
                    a = xc[t] - kx
                    b = yc[t] - ky
                    sx += a
                    sy += b
                    sxx += a * a
                    sxy += a * b
                    cnt += 1
                    _dq_push_max(qmax, smax, xc, t)
                    _dq_push_min(qmin, smin, xc, t)
                since += 1
            if wl - cnt > allowed_missing or cnt == 0 or xc[qmax[smax[0]]] == xc[qmin[smin[0]]]:
                out[s, j] = np.nan
            else:
                mxs = sx / cnt
                var = sxx / cnt - mxs * mxs
                cov = sxy / cnt - mxs * (sy / cnt)
                out[s, j] = cov / var if var > 0.0 else np.nan


# ---------------------------------------------------------------------------------------------------------------
# wrappers
# ---------------------------------------------------------------------------------------------------------------


def _prepare(target, regressor, window_length, minimum, name, target_adjustments, regressor_adjustments):
    target = _as_input(target, "target")
    n, m = target.shape
    reg = np.asarray(regressor, dtype=np.float64)
    if reg.ndim == 1:
        reg = reg.reshape(-1, 1)
    if reg.ndim != 2 or reg.shape[0] != n or reg.shape[1] not in (1, m):
        raise ValueError(
            f"{name}: regressor must have shape ({n},), ({n}, 1) or ({n}, {m}) to match target, got {reg.shape}"
        )
    reg = np.asfortranarray(reg)
    wl = _check_window(n, window_length, minimum, name)
    ta = _as_adjustments(target_adjustments, m, "target_adjustments")
    ra = _as_adjustments(regressor_adjustments, reg.shape[1], "regressor_adjustments")
    return target, reg, wl, ta, ra


def rolling_pearson(
    target,
    regressor,
    window_length: int,
    target_adjustments: Adjustments | None = None,
    regressor_adjustments: Adjustments | None = None,
) -> np.ndarray:
    """zipline ``RollingPearson`` (``window_length >= 2``): (n - wl + 1, n_assets)."""
    target, reg, wl, ta, ra = _prepare(
        target, regressor, window_length, 2, "rolling_pearson", target_adjustments, regressor_adjustments
    )
    out = _alloc(target.shape[0] - wl + 1, target.shape[1])
    pearson_kernel(target, reg, wl, *ta, *ra, out)
    return out


def rolling_spearman(
    target,
    regressor,
    window_length: int,
    target_adjustments: Adjustments | None = None,
    regressor_adjustments: Adjustments | None = None,
) -> np.ndarray:
    """zipline ``RollingSpearman`` (``window_length >= 2``): (n - wl + 1, n_assets)."""
    target, reg, wl, ta, ra = _prepare(
        target, regressor, window_length, 2, "rolling_spearman", target_adjustments, regressor_adjustments
    )
    out = _alloc(target.shape[0] - wl + 1, target.shape[1])
    spearman_kernel(target, reg, wl, *ta, *ra, out)
    return out


def rolling_linear_regression(
    target,
    regressor,
    window_length: int,
    target_adjustments: Adjustments | None = None,
    regressor_adjustments: Adjustments | None = None,
) -> LinearRegressionResult:
    """zipline ``RollingLinearRegression(dependent=target, independent=regressor)`` (``window_length >= 2``).

    Returns (alpha, beta, r_value, p_value, stderr), each (n - wl + 1, n_assets). Windows with a NaN or a constant
    regressor give NaN in all five outputs.
    """
    target, reg, wl, ta, ra = _prepare(
        target, regressor, window_length, 2, "rolling_linear_regression", target_adjustments, regressor_adjustments
    )
    outs = [_alloc(target.shape[0] - wl + 1, target.shape[1]) for _ in range(5)]
    linear_regression_kernel(target, reg, wl, *ta, *ra, *outs)
    return LinearRegressionResult(*outs)


def simple_beta(
    target,
    regressor,
    window_length: int,
    allowed_missing_percentage: float = 0.25,
    target_adjustments: Adjustments | None = None,
    regressor_adjustments: Adjustments | None = None,
) -> np.ndarray:
    """zipline ``SimpleBeta(target, regression_length, allowed_missing_percentage)`` on given returns.

    ``target`` holds the assets' returns (dependents), ``regressor`` the target asset's returns (independent);
    ``window_length >= 3``; ``allowed_missing = int(allowed_missing_percentage * window_length)``.
    """
    pct = float(allowed_missing_percentage)
    if not 0.0 <= pct <= 1.0:
        raise ValueError(f"simple_beta: allowed_missing_percentage must be in [0, 1], got {pct}")
    target, reg, wl, ta, ra = _prepare(
        target, regressor, window_length, 3, "simple_beta", target_adjustments, regressor_adjustments
    )
    out = _alloc(target.shape[0] - wl + 1, target.shape[1])
    simple_beta_kernel(target, reg, wl, int(pct * wl), *ta, *ra, out)
    return out
