"""Exponentially weighted moving average / standard deviation over a fixed window (zipline ``EWMA``/``EWMSTD``).

zipline weighs the ``wl`` rows of a window with ``decay_rate ** [wl + 1, ..., 2]`` (oldest first) and takes
``np.average``; any NaN in the window makes the result NaN. The weights are normalised, so the kernels use the
proportional ``decay_rate ** [wl - 1, ..., 0]`` and the O(1) recurrence

    S_t = d * S_{t-1} + x_t - d ** wl * x_{t-wl}

over values shifted by ``k`` (a value of the window at the last rebuild), rebuilt from scratch at every adjustment
and every ``max(4 * wl, RESUM_PERIOD)`` rows; on all-finite windows a lean loop advances two rows per step (the
multiply-add chain is then taken once per two rows). The calling convention (input, ``wl``, adjustments record,
``out``, then ``decay_rate`` and ``want_std``) and the adjustment handling are those of
:mod:`rustybt.pipeline.kernels.rolling`.
"""

from __future__ import annotations

import math
from numbers import Number

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._arrays import window_out
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column
from rustybt.pipeline.kernels.rolling.moments import _TAU, RESUM_PERIOD, _moments_state

__all__ = [
    "decay_rate_from_center_of_mass",
    "decay_rate_from_halflife",
    "decay_rate_from_span",
    "ewm_kernel",
    "ewma",
    "ewmstd",
    "exponential_weighted_moving_average",
    "exponential_weighted_moving_std",
    "exponential_weights",
]

_NAN = np.nan


# --------------------------------------------------------------------------------------------------------------
# decay-rate helpers (zipline's ``from_span`` / ``from_halflife`` / ``from_center_of_mass``)
# --------------------------------------------------------------------------------------------------------------


def exponential_weights(length: int, decay_rate: float) -> np.ndarray:
    """zipline's weight vector ``[decay_rate ** length, ..., decay_rate ** 2, decay_rate]`` scaled as zipline does.

    This is exactly ``full(length, decay_rate) ** arange(length + 1, 1, -1)`` (zipline-reloaded's helper).
    """
    return np.full(length, decay_rate, dtype=np.float64) ** np.arange(length + 1, 1, -1)


def _checked(decay_rate: float, what: str) -> float:
    if not 0.0 < decay_rate <= 1.0:
        raise ValueError(f"{what} gives decay_rate={decay_rate!r}; it must satisfy 0 < decay_rate <= 1")
    return decay_rate


def decay_rate_from_span(span) -> float:
    """``1 - 2 / (1 + span)`` (pandas' ``span``); ``span`` must be a number > 1."""
    if not isinstance(span, Number):
        raise TypeError(f"span must be a number, got {type(span).__name__}")
    if not span > 1:
        raise ValueError(f"`span` must be a number greater than 1. {span} was passed.")
    return _checked(1.0 - (2.0 / (1.0 + span)), f"span={span!r}")


def decay_rate_from_halflife(halflife) -> float:
    """``exp(log(0.5) / halflife)`` (pandas' ``halflife``); ``halflife`` must be a positive number."""
    if not isinstance(halflife, Number):
        raise TypeError(f"halflife must be a number, got {type(halflife).__name__}")
    if not halflife > 0:
        raise ValueError(f"`halflife` must be a positive number. {halflife} was passed.")
    return _checked(math.exp(math.log(0.5) / halflife), f"halflife={halflife!r}")


def decay_rate_from_center_of_mass(center_of_mass) -> float:
    """``1 - 1 / (1 + center_of_mass)`` (pandas' ``com``); the result must lie in (0, 1]."""
    if not isinstance(center_of_mass, Number):
        raise TypeError(f"center_of_mass must be a number, got {type(center_of_mass).__name__}")
    return _checked(1.0 - (1.0 / (1.0 + center_of_mass)), f"center_of_mass={center_of_mass!r}")


def _decay(decay_rate) -> float:
    d = float(decay_rate)
    if not 0.0 < d <= 1.0:
        raise ValueError(f"decay_rate must satisfy 0 < decay_rate <= 1, got {decay_rate!r}")
    return d


