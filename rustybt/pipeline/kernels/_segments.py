"""The one per-asset driver every window kernel uses: working columns and the segments between adjustments.

A kernel runs ``prange`` over assets; for asset ``j`` it takes the :func:`working_column` of each input (the
column itself, or a private copy when that column has adjustments) and walks the window ends in segments::

    x = working_column(data, adjustments, j)
    cursor = segment_cursor((adjustments,), (j,))
    t0 = wl - 1
    while t0 < x.shape[0]:
        t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
        run(x, wl, t0, t1, out[:, j], ...)
        t0 = t1

:func:`next_segment` applies every adjustment with ``apply_row <= t0`` to the copies and returns the end of the
segment: the next ``apply_row`` of any input (or the last row). Inside a segment the data does not change, so
``run`` rebuilds its running state (sums, deques, sorted windows) at ``t0`` and then updates it in O(1) per row: a
point-in-time adjustment rebuilds the state of the affected asset at its row, and nothing is back-adjusted ahead
of time. An asset without adjustments is one segment over its unchanged column (no copy).

Inputs may have their own column index (a single-column regressor is column 0 for every asset): ``columns``,
``adjustments`` and ``js`` are tuples of the same length, one entry per input. (A generator yielding the segments
reads better but costs about a third of a light kernel's time on adjusted assets, and Numba cannot call one
loaded from its disk cache.)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rustybt.pipeline.kernels._adjust import apply_pending

__all__ = ["next_segment", "segment_cursor", "working_column"]


@njit(cache=True, nogil=True)
def working_column(data, adjustments, j):
    """Column ``j`` of ``data`` as a contiguous 1-D array: a private copy when it has adjustments, else a view.

    Both are of one Numba type (C-contiguous), so every helper a kernel runs on it is compiled once."""
    col = data[:, j]
    if adjustments.offsets[j + 1] > adjustments.offsets[j]:
        return col.copy()
    return np.ascontiguousarray(col)


@njit(cache=True, nogil=True)
def segment_cursor(adjustments, js):
    """Per input, the index of its first adjustment not applied yet (all of column ``js[i]``'s, at the start)."""
    cursor = np.empty(len(adjustments), np.int64)
    for i in range(len(adjustments)):
        cursor[i] = adjustments[i].offsets[js[i]]
    return cursor


@njit(cache=True, nogil=True)
def next_segment(columns, adjustments, js, cursor, t0):
    """Apply to the working ``columns`` every adjustment with ``apply_row <= t0`` and return ``t1``: the window
    ends ``t0 <= t < t1`` see the columns unchanged."""
    stop = columns[0].shape[0]
    for i in range(len(columns)):
        adj = adjustments[i]
        end = adj.offsets[js[i] + 1]
        p = apply_pending(columns[i], adj, cursor[i], end, t0)
        cursor[i] = p
        if p < end and adj.apply_row[p] < stop:
            stop = adj.apply_row[p]
    return stop
