"""Rolling sum, mean, variance, standard deviation and count: one kernel, the statistic a parameter.

Running sums are kept over finite values only, shifted by a value ``k`` of the window (its first finite value, or
its mean for variances; re-taken whenever the window empties), so ``~1e6 + noise`` data keeps full precision, and
are recomputed from scratch every ``max(4 * wl, RESUM_PERIOD)`` window ends to bound drift. Variances also re-shift
(at most every wl rows) when the variance falls below ``_TAU`` times the mean square of ``x - k`` (a level shift);
a window of equal values has variance exactly 0. NaNs and infinities are counted; a window holding an infinity is
evaluated directly (O(wl), numpy semantics), which keeps ``inf - inf`` out of the sums. While a window holds only
finite values (the usual case) a small separate loop does the update; it hands back to the NaN-aware loop at the
first non-finite value and takes over again once the window is all finite.

The results are numpy's ``nansum`` / ``nanmean`` / ``nanvar`` / ``nanstd`` (ddof 0) and the count of non-NaN
values, as zipline's ``SimpleMovingAverage`` and ``AnnualizedVolatility`` compute them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._arrays import window_out
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column

__all__ = [
    "COUNT",
    "MEAN",
    "RESUM_PERIOD",
    "STD",
    "SUM",
    "VAR",
    "annualized_volatility",
    "rolling_count",
    "rolling_mean",
    "rolling_moments_kernel",
    "rolling_std",
    "rolling_sum",
    "rolling_var",
]

#: Running sums are recomputed from scratch at least every ``max(4 * wl, RESUM_PERIOD)`` window ends.
RESUM_PERIOD = 1024

# var/std (and EWMSTD) re-shift when variance < _TAU * mean((x - k) ** 2), which bounds the cancellation error
# of s2 / n - (s1 / n) ** 2 to about eps * (rows since the last rebuild) / _TAU
_TAU = 1e-3

_NAN = np.nan

#: the statistic :func:`rolling_moments_kernel` computes
SUM = 0
MEAN = 1
VAR = 2
STD = 3
COUNT = 4
_SUM, _MEAN, _VAR, _STD, _COUNT = SUM, MEAN, VAR, STD, COUNT

# A ``*_run(x, wl, t0, t1, oc, ...)`` function fills ``oc`` for the window ends ``t0 <= t < t1`` of one asset from
# a column ``x`` that does not change meanwhile (a segment of :mod:`rustybt.pipeline.kernels._segments`). It walks
# blocks of ``max(4 * wl, RESUM_PERIOD)`` window ends: the state is rebuilt from scratch at the first end of a block,
# then slid over the rest of the block with loops over slices (indices from 0: no negative-index wraparound,
# branch-free selects, one add per loop-carried chain).


@njit(cache=True, nogil=True, error_model="numpy")
def _reciprocals(wl):
    """``tab[c] = 1 / c`` for ``c <= wl``; ``tab[0] = nan`` (a mean over no value is NaN)."""
    tab = np.empty(wl + 1, dtype=np.float64)
    tab[0] = _NAN
    for c in range(1, wl + 1):
        tab[c] = 1.0 / c
    return tab


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
def _moments_state(x, start, end, squares, decay):
    """Running state of the window ``x[start:end]``, shifted by ``k``: its mean for var/std (two passes, so that a
    re-shift does not trigger again at once), else its first finite value (one pass). The sums weigh each row
    ``decay`` times its successor: 1.0 for the plain sums here, the EWM decay for :mod:`..ewm`."""
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
        s1 *= decay
        s2 *= decay
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
            k, s1, s2, _, _, last, run = _moments_state(x, base + i, base + i + wl, True, 1.0)
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
                k, s1, s2, nf, nnan, last, run = _moments_state(x, base + i, base + i + wl, True, 1.0)
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
        k, s1, s2, nf, nnan, last, run = _moments_state(x, start, b + 1, _VAR <= what <= _STD, 1.0)
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
def _moments_segment(x, wl, t0, t1, oc, statistic, scale, tab):
    """:func:`_moments_run` with the statistic compiled in (a constant argument: Numba prunes the branches of the
    other statistics from the hot loops, which a run-time value would keep)."""
    if statistic == _SUM:
        _moments_run(x, wl, t0, t1, oc, _SUM, scale, tab)
    elif statistic == _MEAN:
        _moments_run(x, wl, t0, t1, oc, _MEAN, scale, tab)
    elif statistic == _VAR:
        _moments_run(x, wl, t0, t1, oc, _VAR, scale, tab)
    elif statistic == _STD:
        _moments_run(x, wl, t0, t1, oc, _STD, scale, tab)
    else:
        _moments_run(x, wl, t0, t1, oc, _COUNT, scale, tab)


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rolling_moments_kernel(data, wl, adjustments, out, statistic, scale):
    """``statistic`` (:data:`SUM`, :data:`MEAN`, :data:`VAR`, :data:`STD` or :data:`COUNT`) over each window of
    ``wl`` rows, times ``scale`` for STD: numpy's nansum (all-NaN window -> 0.0), nanmean, nanvar, nanstd (ddof 0)
    and the count of non-NaN values (as float64)."""
    tab = _reciprocals(wl)
    for j in prange(data.shape[1]):
        x = working_column(data, adjustments, j)
        cursor = segment_cursor((adjustments,), (j,))
        t0 = wl - 1
        while t0 < x.shape[0]:
            t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
            _moments_segment(x, wl, t0, t1, out[:, j], statistic, scale, tab)
            t0 = t1


def _moments(data, wl, adjustments, statistic: int, scale: float = 1.0) -> np.ndarray:
    return window_out(rolling_moments_kernel, {"data": data}, wl, {"data": adjustments}, statistic, scale)


def rolling_sum(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nansum`` (all-NaN window -> 0.0). Returns ``(n_dates - wl + 1, n_assets)``, F-ordered."""
    return _moments(data, wl, adjustments, SUM)


def rolling_mean(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nanmean`` (zipline ``SimpleMovingAverage``; all-NaN window -> NaN)."""
    return _moments(data, wl, adjustments, MEAN)


def rolling_var(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nanvar`` with ddof=0 (all-NaN window -> NaN)."""
    return _moments(data, wl, adjustments, VAR)


def rolling_std(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nanstd`` with ddof=0 (all-NaN window -> NaN)."""
    return _moments(data, wl, adjustments, STD)


def rolling_count(data, wl, adjustments=None) -> np.ndarray:
    """Rolling count of non-NaN values, as float64."""
    return _moments(data, wl, adjustments, COUNT)


def annualized_volatility(returns, wl=252, annualization_factor=252.0, adjustments=None) -> np.ndarray:
    """zipline ``AnnualizedVolatility``: ``nanstd(returns) * annualization_factor ** 0.5`` per window."""
    return _moments(returns, wl, adjustments, STD, float(annualization_factor) ** 0.5)
