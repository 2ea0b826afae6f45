"""Window-endpoint kernels: zipline ``Returns``, ``PercentChange``, ``DailyReturns``, ``RateOfChangePercentage``.

Each output needs only the first and last row of its window (O(1)). The calling convention and the adjustment
handling (working copy per adjusted asset, adjustments applied as the window end reaches their ``apply_row``) are
those of :mod:`rustybt.pipeline.kernels.rolling`; the division follows numpy (``x / 0`` -> ``inf`` or ``nan``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._adjust import apply_pending
from rustybt.pipeline.kernels.rolling import _next_stop, _single

__all__ = [
    "daily_returns",
    "percent_change",
    "percent_change_kernel",
    "rate_of_change_percentage",
    "rate_of_change_percentage_kernel",
    "returns",
    "returns_kernel",
]

_RETURNS = 0
_PCT_CHANGE = 1
_ROC = 2


@njit(cache=True, nogil=True, error_model="numpy")
def _ends_run(x, wl, t0, t1, oc, kind):
    """Window ends ``t0 <= t < t1``: one vectorisable pass over the slices of new and old values."""
    back = wl - 1
    new = x[t0:t1]
    old = x[t0 - back : t1 - back]
    o = oc[t0 - back : t1 - back]
    if kind == _RETURNS:
        for i in range(t1 - t0):
            a = old[i]
            o[i] = (new[i] - a) / a
    elif kind == _PCT_CHANGE:
        for i in range(t1 - t0):
            a = old[i]
            o[i] = (new[i] - a) / abs(a)
    else:
        for i in range(t1 - t0):
            a = old[i]
            o[i] = ((new[i] - a) / a) * 100.0


@njit(cache=True, nogil=True, error_model="numpy")
def _ends_asset(col, wl, lo, hi, apply_row, first_row, last_row, value, op, oc, kind):
    n = col.shape[0]
    if lo == hi:
        _ends_run(col, wl, wl - 1, n, oc, kind)
        return
    buf = col.copy()
    ptr = lo
    t = wl - 1
    while t < n:
        ptr = apply_pending(buf, ptr, hi, t, apply_row, first_row, last_row, value, op)
        stop = _next_stop(ptr, hi, apply_row, n)
        _ends_run(buf, wl, t, stop, oc, kind)
        t = stop


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def returns_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """zipline ``Returns``: ``(close[-1] - close[0]) / close[0]`` per window (``DailyReturns`` is wl=2)."""
    for j in prange(data.shape[1]):
        _ends_asset(
            data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j],
            _RETURNS,
        )  # fmt: skip


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def percent_change_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """zipline ``PercentChange``: ``(new - old) / abs(old)`` per window."""
    for j in prange(data.shape[1]):
        _ends_asset(
            data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j],
            _PCT_CHANGE,
        )  # fmt: skip


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rate_of_change_percentage_kernel(data, wl, offsets, apply_row, first_row, last_row, value, op, out):
    """zipline ``RateOfChangePercentage``: ``((close[-1] - close[0]) / close[0]) * 100`` per window."""
    for j in prange(data.shape[1]):
        _ends_asset(
            data[:, j], wl, offsets[j], offsets[j + 1], apply_row, first_row, last_row, value, op, out[:, j],
            _ROC,
        )  # fmt: skip


def returns(close, wl, adjustments=None) -> np.ndarray:
    """zipline ``Returns`` per window; ``wl >= 2`` (zipline's check)."""
    return _single(returns_kernel, close, wl, adjustments, minimum=2)


def daily_returns(close, adjustments=None) -> np.ndarray:
    """zipline ``DailyReturns``: :func:`returns` with ``wl=2``."""
    return _single(returns_kernel, close, 2, adjustments, minimum=2)


def percent_change(data, wl, adjustments=None) -> np.ndarray:
    """zipline ``PercentChange`` per window; ``wl >= 2`` (zipline's check)."""
    return _single(percent_change_kernel, data, wl, adjustments, minimum=2)


def rate_of_change_percentage(close, wl, adjustments=None) -> np.ndarray:
    """zipline ``RateOfChangePercentage`` per window (zipline does not restrict ``wl``; wl=1 gives 0 or NaN)."""
    return _single(rate_of_change_percentage_kernel, close, wl, adjustments)
