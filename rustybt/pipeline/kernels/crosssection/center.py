"""zipline ``Factor.demean``, ``Factor.zscore`` and ``Factor.winsorize`` over each date's cross-section (per group)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels.crosssection._inputs import alloc_like, prepare
from rustybt.pipeline.kernels.crosssection._rows import (
    TILE,
    chunk_count,
    fill_row,
    ordered_row,
    segment_end,
    store_tile,
    tile_buffers,
    tiles,
)

__all__ = ["demean", "demean_kernel", "winsorize", "winsorize_kernel", "zscore", "zscore_kernel"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


# ---------------------------------------------------------------------------------------------------------------
# demean / zscore
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _center(data, mask, use_mask, groups, use_groups, out, i, scale):
    fill_row(out, i, np.nan)
    cols, keys, labels = ordered_row(data, mask, use_mask, groups, use_groups, i, False)
    cnt = cols.shape[0]
    a = 0
    while a < cnt:
        b = segment_end(labels, a)
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
    n_chunks = chunk_count(n)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = tile_buffers(data, use_mask, use_groups)
        o = np.empty((TILE, m), np.float64)
        for i0, h in tiles(data, mask, use_mask, groups, use_groups, c, n_chunks, d, mk, g):
            for i in range(h):
                _center(d, mk, use_mask, g, use_groups, o, i, scale)
            store_tile(o, out, i0, h)


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
    fill_row(out, i, np.nan)
    cols, keys, labels = ordered_row(data, mask, use_mask, groups, use_groups, i, False)
    cnt = cols.shape[0]
    a = 0
    while a < cnt:
        b = segment_end(labels, a)
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
    n_chunks = chunk_count(n)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = tile_buffers(data, use_mask, use_groups)
        o = np.empty((TILE, out.shape[1]), np.float64)
        for i0, h in tiles(data, mask, use_mask, groups, use_groups, c, n_chunks, d, mk, g):
            for i in range(h):
                _winsorize_row(d, mk, use_mask, g, use_groups, min_percentile, max_percentile, o, i)
            store_tile(o, out, i0, h)


def demean(data, mask=None, groups=None) -> np.ndarray:
    """zipline ``Factor.demean(mask, groupby)``."""
    arr, mask_arr, use_mask, groups_arr, use_groups = prepare(data, mask, groups)
    out = alloc_like(arr)
    demean_kernel(arr, mask_arr, use_mask, groups_arr, use_groups, out)
    return out


def zscore(data, mask=None, groups=None) -> np.ndarray:
    """zipline ``Factor.zscore(mask, groupby)`` (population standard deviation)."""
    arr, mask_arr, use_mask, groups_arr, use_groups = prepare(data, mask, groups)
    out = alloc_like(arr)
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
    arr, mask_arr, use_mask, groups_arr, use_groups = prepare(data, mask, groups)
    out = alloc_like(arr)
    winsorize_kernel(arr, mask_arr, use_mask, groups_arr, use_groups, lo, hi, out)
    return out
