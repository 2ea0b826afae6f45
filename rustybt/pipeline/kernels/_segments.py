"""The one per-asset driver every window kernel uses: working columns and the segments between adjustments.

A kernel runs ``prange`` over assets; for asset ``j`` it takes the :func:`working_column` of each input (the
column itself, or a private copy when that column has adjustments) and walks the window ends in segments::

    x = working_column(data, adjustments, j)
    for t0, t1 in segments((x,), (adjustments,), (j,), wl - 1):
        run(x, wl, t0, t1, out[:, j], ...)

:func:`segments` applies, before yielding ``(t0, t1)``, every adjustment with ``apply_row <= t0`` to the copies,
and ends the segment at the next ``apply_row`` of any input (or at the last row). Inside a segment the data does
not change, so ``run`` rebuilds its running state (sums, deques, sorted windows) at ``t0`` and then updates it in
O(1) per row: a point-in-time adjustment rebuilds the state of the affected asset at its row, and nothing is
back-adjusted ahead of time. An asset without adjustments is one segment over its unchanged column (no copy).

Inputs may have their own column index (a single-column regressor is column 0 for every asset): ``columns``,
``adjustments`` and ``js`` are tuples of the same length, one entry per input.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rustybt.pipeline.kernels._adjust import apply_pending

__all__ = ["segments", "working_column"]


@njit(cache=True, nogil=True)
def working_column(data, adjustments, j):
    """Column ``j`` of ``data`` as a contiguous 1-D array: a private copy when it has adjustments, else a view.

    Both are of one Numba type (C-contiguous), so every helper a kernel runs on it is compiled once."""
    col = data[:, j]
    if adjustments.offsets[j + 1] > adjustments.offsets[j]:
        return col.copy()
    return np.ascontiguousarray(col)


# Not cached on disk: Numba cannot lower a call to a generator loaded from its cache (the generator's implementation
# is only registered when it is compiled), and every kernel that uses it is cached with the generator compiled in.
@njit(nogil=True)
def segments(columns, adjustments, js, first_end):
    """Yield ``(t0, t1)``: window ends ``t0 <= t < t1`` over which the working ``columns`` do not change, from
    ``first_end`` to the last row, having applied to them every adjustment with ``apply_row <= t0``."""
    n = columns[0].shape[0]
    k = len(columns)
    ptr = np.empty(k, np.int64)
    for i in range(k):
        ptr[i] = adjustments[i].offsets[js[i]]
    t = first_end
    while t < n:
        stop = n
        for i in range(k):
            adj = adjustments[i]
            end = adj.offsets[js[i] + 1]
            p = apply_pending(columns[i], adj, ptr[i], end, t)
            ptr[i] = p
            if p < end and adj.apply_row[p] < stop:
                stop = adj.apply_row[p]
        yield t, stop
        t = stop
