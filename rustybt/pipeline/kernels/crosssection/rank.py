"""zipline ``Factor.rank`` and ``Factor.top`` / ``Factor.bottom`` over each date's cross-section."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels.crosssection._inputs import alloc_like, prepare
from rustybt.pipeline.kernels.crosssection._rows import (
    TILE,
    chunk_count,
    fill_row,
    ordered_row,
    radix_argsort,
    radix_select,
    segment_end,
    sortable_bits,
    store_tile,
    tile_buffers,
    tiles,
)

__all__ = ["RANK_METHODS", "rank", "rank_kernel", "top_bottom", "top_bottom_kernel"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

RANK_METHODS = ("ordinal", "average", "min", "max", "dense")


# ---------------------------------------------------------------------------------------------------------------
# rank
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _ordinal_rank_row(data, mask, use_mask, out, i, negate):
    """Ordinal ranks of one row without groups: the stable radix order gives them directly."""
    m = data.shape[1]
    cols = np.empty(m, np.int64)
    keys = np.empty(m)
    cnt = 0
    for j in range(m):
        out[i, j] = np.nan
        if use_mask and not mask[i, j]:
            continue
        v = data[i, j]
        if np.isnan(v):
            continue
        cols[cnt] = j
        keys[cnt] = -v if negate else v
        cnt += 1
    order = radix_argsort(keys[:cnt])
    for k in range(cnt):
        out[i, cols[order[k]]] = k + 1.0


@njit(**_JIT)
def _rank_row(data, mask, use_mask, groups, use_groups, method, ascending, out, i):
    if method == 0 and not use_groups:
        _ordinal_rank_row(data, mask, use_mask, out, i, not ascending)
        return
    fill_row(out, i, np.nan)
    cols, keys, labels = ordered_row(data, mask, use_mask, groups, use_groups, i, not ascending)
    cnt = cols.shape[0]
    a = 0
    while a < cnt:
        b = segment_end(labels, a)
        if method == 0:
            for k in range(a, b):
                out[i, cols[k]] = k - a + 1.0
        else:
            dense = 0.0
            k = a
            while k < b:
                e = k
                while e + 1 < b and keys[e + 1] == keys[k]:
                    e += 1
                dense += 1.0
                if method == 1:
                    rk = 0.5 * ((k - a) + (e - a)) + 1.0
                elif method == 2:
                    rk = k - a + 1.0
                elif method == 3:
                    rk = e - a + 1.0
                else:
                    rk = dense
                for q in range(k, e + 1):
                    out[i, cols[q]] = rk
                k = e + 1
        a = b


@njit(parallel=True, **_JIT)
def rank_kernel(data, mask, use_mask, groups, use_groups, method, ascending, out):
    """``method``: index into :data:`RANK_METHODS` (0 ordinal, 1 average, 2 min, 3 max, 4 dense)."""
    n = data.shape[0]
    n_chunks = chunk_count(n)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = tile_buffers(data, use_mask, use_groups)
        o = np.empty((TILE, out.shape[1]), np.float64)
        for i0, h in tiles(data, mask, use_mask, groups, use_groups, c, n_chunks, d, mk, g):
            for i in range(h):
                _rank_row(d, mk, use_mask, g, use_groups, method, ascending, o, i)
            store_tile(o, out, i0, h)


# ---------------------------------------------------------------------------------------------------------------
# top / bottom
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _top_bottom_row(data, mask, use_mask, count, largest, out, i):
    m = data.shape[1]
    for j in range(m):
        out[i, j] = False
    if count <= 0:
        return
    vals = np.empty(m)
    cols = np.empty(m, np.int64)
    cnt = 0
    for j in range(m):
        if use_mask and not mask[i, j]:
            continue
        v = data[i, j]
        if np.isnan(v):
            continue
        vals[cnt] = v
        cols[cnt] = j
        cnt += 1
    if cnt <= count:
        for k in range(cnt):
            out[i, cols[k]] = True
        return
    # compare order-preserving bit patterns: unsigned order is float order, and -0.0 / 0.0 share one pattern
    bits = sortable_bits(vals[:cnt])
    kth = cnt - count if largest else count - 1
    threshold = radix_select(bits, kth)
    beyond = 0  # entries strictly better than the threshold: all of them are in
    for k in range(cnt):
        if (bits[k] > threshold) if largest else (bits[k] < threshold):
            out[i, cols[k]] = True
            beyond += 1
    ties = count - beyond  # ordinal ranks give the remaining places to the tied entries in column order
    for k in range(cnt):
        if ties == 0:
            break
        if bits[k] == threshold:
            out[i, cols[k]] = True
            ties -= 1


@njit(parallel=True, **_JIT)
def top_bottom_kernel(data, mask, use_mask, count, largest, out):
    """``out[i, j]`` = the ordinal rank of entry j among row i's valid entries (descending when ``largest``)
    is <= ``count``; found by radix selection (O(m) per row) instead of a full sort."""
    n, m = data.shape
    no_groups = np.zeros((1, 1), np.int64)
    n_chunks = chunk_count(n)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = tile_buffers(data, use_mask, False)
        o = np.empty((TILE, m), np.bool_)
        for i0, h in tiles(data, mask, use_mask, no_groups, False, c, n_chunks, d, mk, g):
            for i in range(h):
                _top_bottom_row(d, mk, use_mask, count, largest, o, i)
            store_tile(o, out, i0, h)


def rank(data, mask=None, groups=None, method: str = "ordinal", ascending: bool = True) -> np.ndarray:
    """zipline ``Factor.rank(method, ascending, mask, groupby)``: float64 ranks from 1, NaN where invalid."""
    if method not in RANK_METHODS:
        raise ValueError(f"rank: unknown method {method!r}; choose one of {', '.join(RANK_METHODS)}")
    arr, mask_arr, use_mask, groups_arr, use_groups = prepare(data, mask, groups)
    out = alloc_like(arr)
    rank_kernel(arr, mask_arr, use_mask, groups_arr, use_groups, RANK_METHODS.index(method), bool(ascending), out)
    return out


def top_bottom(data, count: int, mask=None, largest: bool = True) -> np.ndarray:
    """Boolean ``rank(ascending=not largest, method="ordinal", mask=mask) <= count`` (zipline ``Factor.top`` /
    ``Factor.bottom`` without groups), computed by selection rather than by ranking."""
    arr, mask_arr, use_mask, _, _ = prepare(data, mask, None)
    out = alloc_like(arr, np.bool_)
    top_bottom_kernel(arr, mask_arr, use_mask, int(count), bool(largest), out)
    return out
