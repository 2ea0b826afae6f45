"""Rolling-window kernels for zipline's built-in window factors.

Every kernel takes F-ordered float64 ``(n_dates, n_assets)`` inputs, the window length ``wl``, the six adjustment
arrays of :mod:`rustybt.pipeline.kernels._adjust` (one set per input, in input order), a preallocated F-ordered
``out`` of shape ``(n_dates - wl + 1, n_assets)`` and then any scalar parameters. ``out[i, j]`` is the factor over
rows ``[i, i + wl)`` of asset ``j``, seen with exactly the adjustments whose ``apply_row <= i + wl - 1``.

How a kernel walks one asset (``prange`` over assets):

* An asset without adjustments is read in place (no copy). An asset with adjustments gets one working copy; the
  window end walks forward in *segments* between successive ``apply_row`` values: at a segment start the pending
  adjustments are applied to the copy (:func:`apply_pending`) and the rolling state is rebuilt from the copy
  (O(wl)); inside a segment the state is updated in O(1) per row. Nothing is back-adjusted ahead of time.
* Running sums are kept over finite values only, shifted by a value ``k`` of the window (its first finite value,
  or its mean for variances; re-taken whenever the window empties), so ``~1e6 + noise`` data keeps full precision,
  and are recomputed from scratch every ``max(4 * wl, RESUM_PERIOD)`` window ends to bound drift. Variances also
  re-shift (at most every wl rows) when the variance falls below ``_TAU`` times the mean square of ``x - k``
  (a level shift); a window of equal values has variance exactly 0. NaNs and infinities are counted; a window
  holding an infinity is evaluated directly (O(wl), numpy semantics), which keeps ``inf - inf`` out of the sums.
* While a window holds only finite values (the usual case) a small separate loop does the update; it hands back
  to the NaN-aware loop at the first non-finite value and takes over again once the window is all finite.
* Rolling min/max and max drawdown use two-stack sliding aggregation (suffix aggregates of a block of wl rows plus
  a running aggregate of the rows added since): O(1) amortized and, for min/max, branch-free.

The semantics follow zipline-reloaded's ``compute`` methods (``SimpleMovingAverage`` = ``nanmean``,
``LinearWeightedMovingAverage``, ``WeightedAverageValue``/``VWAP``, ``AverageDollarVolume``, ``MaxDrawdown``,
``AnnualizedVolatility``, ``RSI``), including their results for all-NaN windows and divisions by zero.
"""

from __future__ import annotations

import math
import operator

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels import _pool
from rustybt.pipeline.kernels._adjust import apply_pending, empty_adjustments
from rustybt.pipeline.kernels._arrays import as_float_columns as _as_input

__all__ = [
    "RESUM_PERIOD",
    "annualized_volatility",
    "annualized_volatility_kernel",
    "average_dollar_volume",
    "average_dollar_volume_kernel",
    "linear_weighted_moving_average",
    "linear_weighted_moving_average_kernel",
    "max_drawdown",
    "max_drawdown_kernel",
    "rolling_count",
    "rolling_count_kernel",
    "rolling_max",
    "rolling_max_kernel",
    "rolling_mean",
    "rolling_mean_kernel",
    "rolling_min",
    "rolling_min_kernel",
    "rolling_std",
    "rolling_std_kernel",
    "rolling_sum",
    "rolling_sum_kernel",
    "rolling_var",
    "rolling_var_kernel",
    "rsi",
    "rsi_kernel",
    "vwap",
    "weighted_average_value",
    "weighted_average_value_kernel",
]

#: Running sums are recomputed from scratch at least every ``max(4 * wl, RESUM_PERIOD)`` window ends.
RESUM_PERIOD = 1024

# var/std (and EWMSTD) re-shift when variance < _TAU * mean((x - k) ** 2), which bounds the cancellation error
# of s2 / n - (s1 / n) ** 2 to about eps * (rows since the last rebuild) / _TAU
_TAU = 1e-3

_NAN = np.nan
_INF = np.inf

# what a moments pass returns
_SUM = 0
_MEAN = 1
_VAR = 2
_STD = 3
_COUNT = 4


# --------------------------------------------------------------------------------------------------------------
# Python-side helpers shared by rolling.py, ewm.py and returns.py
# --------------------------------------------------------------------------------------------------------------


def _window(wl, minimum: int = 1, name: str = "wl") -> int:
    try:
        wl = operator.index(wl)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(wl).__name__}") from None
    if wl < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {wl}")
    return wl


def _as_adjustments(adjustments, n_assets: int, n_dates: int, name: str = "adjustments") -> tuple:
    """Validate the six CSR adjustment arrays (see ``_adjust``); ``None`` means no adjustments."""
    if adjustments is None:
        return empty_adjustments(n_assets)
    if len(adjustments) != 6:
        raise ValueError(
            f"{name} must be the six arrays (offsets, apply_row, first_row, last_row, value, op), "
            f"got {len(adjustments)} items"
        )
    offsets, apply_row, first_row, last_row, value, op = adjustments
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    apply_row = np.ascontiguousarray(apply_row, dtype=np.int64)
    first_row = np.ascontiguousarray(first_row, dtype=np.int64)
    last_row = np.ascontiguousarray(last_row, dtype=np.int64)
    value = np.ascontiguousarray(value, dtype=np.float64)
    op = np.ascontiguousarray(op, dtype=np.int64)
    if offsets.shape != (n_assets + 1,):
        raise ValueError(f"{name}: offsets must have n_assets + 1 = {n_assets + 1} entries, got {offsets.shape}")
    if offsets[0] != 0 or np.any(np.diff(offsets) < 0):
        raise ValueError(f"{name}: offsets must start at 0 and be non-decreasing")
    n_adj = int(offsets[-1])
    for label, arr in (
        ("apply_row", apply_row),
        ("first_row", first_row),
        ("last_row", last_row),
        ("value", value),
        ("op", op),
    ):
        if arr.shape != (n_adj,):
            raise ValueError(f"{name}: {label} must have offsets[-1] = {n_adj} entries, got {arr.shape}")
    if n_adj:
        if np.any((op < 0) | (op > 2)):
            raise ValueError(f"{name}: op must be MULTIPLY (0), ADD (1) or OVERWRITE (2)")
        step = np.diff(apply_row)
        new_column = np.zeros(n_adj - 1, dtype=bool)
        starts = offsets[1:-1]
        starts = starts[(starts > 0) & (starts < n_adj)]
        new_column[starts - 1] = True
        if np.any((step < 0) & ~new_column):
            raise ValueError(f"{name}: apply_row must be sorted ascending within each asset column")
    return offsets, apply_row, first_row, last_row, value, op


def _alloc_out(n_dates: int, wl: int, n_assets: int) -> np.ndarray:
    return _pool.empty((max(n_dates - wl + 1, 0), n_assets))


