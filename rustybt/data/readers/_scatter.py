"""Placing long-format bars into calendar-aligned (bars x sids) arrays, compiled.

One pass per year partition fills that year's block of rows in every output array: each asset's column is set to
NaN when the asset is first met (the column block is then hot in cache for its bars), its bars are written on
their rows, and the columns of assets without a bar that year are set to NaN at the end. A partition read from
Parquet comes in pieces (one per row group); they are placed one call each, in place, sharing the ``seen`` flags,
so they are never copied into one array first. A moving hint makes the
row lookup cheap: consecutive bars of one asset (partitions are sorted by sid, then time) usually sit on
consecutive labels, so a binary search is only needed at an asset change or a gap. Any order is still placed
correctly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["place_bars"]


@njit(cache=True, nogil=True)
def place_bars(outs, values, ts, sid, labels, r0, r1, sorted_sids, sid_order, seen, last):
    """Fill rows ``r0:r1`` of every array of ``outs``: ``values[f][i]`` at the row of label ``ts[i]`` and the
    column of ``sid[i]`` (its position in ``sid_order`` via ``sorted_sids``), NaN where no bar. Bars whose sid
    is not requested or whose timestamp is not a label in ``labels[r0:r1]`` are left out.

    The bars of one block may come in several calls: ``seen`` (bool, one per column, False before the first
    call) marks the columns already set to NaN in the block, and the call with ``last`` set fills the columns
    no call has met."""
    n_fields = len(outs)
    m = outs[0].shape[1]
    block = labels[r0:r1]
    prev_sid = -1
    col = -1
    prev_row = r0 - 1
    for i in range(ts.shape[0]):
        s = sid[i]
        if s != prev_sid or i == 0:
            k = np.searchsorted(sorted_sids, s)
            col = sid_order[k] if k < sorted_sids.shape[0] and sorted_sids[k] == s else -1
            prev_sid = s
            prev_row = r0 - 1
            if col >= 0 and not seen[col]:
                seen[col] = True
                for f in range(n_fields):
                    outs[f][r0:r1, col] = np.nan
        if col < 0:
            continue
        t = ts[i]
        r = prev_row + 1
        if r >= r1 or labels[r] != t:
            r = r0 + np.searchsorted(block, t)
            if r >= r1 or labels[r] != t:
                continue
        prev_row = r
        for f in range(n_fields):
            outs[f][r, col] = values[f][i]
    if not last:
        return
    for j in range(m):
        if not seen[j]:
            for f in range(n_fields):
                outs[f][r0:r1, j] = np.nan
