"""Point-in-time adjustments inside Numba kernels.

Adjustments reach a kernel as CSR-style arrays grouped by asset column (the engine builds them):

``offsets``   int64[n_assets + 1]: the adjustments of column j are ``[offsets[j], offsets[j + 1])``
``apply_row`` int64: the first window-end row (0-based into ``data``) that knows the adjustment; within a column,
              sorted ascending
``first_row``, ``last_row`` int64: inclusive range of data rows the adjustment modifies
``value``     float64
``op``        int64: ``MULTIPLY`` (0), ``ADD`` (1) or ``OVERWRITE`` (2)

A window ending at row t sees every adjustment with ``apply_row <= t`` applied, and no other: no lookahead. A
kernel keeps a per-asset working copy of the column, applies adjustments as the window end reaches their
``apply_row``, and rebuilds its rolling state for that asset from the adjusted copy at that row.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ADD", "MULTIPLY", "OVERWRITE", "apply_pending", "empty_adjustments"]

MULTIPLY = 0
ADD = 1
OVERWRITE = 2


@njit(cache=True, nogil=True)
def apply_pending(buf, ptr, hi, until_row, apply_row, first_row, last_row, value, op):
    """Apply adjustments ``ptr..hi`` whose ``apply_row <= until_row`` to ``buf`` (one asset); return new ptr."""
    while ptr < hi and apply_row[ptr] <= until_row:
        lo_r = max(first_row[ptr], 0)
        hi_r = min(last_row[ptr], buf.shape[0] - 1)
        v = value[ptr]
        kind = op[ptr]
        for r in range(lo_r, hi_r + 1):
            if kind == 0:
                buf[r] = buf[r] * v
            elif kind == 1:
                buf[r] = buf[r] + v
            else:
                buf[r] = v
        ptr += 1
    return ptr


def empty_adjustments(n_assets: int) -> tuple[np.ndarray, ...]:
    """The six arrays meaning "no adjustments" for ``n_assets`` columns (offsets, apply_row, first, last, value, op)."""
    e = np.empty(0, dtype=np.int64)
    return (
        np.zeros(n_assets + 1, dtype=np.int64),
        e,
        e.copy(),
        e.copy(),
        np.empty(0, dtype=np.float64),
        e.copy(),
    )