def _single(kernel, data, wl, adjustments, *params, minimum: int = 1):
    data = _as_input(data)
    wl = _window(wl, minimum)
    n, m = data.shape
    adj = _as_adjustments(adjustments, m, n)
    out = _alloc_out(n, wl, m)
    if out.shape[0]:
        kernel(data, wl, *adj, out, *params)
    return out


def _pair(kernel, a, b, wl, a_adj, b_adj, names):
    a = _as_input(a, names[0])
    b = _as_input(b, names[1])
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, got {a.shape} and {b.shape}")
    wl = _window(wl)
    n, m = a.shape
    aa = _as_adjustments(a_adj, m, n, f"{names[0]}_adjustments")
    ba = _as_adjustments(b_adj, m, n, f"{names[1]}_adjustments")
    out = _alloc_out(n, wl, m)
    if out.shape[0]:
        kernel(a, b, wl, *aa, *ba, out)
    return out


# --------------------------------------------------------------------------------------------------------------
# jitted building blocks
#
# A ``*_run(x, wl, t0, t1, oc, ...)`` function fills ``oc`` for the window ends ``t0 <= t < t1`` of one asset from
# a column ``x`` that does not change meanwhile. It walks blocks of ``max(4 * wl, RESUM_PERIOD)`` window ends: the
# state is rebuilt from scratch at the first end of a block, then slid over the rest of the block with loops over
# slices (indices from 0: no negative-index wraparound, branch-free selects, one add per loop-carried chain).
# --------------------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _next_stop(ptr, hi, apply_row, n):
    """First window end at which the next pending adjustment must be applied (``n`` if none)."""
    if ptr >= hi:
        return n
    a = apply_row[ptr]
    return a if a < n else n


@njit(cache=True, nogil=True, error_model="numpy")
def _reciprocals(wl):
    """``tab[c] = 1 / c`` for ``c <= wl``; ``tab[0] = nan`` (a mean over no value is NaN)."""
    tab = np.empty(wl + 1, dtype=np.float64)
    tab[0] = _NAN
    for c in range(1, wl + 1):
        tab[c] = 1.0 / c
    return tab


# ---- sum / mean / var / std / count ----------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def _moments_direct(x, s, e, what, scale):
    """numpy's nansum/nanmean/nanvar/nanstd of ``x[s:e]`` (used for windows holding an infinity)."""
    total = 0.0
    cnt = 0
    for r in range(s, e):
        v = x[r]
        if v == v:
            total += v
            cnt += 1
    if what == _SUM:
        return total
    if cnt == 0:
        return _NAN
    mean = total / cnt
    if what == _MEAN:
        return mean
    ss = 0.0
    for r in range(s, e):
        v = x[r]
        if v == v:
            dv = v - mean
            ss += dv * dv
    var = ss / cnt
    if what == _VAR:
        return var
    return math.sqrt(var) * scale


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _moments_value(x, i, wl, what, scale, tab, k, s1, s2, nf, nnan, run):
    """The statistic of the window starting at row ``i`` from its running state."""
    if what == _COUNT:
        return float(wl - nnan)
    if wl - nf - nnan > 0:  # an infinity in the window
        return _moments_direct(x, i, i + wl, what, scale)
    if what == _SUM:
        return s1 + nf * k
    inv = tab[nf]
    if what == _MEAN:
        return k + s1 * inv
    m1 = s1 * inv
    var = s2 * inv - m1 * m1
    if var < 0.0 or (run >= nf and nf > 0):  # rounding residue, or a constant window: exactly 0
        var = 0.0
    if what == _VAR:
        return var
    return math.sqrt(var) * scale


@njit(cache=True, nogil=True, error_model="numpy")
def _moments_state(x, start, end, squares):
    """Running state of the window ``x[start:end]``, shifted by ``k``: its mean for var/std (two passes, so that a
    re-shift does not trigger again at once), else its first finite value (one pass)."""
    k = 0.0
    cnt = 0
    if squares:
        total = 0.0
        for r in range(start, end):
            v = x[r]
            if v - v == 0.0:
                total += v
                cnt += 1
        k = total / cnt if cnt > 0 else 0.0
    else:
        for r in range(start, end):
            v = x[r]
            if v - v == 0.0:
                k = v
                break
    cnt = 0
    s1 = 0.0
    s2 = 0.0
    nnan = 0
    last = _NAN
    run = 0
    for r in range(start, end):
        v = x[r]
        if v - v == 0.0:
            dv = v - k
            s1 += dv
            s2 += dv * dv
            cnt += 1
            if v == last:
                run += 1
            else:
                last = v
                run = 1
        elif v != v:
            nnan += 1
    return k, s1, s2, cnt, nnan, last, run


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _slide_sum(v, u, k, s1, nf, nnan):
    """Window loses ``u`` and gains ``v``: update the shifted sum over finite values and the counts."""
    fv = v - v == 0.0
    fu = u - u == 0.0
    if nf == np.int64(fu):  # no finite value stays: empty the sum and re-shift to the new value
        s1 = 0.0
        nf = 0
        if fv:
            k = v
        fu = False
    du = u - k if fu else 0.0
    dv = v - k if fv else 0.0
    s1 += dv - du
    nf += np.int64(fv) - np.int64(fu)
    nnan += np.int64(v != v) - np.int64(u != u)
    return k, s1, nf, nnan


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _slide_squares(v, u, k, s1, s2, nf, nnan, last, run):
    """As :func:`_slide_sum`, also for the sum of squares and the run of equal values."""
    fv = v - v == 0.0
    fu = u - u == 0.0
    if nf == np.int64(fu):
        s1 = 0.0
        s2 = 0.0
        nf = 0
        if fv:
            k = v
        fu = False
    du = u - k if fu else 0.0
    dv = v - k if fv else 0.0
    s1 += dv - du
    s2 += dv * dv - du * du
    nf += np.int64(fv) - np.int64(fu)
    nnan += np.int64(v != v) - np.int64(u != u)
    if fv:
        run = run + 1 if v == last else 1
        last = v
    return k, s1, s2, nf, nnan, last, run


@njit(cache=True, nogil=True, error_model="numpy")
def _fast_sum(xin, xout, o, s1, a, c):
    """Slide over all-finite rows: ``s1 += x_in - x_out``, ``o = a + s1 * c``; stop at the first non-finite
    incoming value and return how many rows were done (a small function keeps its loop in registers)."""
    for i in range(o.shape[0]):
        v = xin[i]
        if v - v != 0.0:
            return i, s1
        s1 += v - xout[i]
        o[i] = a + s1 * c
    return o.shape[0], s1


