"""Range kernels over monotonic deques: zipline's ``Aroon``, ``FastStochasticOscillator``, ``IchimokuKinkoHyo``
and ``TrueRange``.

Each kernel walks its assets with the shared driver (:mod:`rustybt.pipeline.kernels._segments`); a ``*_run``
function rebuilds its deques at the first window end of a segment and slides them in O(1) amortized per row.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._arrays import alloc_out, prepare_inputs, window_length
from rustybt.pipeline.kernels._deque import dq_clear, dq_expire, dq_first_at_least, dq_pair, dq_push_max, dq_push_min
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column

__all__ = [
    "AroonResult",
    "IchimokuKinkoHyoResult",
    "aroon",
    "aroon_kernel",
    "fast_stochastic_oscillator",
    "fast_stochastic_oscillator_kernel",
    "ichimoku_kinko_hyo",
    "ichimoku_kinko_hyo_kernel",
    "true_range",
    "true_range_kernel",
]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


# ---------------------------------------------------------------------------------------------------------------
# Aroon
# ---------------------------------------------------------------------------------------------------------------


class AroonResult(NamedTuple):
    down: np.ndarray
    up: np.ndarray


@njit(**_JIT)
def _aroon_run(lo, hg, wl, t0, t1, down, up, qmin, smin, qmax, smax):
    denom = wl - 1.0
    for t in range(t0, t1):
        s = t - wl + 1
        if t == t0:  # written out in each run: as a helper call per row it cost Aroon 60% more time
            dq_clear(smin)
            dq_clear(smax)
            for r in range(s, t + 1):
                if not np.isnan(lo[r]):
                    dq_push_min(qmin, smin, lo, r)
                if not np.isnan(hg[r]):
                    dq_push_max(qmax, smax, hg, r)
        else:
            dq_expire(qmin, smin, s)
            dq_expire(qmax, smax, s)
            if not np.isnan(lo[t]):
                dq_push_min(qmin, smin, lo, t)
            if not np.isnan(hg[t]):
                dq_push_max(qmax, smax, hg, t)
        if smin[1] > 0:
            down[s] = (100.0 * (qmin[smin[0]] - s)) / denom
        else:
            down[s] = np.nan
        if smax[1] > 0:
            up[s] = (100.0 * (qmax[smax[0]] - s)) / denom
        else:
            up[s] = np.nan


@njit(parallel=True, **_JIT)
def aroon_kernel(low, high, wl, low_adjustments, high_adjustments, out_down, out_up):
    """down = 100 * nanargmin(low) / (wl - 1), up = 100 * nanargmax(high) / (wl - 1); ties -> earliest row."""
    for j in prange(low.shape[1]):
        qmin, smin, qmax, smax = dq_pair(wl)
        lo = working_column(low, low_adjustments, j)
        hg = working_column(high, high_adjustments, j)
        cursor = segment_cursor((low_adjustments, high_adjustments), (j, j))
        t0 = wl - 1
        while t0 < lo.shape[0]:
            t1 = next_segment((lo, hg), (low_adjustments, high_adjustments), (j, j), cursor, t0)
            _aroon_run(lo, hg, wl, t0, t1, out_down[:, j], out_up[:, j], qmin, smin, qmax, smax)
            t0 = t1


def aroon(low, high, window_length: int, low_adjustments=None, high_adjustments=None) -> AroonResult:
    """zipline ``Aroon(window_length)``: returns (down, up).

    All-NaN windows give NaN (zipline's ``nanargmax`` would raise); ``window_length == 1`` gives NaN (0 / 0).
    """
    (low, high), adj = prepare_inputs({"low": low, "high": high}, {"low": low_adjustments, "high": high_adjustments})
    n, m = low.shape
    wl = _window_length(window_length, 1, n, "aroon")
    down, up = alloc_out(n, wl, m, np.nan), alloc_out(n, wl, m, np.nan)
    aroon_kernel(low, high, wl, *adj, down, up)
    return AroonResult(down, up)


# ---------------------------------------------------------------------------------------------------------------
# Fast stochastic oscillator
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _stochastic_run(cl, lo, hg, wl, t0, t1, oc, qmin, smin, qmax, smax):
    for t in range(t0, t1):
        s = t - wl + 1
        if t == t0:  # written out in each run: as a helper call per row it cost Aroon 60% more time
            dq_clear(smin)
            dq_clear(smax)
            for r in range(s, t + 1):
                if not np.isnan(lo[r]):
                    dq_push_min(qmin, smin, lo, r)
                if not np.isnan(hg[r]):
                    dq_push_max(qmax, smax, hg, r)
        else:
            dq_expire(qmin, smin, s)
            dq_expire(qmax, smax, s)
            if not np.isnan(lo[t]):
                dq_push_min(qmin, smin, lo, t)
            if not np.isnan(hg[t]):
                dq_push_max(qmax, smax, hg, t)
        if smin[1] == 0 or smax[1] == 0:
            oc[s] = np.nan
        else:
            ll = lo[qmin[smin[0]]]
            hh = hg[qmax[smax[0]]]
            oc[s] = ((cl[t] - ll) / (hh - ll)) * 100.0


@njit(parallel=True, **_JIT)
def fast_stochastic_oscillator_kernel(close, low, high, wl, close_adjustments, low_adjustments, high_adjustments, out):
    """%K = ((close[-1] - nanmin(low)) / (nanmax(high) - nanmin(low))) * 100."""
    for j in prange(close.shape[1]):
        qmin, smin, qmax, smax = dq_pair(wl)
        cl = working_column(close, close_adjustments, j)
        lo = working_column(low, low_adjustments, j)
        hg = working_column(high, high_adjustments, j)
        cursor = segment_cursor((close_adjustments, low_adjustments, high_adjustments), (j, j, j))
        t0 = wl - 1
        while t0 < cl.shape[0]:
            t1 = next_segment(
                (cl, lo, hg), (close_adjustments, low_adjustments, high_adjustments), (j, j, j), cursor, t0
            )
            _stochastic_run(cl, lo, hg, wl, t0, t1, out[:, j], qmin, smin, qmax, smax)
            t0 = t1


def fast_stochastic_oscillator(
    close, low, high, window_length: int = 14, close_adjustments=None, low_adjustments=None, high_adjustments=None
) -> np.ndarray:
    """zipline ``FastStochasticOscillator`` (%K): (n - wl + 1, n_assets). hh == ll gives +/-inf or NaN, as zipline."""
    arrays, adj = prepare_inputs(
        {"close": close, "low": low, "high": high},
        {"close": close_adjustments, "low": low_adjustments, "high": high_adjustments},
    )
    n, m = arrays[0].shape
    wl = _window_length(window_length, 1, n, "fast_stochastic_oscillator")
    out = alloc_out(n, wl, m, np.nan)
    fast_stochastic_oscillator_kernel(*arrays, wl, *adj, out)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Ichimoku Kinko Hyo
# ---------------------------------------------------------------------------------------------------------------


class IchimokuKinkoHyoResult(NamedTuple):
    tenkan_sen: np.ndarray
    kijun_sen: np.ndarray
    senkou_span_a: np.ndarray
    senkou_span_b: np.ndarray
    chikou_span: np.ndarray


@njit(**_JIT)
def _sub_max(x, q, st, start, last_nan):
    """max(x[start:end+1]) with NaN propagation (numpy ``max``), from a max-deque over a longer window."""
    if last_nan >= start:
        return np.nan
    r = dq_first_at_least(q, st, start)
    if r < 0:
        return np.nan
    return x[r]


@njit(**_JIT)
def _ichimoku_run(hg, lo, cl, wl, t0, t1, outs, lengths, qmax, smax, qmin, smin):
    """``outs``: tenkan, kijun, span a, span b, chikou columns; ``lengths``: tenkan, kijun, chikou lengths (the
    first two already resolved: 0 means the whole window)."""
    tenkan_out, kijun_out, span_a_out, span_b_out, chikou_out = outs
    lt, lk, chikou_length = lengths
    nan_h = -1
    nan_l = -1
    for t in range(t0, t1):
        s = t - wl + 1
        if t == t0:
            dq_clear(smax)
            dq_clear(smin)
            nan_h = -1
            nan_l = -1
            for r in range(s, t + 1):
                if np.isnan(hg[r]):
                    nan_h = r
                else:
                    dq_push_max(qmax, smax, hg, r)
                if np.isnan(lo[r]):
                    nan_l = r
                else:
                    dq_push_min(qmin, smin, lo, r)
        else:
            dq_expire(qmax, smax, s)
            dq_expire(qmin, smin, s)
            if np.isnan(hg[t]):
                nan_h = t
            else:
                dq_push_max(qmax, smax, hg, t)
            if np.isnan(lo[t]):
                nan_l = t
            else:
                dq_push_min(qmin, smin, lo, t)
        tenkan = (_sub_max(hg, qmax, smax, t - lt + 1, nan_h) + _sub_max(lo, qmin, smin, t - lt + 1, nan_l)) / 2
        kijun = (_sub_max(hg, qmax, smax, t - lk + 1, nan_h) + _sub_max(lo, qmin, smin, t - lk + 1, nan_l)) / 2
        tenkan_out[s] = tenkan
        kijun_out[s] = kijun
        span_a_out[s] = (tenkan + kijun) / 2
        span_b_out[s] = (_sub_max(hg, qmax, smax, s, nan_h) + _sub_max(lo, qmin, smin, s, nan_l)) / 2
        chikou_out[s] = cl[s + chikou_length]


@njit(parallel=True, **_JIT)
def ichimoku_kinko_hyo_kernel(
    high, low, close, wl, high_adjustments, low_adjustments, close_adjustments,
    out_tenkan, out_kijun, out_span_a, out_span_b, out_chikou,
    tenkan_sen_length, kijun_sen_length, chikou_span_length,
):  # fmt: skip
    """zipline's IchimokuKinkoHyo: ``max``/``min`` over the trailing sub-windows are NOT nan-aware (NaN propagates);
    a length of 0 means the whole window (numpy's ``x[-0:]``); chikou_span = close[chikou_span_length] counted from
    the OLDEST row of the window."""
    tenkan_length = tenkan_sen_length if tenkan_sen_length > 0 else wl
    kijun_length = kijun_sen_length if kijun_sen_length > 0 else wl
    for j in prange(high.shape[1]):
        qmin, smin, qmax, smax = dq_pair(wl)
        outs = (out_tenkan[:, j], out_kijun[:, j], out_span_a[:, j], out_span_b[:, j], out_chikou[:, j])
        hg = working_column(high, high_adjustments, j)
        lo = working_column(low, low_adjustments, j)
        cl = working_column(close, close_adjustments, j)
        cursor = segment_cursor((high_adjustments, low_adjustments, close_adjustments), (j, j, j))
        t0 = wl - 1
        while t0 < hg.shape[0]:
            t1 = next_segment(
                (hg, lo, cl), (high_adjustments, low_adjustments, close_adjustments), (j, j, j), cursor, t0
            )
            _ichimoku_run(
                hg, lo, cl, wl, t0, t1, outs, (tenkan_length, kijun_length, chikou_span_length), qmax, smax, qmin, smin
            )
            t0 = t1


def ichimoku_kinko_hyo(
    high,
    low,
    close,
    window_length: int = 52,
    tenkan_sen_length: int = 9,
    kijun_sen_length: int = 26,
    chikou_span_length: int = 26,
    high_adjustments=None,
    low_adjustments=None,
    close_adjustments=None,
) -> IchimokuKinkoHyoResult:
    """zipline ``IchimokuKinkoHyo``: returns (tenkan_sen, kijun_sen, senkou_span_a, senkou_span_b, chikou_span).

    Lengths must be in ``[0, window_length]`` (zipline's rule); ``chikou_span_length`` must also be
    ``< window_length`` (zipline would raise IndexError at compute time).
    """
    arrays, adj = prepare_inputs(
        {"high": high, "low": low, "close": close},
        {"high": high_adjustments, "low": low_adjustments, "close": close_adjustments},
    )
    n, m = arrays[0].shape
    wl = _window_length(window_length, 1, n, "ichimoku_kinko_hyo")
    params = {
        "tenkan_sen_length": int(tenkan_sen_length),
        "kijun_sen_length": int(kijun_sen_length),
        "chikou_span_length": int(chikou_span_length),
    }
    for name, v in params.items():
        if not 0 <= v <= wl:
            raise ValueError(f"ichimoku_kinko_hyo: {name} must be in [0, window_length={wl}], got {v}")
    if params["chikou_span_length"] >= wl:
        raise ValueError(
            f"ichimoku_kinko_hyo: chikou_span_length must be < window_length={wl} "
            f"(it indexes the window from its oldest row), got {params['chikou_span_length']}"
        )
    outs = [alloc_out(n, wl, m, np.nan) for _ in range(5)]
    ichimoku_kinko_hyo_kernel(*arrays, wl, *adj, *outs, *params.values())
    return IchimokuKinkoHyoResult(*outs)


# ---------------------------------------------------------------------------------------------------------------
# True Range
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _true_range_run(hg, lo, cl, t0, t1, oc):
    for t in range(t0, t1):
        a = hg[t] - lo[t]
        b = abs(hg[t] - cl[t - 1])
        c = abs(lo[t] - cl[t - 1])
        best = np.nan
        if not np.isnan(a):
            best = a
        if not np.isnan(b) and (np.isnan(best) or b > best):
            best = b
        if not np.isnan(c) and (np.isnan(best) or c > best):
            best = c
        oc[t - 1] = best


@njit(parallel=True, **_JIT)
def true_range_kernel(high, low, close, high_adjustments, low_adjustments, close_adjustments, out):
    """nanmax(high - low, |high - prev close|, |low - prev close|) over a window of 2 rows; out is (n - 1, m)."""
    for j in prange(high.shape[1]):
        hg = working_column(high, high_adjustments, j)
        lo = working_column(low, low_adjustments, j)
        cl = working_column(close, close_adjustments, j)
        cursor = segment_cursor((high_adjustments, low_adjustments, close_adjustments), (j, j, j))
        t0 = 1
        while t0 < hg.shape[0]:
            t1 = next_segment(
                (hg, lo, cl), (high_adjustments, low_adjustments, close_adjustments), (j, j, j), cursor, t0
            )
            _true_range_run(hg, lo, cl, t0, t1, out[:, j])
            t0 = t1


def true_range(high, low, close, high_adjustments=None, low_adjustments=None, close_adjustments=None) -> np.ndarray:
    """zipline ``TrueRange`` (window_length 2): (n - 1, n_assets)."""
    arrays, adj = prepare_inputs(
        {"high": high, "low": low, "close": close},
        {"high": high_adjustments, "low": low_adjustments, "close": close_adjustments},
    )
    n, m = arrays[0].shape
    _window_length(2, 2, n, "true_range")
    out = alloc_out(n, 2, m, np.nan)
    true_range_kernel(*arrays, *adj, out)
    return out


def _window_length(wl, minimum: int, n: int, what: str) -> int:
    return window_length(wl, minimum, "window_length", rows=n, what=what)
