"""zipline ``Factor.quantiles``: ``pd.qcut(values, bins, labels=False)`` on each date's (group's) valid values."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels.crosssection._inputs import alloc_like, prepare
from rustybt.pipeline.kernels.crosssection._rows import (
    TILE,
    chunk_count,
    ordered_row,
    segment_end,
    store_tile,
    tile_buffers,
    tiles,
)

__all__ = ["qcut_probabilities", "quantiles", "quantiles_kernel"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


# ---------------------------------------------------------------------------------------------------------------
# quantiles
# ---------------------------------------------------------------------------------------------------------------


def qcut_probabilities(bins: int) -> np.ndarray:
    """The quantile probabilities ``pd.qcut(x, bins)`` uses: ``linspace(0, 1, bins + 1)``, rounded up where
    ``bins * p`` is not exactly an integer."""
    probs = np.linspace(0, 1, bins + 1)
    np.putmask(probs, bins * probs != np.arange(bins + 1), np.nextafter(probs, 1))
    return probs


@njit(**_JIT)
def _linear_quantile(keys, a, size, p):
    """numpy's ``quantile(method='linear')`` of the sorted ``keys[a:a+size]``."""
    virtual = (size - 1) * p
    if virtual >= size - 1:
        return keys[a + size - 1]
    if virtual < 0:
        return keys[a]
    prev = math.floor(virtual)
    gamma = virtual - prev
    lo = keys[a + int(prev)]
    hi = keys[a + int(prev) + 1]
    diff = hi - lo
    if gamma >= 0.5:
        return hi - diff * (1.0 - gamma)
    return lo + diff * gamma


@njit(**_JIT)
def _quantiles_row(data, mask, use_mask, groups, use_groups, probs, out, i):
    n_edges = probs.shape[0]
    for j in range(out.shape[1]):
        out[i, j] = -1
    cols, keys, labels = ordered_row(data, mask, use_mask, groups, use_groups, i, False)
    cnt = cols.shape[0]
    edges = np.empty(n_edges)
    a = 0
    while a < cnt:
        b = segment_end(labels, a)
        for e in range(n_edges):
            edges[e] = _linear_quantile(keys, a, b - a, probs[e])
        for k in range(a, b):
            x = keys[k]
            ids = np.searchsorted(edges, x, side="left")
            if x == edges[0]:
                ids = 1
            if ids == 0 or ids == n_edges:
                out[i, cols[k]] = -1
            else:
                out[i, cols[k]] = ids - 1
        a = b


@njit(parallel=True, **_JIT)
def quantiles_kernel(data, mask, use_mask, groups, use_groups, probs, out):
    """int64 labels 0..bins-1 (``bins = len(probs) - 1``), -1 where missing; see :func:`quantiles`."""
    n = data.shape[0]
    n_chunks = chunk_count(n)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = tile_buffers(data, use_mask, use_groups)
        o = np.empty((TILE, out.shape[1]), np.int64)
        for i0, h in tiles(data, mask, use_mask, groups, use_groups, c, n_chunks, d, mk, g):
            for i in range(h):
                _quantiles_row(d, mk, use_mask, g, use_groups, probs, o, i)
            store_tile(o, out, i0, h)


def quantiles(data, bins: int, mask=None, groups=None) -> np.ndarray:
    """zipline ``Factor.quantiles(bins, mask)`` (optionally per group): int64 labels 0..bins-1, -1 where missing."""
    bins = int(bins)
    if bins < 1:
        raise ValueError(f"quantiles: bins must be >= 1, got {bins}")
    arr, mask_arr, use_mask, groups_arr, use_groups = prepare(data, mask, groups)
    out = alloc_like(arr, np.int64)
    quantiles_kernel(arr, mask_arr, use_mask, groups_arr, use_groups, qcut_probabilities(bins), out)
    return out