@njit(cache=True, nogil=True, error_model="numpy")
def _fast_squares(xin, xout, o, x, base, wl, k, s1, s2, last, run, since, inv, std, scale):
    """:func:`_fast_sum` for var / std; ``base`` is the first row of the window of ``o[0]`` (for re-shifts)."""
    for i in range(o.shape[0]):
        v = xin[i]
        if v - v != 0.0:
            return i, k, s1, s2, last, run, since
        dv = v - k
        du = xout[i] - k
        s1 += dv - du
        s2 += dv * dv - du * du
        run = run + 1 if v == last else 1
        last = v
        since += 1
        m1 = s1 * inv
        ms = s2 * inv
        var = ms - m1 * m1
        if since >= wl and run < wl and var < _TAU * ms:  # the shift has drifted too far: re-shift
            k, s1, s2, _, _, last, run = _moments_state(x, base + i, base + i + wl, True)
            since = 0
            m1 = s1 * inv
            var = s2 * inv - m1 * m1
        if var < 0.0 or run >= wl:
            var = 0.0
        o[i] = math.sqrt(var) * scale if std else var
    return o.shape[0], k, s1, s2, last, run, since


@njit(cache=True, nogil=True, error_model="numpy")
def _general_sum(xin, xout, o, x, base, wl, what, tab, k, s1, nf, nnan):
    """NaN-aware slide for sum / mean until the window is all finite again; returns the rows done and the state.
    ``base`` is the first row of the window of ``o[0]``."""
    for i in range(o.shape[0]):
        k, s1, nf, nnan = _slide_sum(xin[i], xout[i], k, s1, nf, nnan)
        if nf + nnan < wl:  # an infinity in the window
            o[i] = _moments_direct(x, base + i, base + i + wl, what, 1.0)
        elif what == _SUM:
            o[i] = s1 + nf * k
        else:
            o[i] = k + s1 * tab[nf]
        if nf == wl:
            return i + 1, k, s1, nf, nnan
    return o.shape[0], k, s1, nf, nnan


@njit(cache=True, nogil=True, error_model="numpy")
def _general_squares(xin, xout, o, x, base, wl, what, scale, tab, k, s1, s2, nf, nnan, last, run, since):
    """:func:`_general_sum` for var / std (with the re-shift of :func:`_moments_run`)."""
    for i in range(o.shape[0]):
        k, s1, s2, nf, nnan, last, run = _slide_squares(xin[i], xout[i], k, s1, s2, nf, nnan, last, run)
        since += 1
        if since >= wl and run < nf:
            ms = s2 * tab[nf]
            m1 = s1 * tab[nf]
            if ms - m1 * m1 < _TAU * ms:
                k, s1, s2, nf, nnan, last, run = _moments_state(x, base + i, base + i + wl, True)
                since = 0
        o[i] = _moments_value(x, base + i, wl, what, scale, tab, k, s1, s2, nf, nnan, run)
        if nf == wl:
            return i + 1, k, s1, s2, nf, nnan, last, run, since
    return o.shape[0], k, s1, s2, nf, nnan, last, run, since


@njit(cache=True, nogil=True, error_model="numpy")
def _moments_run(x, wl, t0, t1, oc, what, scale, tab):
    """Running sums of ``x - k`` and ``(x - k) ** 2`` over the finite values, with NaN and finite counts.

    ``k`` is a value of the window at the last rebuild (the mean for var/std; re-taken whenever the window has no
    finite value left), so the sums stay small for data like ``1e6 + noise``. For var/std the state is also rebuilt
    (at most every wl rows) once the variance falls below ``_TAU`` times the mean square of ``x - k``, which
    bounds the cancellation error of ``s2 / n - (s1 / n) ** 2``. ``run`` is the length of the run of equal finite
    values ending at the newest one: ``run >= nf`` means a constant window (variance exactly 0). All-finite
    stretches go through :func:`_fast_sum` / :func:`_fast_squares`, the rest through the NaN-aware loop.
    """
    period = max(4 * wl, RESUM_PERIOD)
    b = t0
    while b < t1:
        e = min(b + period, t1)
        start = b - wl + 1
        k, s1, s2, nf, nnan, last, run = _moments_state(x, start, b + 1, _VAR <= what <= _STD)
        oc[start] = _moments_value(x, start, wl, what, scale, tab, k, s1, s2, nf, nnan, run)
        xin = x[b + 1 : e]
        xout = x[b + 1 - wl : e - wl]
        o = oc[b + 2 - wl : e - wl + 1]
        m = e - b - 1
        if what == _COUNT:
            for i in range(m):
                nnan += np.int64(xin[i] != xin[i]) - np.int64(xout[i] != xout[i])
                o[i] = wl - nnan
            b = e
            continue
        since = 0
        i = 0
        while i < m:
            if nf == wl:
                # fast path while every value in the window is finite (left at the first one that is not)
                if what <= _MEAN:
                    a0, c0 = (k, tab[wl]) if what == _MEAN else (wl * k, 1.0)
                    di, s1 = _fast_sum(xin[i:], xout[i:], o[i:], s1, a0, c0)
                else:
                    di, k, s1, s2, last, run, since = _fast_squares(
                        xin[i:], xout[i:], o[i:], x, b + 2 - wl + i, wl, k, s1, s2, last, run, since,
                        tab[wl], what == _STD, scale,
                    )  # fmt: skip
                i += di
            # general path (NaNs or infinities in the window) until the window is all finite again
            if i < m:
                base = b + 2 - wl + i
                if what <= _MEAN:
                    di, k, s1, nf, nnan = _general_sum(
                        xin[i:], xout[i:], o[i:], x, base, wl, what, tab, k, s1, nf, nnan
                    )
                else:
                    di, k, s1, s2, nf, nnan, last, run, since = _general_squares(
                        xin[i:], xout[i:], o[i:], x, base, wl, what, scale, tab, k, s1, s2, nf, nnan, last, run, since
                    )
                i += di
        b = e


