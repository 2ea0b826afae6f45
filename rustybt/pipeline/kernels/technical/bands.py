"""zipline's ``BollingerBands``: mean and population standard deviation over each window, shifted running sums."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels import _pool
from rustybt.pipeline.kernels._arrays import prepare_inputs, window_length
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column

__all__ = ["BollingerBandsResult", "bollinger_bands", "bollinger_bands_kernel"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


class BollingerBandsResult(NamedTuple):
    lower: np.ndarray
    middle: np.ndarray
    upper: np.ndarray


@njit(**_JIT)
def _bollinger_run(x, wl, t0, t1, lower, middle, upper, k):
    """Window ends ``t0 <= t < t1`` of one asset: sums of ``x - shift`` rebuilt at ``t0`` and every wl rows."""
    shift = 0.0
    s1 = 0.0
    s2 = 0.0
    cnt = 0
    since = 0
    for t in range(t0, t1):
        s = t - wl + 1
        if t == t0 or since >= wl:
            shift = 0.0
            for r in range(s, t + 1):
                if not np.isnan(x[r]):
                    shift = x[r]
                    break
            s1 = 0.0
            s2 = 0.0
            cnt = 0
            for r in range(s, t + 1):
                v = x[r]
                if not np.isnan(v):
                    d = v - shift
                    s1 += d
                    s2 += d * d
                    cnt += 1
            since = 0
        else:
            v = x[s - 1]
            if not np.isnan(v):
                d = v - shift
                s1 -= d
                s2 -= d * d
                cnt -= 1
            v = x[t]
            if not np.isnan(v):
                d = v - shift
                s1 += d
                s2 += d * d
                cnt += 1
            since += 1
        if cnt == 0:
            lower[s] = np.nan
            middle[s] = np.nan
            upper[s] = np.nan
        else:
            dm = s1 / cnt
            var = s2 / cnt - dm * dm
            if var < 0.0:
                var = 0.0
            mid = shift + dm
            difference = k * math.sqrt(var)
            middle[s] = mid
            upper[s] = mid + difference
            lower[s] = mid - difference


@njit(parallel=True, **_JIT)
def bollinger_bands_kernel(close, wl, adjustments, out_lower, out_middle, out_upper, k):
    """middle = nanmean, std = nanstd (ddof 0), upper/lower = middle +/- k * std over each window."""
    for j in prange(close.shape[1]):
        x = working_column(close, adjustments, j)
        cursor = segment_cursor((adjustments,), (j,))
        t0 = wl - 1
        while t0 < x.shape[0]:
            t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
            _bollinger_run(x, wl, t0, t1, out_lower[:, j], out_middle[:, j], out_upper[:, j], k)
            t0 = t1


def bollinger_bands(close, window_length: int, k: float, adjustments=None) -> BollingerBandsResult:
    """zipline ``BollingerBands(window_length, k)``: returns (lower, middle, upper), each (n - wl + 1, n_assets)."""
    (close,), (adj,) = prepare_inputs({"close": close}, {"close": adjustments})
    n, m = close.shape
    wl = _window_length(window_length, n)
    shape = (n - wl + 1, m)  # the kernel writes every cell: no NaN prefill
    lower, middle, upper = _pool.empty(shape), _pool.empty(shape), _pool.empty(shape)
    bollinger_bands_kernel(close, wl, adj, lower, middle, upper, float(k))
    return BollingerBandsResult(lower, middle, upper)


def _window_length(wl, n: int) -> int:
    return window_length(wl, 1, "window_length", rows=n, what="bollinger_bands")