# --------------------------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def _ewm_direct(x, s, e, d, want_std, bias):
    """np.average-based zipline formula on ``x[s:e]`` (used for windows holding an infinity, no NaN)."""
    num = 0.0
    wsum = 0.0
    w = 1.0
    for r in range(e - 1, s - 1, -1):
        num += x[r] * w
        wsum += w
        w *= d
    mean = num / wsum
    if not want_std:
        return mean
    acc = 0.0
    w = 1.0
    for r in range(e - 1, s - 1, -1):
        dv = x[r] - mean
        acc += dv * dv * w
        w *= d
    return math.sqrt((acc / wsum) * bias)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _ewm_value(x, i, wl, d, inv_wsum, bias, want_std, k, s1, s2, nf, nnan, run):
    """The statistic of the window starting at row ``i`` from its running state."""
    if nnan > 0:
        return _NAN  # np.average propagates NaN
    if want_std and wl == 1:
        return _NAN  # zipline: bias correction 1 / (1 - 1) = inf, times a zero variance
    if nf < wl:  # an infinity in the window
        return _ewm_direct(x, i, i + wl, d, want_std, bias)
    m1 = s1 * inv_wsum
    if not want_std:
        return k + m1
    var = s2 * inv_wsum - m1 * m1
    if var < 0.0 or run >= wl:  # rounding residue, or a constant window: exactly 0
        var = 0.0
    return math.sqrt(var * bias)


@njit(cache=True, nogil=True, error_model="numpy")
def _fast_ewma(xin, xout, o, k, s1, d, d2, dwl, inv_wsum):
    """Slide over all-finite rows, two rows per step so the loop-carried chain (one multiply-add) is taken
    once per two rows; stop at the first non-finite incoming value and return how many rows were done."""
    m = o.shape[0]
    i = 0
    while i + 1 < m:
        v0 = xin[i]
        v1 = xin[i + 1]
        if v0 - v0 != 0.0 or v1 - v1 != 0.0:
            break
        a0 = (v0 - k) - dwl * (xout[i] - k)
        a1 = (v1 - k) - dwl * (xout[i + 1] - k)
        mid = s1 * d + a0
        s1 = s1 * d2 + (a0 * d + a1)
        o[i] = k + mid * inv_wsum
        o[i + 1] = k + s1 * inv_wsum
        i += 2
    while i < m:
        v = xin[i]
        if v - v != 0.0:
            return i, s1
        s1 = s1 * d + ((v - k) - dwl * (xout[i] - k))
        o[i] = k + s1 * inv_wsum
        i += 1
    return m, s1


@njit(cache=True, nogil=True, error_model="numpy")
def _fast_ewmstd(xin, xout, o, x, base, wl, d, dwl, inv_wsum, bias, k, s1, s2, last, run, since):
    """:func:`_fast_ewma` for EWMSTD (one row per step); ``base`` is the first row of the window of ``o[0]``."""
    for i in range(o.shape[0]):
        v = xin[i]
        if v - v != 0.0:
            return i, k, s1, s2, last, run, since
        dv = v - k
        du = xout[i] - k
        s1 = s1 * d + (dv - dwl * du)
        s2 = s2 * d + (dv * dv - dwl * (du * du))
        run = run + 1 if v == last else 1
        last = v
        since += 1
        m1 = s1 * inv_wsum
        ms = s2 * inv_wsum
        var = ms - m1 * m1
        if since >= wl and run < wl and var < _TAU * ms:  # the shift has drifted too far: re-shift
            k, s1, s2, _, _, last, run = _moments_state(x, base + i, base + i + wl, True, d)
            since = 0
            m1 = s1 * inv_wsum
            var = s2 * inv_wsum - m1 * m1
        if var < 0.0 or run >= wl:
            var = 0.0
        o[i] = math.sqrt(var * bias)
    return o.shape[0], k, s1, s2, last, run, since


@njit(cache=True, nogil=True, error_model="numpy")
def _ewm_skip(xin, xout, o, x, base, wl, d, want_std, bias, nf, nnan):
    """Windows holding a non-finite value: only the counts are slid (a NaN makes the output NaN, an infinity is
    evaluated directly). Stops at the first window that is all finite again and returns its index (its counts
    included, ``o`` not written); the caller rebuilds the sums there. ``base`` is the first row of ``o[0]``'s
    window."""
    for i in range(o.shape[0]):
        v = xin[i]
        u = xout[i]
        nf += np.int64(v - v == 0.0) - np.int64(u - u == 0.0)
        nnan += np.int64(v != v) - np.int64(u != u)
        if nf == wl:
            return i, nf, nnan
        if nnan > 0:
            o[i] = _NAN
        else:
            o[i] = _ewm_direct(x, base + i, base + i + wl, d, want_std, bias)
    return o.shape[0], nf, nnan