@njit(cache=True, nogil=True, error_model="numpy")
def _moments_asset(col, wl, lo, hi, apply_row, first_row, last_row, value, op, oc, what, scale, tab):
    n = col.shape[0]
    if lo == hi:
        _moments_run(col, wl, wl - 1, n, oc, what, scale, tab)
        return
    buf = col.copy()
    ptr = lo
    t = wl - 1
    while t < n:
        ptr = apply_pending(buf, ptr, hi, t, apply_row, first_row, last_row, value, op)
        stop = _next_stop(ptr, hi, apply_row, n)
        _moments_run(buf, wl, t, stop, oc, what, scale, tab)
        t = stop


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rolling_sum_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """``np.nansum`` over each window (all-NaN window -> 0.0)."""
    tab = _reciprocals(wl)
    for j in prange(data.shape[1]):
        _moments_asset(
            data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j],
            _SUM, 1.0, tab,
        )  # fmt: skip


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rolling_mean_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """``np.nanmean`` over each window (zipline ``SimpleMovingAverage``; all-NaN window -> NaN)."""
    tab = _reciprocals(wl)
    for j in prange(data.shape[1]):
        _moments_asset(
            data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j],
            _MEAN, 1.0, tab,
        )  # fmt: skip


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rolling_var_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """``np.nanvar`` (ddof=0) over each window."""
    tab = _reciprocals(wl)
    for j in prange(data.shape[1]):
        _moments_asset(
            data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j],
            _VAR, 1.0, tab,
        )  # fmt: skip


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rolling_std_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """``np.nanstd`` (ddof=0) over each window."""
    tab = _reciprocals(wl)
    for j in prange(data.shape[1]):
        _moments_asset(
            data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j],
            _STD, 1.0, tab,
        )  # fmt: skip


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rolling_count_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """Number of non-NaN values in each window (as float64)."""
    tab = _reciprocals(wl)
    for j in prange(data.shape[1]):
        _moments_asset(
            data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j],
            _COUNT, 1.0, tab,
        )  # fmt: skip


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def annualized_volatility_kernel(
    data, wl, offsets, apply_row, first_row, last_row, value, op, out, annualization_factor
):
    """zipline ``AnnualizedVolatility``: ``nanstd(returns) * annualization_factor ** 0.5`` over each window."""
    scale = annualization_factor**0.5
    tab = _reciprocals(wl)
    for j in prange(data.shape[1]):
        _moments_asset(
            data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j],
            _STD, scale, tab,
        )  # fmt: skip


# ---- min / max: two-stack sliding maximum --------------------------------------------------------------------
#
# Every wl window ends the "front" is rebuilt as the suffix maxima of the current window; the rows pushed since
# are summarised by their running maximum. max(front suffix at the window start, running maximum) is the window's
# maximum: O(1) amortized and branch-free (a monotonic deque needs a data-dependent pop loop per row).


@njit(cache=True, nogil=True, error_model="numpy")
def _extreme_block(win, nxt, o, sign, suf, lv):
    """Outputs for the window ``win`` (length wl) and the next ``len(nxt)`` (< wl) windows, which add the rows
    ``nxt`` one by one: ``o[j] = max(suffix max of win from j, max of nxt[:j])``. ``lv`` is the position (relative
    to ``win``) of the last non-NaN value in ``win`` (-1: none); a window without one gives NaN."""
    neg_inf = -_INF
    wl = win.shape[0]
    acc = neg_inf
    for q in range(wl - 1, -1, -1):
        w = win[q] * sign
        w = w if w == w else neg_inf
        acc = acc if acc > w else w  # strict '>' compiles to maxsd
        suf[q] = acc
    o[0] = acc * sign if lv >= 0 else _NAN
    back = neg_inf
    for j in range(nxt.shape[0]):
        v = nxt[j] * sign
        if v == v:
            lv = wl + j
        else:
            v = neg_inf
        back = back if back > v else v
        f = suf[j + 1]
        m = f if f > back else back
        o[j + 1] = m * sign if lv >= j + 1 else _NAN


@njit(cache=True, nogil=True, error_model="numpy")
def _extreme_run(x, wl, t0, t1, oc, sign, suf):
    """nanmax of ``sign * x`` times ``sign`` (sign=1: nanmax, sign=-1: nanmin); ``suf`` is scratch of length wl.

    Blocks of wl window ends: the first window's suffix maxima are computed once, and each later window of the
    block is max(suffix max from its start, running max of the rows added since): O(1) per row, branch-free.
    """
    t = t0
    while t < t1:
        s = t - wl + 1
        lv = -1
        for q in range(wl - 1, -1, -1):
            if x[s + q] == x[s + q]:
                lv = q
                break
        e = min(t + wl, t1)
        _extreme_block(x[s : t + 1], x[t + 1 : e], oc[s : e - wl + 1], sign, suf, lv)
        t = e


@njit(cache=True, nogil=True, error_model="numpy")
def _extreme_asset(col, wl, lo, hi, apply_row, first_row, last_row, value, op, oc, sign):
    n = col.shape[0]
    suf = np.empty(wl, dtype=np.float64)
    if lo == hi:
        _extreme_run(col, wl, wl - 1, n, oc, sign, suf)
        return
    buf = col.copy()
    ptr = lo
    t = wl - 1
    while t < n:
        ptr = apply_pending(buf, ptr, hi, t, apply_row, first_row, last_row, value, op)
        stop = _next_stop(ptr, hi, apply_row, n)
        _extreme_run(buf, wl, t, stop, oc, sign, suf)
        t = stop


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rolling_max_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """``np.nanmax`` over each window (all-NaN window -> NaN)."""
    for j in prange(data.shape[1]):
        _extreme_asset(
            data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j], 1.0
        )


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rolling_min_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """``np.nanmin`` over each window (all-NaN window -> NaN)."""
    for j in prange(data.shape[1]):
        _extreme_asset(
            data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j], -1.0
        )


# ---- linear weighted moving average -----------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def _lwma_direct(x, s, e, norm):
    total = 0.0
    for r in range(s, e):
        p = x[r] * (r - s + 1.0)
        if p == p:
            total += p
    return total / norm


@njit(cache=True, nogil=True, error_model="numpy")
def _fast_lwma(xin, xout, o, wl, k, s1, ws, inv_norm):
    """Slide while every value is finite (then the weights sum to the normaliser: out = k + ws / norm); stop at
    the first non-finite incoming value and return the rows done."""
    for i in range(o.shape[0]):
        v = xin[i]
        if v - v != 0.0:
            return i, s1, ws
        ws += wl * (v - k) - s1
        s1 += v - xout[i]
        o[i] = k + ws * inv_norm
    return o.shape[0], s1, ws


@njit(cache=True, nogil=True, error_model="numpy")
def _general_lwma(xin, xout, o, x, base, wl, norm, inv_norm, k, s1, ws, nf, wc, nnan):
    """NaN-aware slide until the window is all finite again; ``base`` is the first row of ``o[0]``'s window."""
    for i in range(o.shape[0]):
        v = xin[i]
        u = xout[i]
        fv = v - v == 0.0
        fu = u - u == 0.0
        if nf == np.int64(fu):  # no finite value stays: empty the sums and re-shift to the new value
            s1 = 0.0
            ws = 0.0
            wc = 0
            nf = 0
            if fv:
                k = v
            fu = False
        du = u - k if fu else 0.0
        dv = v - k if fv else 0.0
        ws += wl * dv - s1
        wc += wl * np.int64(fv) - nf
        s1 += dv - du
        nf += np.int64(fv) - np.int64(fu)
        nnan += np.int64(v != v) - np.int64(u != u)
        if nf + nnan < wl:  # an infinity in the window
            o[i] = _lwma_direct(x, base + i, base + i + wl, norm)
        else:
            o[i] = (ws + k * wc) * inv_norm
        if nf == wl:
            return i + 1, k, s1, ws, nf, wc, nnan
    return o.shape[0], k, s1, ws, nf, wc, nnan


