"""The brute-force point-in-time reference shared by the kernel tests (kept independent of the library)."""

from __future__ import annotations

import warnings

import numpy as np


def adjusted_as_of(data: np.ndarray, adj: tuple, t: int) -> np.ndarray:
    """``data`` with exactly the adjustments whose apply_row <= t applied, in CSR order."""
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


def make_adjustments(seed: int, n: int = 90, m: int = 10) -> tuple:
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


def point_in_time_reference(ref, x, adj, wl):
    rows = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for i in range(x.shape[0] - wl + 1):
            rows.append(ref(adjusted_as_of(x, adj, i + wl - 1)[i : i + wl]))
    return np.array(rows).reshape(x.shape[0] - wl + 1, x.shape[1])
