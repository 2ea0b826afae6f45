"""Placing long-format bars (sorted by sid, then time) into calendar-aligned (bars x sids) arrays, compiled.

One pass with a moving hint: consecutive bars of one asset usually sit on consecutive labels, so a binary search
is only needed at an asset change or a gap.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["grid_positions", "scatter_into"]


@njit(cache=True, nogil=True)
def grid_positions(ts, sid, labels, sorted_sids, sid_order):
    """Row (label index, -1 off the grid) and column (position of the sid in the request) of every bar."""
    n = ts.shape[0]
    n_labels = labels.shape[0]
    rows = np.empty(n, dtype=np.int64)
    cols = np.empty(n, dtype=np.int64)
    prev_row = -1
    prev_sid = -1
    col = -1
    for i in range(n):
        s = sid[i]
        if s != prev_sid:
            k = np.searchsorted(sorted_sids, s)
            col = sid_order[k] if k < sorted_sids.shape[0] and sorted_sids[k] == s else -1
            prev_sid = s
            prev_row = -1
        t = ts[i]
        r = prev_row + 1
        if r < 0 or r >= n_labels or labels[r] != t:
            r = np.searchsorted(labels, t)
            if r >= n_labels or labels[r] != t:
                r = -1
        if r >= 0:
            prev_row = r
        rows[i] = r if col >= 0 else -1
        cols[i] = col
    return rows, cols


@njit(cache=True, nogil=True)
def scatter_into(out, rows, cols, values):
    """``out[rows[i], cols[i]] = values[i]`` for every bar on the grid."""
    for i in range(rows.shape[0]):
        r = rows[i]
        if r >= 0:
            out[r, cols[i]] = values[i]