@njit(cache=True, nogil=True, error_model="numpy")
def _lwma_run(x, wl, t0, t1, oc):
    """zipline ``LinearWeightedMovingAverage``: nansum(x * [1..wl]) / (wl (wl + 1) / 2); NaNs weigh nothing.

    Sliding by one row lowers every weight by one: ``ws -= s1`` (the leaving value's weight drops to 0), and the
    new value enters with weight ``wl``. ``wc`` is the total weight of the finite values (for the shift ``k``).
    """
    norm = (wl * (wl + 1)) / 2
    inv_norm = 1.0 / norm
    period = max(4 * wl, RESUM_PERIOD)
    b = t0
    while b < t1:
        e = min(b + period, t1)
        start = b - wl + 1
        k = 0.0
        for r in range(start, b + 1):
            v = x[r]
            if v - v == 0.0:
                k = v
                break
        s1 = 0.0  # sum of (x - k) over the finite values
        ws = 0.0  # sum of weight * (x - k) over the finite values
        nf = 0
        wc = 0
        nnan = 0
        for r in range(start, b + 1):
            v = x[r]
            if v - v == 0.0:
                w = r - start + 1
                dv = v - k
                s1 += dv
                ws += w * dv
                nf += 1
                wc += w
            elif v != v:
                nnan += 1
        if nf + nnan < wl:
            oc[start] = _lwma_direct(x, start, b + 1, norm)
        else:
            oc[start] = (ws + k * wc) * inv_norm
        xin = x[b + 1 : e]
        xout = x[b + 1 - wl : e - wl]
        o = oc[b + 2 - wl : e - wl + 1]
        m = e - b - 1
        i = 0
        while i < m:
            if nf == wl:  # every value in the window is finite: lean loop
                di, s1, ws = _fast_lwma(xin[i:], xout[i:], o[i:], wl, k, s1, ws, inv_norm)
                i += di
            if i < m:
                di, k, s1, ws, nf, wc, nnan = _general_lwma(
                    xin[i:], xout[i:], o[i:], x, b + 2 - wl + i, wl, norm, inv_norm, k, s1, ws, nf, wc, nnan
                )
                i += di
        b = e


@njit(cache=True, nogil=True, error_model="numpy")
def _lwma_asset(col, wl, lo, hi, apply_row, first_row, last_row, value, op, oc):
    n = col.shape[0]
    if lo == hi:
        _lwma_run(col, wl, wl - 1, n, oc)
        return
    buf = col.copy()
    ptr = lo
    t = wl - 1
    while t < n:
        ptr = apply_pending(buf, ptr, hi, t, apply_row, first_row, last_row, value, op)
        stop = _next_stop(ptr, hi, apply_row, n)
        _lwma_run(buf, wl, t, stop, oc)
        t = stop


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def linear_weighted_moving_average_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """zipline ``LinearWeightedMovingAverage`` over each window (all-NaN window -> 0.0, as zipline)."""
    for j in prange(data.shape[1]):
        _lwma_asset(data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j])


# ---- weighted average value (VWAP) / average dollar volume ------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def _wav_direct(b, w, s, e, adv, wl):
    num = 0.0
    den = 0.0
    for r in range(s, e):
        p = b[r] * w[r]
        if p == p:
            num += p
        ww = w[r]
        if ww == ww:
            den += ww
    if adv:
        return num / wl
    return num / den


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _wav_value(b, w, i, wl, adv, sp, sw, nzp, nzw, pbad, wbad):
    if pbad > 0 or (wbad > 0 and not adv):  # an infinity among the products or weights
        return _wav_direct(b, w, i, i + wl, adv, wl)
    if adv:
        return sp * (1.0 / wl)
    return sp / sw


@njit(cache=True, nogil=True, error_model="numpy")
def _fast_wav(bin_, win, bout, wout, o, adv, inv_wl, sp, sw, nzp, nzw):
    """Slide while every product and weight in the window is finite (rows in: ``bin_``/``win``, out:
    ``bout``/``wout``); stop at the first incoming row that is not and return the rows done."""
    for i in range(o.shape[0]):
        wv = win[i]
        pv = bin_[i] * wv
        if pv - pv != 0.0 or wv - wv != 0.0:
            return i, sp, sw, nzp, nzw
        wu = wout[i]
        pu = bout[i] * wu
        sp += pv - pu
        nzp += np.int64(pv != 0.0) - np.int64(pu != 0.0)
        sp = sp if nzp > 0 else 0.0
        if adv:
            o[i] = sp * inv_wl
        else:
            sw += wv - wu
            nzw += np.int64(wv != 0.0) - np.int64(wu != 0.0)
            sw = sw if nzw > 0 else 0.0
            o[i] = sp / sw
    return o.shape[0], sp, sw, nzp, nzw


@njit(cache=True, nogil=True, error_model="numpy")
def _general_wav(b, w, bin_, win, bout, wout, o, base, wl, adv, sp, sw, nzp, nzw, pbad, wbad, nfin):
    """NaN-aware slide until the window is all finite again; ``base`` is the first row of ``o[0]``'s window.
    ``nfin`` counts the rows whose product and weight are both finite; windows holding an infinity are evaluated
    directly."""
    for i in range(o.shape[0]):
        wv = win[i]
        wu = wout[i]
        pv = bin_[i] * wv
        pu = bout[i] * wu
        fpv = pv - pv == 0.0
        fpu = pu - pu == 0.0
        fwv = wv - wv == 0.0
        fwu = wu - wu == 0.0
        sp += (pv if fpv else 0.0) - (pu if fpu else 0.0)
        nzp += np.int64(fpv & (pv != 0.0)) - np.int64(fpu & (pu != 0.0))
        pbad += np.int64(abs(pv) == _INF) - np.int64(abs(pu) == _INF)
        sp = sp if nzp > 0 else 0.0
        sw += (wv if fwv else 0.0) - (wu if fwu else 0.0)
        nzw += np.int64(fwv & (wv != 0.0)) - np.int64(fwu & (wu != 0.0))
        wbad += np.int64(abs(wv) == _INF) - np.int64(abs(wu) == _INF)
        sw = sw if nzw > 0 else 0.0
        nfin += np.int64(fpv & fwv) - np.int64(fpu & fwu)
        o[i] = _wav_value(b, w, base + i, wl, adv, sp, sw, nzp, nzw, pbad, wbad)
        if nfin == wl:
            return i + 1, sp, sw, nzp, nzw, pbad, wbad, nfin
    return o.shape[0], sp, sw, nzp, nzw, pbad, wbad, nfin


