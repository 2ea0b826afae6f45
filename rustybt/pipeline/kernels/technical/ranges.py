"""Technical-analysis window kernels: Bollinger Bands, Aroon, fast stochastic, Ichimoku, True Range, MACD signal.

Formulas follow zipline-reloaded's built-in factors (``zipline.pipeline.factors.technical``) exactly; the few
places where zipline would raise on degenerate input and these kernels return NaN instead are noted per function.

Every kernel takes float64 ``(n_dates, n_assets)`` F-ordered inputs, the window length, the six adjustment arrays of
:mod:`rustybt.pipeline.kernels._adjust` for each input, and preallocated F-ordered outputs of shape
``(n_dates - window_length + 1, n_assets)``: ``out[i, j]`` is the value for the window of rows
``[i, i + window_length)`` of asset ``j``, computed on data adjusted with exactly the adjustments whose
``apply_row <= i + window_length - 1``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels import _pool
from rustybt.pipeline.kernels._adjust import apply_pending, empty_adjustments
from rustybt.pipeline.kernels._arrays import as_float_columns as _as_input

__all__ = [
    "AroonResult",
    "BollingerBandsResult",
    "IchimokuKinkoHyoResult",
    "aroon",
    "aroon_kernel",
    "bollinger_bands",
    "bollinger_bands_kernel",
    "fast_stochastic_oscillator",
    "fast_stochastic_oscillator_kernel",
    "ichimoku_kinko_hyo",
    "ichimoku_kinko_hyo_kernel",
    "macd_signal",
    "macd_signal_kernel",
    "macd_signal_window_length",
    "true_range",
    "true_range_kernel",
]

Adjustments = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


# ---------------------------------------------------------------------------------------------------------------
# shared numba helpers
# ---------------------------------------------------------------------------------------------------------------


@njit(**_JIT)
def _working_column(data, j, offsets):
    """Column ``j`` of ``data``: a private copy when the column has adjustments, else a view."""
    col = data[:, j]
    if offsets[j + 1] > offsets[j]:
        return col.copy()
    return col


@njit(**_JIT)
def _dq_clear(st):
    st[0] = 0
    st[1] = 0


@njit(**_JIT)
def _dq_push_max(q, st, x, i):
    """Push row ``i`` (``x[i]`` not NaN) on a max-deque; equal values are kept, so the front is the earliest max."""
    cap = q.shape[0]
    while st[1] > 0:
        back = q[(st[0] + st[1] - 1) % cap]
        if x[back] < x[i]:
            st[1] -= 1
        else:
            break
    q[(st[0] + st[1]) % cap] = i
    st[1] += 1


@njit(**_JIT)
def _dq_push_min(q, st, x, i):
    """Push row ``i`` (``x[i]`` not NaN) on a min-deque; the front is the earliest min."""
    cap = q.shape[0]
    while st[1] > 0:
        back = q[(st[0] + st[1] - 1) % cap]
        if x[back] > x[i]:
            st[1] -= 1
        else:
            break
    q[(st[0] + st[1]) % cap] = i
    st[1] += 1


@njit(**_JIT)
def _dq_expire(q, st, start):
    """Drop rows ``< start`` from the front."""
    cap = q.shape[0]
    while st[1] > 0 and q[st[0]] < start:
        st[0] = (st[0] + 1) % cap
        st[1] -= 1


@njit(**_JIT)
def _dq_first_at_least(q, st, start):
    """First deque row ``>= start`` (the extreme of the sub-window ``[start, end]``), or -1; binary search."""
    lo = 0
    hi = st[1]
    cap = q.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if q[(st[0] + mid) % cap] < start:
            lo = mid + 1
        else:
            hi = mid
    if lo == st[1]:
        return -1
    return q[(st[0] + lo) % cap]


# ---------------------------------------------------------------------------------------------------------------
# Python-side helpers
# ---------------------------------------------------------------------------------------------------------------


def _as_adjustments(adjustments: Adjustments | None, n_assets: int, name: str) -> Adjustments:
    if adjustments is None:
        return empty_adjustments(n_assets)
    if len(adjustments) != 6:
        raise ValueError(f"{name}: expected the six adjustment arrays (offsets, apply_row, first, last, value, op)")
    off, app, fst, lst, val, op = adjustments
    off = np.ascontiguousarray(off, dtype=np.int64)
    if off.shape != (n_assets + 1,):
        raise ValueError(f"{name}: offsets must have shape ({n_assets + 1},), got {off.shape}")
    return (
        off,
        np.ascontiguousarray(app, dtype=np.int64),
        np.ascontiguousarray(fst, dtype=np.int64),
        np.ascontiguousarray(lst, dtype=np.int64),
        np.ascontiguousarray(val, dtype=np.float64),
        np.ascontiguousarray(op, dtype=np.int64),
    )


def _check_window(n_dates: int, window_length: int, minimum: int, name: str) -> int:
    window_length = int(window_length)
    if window_length < minimum:
        raise ValueError(f"{name}: window_length must be >= {minimum}, got {window_length}")
    if n_dates < window_length:
        raise ValueError(f"{name}: need at least window_length={window_length} rows of data, got {n_dates}")
    return window_length


def _check_same_shape(*arrays: np.ndarray) -> None:
    shape = arrays[0].shape
    for a in arrays[1:]:
        if a.shape != shape:
            raise ValueError(f"inputs must share one shape, got {shape} and {a.shape}")


def _alloc(n_out: int, n_assets: int) -> np.ndarray:
    return _pool.full((n_out, n_assets), np.nan)


# ---------------------------------------------------------------------------------------------------------------
# Bollinger Bands
# ---------------------------------------------------------------------------------------------------------------


class BollingerBandsResult(NamedTuple):
    lower: np.ndarray
    middle: np.ndarray
    upper: np.ndarray


@njit(parallel=True, **_JIT)
def bollinger_bands_kernel(close, wl, k, off, app, fst, lst, val, op, out_lower, out_middle, out_upper):
    """middle = nanmean, std = nanstd (ddof 0), upper/lower = middle +/- k * std over each window."""
    n, m = close.shape
    for j in prange(m):
        x = _working_column(close, j, off)
        p = off[j]
        hi = off[j + 1]
        shift = 0.0
        s1 = 0.0
        s2 = 0.0
        cnt = 0
        since = 0
        for t in range(wl - 1, n):
            s = t - wl + 1
            rebuild = t == wl - 1 or since >= wl
            if p < hi and app[p] <= t:
                p = apply_pending(x, p, hi, t, app, fst, lst, val, op)
                rebuild = True
            if rebuild:
                shift = 0.0
                for r in range(s, t + 1):
                    if not np.isnan(x[r]):
                        shift = x[r]
                        break
                s1 = 0.0
                s2 = 0.0
                cnt = 0
                for r in range(s, t + 1):
                    v = x[r]
                    if not np.isnan(v):
                        d = v - shift
                        s1 += d
                        s2 += d * d
                        cnt += 1
                since = 0
            else:
                v = x[s - 1]
                if not np.isnan(v):
                    d = v - shift
                    s1 -= d
                    s2 -= d * d
                    cnt -= 1
                v = x[t]
                if not np.isnan(v):
                    d = v - shift
                    s1 += d
                    s2 += d * d
                    cnt += 1
                since += 1
            if cnt == 0:
                out_lower[s, j] = np.nan
                out_middle[s, j] = np.nan
                out_upper[s, j] = np.nan
            else:
                dm = s1 / cnt
                var = s2 / cnt - dm * dm
                if var < 0.0:
                    var = 0.0
                middle = shift + dm
                difference = k * math.sqrt(var)
                out_middle[s, j] = middle
                out_upper[s, j] = middle + difference
                out_lower[s, j] = middle - difference


def bollinger_bands(
    close, window_length: int, k: float, adjustments: Adjustments | None = None
) -> BollingerBandsResult:
    """zipline ``BollingerBands(window_length, k)``: returns (lower, middle, upper), each (n - wl + 1, n_assets)."""
    close = _as_input(close, "close")
    n, m = close.shape
    wl = _check_window(n, window_length, 1, "bollinger_bands")
    adj = _as_adjustments(adjustments, m, "adjustments")
    shape = (n - wl + 1, m)  # the kernel writes every cell: no NaN prefill
    lower, middle, upper = _pool.empty(shape), _pool.empty(shape), _pool.empty(shape)
    bollinger_bands_kernel(close, wl, float(k), *adj, lower, middle, upper)
    return BollingerBandsResult(lower, middle, upper)


# ---------------------------------------------------------------------------------------------------------------
# Aroon
# ---------------------------------------------------------------------------------------------------------------


class AroonResult(NamedTuple):
    down: np.ndarray
    up: np.ndarray


@njit(parallel=True, **_JIT)
def aroon_kernel(
    low, high, wl, l_off, l_app, l_fst, l_lst, l_val, l_op, h_off, h_app, h_fst, h_lst, h_val, h_op, out_down, out_up
):
    """down = 100 * nanargmin(low) / (wl - 1), up = 100 * nanargmax(high) / (wl - 1); ties -> earliest row."""
    n, m = low.shape
    denom = wl - 1.0
    for j in prange(m):
        lo = _working_column(low, j, l_off)
        hg = _working_column(high, j, h_off)
        lp = l_off[j]
        lh = l_off[j + 1]
        hp = h_off[j]
        hh = h_off[j + 1]
        qmin = np.empty(wl + 1, np.int64)
        smin = np.zeros(2, np.int64)
        qmax = np.empty(wl + 1, np.int64)
        smax = np.zeros(2, np.int64)
        for t in range(wl - 1, n):
            s = t - wl + 1
            rebuild = t == wl - 1
            if lp < lh and l_app[lp] <= t:
                lp = apply_pending(lo, lp, lh, t, l_app, l_fst, l_lst, l_val, l_op)
                rebuild = True
            if hp < hh and h_app[hp] <= t:
                hp = apply_pending(hg, hp, hh, t, h_app, h_fst, h_lst, h_val, h_op)
                rebuild = True
            if rebuild:
                _dq_clear(smin)
                _dq_clear(smax)
                for r in range(s, t + 1):
                    if not np.isnan(lo[r]):
                        _dq_push_min(qmin, smin, lo, r)
                    if not np.isnan(hg[r]):
                        _dq_push_max(qmax, smax, hg, r)
            else:
                _dq_expire(qmin, smin, s)
                _dq_expire(qmax, smax, s)
                if not np.isnan(lo[t]):
                    _dq_push_min(qmin, smin, lo, t)
                if not np.isnan(hg[t]):
                    _dq_push_max(qmax, smax, hg, t)
            if smin[1] > 0:
                out_down[s, j] = (100.0 * (qmin[smin[0]] - s)) / denom
            else:
                out_down[s, j] = np.nan
            if smax[1] > 0:
                out_up[s, j] = (100.0 * (qmax[smax[0]] - s)) / denom
            else:
                out_up[s, j] = np.nan


def aroon(
    low,
    high,
    window_length: int,
    low_adjustments: Adjustments | None = None,
    high_adjustments: Adjustments | None = None,
) -> AroonResult:
    """zipline ``Aroon(window_length)``: returns (down, up).

    All-NaN windows give NaN (zipline's ``nanargmax`` would raise); ``window_length == 1`` gives NaN (0 / 0).
    """
    low = _as_input(low, "low")
    high = _as_input(high, "high")
    _check_same_shape(low, high)
    n, m = low.shape
    wl = _check_window(n, window_length, 1, "aroon")
    la = _as_adjustments(low_adjustments, m, "low_adjustments")
    ha = _as_adjustments(high_adjustments, m, "high_adjustments")
    down, up = _alloc(n - wl + 1, m), _alloc(n - wl + 1, m)
    aroon_kernel(low, high, wl, *la, *ha, down, up)
    return AroonResult(down, up)


# ---------------------------------------------------------------------------------------------------------------
# Fast stochastic oscillator
# ---------------------------------------------------------------------------------------------------------------


@njit(parallel=True, **_JIT)
def fast_stochastic_oscillator_kernel(
    close,
    low,
    high,
    wl,
    c_off,
    c_app,
    c_fst,
    c_lst,
    c_val,
    c_op,
    l_off,
    l_app,
    l_fst,
    l_lst,
    l_val,
    l_op,
    h_off,
    h_app,
    h_fst,
    h_lst,
    h_val,
    h_op,
    out,
):
    """%K = ((close[-1] - nanmin(low)) / (nanmax(high) - nanmin(low))) * 100."""
    n, m = close.shape
    for j in prange(m):
        cl = _working_column(close, j, c_off)
        lo = _working_column(low, j, l_off)
        hg = _working_column(high, j, h_off)
        cp = c_off[j]
        ch = c_off[j + 1]
        lp = l_off[j]
        lh = l_off[j + 1]
        hp = h_off[j]
        hh = h_off[j + 1]
        qmin = np.empty(wl + 1, np.int64)
        smin = np.zeros(2, np.int64)
        qmax = np.empty(wl + 1, np.int64)
        smax = np.zeros(2, np.int64)
        for t in range(wl - 1, n):
            s = t - wl + 1
            rebuild = t == wl - 1
            if cp < ch and c_app[cp] <= t:
                cp = apply_pending(cl, cp, ch, t, c_app, c_fst, c_lst, c_val, c_op)
            if lp < lh and l_app[lp] <= t:
                lp = apply_pending(lo, lp, lh, t, l_app, l_fst, l_lst, l_val, l_op)
                rebuild = True
            if hp < hh and h_app[hp] <= t:
                hp = apply_pending(hg, hp, hh, t, h_app, h_fst, h_lst, h_val, h_op)
                rebuild = True
            if rebuild:
                _dq_clear(smin)
                _dq_clear(smax)
                for r in range(s, t + 1):
                    if not np.isnan(lo[r]):
                        _dq_push_min(qmin, smin, lo, r)
                    if not np.isnan(hg[r]):
                        _dq_push_max(qmax, smax, hg, r)
            else:
                _dq_expire(qmin, smin, s)
                _dq_expire(qmax, smax, s)
                if not np.isnan(lo[t]):
                    _dq_push_min(qmin, smin, lo, t)
                if not np.isnan(hg[t]):
                    _dq_push_max(qmax, smax, hg, t)
            if smin[1] == 0 or smax[1] == 0:
                out[s, j] = np.nan
            else:
                ll = lo[qmin[smin[0]]]
                hh_ = hg[qmax[smax[0]]]
                out[s, j] = ((cl[t] - ll) / (hh_ - ll)) * 100.0


def fast_stochastic_oscillator(
    close,
    low,
    high,
    window_length: int = 14,
    close_adjustments: Adjustments | None = None,
    low_adjustments: Adjustments | None = None,
    high_adjustments: Adjustments | None = None,
) -> np.ndarray:
    """zipline ``FastStochasticOscillator`` (%K): (n - wl + 1, n_assets). hh == ll gives +/-inf or NaN, as zipline."""
    close = _as_input(close, "close")
    low = _as_input(low, "low")
    high = _as_input(high, "high")
    _check_same_shape(close, low, high)
    n, m = close.shape
    wl = _check_window(n, window_length, 1, "fast_stochastic_oscillator")
    ca = _as_adjustments(close_adjustments, m, "close_adjustments")
    la = _as_adjustments(low_adjustments, m, "low_adjustments")
    ha = _as_adjustments(high_adjustments, m, "high_adjustments")
    out = _alloc(n - wl + 1, m)
    fast_stochastic_oscillator_kernel(close, low, high, wl, *ca, *la, *ha, out)
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
    r = _dq_first_at_least(q, st, start)
    if r < 0:
        return np.nan
    return x[r]


@njit(parallel=True, **_JIT)
def ichimoku_kinko_hyo_kernel(
    high,
    low,
    close,
    wl,
    tenkan_sen_length,
    kijun_sen_length,
    chikou_span_length,
    h_off,
    h_app,
    h_fst,
    h_lst,
    h_val,
    h_op,
    l_off,
    l_app,
    l_fst,
    l_lst,
    l_val,
    l_op,
    c_off,
    c_app,
    c_fst,
    c_lst,
    c_val,
    c_op,
    out_tenkan,
    out_kijun,
    out_span_a,
    out_span_b,
    out_chikou,
):
    """zipline's IchimokuKinkoHyo: ``max``/``min`` over the trailing sub-windows are NOT nan-aware (NaN propagates);
    a length of 0 means the whole window (numpy's ``x[-0:]``); chikou_span = close[chikou_span_length] counted from
    the OLDEST row of the window."""
    n, m = high.shape
    lt = tenkan_sen_length if tenkan_sen_length > 0 else wl
    lk = kijun_sen_length if kijun_sen_length > 0 else wl
    for j in prange(m):
        hg = _working_column(high, j, h_off)
        lo = _working_column(low, j, l_off)
        cl = _working_column(close, j, c_off)
        hp = h_off[j]
        hh = h_off[j + 1]
        lp = l_off[j]
        lh = l_off[j + 1]
        cp = c_off[j]
        ch = c_off[j + 1]
        qmax = np.empty(wl + 1, np.int64)
        smax = np.zeros(2, np.int64)
        qmin = np.empty(wl + 1, np.int64)
        smin = np.zeros(2, np.int64)
        nan_h = -1
        nan_l = -1
        for t in range(wl - 1, n):
            s = t - wl + 1
            rebuild = t == wl - 1
            if hp < hh and h_app[hp] <= t:
                hp = apply_pending(hg, hp, hh, t, h_app, h_fst, h_lst, h_val, h_op)
                rebuild = True
            if lp < lh and l_app[lp] <= t:
                lp = apply_pending(lo, lp, lh, t, l_app, l_fst, l_lst, l_val, l_op)
                rebuild = True
            if cp < ch and c_app[cp] <= t:
                cp = apply_pending(cl, cp, ch, t, c_app, c_fst, c_lst, c_val, c_op)
            if rebuild:
                _dq_clear(smax)
                _dq_clear(smin)
                nan_h = -1
                nan_l = -1
                for r in range(s, t + 1):
                    if np.isnan(hg[r]):
                        nan_h = r
                    else:
                        _dq_push_max(qmax, smax, hg, r)
                    if np.isnan(lo[r]):
                        nan_l = r
                    else:
                        _dq_push_min(qmin, smin, lo, r)
            else:
                _dq_expire(qmax, smax, s)
                _dq_expire(qmin, smin, s)
                if np.isnan(hg[t]):
                    nan_h = t
                else:
                    _dq_push_max(qmax, smax, hg, t)
                if np.isnan(lo[t]):
                    nan_l = t
                else:
                    _dq_push_min(qmin, smin, lo, t)
            tenkan = (_sub_max(hg, qmax, smax, t - lt + 1, nan_h) + _sub_max(lo, qmin, smin, t - lt + 1, nan_l)) / 2
            kijun = (_sub_max(hg, qmax, smax, t - lk + 1, nan_h) + _sub_max(lo, qmin, smin, t - lk + 1, nan_l)) / 2
            out_tenkan[s, j] = tenkan
            out_kijun[s, j] = kijun
            out_span_a[s, j] = (tenkan + kijun) / 2
            out_span_b[s, j] = (_sub_max(hg, qmax, smax, s, nan_h) + _sub_max(lo, qmin, smin, s, nan_l)) / 2
            out_chikou[s, j] = cl[s + chikou_span_length]


def ichimoku_kinko_hyo(
    high,
    low,
    close,
    window_length: int = 52,
    tenkan_sen_length: int = 9,
    kijun_sen_length: int = 26,
    chikou_span_length: int = 26,
    high_adjustments: Adjustments | None = None,
    low_adjustments: Adjustments | None = None,
    close_adjustments: Adjustments | None = None,
) -> IchimokuKinkoHyoResult:
    """zipline ``IchimokuKinkoHyo``: returns (tenkan_sen, kijun_sen, senkou_span_a, senkou_span_b, chikou_span).

    Lengths must be in ``[0, window_length]`` (zipline's rule); ``chikou_span_length`` must also be
    ``< window_length`` (zipline would raise IndexError at compute time).
    """
    high = _as_input(high, "high")
    low = _as_input(low, "low")
    close = _as_input(close, "close")
    _check_same_shape(high, low, close)
    n, m = high.shape
    wl = _check_window(n, window_length, 1, "ichimoku_kinko_hyo")
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
    ha = _as_adjustments(high_adjustments, m, "high_adjustments")
    la = _as_adjustments(low_adjustments, m, "low_adjustments")
    ca = _as_adjustments(close_adjustments, m, "close_adjustments")
    outs = [_alloc(n - wl + 1, m) for _ in range(5)]
    ichimoku_kinko_hyo_kernel(
        high,
        low,
        close,
        wl,
        params["tenkan_sen_length"],
        params["kijun_sen_length"],
        params["chikou_span_length"],
        *ha,
        *la,
        *ca,
        *outs,
    )
    return IchimokuKinkoHyoResult(*outs)


# ---------------------------------------------------------------------------------------------------------------
# True Range
# ---------------------------------------------------------------------------------------------------------------


@njit(parallel=True, **_JIT)
def true_range_kernel(
    high,
    low,
    close,
    h_off,
    h_app,
    h_fst,
    h_lst,
    h_val,
    h_op,
    l_off,
    l_app,
    l_fst,
    l_lst,
    l_val,
    l_op,
    c_off,
    c_app,
    c_fst,
    c_lst,
    c_val,
    c_op,
    out,
):
    """nanmax(high - low, |high - prev close|, |low - prev close|) over a window of 2 rows; out is (n - 1, m)."""
    n, m = high.shape
    for j in prange(m):
        hg = _working_column(high, j, h_off)
        lo = _working_column(low, j, l_off)
        cl = _working_column(close, j, c_off)
        hp = h_off[j]
        hh = h_off[j + 1]
        lp = l_off[j]
        lh = l_off[j + 1]
        cp = c_off[j]
        ch = c_off[j + 1]
        for t in range(1, n):
            if hp < hh and h_app[hp] <= t:
                hp = apply_pending(hg, hp, hh, t, h_app, h_fst, h_lst, h_val, h_op)
            if lp < lh and l_app[lp] <= t:
                lp = apply_pending(lo, lp, lh, t, l_app, l_fst, l_lst, l_val, l_op)
            if cp < ch and c_app[cp] <= t:
                cp = apply_pending(cl, cp, ch, t, c_app, c_fst, c_lst, c_val, c_op)
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
            out[t - 1, j] = best


def true_range(
    high,
    low,
    close,
    high_adjustments: Adjustments | None = None,
    low_adjustments: Adjustments | None = None,
    close_adjustments: Adjustments | None = None,
) -> np.ndarray:
    """zipline ``TrueRange`` (window_length 2): (n - 1, n_assets)."""
    high = _as_input(high, "high")
    low = _as_input(low, "low")
    close = _as_input(close, "close")
    _check_same_shape(high, low, close)
    n, m = high.shape
    _check_window(n, 2, 2, "true_range")
    ha = _as_adjustments(high_adjustments, m, "high_adjustments")
    la = _as_adjustments(low_adjustments, m, "low_adjustments")
    ca = _as_adjustments(close_adjustments, m, "close_adjustments")
    out = _alloc(n - 1, m)
    true_range_kernel(high, low, close, *ha, *la, *ca, out)
    return out


# ---------------------------------------------------------------------------------------------------------------
# MACD signal
# ---------------------------------------------------------------------------------------------------------------


def macd_signal_window_length(slow_period: int = 26, signal_period: int = 9) -> int:
    """zipline's ``MACDSignal`` window length: ``slow_period + signal_period - 1``."""
    return int(slow_period) + int(signal_period) - 1


@njit(**_JIT)
def _ewma_sum(x, end, length, decay):
    """(sum_{i<length} decay**i * x[end - i] with NaN as 0, number of NaNs)."""
    acc = 0.0
    w = 1.0
    nan = 0
    for i in range(length):
        v = x[end - i]
        if np.isnan(v):
            nan += 1
        else:
            acc += w * v
        w *= decay
    return acc, nan


@njit(parallel=True, **_JIT)
def macd_signal_kernel(close, fast_period, slow_period, signal_period, off, app, fst, lst, val, op, out):
    """zipline's MACDSignal over windows of ``slow + signal - 1`` rows.

    For each of the last ``signal`` rows e of the window: macd(e) = EWMA_fast(close[e-fast+1..e]) -
    EWMA_slow(close[e-slow+1..e]); the output is EWMA_signal(macd) over those rows. EWMA_L uses weights
    decay**(L-1-i) (newest weight 1, normalised), decay = 1 - 2 / (1 + L). Not nan-aware: any NaN the result
    depends on makes it NaN. Running EWMA sums, re-summed on adjustments and periodically.
    """
    n, m = close.shape
    wl = slow_period + signal_period - 1
    d_f = 1.0 - 2.0 / (1.0 + fast_period)
    d_s = 1.0 - 2.0 / (1.0 + slow_period)
    d_g = 1.0 - 2.0 / (1.0 + signal_period)
    norm_f = 0.0
    w = 1.0
    for _ in range(fast_period):
        norm_f += w
        w *= d_f
    dl_f = w
    norm_s = 0.0
    w = 1.0
    for _ in range(slow_period):
        norm_s += w
        w *= d_s
    dl_s = w
    norm_g = 0.0
    w = 1.0
    for _ in range(signal_period):
        norm_g += w
        w *= d_g
    dl_g = w
    period = max(wl, signal_period * (slow_period + fast_period))
    for j in prange(m):
        x = _working_column(close, j, off)
        p = off[j]
        hi = off[j + 1]
        ring = np.empty(signal_period, np.float64)
        sum_f = 0.0
        nan_f = 0
        sum_s = 0.0
        nan_s = 0
        sum_g = 0.0
        nan_g = 0
        since = 0
        for t in range(wl - 1, n):
            s = t - wl + 1
            rebuild = t == wl - 1 or since >= period
            if p < hi and app[p] <= t:
                p = apply_pending(x, p, hi, t, app, fst, lst, val, op)
                rebuild = True
            if rebuild:
                for e in range(t - signal_period + 1, t + 1):
                    sum_f, nan_f = _ewma_sum(x, e, fast_period, d_f)
                    sum_s, nan_s = _ewma_sum(x, e, slow_period, d_s)
                    if nan_f > 0 or nan_s > 0:
                        ring[e % signal_period] = np.nan
                    else:
                        ring[e % signal_period] = sum_f / norm_f - sum_s / norm_s
                sum_g = 0.0
                nan_g = 0
                wg = 1.0
                for i in range(signal_period):
                    v = ring[(t - i) % signal_period]
                    if np.isnan(v):
                        nan_g += 1
                    else:
                        sum_g += wg * v
                    wg *= d_g
                since = 0
            else:
                v_new = x[t]
                v_old = x[t - fast_period]
                sum_f = d_f * sum_f
                if np.isnan(v_new):
                    nan_f += 1
                else:
                    sum_f += v_new
                if np.isnan(v_old):
                    nan_f -= 1
                else:
                    sum_f -= dl_f * v_old
                v_old = x[t - slow_period]
                sum_s = d_s * sum_s
                if np.isnan(v_new):
                    nan_s += 1
                else:
                    sum_s += v_new
                if np.isnan(v_old):
                    nan_s -= 1
                else:
                    sum_s -= dl_s * v_old
                if nan_f > 0 or nan_s > 0:
                    macd = np.nan
                else:
                    macd = sum_f / norm_f - sum_s / norm_s
                slot = t % signal_period
                old = ring[slot]
                ring[slot] = macd
                sum_g = d_g * sum_g
                if np.isnan(macd):
                    nan_g += 1
                else:
                    sum_g += macd
                if np.isnan(old):
                    nan_g -= 1
                else:
                    sum_g -= dl_g * old
                since += 1
            if nan_g > 0:
                out[s, j] = np.nan
            else:
                out[s, j] = sum_g / norm_g


def macd_signal(
    close,
    fast_period: int = 12,
    slow_period: int = 26,
    signal_period: int = 9,
    adjustments: Adjustments | None = None,
) -> np.ndarray:
    """zipline ``MACDSignal(fast_period, slow_period, signal_period)``.

    The window length is zipline's ``slow_period + signal_period - 1`` (see :func:`macd_signal_window_length`);
    the output is ``(n - wl + 1, n_assets)``. A period of 1 (decay 0) weights only the newest value, where zipline
    would divide by a zero weight sum.
    """
    close = _as_input(close, "close")
    fast_period, slow_period, signal_period = int(fast_period), int(slow_period), int(signal_period)
    for name, v in (("fast_period", fast_period), ("slow_period", slow_period), ("signal_period", signal_period)):
        if v < 1:
            raise ValueError(f"macd_signal: {name} must be >= 1, got {v}")
    if slow_period <= fast_period:
        raise ValueError(
            f"macd_signal: slow_period must be greater than fast_period, got slow_period={slow_period}, "
            f"fast_period={fast_period}"
        )
    n, m = close.shape
    wl = _check_window(n, macd_signal_window_length(slow_period, signal_period), 1, "macd_signal")
    adj = _as_adjustments(adjustments, m, "adjustments")
    out = _alloc(n - wl + 1, m)
    macd_signal_kernel(close, fast_period, slow_period, signal_period, *adj, out)
    return out
