"""zipline ``DailySummary`` (``Factor.mean()``, ``.stddev()``, ...): one value per date over the masked row."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels.crosssection._inputs import prepare
from rustybt.pipeline.kernels.crosssection._rows import (
    chunk_count,
    tile_buffers,
    tiles,
)

__all__ = ["SUMMARY_FUNCS", "daily_summary", "daily_summary_kernel"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}

SUMMARY_FUNCS = ("mean", "stddev", "max", "min", "median", "sum", "notnull_count")


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
    n_chunks = chunk_count(n)
    for c in prange(n_chunks):  # per chunk of tiles: buffers allocated once per chunk, not per tile
        d, mk, g = tile_buffers(data, use_mask, False)
        for i0, h in tiles(data, mask, use_mask, no_groups, False, c, n_chunks, d, mk, g):
            for i in range(h):
                _summary_row(d, mk, use_mask, how, out, i, i0 + i)


def daily_summary(data, how: str, mask=None) -> np.ndarray:
    """zipline ``Factor.<how>(mask)`` (``DailySummary``): float64 ``(n_dates,)``; ``how`` in :data:`SUMMARY_FUNCS`."""
    if how not in SUMMARY_FUNCS:
        raise ValueError(f"daily_summary: unknown summary {how!r}; choose one of {', '.join(SUMMARY_FUNCS)}")
    arr, mask_arr, use_mask, _, _ = prepare(data, mask, None)
    out = np.empty(arr.shape[0], dtype=np.float64)
    daily_summary_kernel(arr, mask_arr, use_mask, SUMMARY_FUNCS.index(how), out)
    return out