@njit(cache=True, nogil=True, error_model="numpy")
def _wav_run(b, w, wl, t0, t1, oc, adv):
    """``nansum(b * w) / nansum(w)`` (adv=False) or ``nansum(b * w) / wl`` (adv=True) over each window.

    Sums run over finite products / weights; ``nz*`` count the non-zero ones (0 -> the sum is exactly 0, so an
    all-zero-volume window gives 0 / 0 = NaN as in numpy), ``*bad`` count the infinities, ``nfin`` the rows whose
    product and weight are both finite (all of them: the lean loop :func:`_fast_wav`).
    """
    period = max(4 * wl, RESUM_PERIOD)
    inv_wl = 1.0 / wl
    q = t0
    while q < t1:
        e = min(q + period, t1)
        start = q - wl + 1
        sp = 0.0
        sw = 0.0
        nzp = 0
        nzw = 0
        pbad = 0
        wbad = 0
        nfin = 0
        for r in range(start, q + 1):
            ww = w[r]
            p = b[r] * ww
            fp = p - p == 0.0
            fw = ww - ww == 0.0
            if fp:
                sp += p
                nzp += np.int64(p != 0.0)
            elif p == p:
                pbad += 1
            if fw:
                sw += ww
                nzw += np.int64(ww != 0.0)
            elif ww == ww:
                wbad += 1
            nfin += np.int64(fp & fw)
        oc[start] = _wav_value(b, w, start, wl, adv, sp, sw, nzp, nzw, pbad, wbad)
        bin_ = b[q + 1 : e]
        win = w[q + 1 : e]
        bout = b[q + 1 - wl : e - wl]
        wout = w[q + 1 - wl : e - wl]
        o = oc[q + 2 - wl : e - wl + 1]
        m = e - q - 1
        i = 0
        while i < m:
            if nfin == wl:
                di, sp, sw, nzp, nzw = _fast_wav(
                    bin_[i:], win[i:], bout[i:], wout[i:], o[i:], adv, inv_wl, sp, sw, nzp, nzw
                )
                i += di
            if i < m:
                di, sp, sw, nzp, nzw, pbad, wbad, nfin = _general_wav(
                    b, w, bin_[i:], win[i:], bout[i:], wout[i:], o[i:], q + 2 - wl + i, wl, adv,
                    sp, sw, nzp, nzw, pbad, wbad, nfin,
                )  # fmt: skip
                i += di
        q = e


@njit(cache=True, nogil=True, error_model="numpy")
def _wav_asset(
    bcol, wcol, wl,
    blo, bhi, b_apply, b_first, b_last, b_value, b_op,
    wlo, whi, w_apply, w_first, w_last, w_value, w_op,
    oc, adv,
):  # fmt: skip
    n = bcol.shape[0]
    if blo == bhi and wlo == whi:
        _wav_run(bcol, wcol, wl, wl - 1, n, oc, adv)
        return
    b = bcol.copy()
    w = wcol.copy()
    bp = blo
    wp = wlo
    t = wl - 1
    while t < n:
        bp = apply_pending(b, bp, bhi, t, b_apply, b_first, b_last, b_value, b_op)
        wp = apply_pending(w, wp, whi, t, w_apply, w_first, w_last, w_value, w_op)
        stop = min(_next_stop(bp, bhi, b_apply, n), _next_stop(wp, whi, w_apply, n))
        _wav_run(b, w, wl, t, stop, oc, adv)
        t = stop


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def weighted_average_value_kernel(
    base, weight, wl,
    b_offsets, b_apply_row, b_first_row, b_last_row, b_value, b_op,
    w_offsets, w_apply_row, w_first_row, w_last_row, w_value, w_op,
    out,
):  # fmt: skip
    """zipline ``WeightedAverageValue``/``VWAP``: ``nansum(base * weight) / nansum(weight)`` over each window."""
    for j in prange(base.shape[1]):
        _wav_asset(
            base[:, j], weight[:, j], wl,
            b_offsets[j], b_offsets[j + 1], b_apply_row, b_first_row, b_last_row, b_value, b_op,
            w_offsets[j], w_offsets[j + 1], w_apply_row, w_first_row, w_last_row, w_value, w_op,
            out[:, j], False,
        )  # fmt: skip


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def average_dollar_volume_kernel(
    close, volume, wl,
    c_offsets, c_apply_row, c_first_row, c_last_row, c_value, c_op,
    v_offsets, v_apply_row, v_first_row, v_last_row, v_value, v_op,
    out,
):  # fmt: skip
    """zipline ``AverageDollarVolume``: ``nansum(close * volume) / wl`` over each window."""
    for j in prange(close.shape[1]):
        _wav_asset(
            close[:, j], volume[:, j], wl,
            c_offsets[j], c_offsets[j + 1], c_apply_row, c_first_row, c_last_row, c_value, c_op,
            v_offsets[j], v_offsets[j + 1], v_apply_row, v_first_row, v_last_row, v_value, v_op,
            out[:, j], True,
        )  # fmt: skip


# ---- max drawdown: two-stack sliding aggregation -----------------------------------------------------------------
#
# A segment's summary is (max, min, argmin, best, end): best = max over i of (running max up to i) - x_i, end = the
# first i attaining it; NaNs are the identity (-inf, inf, -1, -inf, -1). Summaries combine associatively, so the
# window [s, t] = front-suffix[s] (rebuilt every wl rows) combined with the summary of the rows pushed since.


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _dd_combine(amx, amn, aam, abs_, abe, bmx, bmn, bam, bbs, bbe):
    """Summary of segment A followed by segment B."""
    mx = amx if amx >= bmx else bmx
    a_min = amn <= bmn
    mn = amn if a_min else bmn
    am = aam if a_min else bam
    cross = amx - bmn  # a peak in A, the trough at B's (first) minimum
    best = abs_ if abs_ >= bbs else bbs
    best = best if best >= cross else cross
    end_b = bbe if bbs == best else bam
    end_b = bam if (cross == best and bam < end_b) else end_b
    end = abe if abs_ == best else end_b  # on ties the earliest end wins (numpy's nanargmax)
    return mx, mn, am, best, end


@njit(cache=True, nogil=True, error_model="numpy")
def _dd_direct(x, s, e):
    """zipline ``MaxDrawdown.compute`` on ``x[s:e]`` verbatim (used for windows holding an infinity)."""
    runmax = _NAN
    best = -_INF
    end = s
    for r in range(s, e):
        v = x[r]
        if runmax != runmax or v > runmax:  # np.fmax.accumulate
            runmax = v
        dd = runmax - v
        if dd != dd:
            dd = -_INF
        if dd > best:
            best = dd
            end = r
    peak = _NAN
    for r in range(s, end + 1):
        v = x[r]
        if v == v and (peak != peak or v > peak):
            peak = v
    return (peak - x[end]) / x[end]


