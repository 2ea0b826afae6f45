"""Window-endpoint kernels: zipline ``Returns``, ``PercentChange``, ``DailyReturns``, ``RateOfChangePercentage``.

Each output needs only the first and last row of its window (O(1)); one kernel computes all four, the formula a
parameter. The calling convention and the adjustment handling (the driver of
:mod:`rustybt.pipeline.kernels._segments`) are those of :mod:`rustybt.pipeline.kernels.rolling`; the division
follows numpy (``x / 0`` -> ``inf`` or ``nan``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._arrays import window_out
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column

__all__ = [
    "PERCENT_CHANGE",
    "RATE_OF_CHANGE_PERCENTAGE",
    "RETURNS",
    "daily_returns",
    "percent_change",
    "rate_of_change_percentage",
    "returns",
    "returns_kernel",
]

#: what :func:`returns_kernel` computes from the window's first value ``a`` and last value ``b``
RETURNS = 0  # (b - a) / a
PERCENT_CHANGE = 1  # (b - a) / abs(a)
RATE_OF_CHANGE_PERCENTAGE = 2  # (b - a) / a * 100
_RETURNS, _PCT_CHANGE, _ROC = RETURNS, PERCENT_CHANGE, RATE_OF_CHANGE_PERCENTAGE


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


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def returns_kernel(data, wl, adjustments, out, kind):
    """zipline ``Returns`` (``kind`` :data:`RETURNS`; ``DailyReturns`` is wl=2), ``PercentChange``
    (:data:`PERCENT_CHANGE`) or ``RateOfChangePercentage`` (:data:`RATE_OF_CHANGE_PERCENTAGE`) per window."""
    for j in prange(data.shape[1]):
        x = working_column(data, adjustments, j)
        cursor = segment_cursor((adjustments,), (j,))
        t0 = wl - 1
        while t0 < x.shape[0]:
            t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
            # the formula as a constant, so each compiled loop is the one it needs
            if kind == _RETURNS:
                _ends_run(x, wl, t0, t1, out[:, j], _RETURNS)
            elif kind == _PCT_CHANGE:
                _ends_run(x, wl, t0, t1, out[:, j], _PCT_CHANGE)
            else:
                _ends_run(x, wl, t0, t1, out[:, j], _ROC)
            t0 = t1


def _ends(data, wl, adjustments, kind: int, minimum: int) -> np.ndarray:
    return window_out(returns_kernel, {"data": data}, wl, {"data": adjustments}, kind, minimum=minimum)


def returns(close, wl, adjustments=None) -> np.ndarray:
    """zipline ``Returns`` per window; ``wl >= 2`` (zipline's check)."""
    return _ends(close, wl, adjustments, RETURNS, 2)


def daily_returns(close, adjustments=None) -> np.ndarray:
    """zipline ``DailyReturns``: :func:`returns` with ``wl=2``."""
    return _ends(close, 2, adjustments, RETURNS, 2)


def percent_change(data, wl, adjustments=None) -> np.ndarray:
    """zipline ``PercentChange`` per window; ``wl >= 2`` (zipline's check)."""
    return _ends(data, wl, adjustments, PERCENT_CHANGE, 2)


def rate_of_change_percentage(close, wl, adjustments=None) -> np.ndarray:
    """zipline ``RateOfChangePercentage`` per window (zipline does not restrict ``wl``; wl=1 gives 0 or NaN)."""
    return _ends(close, wl, adjustments, RATE_OF_CHANGE_PERCENTAGE, 1)
