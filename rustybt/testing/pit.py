"""The brute-force point-in-time reference for windowed computations over adjusted prices.

What a window kernel must produce, computed the slow and obvious way: for each day ``t`` it takes the raw
array, applies exactly the adjustments known by ``t`` (``apply_row <= t``), slices the window ending at ``t`` and
calls a plain numpy function on it. RustyBT's kernel tests check every Numba kernel against it; users can check
their own window computations the same way.

It is deliberately independent of the library (plain numpy; it imports nothing from ``rustybt``), so a bug in
the kernels' adjustment plumbing cannot hide in the reference.

Adjustments are the kernels' six arrays in CSR layout by column: ``(offsets, apply_row, first_row, last_row,
value, op)``. Column ``j`` owns entries ``offsets[j]:offsets[j + 1]``; entry ``p`` applies from row
``apply_row[p]`` on to the rows ``first_row[p]..last_row[p]`` (clipped to the array) with ``op[p]`` 0 multiply,
1 add, 2 overwrite by ``value[p]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

__all__ = ["adjusted_as_of", "make_adjustments", "point_in_time_reference"]

#: The six CSR adjustment arrays: offsets, apply_row, first_row, last_row, value, op.
AdjustmentArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def adjusted_as_of(data: np.ndarray, adj: AdjustmentArrays, t: int) -> np.ndarray:
    """A copy of ``data`` with exactly the adjustments whose ``apply_row <= t`` applied, in CSR order.

    Parameters
    ----------
    data
        (days x assets) raw values.
    adj
        The six CSR adjustment arrays (see the module docstring).
    t
        The row whose knowledge the result reflects.
    """
    offsets, apply_row, first_row, last_row, value, op = adj
    out = np.array(data, dtype=np.float64, copy=True)
    n = out.shape[0]
    for j in range(out.shape[1]):
        for p in range(offsets[j], offsets[j + 1]):
            if apply_row[p] > t:
                continue
            lo, hi = max(first_row[p], 0), min(last_row[p], n - 1)
            if lo > hi:
                continue
            if op[p] == 0:
                out[lo : hi + 1, j] *= value[p]
            elif op[p] == 1:
                out[lo : hi + 1, j] += value[p]
            else:
                out[lo : hi + 1, j] = value[p]
    return out


def make_adjustments(seed: int, n: int = 90, m: int = 10) -> AdjustmentArrays:
    """Random adjustments for an ``n`` x ``m`` array (seeded): every op, rows before, inside and past the array,
    ranges reaching back before row 0 or past the end, and columns without any adjustment."""
    rng = np.random.default_rng(seed + 2000)
    rows = []
    offsets = [0]
    for j in range(m):
        k = 0 if j % 3 == 2 else int(rng.integers(1, 5))
        for a in np.sort(rng.integers(-3, n + 3, size=k)):
            op = int(rng.integers(0, 3))
            first, last = (int(rng.integers(-3, max(a, 0) + 1)), int(a) - 1)
            if rng.random() < 0.3:
                first, last = int(rng.integers(-5, n)), int(rng.integers(0, n + 5))
            value = (rng.uniform(0.2, 1.5), rng.normal(0.0, 3.0), rng.uniform(1.0, 80.0))[op]
            rows.append((int(a), first, last, float(value), op))
        offsets.append(len(rows))
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
    return (
        np.array(offsets, dtype=np.int64),
        np.array(cols[0], dtype=np.int64),
        np.array(cols[1], dtype=np.int64),
        np.array(cols[2], dtype=np.int64),
        np.array(cols[3], dtype=np.float64),
        np.array(cols[4], dtype=np.int64),
    )


def point_in_time_reference(
    ref: Callable[[np.ndarray], np.ndarray], x: np.ndarray, adj: AdjustmentArrays, wl: int
) -> np.ndarray:
    """``ref`` over every window of length ``wl`` of ``x``, each window adjusted as known on its last day.

    Parameters
    ----------
    ref
        A plain numpy function of one (wl x assets) window returning one value per asset.
    x
        (days x assets) raw values.
    adj
        The six CSR adjustment arrays.
    wl
        Window length.

    Returns
    -------
    numpy.ndarray
        (days - wl + 1) x assets: row ``i`` is ``ref`` of the window ending on day ``i + wl - 1``.
    """
    rows = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for i in range(x.shape[0] - wl + 1):
            rows.append(ref(adjusted_as_of(x, adj, i + wl - 1)[i : i + wl]))
    return np.array(rows).reshape(x.shape[0] - wl + 1, x.shape[1])
