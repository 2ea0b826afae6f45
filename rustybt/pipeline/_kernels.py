"""Small private Numba kernels the API layer needs and ``pipeline/kernels`` does not provide.

- :func:`latest` -- window length 1 with point-in-time adjustments (``BoundColumn.latest``, through the kernels'
  shared driver), any dtype;
- :func:`peer_count` -- zipline ``PeerCount``: per date, how many masked assets share each label;
- :func:`grouped_is_maximal` -- zipline ``MaximumFilter`` (``Factor.top(1)``);
- :func:`rolling_true_count` -- number of True values in each trailing window of a boolean array (exact).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels import _pool
from rustybt.pipeline.kernels._adjust import ADD, MULTIPLY
from rustybt.pipeline.kernels._arrays import as_float_columns
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column

__all__ = ["grouped_is_maximal", "latest", "peer_count", "rolling_true_count"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(parallel=True, **_JIT)
def _latest_float_kernel(data, adjustments, out):
    for j in prange(data.shape[1]):
        x = working_column(data, adjustments, j)
        cursor = segment_cursor((adjustments,), (j,))
        t0 = 0
        while t0 < x.shape[0]:
            t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
            out[t0:t1, j] = x[t0:t1]
            t0 = t1


def latest(aa) -> np.ndarray:
    """Row ``t`` of an AdjustedArray as seen by a length-1 window ending at ``t`` (F-ordered copy)."""
    data = aa.data
    if not aa.has_adjustments:
        out = _pool.empty(data.shape, data.dtype)
        np.copyto(out, data)
        return out
    if data.dtype == np.float64:
        out = _pool.empty(data.shape)
        _latest_float_kernel(as_float_columns(data), aa.adjustments, out)
        return out
    # other dtypes (rare): per adjusted column, segment by segment in numpy
    out = np.array(data, order="F", copy=True)
    adj = aa.adjustments
    n = data.shape[0]
    for j in np.flatnonzero(np.diff(adj.offsets)):
        buf = data[:, j].astype(np.float64)
        lo, hi = adj.offsets[j], adj.offsets[j + 1]
        k = lo
        while k < hi:
            a = max(int(adj.apply_row[k]), 0)
            while k < hi and max(int(adj.apply_row[k]), 0) == a:
                r0, r1 = max(int(adj.first_row[k]), 0), min(int(adj.last_row[k]), n - 1)
                if r1 >= r0:
                    if adj.kind[k] == MULTIPLY:
                        buf[r0 : r1 + 1] *= adj.value[k]
                    elif adj.kind[k] == ADD:
                        buf[r0 : r1 + 1] += adj.value[k]
                    else:
                        buf[r0 : r1 + 1] = adj.value[k]
                k += 1
            nxt = max(int(adj.apply_row[k]), 0) if k < hi else n
            out[a:nxt, j] = buf[a:nxt].astype(data.dtype)
    return out


@njit(parallel=True, **_JIT)
def _peer_count_kernel(labels, mask, null_label, out):
    n, m = labels.shape
    for i in prange(n):
        vals = np.empty(m, np.int64)
        cols = np.empty(m, np.int64)
        cnt = 0
        for j in range(m):
            if mask[i, j]:
                vals[cnt] = labels[i, j]
                cols[cnt] = j
                cnt += 1
        if cnt == 0:
            continue
        order = np.argsort(vals[:cnt], kind="mergesort")
        s = 0
        while s < cnt:
            e = s + 1
            while e < cnt and vals[order[e]] == vals[order[s]]:
                e += 1
            lbl = vals[order[s]]
            if lbl != null_label:
                for k in range(s, e):
                    out[i, cols[order[k]]] = e - s
            s = e


def peer_count(labels: np.ndarray, mask: np.ndarray, null_label: int) -> np.ndarray:
    """zipline ``PeerCount``: for each masked entry with a label, the number of masked entries sharing it."""
    out = np.full(labels.shape, np.nan, order="F")
    if labels.size:
        _peer_count_kernel(np.asfortranarray(labels, dtype=np.int64), np.asfortranarray(mask), int(null_label), out)
    return out


@njit(parallel=True, **_JIT)
def _is_maximal_kernel(keys, groups, mask, out):
    n, m = keys.shape
    for i in prange(n):
        best_grp = np.empty(m, np.int64)
        best_col = np.empty(m, np.int64)
        k = 0
        for j in range(m):
            if not mask[i, j]:
                continue
            g = groups[i, j]
            found = -1
            for q in range(k):
                if best_grp[q] == g:
                    found = q
                    break
            if found < 0:
                best_grp[k] = g
                best_col[k] = j
                k += 1
            elif keys[i, j] > keys[i, best_col[found]]:
                best_col[found] = j
        for q in range(k):
            out[i, best_col[q]] = True


def grouped_is_maximal(data: np.ndarray, groups: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """zipline ``MaximumFilter``: True at the first maximal entry of each (row, group) among ``mask``.

    Like zipline, values are compared through their int64 bit patterns (``data.view(int64)``), which orders
    non-negative floats correctly; among negative values that order is reversed (a zipline quirk kept here).
    """
    keys = np.asfortranarray(data).view(np.int64) if data.dtype == np.float64 else np.asfortranarray(data, np.int64)
    out = np.zeros(data.shape, dtype=bool, order="F")
    if data.size:
        _is_maximal_kernel(
            np.asfortranarray(keys), np.asfortranarray(groups, dtype=np.int64), np.asfortranarray(mask), out
        )
    return out


def rolling_true_count(data: np.ndarray, window_length: int) -> np.ndarray:
    """Number of True entries in each trailing window: ``(n - wl + 1, m)`` int64."""
    arr = np.asarray(data, dtype=np.int64)
    csum = np.zeros((arr.shape[0] + 1, arr.shape[1]), dtype=np.int64)
    np.cumsum(arr, axis=0, out=csum[1:])
    return np.asfortranarray(csum[window_length:] - csum[: csum.shape[0] - window_length])
