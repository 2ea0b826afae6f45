"""Cross-sectional (per-date) kernels: rank, top/bottom, demean, zscore, winsorize, quantiles and daily summaries.

Inputs are F-ordered float64 ``(n_dates, n_assets)`` arrays, an optional boolean ``mask`` of the same shape
(False = ignore this asset on this date) and optional int64 ``groups`` labels (``-1`` = no group). Each kernel runs
``prange`` over tiles of dates, copied into row-major buffers; within a date the valid entries are ordered by
(group, value, column) with two stable sorts (a radix sort on the values' order-preserving bits, then a counting
sort on the group labels), so every group of every date is handled in one pass with no Python loop over rows or
groups. ``top``/``bottom`` only select (radix selection), they do not sort.

Semantics follow zipline-reloaded (``Factor.rank/demean/zscore/winsorize/quantiles`` and ``DailySummary``):

- an entry takes part when its mask is True, its group label is not -1 and (for everything but the NaN-aware
  statistics that simply skip it) its value is not NaN; every other entry outputs NaN (``-1`` for quantiles);
- ``rank``: ``scipy.stats.rankdata`` semantics over the valid entries of each group; ``ordinal`` (the default)
  breaks ties by column order, also when ``ascending=False`` (zipline ranks the negated values with a stable sort);
- ``zscore`` uses the population standard deviation (ddof 0); a zero deviation gives NaN;
- ``winsorize`` is zipline's ``winsorize`` row function (itself after ``scipy.stats.mstats.winsorize``);
- ``quantiles`` equals ``pd.qcut(values, bins, labels=False)`` on each date's (group's) valid values: the same
  quantile probabilities (pandas rounds non-representable ones up), numpy's linear interpolation and the
  right-closed, lowest-inclusive bin assignment. Where pandas would raise because bin edges repeat, the same
  assignment rule is applied to the repeated edges;
- ``daily_summary``: nan-aware mean, stddev (ddof 0), max, min, median, sum (0.0 when empty) and notnull_count
  over the masked row, one value per date.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels import _pool

__all__ = [
    "RANK_METHODS",
    "SUMMARY_FUNCS",
    "daily_summary",
    "daily_summary_kernel",
    "demean",
    "demean_kernel",
    "qcut_probabilities",
    "quantiles",
    "quantiles_kernel",
    "rank",
    "rank_kernel",
    "top_bottom",
    "top_bottom_kernel",
    "winsorize",
    "winsorize_kernel",
    "zscore",
    "zscore_kernel",
]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

RANK_METHODS = ("ordinal", "average", "min", "max", "dense")
SUMMARY_FUNCS = ("mean", "stddev", "max", "min", "median", "sum", "notnull_count")

_NO_GROUP = -1


# ---------------------------------------------------------------------------------------------------------------
# shared numba helpers
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _sortable_bits(keys):
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
def _radix_argsort(keys):
    """Stable argsort (int32) of float ``keys`` (no NaNs; -0.0 counts as 0.0).

    A radix sort on the high 32 bits of the keys' order-preserving bit patterns (sign, exponent and 20 mantissa
    bits), then each run of equal high halves is ordered by the low halves: insertion sort for short runs (the
    usual case: a 3,000-asset cross-section has a few), the same radix sort for long ones. Stable throughout, so
    equal keys keep their column order (ordinal ranks). About 8x a merge sort on 3,000 values.
    """
    n = keys.shape[0]
    full = _sortable_bits(keys)
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
def _radix_select(bits, k):
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
def _ordered_row(data, mask, use_mask, groups, use_groups, i, negate):
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
        if use_groups and groups[i, j] == _NO_GROUP:
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
    order = _radix_argsort(keys)
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
def _segment_end(labels, a):
    b = a + 1
    while b < labels.shape[0] and labels[b] == labels[a]:
        b += 1
    return b


@njit(**_JIT)
def _fill_row(out, i, value):
    for j in range(out.shape[1]):
        out[i, j] = value


# Kernels read F-ordered (date-strided) inputs in tiles of _TILE dates: a tile's rows of one asset are one
# contiguous run, copied into a row-major buffer so each date's cross-section is contiguous while it is sorted;
# results go back the same way. No whole-array transposed copies on the way in or out.
# Each parallel kernel below spells out the same tile loop around its own row function. A generic driver taking
# the row function as an argument would be shorter, but Numba cannot cache a function that takes another jitted
# function as an argument (its type includes that function's identity), so it would recompile in every process.
_TILE = 8
_CHUNKS = 64  # prange work items: enough to balance threads, few enough to allocate buffers rarely


@njit(**_JIT)
def _n_tiles(n):
    return (n + _TILE - 1) // _TILE


@njit(**_JIT)
def _load_tile(src, i0, h, dst):
    for j in range(src.shape[1]):
        for r in range(h):
            dst[r, j] = src[i0 + r, j]


@njit(**_JIT)
def _store_tile(src, dst, i0, h):
    for j in range(src.shape[1]):
        for r in range(h):
            dst[i0 + r, j] = src[r, j]


@njit(**_JIT)
def _tile_buffers(data, use_mask, use_groups):
    """Row-major buffers for one tile of data, mask and groups (1 x 1 placeholders when unused)."""
    m = data.shape[1]
    d = np.empty((_TILE, m))
    mk = np.empty((_TILE, m) if use_mask else (1, 1), np.bool_)
    g = np.empty((_TILE, m) if use_groups else (1, 1), np.int64)
    return d, mk, g


@njit(**_JIT)
def _fill_tiles(data, mask, use_mask, groups, use_groups, i0, h, d, mk, g):
    """Copy rows ``i0 .. i0 + h`` of data (and of mask / groups when used) into the tile buffers."""
    _load_tile(data, i0, h, d)
    if use_mask:
        _load_tile(mask, i0, h, mk)
    if use_groups:
        _load_tile(groups, i0, h, g)


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
    order = _radix_argsort(keys[:cnt])
    for k in range(cnt):
        out[i, cols[order[k]]] = k + 1.0


@njit(**_JIT)
def _rank_row(data, mask, use_mask, groups, use_groups, method, ascending, out, i):
    if method == 0 and not use_groups:
        _ordinal_rank_row(data, mask, use_mask, out, i, not ascending)
        return
    _fill_row(out, i, np.nan)
    cols, keys, labels = _ordered_row(data, mask, use_mask, groups, use_groups, i, not ascending)
    cnt = cols.shape[0]
    a = 0
    while a < cnt:
        b = _segment_end(labels, a)
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
    n_tiles = _n_tiles(n)
    n_chunks = min(n_tiles, _CHUNKS)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = _tile_buffers(data, use_mask, use_groups)
        o = np.empty((_TILE, out.shape[1]), np.float64)
        for b in range(c * n_tiles // n_chunks, (c + 1) * n_tiles // n_chunks):
            i0 = b * _TILE
            h = min(_TILE, n - i0)
            _fill_tiles(data, mask, use_mask, groups, use_groups, i0, h, d, mk, g)
            for i in range(h):
                _rank_row(d, mk, use_mask, g, use_groups, method, ascending, o, i)
            _store_tile(o, out, i0, h)


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
    bits = _sortable_bits(vals[:cnt])
    kth = cnt - count if largest else count - 1
    threshold = _radix_select(bits, kth)
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
    n_tiles = _n_tiles(n)
    n_chunks = min(n_tiles, _CHUNKS)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = _tile_buffers(data, use_mask, False)
        o = np.empty((_TILE, m), np.bool_)
        for b in range(c * n_tiles // n_chunks, (c + 1) * n_tiles // n_chunks):
            i0 = b * _TILE
            h = min(_TILE, n - i0)
            _fill_tiles(data, mask, use_mask, no_groups, False, i0, h, d, mk, g)
            for i in range(h):
                _top_bottom_row(d, mk, use_mask, count, largest, o, i)
            _store_tile(o, out, i0, h)


# ---------------------------------------------------------------------------------------------------------------
# demean / zscore
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _center(data, mask, use_mask, groups, use_groups, out, i, scale):
    _fill_row(out, i, np.nan)
    cols, keys, labels = _ordered_row(data, mask, use_mask, groups, use_groups, i, False)
    cnt = cols.shape[0]
    a = 0
    while a < cnt:
        b = _segment_end(labels, a)
        total = 0.0
        for k in range(a, b):
            total += keys[k]
        mean = total / (b - a)
        if scale:
            ss = 0.0
            for k in range(a, b):
                d = keys[k] - mean
                ss += d * d
            std = math.sqrt(ss / (b - a))
            for k in range(a, b):
                out[i, cols[k]] = (keys[k] - mean) / std
        else:
            for k in range(a, b):
                out[i, cols[k]] = keys[k] - mean
        a = b


@njit(parallel=True, **_JIT)
def _center_kernel(data, mask, use_mask, groups, use_groups, out, scale):
    n, m = data.shape
    n_tiles = _n_tiles(n)
    n_chunks = min(n_tiles, _CHUNKS)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = _tile_buffers(data, use_mask, use_groups)
        o = np.empty((_TILE, m), np.float64)
        for b in range(c * n_tiles // n_chunks, (c + 1) * n_tiles // n_chunks):
            i0 = b * _TILE
            h = min(_TILE, n - i0)
            _fill_tiles(data, mask, use_mask, groups, use_groups, i0, h, d, mk, g)
            for i in range(h):
                _center(d, mk, use_mask, g, use_groups, o, i, scale)
            _store_tile(o, out, i0, h)


_ROWS = 64  # dates per block of the column-wise pass: 64 x 3,000 values stay in cache across its three sweeps


@njit(parallel=True, **_JIT)
def _center_columns_kernel(data, mask, use_mask, out, scale):
    """demean / zscore without groups, straight on the F-ordered arrays: per block of dates, three sweeps over
    the assets (sums, squared deviations, output), each reading every asset's contiguous run of those dates."""
    n, m = data.shape
    for b in prange((n + _ROWS - 1) // _ROWS):
        i0 = b * _ROWS
        h = min(_ROWS, n - i0)
        total = np.zeros(h)
        count = np.zeros(h)
        for j in range(m):
            for r in range(h):
                v = data[i0 + r, j]
                if not ((use_mask and not mask[i0 + r, j]) or np.isnan(v)):
                    total[r] += v
                    count[r] += 1.0
        mean = total / count  # 0 / 0 = NaN on a date without values: never used
        std = np.ones(h)
        if scale:
            ss = np.zeros(h)
            for j in range(m):
                for r in range(h):
                    v = data[i0 + r, j]
                    if not ((use_mask and not mask[i0 + r, j]) or np.isnan(v)):
                        d = v - mean[r]
                        ss[r] += d * d
            for r in range(h):
                std[r] = math.sqrt(ss[r] / count[r]) if count[r] > 0 else 1.0
        for j in range(m):
            for r in range(h):
                v = data[i0 + r, j]
                if (use_mask and not mask[i0 + r, j]) or np.isnan(v):
                    out[i0 + r, j] = np.nan
                elif scale:
                    out[i0 + r, j] = (v - mean[r]) / std[r]
                else:
                    out[i0 + r, j] = v - mean[r]


def demean_kernel(data, mask, use_mask, groups, use_groups, out):
    """Each row minus its mean (per group)."""
    if use_groups:
        _center_kernel(data, mask, use_mask, groups, use_groups, out, False)
    else:
        _center_columns_kernel(data, mask, use_mask, out, False)


def zscore_kernel(data, mask, use_mask, groups, use_groups, out):
    """Each row's z-scores (per group, population standard deviation)."""
    if use_groups:
        _center_kernel(data, mask, use_mask, groups, use_groups, out, True)
    else:
        _center_columns_kernel(data, mask, use_mask, out, True)


# ---------------------------------------------------------------------------------------------------------------
# winsorize
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _winsorize_row(data, mask, use_mask, groups, use_groups, min_percentile, max_percentile, out, i):
    _fill_row(out, i, np.nan)
    cols, keys, labels = _ordered_row(data, mask, use_mask, groups, use_groups, i, False)
    cnt = cols.shape[0]
    a = 0
    while a < cnt:
        b = _segment_end(labels, a)
        size = b - a
        lo = -np.inf
        hi = np.inf
        if min_percentile > 0:
            lo = keys[a + int(min_percentile * size)]
        if max_percentile < 1:
            upper = math.ceil(size * max_percentile)
            if upper < size:
                hi = keys[a + upper - 1]
        for k in range(a, b):
            v = keys[k]
            if v < lo:
                v = lo
            if v > hi:
                v = hi
            out[i, cols[k]] = v
        a = b


@njit(parallel=True, **_JIT)
def winsorize_kernel(data, mask, use_mask, groups, use_groups, min_percentile, max_percentile, out):
    """Values below the ``int(min_p * count)``-th order statistic are raised to it, values above the
    ``ceil(count * max_p) - 1``-th lowered to it (zipline's row function), per group."""
    n = data.shape[0]
    n_tiles = _n_tiles(n)
    n_chunks = min(n_tiles, _CHUNKS)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = _tile_buffers(data, use_mask, use_groups)
        o = np.empty((_TILE, out.shape[1]), np.float64)
        for b in range(c * n_tiles // n_chunks, (c + 1) * n_tiles // n_chunks):
            i0 = b * _TILE
            h = min(_TILE, n - i0)
            _fill_tiles(data, mask, use_mask, groups, use_groups, i0, h, d, mk, g)
            for i in range(h):
                _winsorize_row(d, mk, use_mask, g, use_groups, min_percentile, max_percentile, o, i)
            _store_tile(o, out, i0, h)


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
    cols, keys, labels = _ordered_row(data, mask, use_mask, groups, use_groups, i, False)
    cnt = cols.shape[0]
    edges = np.empty(n_edges)
    a = 0
    while a < cnt:
        b = _segment_end(labels, a)
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
    n_tiles = _n_tiles(n)
    n_chunks = min(n_tiles, _CHUNKS)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = _tile_buffers(data, use_mask, use_groups)
        o = np.empty((_TILE, out.shape[1]), np.int64)
        for b in range(c * n_tiles // n_chunks, (c + 1) * n_tiles // n_chunks):
            i0 = b * _TILE
            h = min(_TILE, n - i0)
            _fill_tiles(data, mask, use_mask, groups, use_groups, i0, h, d, mk, g)
            for i in range(h):
                _quantiles_row(d, mk, use_mask, g, use_groups, probs, o, i)
            _store_tile(o, out, i0, h)


# ---------------------------------------------------------------------------------------------------------------
# daily summaries
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _summary_row(data, mask, use_mask, how, out, i, out_i):
    m = data.shape[1]
    vals = np.empty(m)
    cnt = 0
    for j in range(m):
        if use_mask and not mask[i, j]:
            continue
        v = data[i, j]
        if not np.isnan(v):
            vals[cnt] = v
            cnt += 1
    if how == 6:
        out[out_i] = cnt
        return
    if how == 5:
        total = 0.0
        for k in range(cnt):
            total += vals[k]
        out[out_i] = total
        return
    if cnt == 0:
        out[out_i] = np.nan
        return
    if how == 0 or how == 1:
        total = 0.0
        for k in range(cnt):
            total += vals[k]
        mean = total / cnt
        if how == 0:
            out[out_i] = mean
        else:
            ss = 0.0
            for k in range(cnt):
                d = vals[k] - mean
                ss += d * d
            out[out_i] = math.sqrt(ss / cnt)
    elif how == 2:
        best = vals[0]
        for k in range(1, cnt):
            if vals[k] > best:
                best = vals[k]
        out[out_i] = best
    elif how == 3:
        best = vals[0]
        for k in range(1, cnt):
            if vals[k] < best:
                best = vals[k]
        out[out_i] = best
    else:
        srt = np.sort(vals[:cnt])
        half = cnt // 2
        if cnt % 2 == 1:
            out[out_i] = srt[half]
        else:
            out[out_i] = (srt[half - 1] + srt[half]) / 2.0


@njit(parallel=True, **_JIT)
def daily_summary_kernel(data, mask, use_mask, how, out):
    """``how``: index into :data:`SUMMARY_FUNCS`; ``out`` has shape (n_dates,)."""
    n = data.shape[0]
    no_groups = np.zeros((1, 1), np.int64)
    n_tiles = _n_tiles(n)
    n_chunks = min(n_tiles, _CHUNKS)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = _tile_buffers(data, use_mask, False)
        for b in range(c * n_tiles // n_chunks, (c + 1) * n_tiles // n_chunks):
            i0 = b * _TILE
            h = min(_TILE, n - i0)
            _fill_tiles(data, mask, use_mask, no_groups, False, i0, h, d, mk, g)
            for i in range(h):
                _summary_row(d, mk, use_mask, how, out, i, i0 + i)


# ---------------------------------------------------------------------------------------------------------------
# wrappers
# ---------------------------------------------------------------------------------------------------------------


# Placeholders for "no mask" / "no groups": F-ordered like real inputs, so both cases share one compiled kernel.
_DUMMY_MASK = np.ones((2, 2), dtype=np.bool_, order="F")
_DUMMY_GROUPS = np.zeros((2, 2), dtype=np.int64, order="F")


def _prepare(data, mask, groups):
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"data must be a 2-D (n_dates, n_assets) array, got shape {arr.shape}")
    arr = np.asfortranarray(arr)
    if mask is None:
        mask_arr, use_mask = _DUMMY_MASK, False
    else:
        mask_arr = np.asarray(mask)
        if mask_arr.shape != arr.shape or mask_arr.dtype != np.bool_:
            raise ValueError(
                f"mask must be a boolean array of shape {arr.shape}, got {mask_arr.dtype} {mask_arr.shape}"
            )
        mask_arr, use_mask = np.asfortranarray(mask_arr), True
    if groups is None:
        groups_arr, use_groups = _DUMMY_GROUPS, False
    else:
        groups_arr = np.asarray(groups)
        if groups_arr.shape != arr.shape or groups_arr.dtype.kind not in "iu":
            raise ValueError(
                f"groups must be an integer array of shape {arr.shape} (-1 = no group), got "
                f"{groups_arr.dtype} {groups_arr.shape}"
            )
        groups_arr, use_groups = np.asfortranarray(groups_arr, dtype=np.int64), True
    return arr, mask_arr, use_mask, groups_arr, use_groups


def _alloc_like(arr: np.ndarray, dtype=np.float64) -> np.ndarray:
    return _pool.empty(arr.shape, dtype)


def rank(data, mask=None, groups=None, method: str = "ordinal", ascending: bool = True) -> np.ndarray:
    """zipline ``Factor.rank(method, ascending, mask, groupby)``: float64 ranks from 1, NaN where invalid."""
    if method not in RANK_METHODS:
        raise ValueError(f"rank: unknown method {method!r}; choose one of {', '.join(RANK_METHODS)}")
    arr, mask_arr, use_mask, groups_arr, use_groups = _prepare(data, mask, groups)
    out = _alloc_like(arr)
    rank_kernel(arr, mask_arr, use_mask, groups_arr, use_groups, RANK_METHODS.index(method), bool(ascending), out)
    return out


def top_bottom(data, count: int, mask=None, largest: bool = True) -> np.ndarray:
    """Boolean ``rank(ascending=not largest, method="ordinal", mask=mask) <= count`` (zipline ``Factor.top`` /
    ``Factor.bottom`` without groups), computed by selection rather than by ranking."""
    arr, mask_arr, use_mask, _, _ = _prepare(data, mask, None)
    out = _alloc_like(arr, np.bool_)
    top_bottom_kernel(arr, mask_arr, use_mask, int(count), bool(largest), out)
    return out


def demean(data, mask=None, groups=None) -> np.ndarray:
    """zipline ``Factor.demean(mask, groupby)``."""
    arr, mask_arr, use_mask, groups_arr, use_groups = _prepare(data, mask, groups)
    out = _alloc_like(arr)
    demean_kernel(arr, mask_arr, use_mask, groups_arr, use_groups, out)
    return out


def zscore(data, mask=None, groups=None) -> np.ndarray:
    """zipline ``Factor.zscore(mask, groupby)`` (population standard deviation)."""
    arr, mask_arr, use_mask, groups_arr, use_groups = _prepare(data, mask, groups)
    out = _alloc_like(arr)
    zscore_kernel(arr, mask_arr, use_mask, groups_arr, use_groups, out)
    return out


def winsorize(data, min_percentile: float, max_percentile: float, mask=None, groups=None) -> np.ndarray:
    """zipline ``Factor.winsorize(min_percentile, max_percentile, mask, groupby)``; needs
    ``0 <= min_percentile < max_percentile <= 1``."""
    lo, hi = float(min_percentile), float(max_percentile)
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(
            f"winsorize: need 0 <= min_percentile < max_percentile <= 1, got min_percentile={lo}, max_percentile={hi}"
        )
    arr, mask_arr, use_mask, groups_arr, use_groups = _prepare(data, mask, groups)
    out = _alloc_like(arr)
    winsorize_kernel(arr, mask_arr, use_mask, groups_arr, use_groups, lo, hi, out)
    return out


def quantiles(data, bins: int, mask=None, groups=None) -> np.ndarray:
    """zipline ``Factor.quantiles(bins, mask)`` (optionally per group): int64 labels 0..bins-1, -1 where missing."""
    bins = int(bins)
    if bins < 1:
        raise ValueError(f"quantiles: bins must be >= 1, got {bins}")
    arr, mask_arr, use_mask, groups_arr, use_groups = _prepare(data, mask, groups)
    out = _alloc_like(arr, np.int64)
    quantiles_kernel(arr, mask_arr, use_mask, groups_arr, use_groups, qcut_probabilities(bins), out)
    return out


def daily_summary(data, how: str, mask=None) -> np.ndarray:
    """zipline ``Factor.<how>(mask)`` (``DailySummary``): float64 ``(n_dates,)``; ``how`` in :data:`SUMMARY_FUNCS`."""
    if how not in SUMMARY_FUNCS:
        raise ValueError(f"daily_summary: unknown summary {how!r}; choose one of {', '.join(SUMMARY_FUNCS)}")
    arr, mask_arr, use_mask, _, _ = _prepare(data, mask, None)
    out = np.empty(arr.shape[0], dtype=np.float64)
    daily_summary_kernel(arr, mask_arr, use_mask, SUMMARY_FUNCS.index(how), out)
    return out