@njit(cache=True, nogil=True, error_model="numpy")
def _ewm_run(x, wl, t0, t1, oc, d, dwl, inv_wsum, bias, want_std):
    """Window ends ``t0 <= t < t1`` of one asset, in blocks of ``max(4 * wl, RESUM_PERIOD)`` ends (rebuilt at each
    block start, then slid: ``s = d * s + (x_t - k) - d ** wl * (x_{t-wl} - k)`` over the finite values).

    As for the rolling variance, EWMSTD re-shifts (at most every wl rows) when the variance falls below
    ``_TAU`` times the weighted mean square of ``x - k``; ``run >= wl`` means a constant window (exactly 0).
    """
    if want_std and wl == 1:  # zipline: bias correction 1 / (1 - 1) = inf, times a zero variance
        for t in range(t0, t1):
            oc[t] = _NAN
        return
    period = max(4 * wl, RESUM_PERIOD)
    d2 = d * d
    q = t0
    while q < t1:
        e = min(q + period, t1)
        start = q - wl + 1
        k, s1, s2, nf, nnan, last, run = _moments_state(x, start, q + 1, want_std, d)
        since = 0
        oc[start] = _ewm_value(x, start, wl, d, inv_wsum, bias, want_std, k, s1, s2, nf, nnan, run)
        xin = x[q + 1 : e]
        xout = x[q + 1 - wl : e - wl]
        o = oc[q + 2 - wl : e - wl + 1]
        m = e - q - 1
        i = 0
        while i < m:
            if nf == wl:
                # fast path while every value in the window is finite (left at the first one that is not)
                if want_std:
                    di, k, s1, s2, last, run, since = _fast_ewmstd(
                        xin[i:], xout[i:], o[i:], x, q + 2 - wl + i, wl, d, dwl, inv_wsum, bias,
                        k, s1, s2, last, run, since,
                    )  # fmt: skip
                else:
                    di, s1 = _fast_ewma(xin[i:], xout[i:], o[i:], k, s1, d, d2, dwl, inv_wsum)
                i += di
            # windows holding a NaN or an infinity, until one is all finite again: rebuilt there
            if i < m:
                di, nf, nnan = _ewm_skip(xin[i:], xout[i:], o[i:], x, q + 2 - wl + i, wl, d, want_std, bias, nf, nnan)
                i += di
                if i < m:
                    k, s1, s2, nf, nnan, last, run = _moments_state(x, q + 2 - wl + i, q + 2 + i, want_std, d)
                    since = 0
                    o[i] = _ewm_value(x, q + 2 - wl + i, wl, d, inv_wsum, bias, want_std, k, s1, s2, nf, nnan, run)
                    i += 1
        q = e


@njit(cache=True, nogil=True, error_model="numpy")
def _ewm_constants(wl, d):
    """(d ** wl, 1 / sum of the weights, zipline's bias correction sum(w)^2 / (sum(w)^2 - sum(w^2)))."""
    wsum = 0.0
    w2sum = 0.0
    w = 1.0
    for _ in range(wl):
        wsum += w
        w2sum += w * w
        w *= d
    sq = wsum * wsum
    return d**wl, 1.0 / wsum, sq / (sq - w2sum)


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def ewm_kernel(data, wl, adjustments, out, decay_rate, want_std):
    """zipline ``ExponentialWeightedMovingAverage`` (``want_std`` False) or ``ExponentialWeightedMovingStdDev``
    (True: bias-corrected; wl=1 -> NaN) over each window; a NaN in the window gives NaN."""
    dwl, inv_wsum, bias = _ewm_constants(wl, decay_rate)
    for j in prange(data.shape[1]):
        x = working_column(data, adjustments, j)
        cursor = segment_cursor((adjustments,), (j,))
        t0 = wl - 1
        while t0 < x.shape[0]:
            t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
            # the flag as a constant: Numba compiles each statistic's loops without the other's branches
            if want_std:
                _ewm_run(x, wl, t0, t1, out[:, j], decay_rate, dwl, inv_wsum, bias, True)
            else:
                _ewm_run(x, wl, t0, t1, out[:, j], decay_rate, dwl, inv_wsum, bias, False)
            t0 = t1


# --------------------------------------------------------------------------------------------------------------
# Python wrappers
# --------------------------------------------------------------------------------------------------------------


def exponential_weighted_moving_average(data, wl, decay_rate, adjustments=None) -> np.ndarray:
    """zipline ``EWMA`` over each window of ``wl`` rows; ``0 < decay_rate <= 1``."""
    return window_out(ewm_kernel, {"data": data}, wl, {"data": adjustments}, _decay(decay_rate), False)


def exponential_weighted_moving_std(data, wl, decay_rate, adjustments=None) -> np.ndarray:
    """zipline ``EWMSTD`` over each window of ``wl`` rows; ``0 < decay_rate <= 1``."""
    return window_out(ewm_kernel, {"data": data}, wl, {"data": adjustments}, _decay(decay_rate), True)


ewma = exponential_weighted_moving_average
ewmstd = exponential_weighted_moving_std
