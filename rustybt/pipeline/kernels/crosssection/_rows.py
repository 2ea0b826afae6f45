"""Shared pieces of the cross-sectional kernels: radix sorting and selection, each date's valid entries ordered
by (group, value, column), and the tiles of dates every kernel walks.

Kernels read F-ordered (date-strided) inputs in tiles of ``TILE`` dates: a tile's rows of one asset are one
contiguous run, copied into a row-major buffer so each date's cross-section is contiguous while it is sorted;
results go back the same way. No whole-array transposed copies on the way in or out. Each kernel runs ``prange``
over :func:`chunk_count` chunks of tiles and walks its chunk with the :func:`tiles` generator (the one tile loop).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "NO_GROUP",
    "TILE",
    "chunk_count",
    "fill_row",
    "ordered_row",
    "radix_argsort",
    "radix_select",
    "segment_end",
    "sortable_bits",
    "store_tile",
    "tile_buffers",
    "tiles",
]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

NO_GROUP = -1
TILE = 8
_CHUNKS = 64  # prange work items: enough to balance threads, few enough to allocate buffers rarely


@njit(**_JIT)
def sortable_bits(keys):
    """uint64 keys whose unsigned order is the float order of ``keys`` (no NaNs; -0.0 counts as 0.0)."""
    n = keys.shape[0]
    canon = np.empty(n)
    for k in range(n):
        canon[k] = keys[k] + 0.0  # -0.0 + 0.0 == +0.0: equal floats get equal bits
    bits = canon.view(np.uint64)
    top = np.uint64(1) << np.uint64(63)
    out = np.empty(n, np.uint64)
    for k in range(n):
        b = bits[k]
        out[k] = ~b if b & top else b | top
    return out


@njit(**_JIT)
def _lsd_sort(keys, idx, tmp_k, tmp_i, a, b):
    """Stable LSD radix sort of ``keys[a:b]`` (uint64 holding 32-bit values) with payload ``idx``, 8 bits per
    pass, skipping the passes where every key shares the byte; ``tmp_*`` are scratch of the same size."""
    n = b - a
    hist = np.zeros((4, 256), np.int32)
    for k in range(a, b):
        x = keys[k]
        for d in range(4):
            hist[d, (x >> np.uint64(8 * d)) & np.uint64(255)] += 1
    pos = np.empty(256, np.int32)
    src_k, src_i, dst_k, dst_i = keys, idx, tmp_k, tmp_i
    swapped = False
    for d in range(4):
        trivial = False
        for v in range(256):
            if hist[d, v] != 0:
                trivial = hist[d, v] == n
                break
        if trivial:
            continue
        acc = a
        for v in range(256):
            pos[v] = acc
            acc += hist[d, v]
        shift = np.uint64(8 * d)
        for k in range(a, b):
            x = src_k[k]
            v = (x >> shift) & np.uint64(255)
            p = pos[v]
            pos[v] = p + 1
            dst_k[p] = x
            dst_i[p] = src_i[k]
        src_k, dst_k = dst_k, src_k
        src_i, dst_i = dst_i, src_i
        swapped = not swapped
    if swapped:  # the result sits in the scratch arrays
        for k in range(a, b):
            keys[k] = src_k[k]
            idx[k] = src_i[k]


@njit(**_JIT)
def radix_argsort(keys):
    """Stable argsort (int32) of float ``keys`` (no NaNs; -0.0 counts as 0.0).

    A radix sort on the high 32 bits of the keys' order-preserving bit patterns (sign, exponent and 20 mantissa
    bits), then each run of equal high halves is ordered by the low halves: insertion sort for short runs (the
    usual case: a 3,000-asset cross-section has a few), the same radix sort for long ones. Stable throughout, so
    equal keys keep their column order (ordinal ranks). About 8x a merge sort on 3,000 values.
    """
    n = keys.shape[0]
    full = sortable_bits(keys)
    high = np.empty(n, np.uint64)
    for k in range(n):
        high[k] = full[k] >> np.uint64(32)
    idx = np.arange(n).astype(np.int32)
    tmp_k = np.empty(n, np.uint64)
    tmp_i = np.empty(n, np.int32)
    _lsd_sort(high, idx, tmp_k, tmp_i, 0, n)
    a = 0
    while a < n:
        b = a + 1
        while b < n and high[b] == high[a]:
            b += 1
        if b - a > 32:
            for k in range(a, b):
                high[k] = full[idx[k]] & np.uint64(0xFFFFFFFF)
            _lsd_sort(high, idx, tmp_k, tmp_i, a, b)
        elif b - a > 1:
            for k in range(a + 1, b):
                x = idx[k]
                key = full[x]
                j = k - 1
                while j >= a and full[idx[j]] > key:
                    idx[j + 1] = idx[j]
                    j -= 1
                idx[j + 1] = x
        a = b
    return idx


@njit(**_JIT)
def radix_select(bits, k):
    """The ``k``-th smallest (0-based) of the uint64 ``bits``: MSD radix selection, one byte per pass, each pass
    keeping only the bucket that holds the answer: O(n), and no copy of the values to partition."""
    cand = bits
    hist = np.empty(256, np.int64)
    for d in range(7, -1, -1):
        n = cand.shape[0]
        if n == 1:
            return cand[0]
        shift = np.uint64(8 * d)
        hist[:] = 0
        for q in range(n):
            hist[(cand[q] >> shift) & np.uint64(255)] += 1
        bucket = 0
        while k >= hist[bucket]:
            k -= hist[bucket]
            bucket += 1
        if hist[bucket] == n:
            continue  # every candidate shares this byte
        kept = np.empty(hist[bucket], np.uint64)
        c = 0
        for q in range(n):
            if (cand[q] >> shift) & np.uint64(255) == bucket:
                kept[c] = cand[q]
                c += 1
        cand = kept
    return cand[0]


@njit(**_JIT)
def ordered_row(data, mask, use_mask, groups, use_groups, i, negate):
    """Valid columns of row ``i`` ordered by (group, key, column), their keys and group labels.

    Valid = mask True, group != -1, value not NaN. ``key`` is the value, negated when ``negate``. Both sorts
    are stable: a radix sort on the keys, then a counting sort on the (dense, non-negative) group labels.
    """
    m = data.shape[1]
    cols = np.empty(m, np.int64)
    cnt = 0
    for j in range(m):
        if use_mask and not mask[i, j]:
            continue
        if use_groups and groups[i, j] == NO_GROUP:
            continue
        if np.isnan(data[i, j]):
            continue
        cols[cnt] = j
        cnt += 1
    cols = cols[:cnt]
    keys = np.empty(cnt)
    for k in range(cnt):
        v = data[i, cols[k]]
        keys[k] = -v if negate else v
    order = radix_argsort(keys)
    cols = cols[order]
    keys = keys[order]
    labels = np.zeros(cnt, np.int64)
    if use_groups and cnt:
        n_groups = 0
        for k in range(cnt):
            g = groups[i, cols[k]]
            labels[k] = g
            if g + 1 > n_groups:
                n_groups = g + 1
        if n_groups > 4 * cnt + 1024:  # sparse labels (e.g. raw codes in the millions): comparison sort
            order = np.argsort(labels, kind="mergesort")
            return cols[order], keys[order], labels[order]
        start = np.zeros(n_groups + 1, np.int64)
        for k in range(cnt):
            start[labels[k] + 1] += 1
        for g in range(n_groups):
            start[g + 1] += start[g]
        s_cols = np.empty(cnt, np.int64)
        s_keys = np.empty(cnt)
        s_labels = np.empty(cnt, np.int64)
        for k in range(cnt):
            p = start[labels[k]]
            s_cols[p] = cols[k]
            s_keys[p] = keys[k]
            s_labels[p] = labels[k]
            start[labels[k]] = p + 1
        cols, keys, labels = s_cols, s_keys, s_labels
    return cols, keys, labels


@njit(**_JIT)
def segment_end(labels, a):
    b = a + 1
    while b < labels.shape[0] and labels[b] == labels[a]:
        b += 1
    return b


@njit(**_JIT)
def fill_row(out, i, value):
    for j in range(out.shape[1]):
        out[i, j] = value


@njit(**_JIT)
def _n_tiles(n):
    return (n + TILE - 1) // TILE


@njit(**_JIT)
def chunk_count(n):
    """How many prange work items (chunks of tiles) a kernel over ``n`` dates runs."""
    return min(_n_tiles(n), _CHUNKS)


@njit(**_JIT)
def _load_tile(src, i0, h, dst):
    for j in range(src.shape[1]):
        for r in range(h):
            dst[r, j] = src[i0 + r, j]


@njit(**_JIT)
def store_tile(src, dst, i0, h):
    for j in range(src.shape[1]):
        for r in range(h):
            dst[i0 + r, j] = src[r, j]


@njit(**_JIT)
def tile_buffers(data, use_mask, use_groups):
    """Row-major buffers for one tile of data, mask and groups (1 x 1 placeholders when unused)."""
    m = data.shape[1]
    d = np.empty((TILE, m))
    mk = np.empty((TILE, m) if use_mask else (1, 1), np.bool_)
    g = np.empty((TILE, m) if use_groups else (1, 1), np.int64)
    return d, mk, g


@njit(**_JIT)
def _fill_tiles(data, mask, use_mask, groups, use_groups, i0, h, d, mk, g):
    """Copy rows ``i0 .. i0 + h`` of data (and of mask / groups when used) into the tile buffers."""
    _load_tile(data, i0, h, d)
    if use_mask:
        _load_tile(mask, i0, h, mk)
    if use_groups:
        _load_tile(groups, i0, h, g)


# Not cached on disk: Numba cannot lower a call to a generator loaded from its cache (see kernels/_segments.py).
@njit(nogil=True, error_model="numpy")
def tiles(data, mask, use_mask, groups, use_groups, c, n_chunks, d, mk, g):
    """Yield ``(i0, h)`` for each tile of chunk ``c`` (of ``n_chunks``): rows ``i0 .. i0 + h`` of data (and of mask
    / groups when used), copied into the row-major buffers ``d``, ``mk``, ``g`` before the yield."""
    n = data.shape[0]
    n_tiles = _n_tiles(n)
    for b in range(c * n_tiles // n_chunks, (c + 1) * n_tiles // n_chunks):
        i0 = b * TILE
        h = min(TILE, n - i0)
        _fill_tiles(data, mask, use_mask, groups, use_groups, i0, h, d, mk, g)
        yield i0, h