@njit(cache=True, nogil=True, error_model="numpy")
def _dd_run(x, wl, t0, t1, oc, fmx, fmn, fam, fbs, fbe):
    if t0 >= t1:
        return
    fe = -1  # last row of the front stack; -1 forces a rebuild at t0
    base = 0
    bmx = -_INF
    bmn = _INF
    bam = -1
    bbs = -_INF
    bbe = -1
    ninf = 0
    for r in range(t0 - wl + 1, t0):
        v = x[r]
        ninf += np.int64(abs(v) == _INF)
    for t in range(t0, t1):
        s = t - wl + 1
        v = x[t]
        ninf += np.int64(abs(v) == _INF)
        if t > t0:
            u = x[t - wl]
            ninf -= np.int64(abs(u) == _INF)
        if s > fe:
            fe = t
            base = s
            amx = -_INF
            amn = _INF
            aam = -1
            abs_ = -_INF
            abe = -1
            for r in range(t, s - 1, -1):
                xv = x[r]
                if xv == xv:
                    amx, amn, aam, abs_, abe = _dd_combine(xv, xv, r, 0.0, r, amx, amn, aam, abs_, abe)
                q = r - base
                fmx[q] = amx
                fmn[q] = amn
                fam[q] = aam
                fbs[q] = abs_
                fbe[q] = abe
            bmx = -_INF
            bmn = _INF
            bam = -1
            bbs = -_INF
            bbe = -1
        elif v == v:
            bmx, bmn, bam, bbs, bbe = _dd_combine(bmx, bmn, bam, bbs, bbe, v, v, t, 0.0, t)
        q = s - base
        _, _, _, best, end = _dd_combine(fmx[q], fmn[q], fam[q], fbs[q], fbe[q], bmx, bmn, bam, bbs, bbe)
        if ninf > 0:
            oc[s] = _dd_direct(x, s, t + 1)
        elif best == -_INF:
            oc[s] = _NAN
        else:
            oc[s] = best / x[end]


@njit(cache=True, nogil=True, error_model="numpy")
def _dd_asset(col, wl, lo, hi, apply_row, first_row, last_row, value, op, oc):
    n = col.shape[0]
    fmx = np.empty(wl, dtype=np.float64)
    fmn = np.empty(wl, dtype=np.float64)
    fam = np.empty(wl, dtype=np.int64)
    fbs = np.empty(wl, dtype=np.float64)
    fbe = np.empty(wl, dtype=np.int64)
    if lo == hi:
        _dd_run(col, wl, wl - 1, n, oc, fmx, fmn, fam, fbs, fbe)
        return
    buf = col.copy()
    ptr = lo
    t = wl - 1
    while t < n:
        ptr = apply_pending(buf, ptr, hi, t, apply_row, first_row, last_row, value, op)
        stop = _next_stop(ptr, hi, apply_row, n)
        _dd_run(buf, wl, t, stop, oc, fmx, fmn, fam, fbs, fbe)
        t = stop


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def max_drawdown_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """zipline ``MaxDrawdown``: largest (running max - x), first such row ``e``, divided by ``x[e]``."""
    for j in prange(data.shape[1]):
        _dd_asset(data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j])


# ---- RSI -------------------------------------------------------------------------------------------------------
#
# zipline: ups = nanmean(clip(diffs, 0, inf)), downs = abs(nanmean(clip(diffs, -inf, 0))), 100 - 100 / (1 + ups /
# downs). With su / sd the sums of the positive / negative diffs that equals 100 * su / (su + |sd|): one division
# instead of four, and the same special values (0 / 0 -> NaN when flat, 100 when no down move, 0 when no up move).


@njit(cache=True, nogil=True, error_model="numpy")
def _rsi_direct(x, s, e):
    su = 0.0
    sd = 0.0
    nv = 0
    for r in range(s + 1, e):
        d = x[r] - x[r - 1]
        if d == d:
            nv += 1
            if d > 0.0:
                su += d
            elif d < 0.0:
                sd += d
    if nv == 0:
        return _NAN
    ups = su / nv
    downs = abs(sd / nv)
    return 100.0 - (100.0 / (1.0 + (ups / downs)))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _rsi_value(x, i, wl, su, sd, nv, nup, ndn, nbad):
    if nbad > 0:  # an infinite diff in the window
        return _rsi_direct(x, i, i + wl)
    if nv == 0:
        return _NAN
    up = su if nup > 0 else 0.0
    down = -sd if ndn > 0 else 0.0
    return 100.0 * up / (up + down)


@njit(cache=True, nogil=True, error_model="numpy")
def _fast_rsi(xa, xb, xc, xd, o, su, sd, nup, ndn):
    """Slide while every diff is finite (diff in: ``xa - xb``, out: ``xc - xd``); stop at the first non-finite
    incoming diff and return the rows done."""
    for i in range(o.shape[0]):
        dv = xa[i] - xb[i]
        if dv - dv != 0.0:
            return i, su, sd, nup, ndn
        du = xc[i] - xd[i]
        upv = dv > 0.0
        upu = du > 0.0
        dnv = dv < 0.0
        dnu = du < 0.0
        su += (dv if upv else 0.0) - (du if upu else 0.0)
        sd += (dv if dnv else 0.0) - (du if dnu else 0.0)
        nup += np.int64(upv) - np.int64(upu)
        ndn += np.int64(dnv) - np.int64(dnu)
        up = su if nup > 0 else 0.0
        down = -sd if ndn > 0 else 0.0
        o[i] = 100.0 * up / (up + down)
    return o.shape[0], su, sd, nup, ndn


@njit(cache=True, nogil=True, error_model="numpy")
def _general_rsi(xa, xb, xc, xd, o, x, base, wl, su, sd, nv, nup, ndn, nbad):
    """NaN-aware slide until every diff in the window is finite again; ``base`` is the first row of ``o[0]``'s
    window."""
    for i in range(o.shape[0]):
        dv = xa[i] - xb[i]
        du = xc[i] - xd[i]
        fv = dv - dv == 0.0
        fu = du - du == 0.0
        upv = fv & (dv > 0.0)
        upu = fu & (du > 0.0)
        dnv = fv & (dv < 0.0)
        dnu = fu & (du < 0.0)
        su += (dv if upv else 0.0) - (du if upu else 0.0)
        sd += (dv if dnv else 0.0) - (du if dnu else 0.0)
        nup += np.int64(upv) - np.int64(upu)
        ndn += np.int64(dnv) - np.int64(dnu)
        nv += np.int64(dv == dv) - np.int64(du == du)
        nbad += np.int64(abs(dv) == _INF) - np.int64(abs(du) == _INF)
        o[i] = _rsi_value(x, base + i, wl, su, sd, nv, nup, ndn, nbad)
        if nv - nbad == wl - 1:
            return i + 1, su, sd, nv, nup, ndn, nbad
    return o.shape[0], su, sd, nv, nup, ndn, nbad


