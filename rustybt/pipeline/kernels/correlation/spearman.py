"""Rolling Spearman correlation (zipline ``RollingSpearman``: ``scipy.stats.spearmanr`` per window, the Pearson
correlation of average ranks; NaN if any NaN or a constant input). Sorted windows are maintained in O(wl) per step,
and a single-column regressor is ranked once for all assets."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column
from rustybt.pipeline.kernels.correlation._regressor import one_output

__all__ = ["rolling_spearman", "spearman_kernel"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


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
def _window_ranks(x, adjustments, j, wl, ranks, nans):
    """Average ranks of every window of column ``j`` (working copy ``x``): ``ranks[s]`` by row offset, ``nans[s]``
    the NaN count."""
    keys = np.empty(wl)
    rows = np.empty(wl, np.int64)
    nan_count = np.zeros(1, np.int64)
    cursor = segment_cursor((adjustments,), (j,))
    t0 = wl - 1
    while t0 < x.shape[0]:
        t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
        for t in range(t0, t1):
            s = t - wl + 1
            _rank_step(x, s, t, wl, t == t0, keys, rows, nan_count)
            nans[s] = nan_count[0]
            if nan_count[0] == 0:
                _average_ranks(keys, rows, wl, s, ranks[s])
        t0 = t1


@njit(**_JIT)
def _spearman_run(yc, xc, wl, t0, t1, oc, single, pre_ranks, pre_nans, y_state, x_state):
    """Window ends ``t0 <= t < t1`` of one asset; the sorted windows are rebuilt at ``t0``. ``*_state`` are
    (keys, rows, NaN count, ranks) scratch; with a ``single`` regressor its ranks come from ``pre_*``."""
    ykeys, yrows, ynan, yrank = y_state
    xkeys, xrows, xnan, xrank = x_state
    mean_rank = 0.5 * (wl + 1.0)
    for t in range(t0, t1):
        s = t - wl + 1
        _rank_step(yc, s, t, wl, t == t0, ykeys, yrows, ynan)
        if single:
            x_nans = pre_nans[s]
            xr = pre_ranks[s]
        else:
            _rank_step(xc, s, t, wl, t == t0, xkeys, xrows, xnan)
            x_nans = xnan[0]
            xr = xrank
        if ynan[0] > 0 or x_nans > 0:
            oc[s] = np.nan
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
            oc[s] = np.nan
        else:
            oc[s] = min(1.0, max(-1.0, sxy / math.sqrt(sxx * syy)))


@njit(**_JIT)
def _rank_state(wl):
    return np.empty(wl), np.empty(wl, np.int64), np.zeros(1, np.int64), np.empty(wl)


@njit(parallel=True, **_JIT)
def spearman_kernel(target, regressor, wl, target_adjustments, regressor_adjustments, out):
    """Rolling Spearman rho of each target column with the regressor (column j, or column 0 when it has one)."""
    n, m = target.shape
    n_out = n - wl + 1
    single = regressor.shape[1] == 1
    if single:
        pre_ranks = np.empty((n_out, wl))
        pre_nans = np.empty(n_out, np.int64)
        _window_ranks(working_column(regressor, regressor_adjustments, 0), regressor_adjustments, 0, wl, pre_ranks,
                      pre_nans)  # fmt: skip
    else:
        pre_ranks = np.empty((1, wl))
        pre_nans = np.zeros(1, np.int64)
    for j in prange(m):
        y_state = _rank_state(wl)
        x_state = _rank_state(wl)
        yc = working_column(target, target_adjustments, j)
        if single:
            cursor = segment_cursor((target_adjustments,), (j,))
            t0 = wl - 1
            while t0 < yc.shape[0]:
                t1 = next_segment((yc,), (target_adjustments,), (j,), cursor, t0)
                _spearman_run(yc, yc, wl, t0, t1, out[:, j], True, pre_ranks, pre_nans, y_state, x_state)
                t0 = t1
        else:
            xc = working_column(regressor, regressor_adjustments, j)
            cursor = segment_cursor((target_adjustments, regressor_adjustments), (j, j))
            t0 = wl - 1
            while t0 < yc.shape[0]:
                t1 = next_segment((yc, xc), (target_adjustments, regressor_adjustments), (j, j), cursor, t0)
                _spearman_run(yc, xc, wl, t0, t1, out[:, j], False, pre_ranks, pre_nans, y_state, x_state)
                t0 = t1


def rolling_spearman(target, regressor, window_length: int, target_adjustments=None, regressor_adjustments=None):
    """zipline ``RollingSpearman`` (``window_length >= 2``): (n - wl + 1, n_assets)."""
    return one_output(
        spearman_kernel, "rolling_spearman", 2, target, regressor, window_length, target_adjustments,
        regressor_adjustments,
    )  # fmt: skip
