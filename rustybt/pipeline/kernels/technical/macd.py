"""zipline's ``MACDSignal``: an EWMA of MACD (fast EWMA - slow EWMA) values, with running EWMA sums."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._arrays import alloc_out, prepare_inputs, window_length
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column

__all__ = ["macd_signal", "macd_signal_kernel", "macd_signal_window_length"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


def macd_signal_window_length(slow_period: int = 26, signal_period: int = 9) -> int:
    """zipline's ``MACDSignal`` window length: ``slow_period + signal_period - 1``."""
    return int(slow_period) + int(signal_period) - 1


@njit(**_JIT)
def _ewma_sum(x, end, length, decay):
    """(sum_{i<length} decay**i * x[end - i] with NaN as 0, number of NaNs)."""
    acc = 0.0
    w = 1.0
    nan = 0
    for i in range(length):
        v = x[end - i]
        if np.isnan(v):
            nan += 1
        else:
            acc += w * v
        w *= decay
    return acc, nan


@njit(**_JIT)
def _slide_ewma(total, nans, decay, last_weight, new, old):
    """Slide an unnormalised EWMA sum by one row: decay it, add ``new``, drop ``old`` (which had ``last_weight``);
    NaNs are counted instead of summed."""
    total = decay * total
    if np.isnan(new):
        nans += 1
    else:
        total += new
    if np.isnan(old):
        nans -= 1
    else:
        total -= last_weight * old
    return total, nans


@njit(**_JIT)
def _macd_run(
    x, wl, t0, t1, oc, ring, fast_period, slow_period, signal_period, period,
    d_f, norm_f, dl_f, d_s, norm_s, dl_s, d_g, norm_g, dl_g,
):  # fmt: skip
    """Window ends ``t0 <= t < t1`` of one asset: running EWMA sums rebuilt at ``t0`` and every ``period`` rows;
    ``ring`` holds the last ``signal_period`` MACD values."""
    sum_f = 0.0
    nan_f = 0
    sum_s = 0.0
    nan_s = 0
    sum_g = 0.0
    nan_g = 0
    since = 0
    for t in range(t0, t1):
        s = t - wl + 1
        if t == t0 or since >= period:
            for e in range(t - signal_period + 1, t + 1):
                sum_f, nan_f = _ewma_sum(x, e, fast_period, d_f)
                sum_s, nan_s = _ewma_sum(x, e, slow_period, d_s)
                if nan_f > 0 or nan_s > 0:
                    ring[e % signal_period] = np.nan
                else:
                    ring[e % signal_period] = sum_f / norm_f - sum_s / norm_s
            sum_g = 0.0
            nan_g = 0
            wg = 1.0
            for i in range(signal_period):
                v = ring[(t - i) % signal_period]
                if np.isnan(v):
                    nan_g += 1
                else:
                    sum_g += wg * v
                wg *= d_g
            since = 0
        else:
            sum_f, nan_f = _slide_ewma(sum_f, nan_f, d_f, dl_f, x[t], x[t - fast_period])
            sum_s, nan_s = _slide_ewma(sum_s, nan_s, d_s, dl_s, x[t], x[t - slow_period])
            if nan_f > 0 or nan_s > 0:
                macd = np.nan
            else:
                macd = sum_f / norm_f - sum_s / norm_s
            slot = t % signal_period
            old = ring[slot]
            ring[slot] = macd
            sum_g, nan_g = _slide_ewma(sum_g, nan_g, d_g, dl_g, macd, old)
            since += 1
        if nan_g > 0:
            oc[s] = np.nan
        else:
            oc[s] = sum_g / norm_g


@njit(**_JIT)
def _macd_constants(length):
    """(decay, sum of the ``length`` weights, weight of the row leaving the window) of an EWMA over ``length``."""
    decay = 1.0 - 2.0 / (1.0 + length)
    norm = 0.0
    w = 1.0
    for _ in range(length):
        norm += w
        w *= decay
    return decay, norm, w


@njit(parallel=True, **_JIT)
def macd_signal_kernel(close, wl, adjustments, out, fast_period, slow_period, signal_period):
    """zipline's MACDSignal over windows of ``slow + signal - 1`` rows.

    For each of the last ``signal`` rows e of the window: macd(e) = EWMA_fast(close[e-fast+1..e]) -
    EWMA_slow(close[e-slow+1..e]); the output is EWMA_signal(macd) over those rows. EWMA_L uses weights
    decay**(L-1-i) (newest weight 1, normalised), decay = 1 - 2 / (1 + L). Not nan-aware: any NaN the result
    depends on makes it NaN. Running EWMA sums, re-summed on adjustments and periodically.
    """
    d_f, norm_f, dl_f = _macd_constants(fast_period)
    d_s, norm_s, dl_s = _macd_constants(slow_period)
    d_g, norm_g, dl_g = _macd_constants(signal_period)
    period = max(wl, signal_period * (slow_period + fast_period))
    for j in prange(close.shape[1]):
        ring = np.empty(signal_period, np.float64)
        x = working_column(close, adjustments, j)
        cursor = segment_cursor((adjustments,), (j,))
        t0 = wl - 1
        while t0 < x.shape[0]:
            t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
            _macd_run(x, wl, t0, t1, out[:, j], ring, fast_period, slow_period, signal_period, period,
                      d_f, norm_f, dl_f, d_s, norm_s, dl_s, d_g, norm_g, dl_g)  # fmt: skip
            t0 = t1


def macd_signal(
    close,
    fast_period: int = 12,
    slow_period: int = 26,
    signal_period: int = 9,
    adjustments=None,
) -> np.ndarray:
    """zipline ``MACDSignal(fast_period, slow_period, signal_period)``.

    The window length is zipline's ``slow_period + signal_period - 1`` (see :func:`macd_signal_window_length`);
    the output is ``(n - wl + 1, n_assets)``. A period of 1 (decay 0) weights only the newest value, where zipline
    would divide by a zero weight sum.
    """
    (close,), (adj,) = prepare_inputs({"close": close}, {"close": adjustments})
    fast_period, slow_period, signal_period = int(fast_period), int(slow_period), int(signal_period)
    for name, v in (("fast_period", fast_period), ("slow_period", slow_period), ("signal_period", signal_period)):
        if v < 1:
            raise ValueError(f"macd_signal: {name} must be >= 1, got {v}")
    if slow_period <= fast_period:
        raise ValueError(
            f"macd_signal: slow_period must be greater than fast_period, got slow_period={slow_period}, "
            f"fast_period={fast_period}"
        )
    n, m = close.shape
    wl = window_length(macd_signal_window_length(slow_period, signal_period), 1, "window_length", n, "macd_signal")
    out = alloc_out(n, wl, m, np.nan)
    macd_signal_kernel(close, wl, adj, out, fast_period, slow_period, signal_period)
    return out