@njit(cache=True, nogil=True, error_model="numpy")
def _rsi_run(x, wl, t0, t1, oc):
    """``su``/``sd`` sum the finite positive / negative diffs, ``nup``/``ndn`` count them (0 -> the sum is exactly
    0), ``nv`` counts the non-NaN diffs and ``nbad`` the infinite ones."""
    if wl < 2:  # no diff: nanmean of nothing
        for t in range(t0, t1):
            oc[t - wl + 1] = _NAN
        return
    period = max(4 * wl, RESUM_PERIOD)
    q = t0
    while q < t1:
        e = min(q + period, t1)
        start = q - wl + 1
        su = 0.0
        sd = 0.0
        nv = 0
        nup = 0
        ndn = 0
        nbad = 0
        for r in range(start + 1, q + 1):
            d = x[r] - x[r - 1]
            if d - d == 0.0:
                nv += 1
                if d > 0.0:
                    su += d
                    nup += 1
                elif d < 0.0:
                    sd += d
                    ndn += 1
            elif d == d:
                nv += 1
                nbad += 1
        oc[start] = _rsi_value(x, start, wl, su, sd, nv, nup, ndn, nbad)
        # diff entering at t: x[t] - x[t-1]; leaving: x[t-wl+1] - x[t-wl]
        xa = x[q + 1 : e]
        xb = x[q : e - 1]
        xc = x[q + 2 - wl : e + 1 - wl]
        xd = x[q + 1 - wl : e - wl]
        o = oc[q + 2 - wl : e - wl + 1]
        m = e - q - 1
        i = 0
        while i < m:
            if nv - nbad == wl - 1:  # every diff in the window is finite: lean loop
                di, su, sd, nup, ndn = _fast_rsi(xa[i:], xb[i:], xc[i:], xd[i:], o[i:], su, sd, nup, ndn)
                i += di
            if i < m:
                di, su, sd, nv, nup, ndn, nbad = _general_rsi(
                    xa[i:], xb[i:], xc[i:], xd[i:], o[i:], x, q + 2 - wl + i, wl, su, sd, nv, nup, ndn, nbad
                )
                i += di
        q = e


@njit(cache=True, nogil=True, error_model="numpy")
def _rsi_asset(col, wl, lo, hi, apply_row, first_row, last_row, value, op, oc):
    n = col.shape[0]
    if lo == hi:
        _rsi_run(col, wl, wl - 1, n, oc)
        return
    buf = col.copy()
    ptr = lo
    t = wl - 1
    while t < n:
        ptr = apply_pending(buf, ptr, hi, t, apply_row, first_row, last_row, value, op)
        stop = _next_stop(ptr, hi, apply_row, n)
        _rsi_run(buf, wl, t, stop, oc)
        t = stop


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rsi_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """zipline ``RSI``: ``100 - 100 / (1 + ups / downs)`` over the diffs of each window (wl=1 -> NaN)."""
    for j in prange(data.shape[1]):
        _rsi_asset(data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j])


# --------------------------------------------------------------------------------------------------------------
# Python wrappers
# --------------------------------------------------------------------------------------------------------------


def rolling_sum(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nansum`` (all-NaN window -> 0.0). Returns ``(n_dates - wl + 1, n_assets)``, F-ordered."""
    return _single(rolling_sum_kernel, data, wl, adjustments)


def rolling_mean(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nanmean`` (zipline ``SimpleMovingAverage``; all-NaN window -> NaN)."""
    return _single(rolling_mean_kernel, data, wl, adjustments)


def rolling_var(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nanvar`` with ddof=0 (all-NaN window -> NaN)."""
    return _single(rolling_var_kernel, data, wl, adjustments)


def rolling_std(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nanstd`` with ddof=0 (all-NaN window -> NaN)."""
    return _single(rolling_std_kernel, data, wl, adjustments)


def rolling_min(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nanmin`` (all-NaN window -> NaN)."""
    return _single(rolling_min_kernel, data, wl, adjustments)


def rolling_max(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nanmax`` (all-NaN window -> NaN)."""
    return _single(rolling_max_kernel, data, wl, adjustments)


def rolling_count(data, wl, adjustments=None) -> np.ndarray:
    """Rolling count of non-NaN values, as float64."""
    return _single(rolling_count_kernel, data, wl, adjustments)


def linear_weighted_moving_average(data, wl, adjustments=None) -> np.ndarray:
    """zipline ``LinearWeightedMovingAverage``: ``nansum(x * [1, ..., wl]) / (wl * (wl + 1) / 2)``."""
    return _single(linear_weighted_moving_average_kernel, data, wl, adjustments)


def weighted_average_value(base, weight, wl, base_adjustments=None, weight_adjustments=None) -> np.ndarray:
    """zipline ``WeightedAverageValue``: ``nansum(base * weight) / nansum(weight)`` per window."""
    return _pair(
        weighted_average_value_kernel, base, weight, wl, base_adjustments, weight_adjustments, ("base", "weight")
    )


def vwap(close, volume, wl, close_adjustments=None, volume_adjustments=None) -> np.ndarray:
    """zipline ``VWAP``: :func:`weighted_average_value` of close weighted by volume."""
    return _pair(
        weighted_average_value_kernel, close, volume, wl, close_adjustments, volume_adjustments, ("close", "volume")
    )


def average_dollar_volume(close, volume, wl, close_adjustments=None, volume_adjustments=None) -> np.ndarray:
    """zipline ``AverageDollarVolume``: ``nansum(close * volume) / wl`` per window."""
    return _pair(
        average_dollar_volume_kernel, close, volume, wl, close_adjustments, volume_adjustments, ("close", "volume")
    )


def max_drawdown(data, wl, adjustments=None) -> np.ndarray:
    """zipline ``MaxDrawdown`` per window."""
    return _single(max_drawdown_kernel, data, wl, adjustments)


def annualized_volatility(returns, wl=252, annualization_factor=252.0, adjustments=None) -> np.ndarray:
    """zipline ``AnnualizedVolatility``: ``nanstd(returns) * annualization_factor ** 0.5`` per window."""
    return _single(annualized_volatility_kernel, returns, wl, adjustments, float(annualization_factor))


def rsi(closes, wl=15, adjustments=None) -> np.ndarray:
    """zipline ``RSI`` per window (``wl`` closes give ``wl - 1`` diffs; the default is zipline's 15)."""
    return _single(rsi_kernel, closes, wl, adjustments)
