"""Weighted rolling means: zipline's ``LinearWeightedMovingAverage``, ``WeightedAverageValue`` / ``VWAP`` and
``AverageDollarVolume``, with running sums as in :mod:`rustybt.pipeline.kernels.rolling.moments`."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._arrays import window_out
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column
from rustybt.pipeline.kernels.rolling.moments import RESUM_PERIOD

__all__ = [
    "average_dollar_volume",
    "linear_weighted_moving_average",
    "linear_weighted_moving_average_kernel",
    "vwap",
    "weighted_average_kernel",
    "weighted_average_value",
]

_INF = np.inf


# ---- linear weighted moving average -----------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def _lwma_direct(x, s, e, norm):
    total = 0.0
    for r in range(s, e):
        p = x[r] * (r - s + 1.0)
        if p == p:
            total += p
    return total / norm


@njit(cache=True, nogil=True, error_model="numpy")
def _fast_lwma(xin, xout, o, wl, k, s1, ws, inv_norm):
    """Slide while every value is finite (then the weights sum to the normaliser: out = k + ws / norm); stop at
    the first non-finite incoming value and return the rows done."""
    for i in range(o.shape[0]):
        v = xin[i]
        if v - v != 0.0:
            return i, s1, ws
        ws += wl * (v - k) - s1
        s1 += v - xout[i]
        o[i] = k + ws * inv_norm
    return o.shape[0], s1, ws


@njit(cache=True, nogil=True, error_model="numpy")
def _general_lwma(xin, xout, o, x, base, wl, norm, inv_norm, k, s1, ws, nf, wc, nnan):
    """NaN-aware slide until the window is all finite again; ``base`` is the first row of ``o[0]``'s window."""
    for i in range(o.shape[0]):
        v = xin[i]
        u = xout[i]
        fv = v - v == 0.0
        fu = u - u == 0.0
        if nf == np.int64(fu):  # no finite value stays: empty the sums and re-shift to the new value
            s1 = 0.0
            ws = 0.0
            wc = 0
            nf = 0
            if fv:
                k = v
            fu = False
        du = u - k if fu else 0.0
        dv = v - k if fv else 0.0
        ws += wl * dv - s1
        wc += wl * np.int64(fv) - nf
        s1 += dv - du
        nf += np.int64(fv) - np.int64(fu)
        nnan += np.int64(v != v) - np.int64(u != u)
        if nf + nnan < wl:  # an infinity in the window
            o[i] = _lwma_direct(x, base + i, base + i + wl, norm)
        else:
            o[i] = (ws + k * wc) * inv_norm
        if nf == wl:
            return i + 1, k, s1, ws, nf, wc, nnan
    return o.shape[0], k, s1, ws, nf, wc, nnan


@njit(cache=True, nogil=True, error_model="numpy")
def _lwma_run(x, wl, t0, t1, oc):
    """zipline ``LinearWeightedMovingAverage``: nansum(x * [1..wl]) / (wl (wl + 1) / 2); NaNs weigh nothing.

    Sliding by one row lowers every weight by one: ``ws -= s1`` (the leaving value's weight drops to 0), and the
    new value enters with weight ``wl``. ``wc`` is the total weight of the finite values (for the shift ``k``).
    """
    norm = (wl * (wl + 1)) / 2
    inv_norm = 1.0 / norm
    period = max(4 * wl, RESUM_PERIOD)
    b = t0
    while b < t1:
        e = min(b + period, t1)
        start = b - wl + 1
        k = 0.0
        for r in range(start, b + 1):
            v = x[r]
            if v - v == 0.0:
                k = v
                break
        s1 = 0.0  # sum of (x - k) over the finite values
        ws = 0.0  # sum of weight * (x - k) over the finite values
        nf = 0
        wc = 0
        nnan = 0
        for r in range(start, b + 1):
            v = x[r]
            if v - v == 0.0:
                w = r - start + 1
                dv = v - k
                s1 += dv
                ws += w * dv
                nf += 1
                wc += w
            elif v != v:
                nnan += 1
        if nf + nnan < wl:
            oc[start] = _lwma_direct(x, start, b + 1, norm)
        else:
            oc[start] = (ws + k * wc) * inv_norm
        xin = x[b + 1 : e]
        xout = x[b + 1 - wl : e - wl]
        o = oc[b + 2 - wl : e - wl + 1]
        m = e - b - 1
        i = 0
        while i < m:
            if nf == wl:  # every value in the window is finite: lean loop
                di, s1, ws = _fast_lwma(xin[i:], xout[i:], o[i:], wl, k, s1, ws, inv_norm)
                i += di
            if i < m:
                di, k, s1, ws, nf, wc, nnan = _general_lwma(
                    xin[i:], xout[i:], o[i:], x, b + 2 - wl + i, wl, norm, inv_norm, k, s1, ws, nf, wc, nnan
                )
                i += di
        b = e


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def linear_weighted_moving_average_kernel(data, wl, adjustments, out):
    """zipline ``LinearWeightedMovingAverage`` over each window (all-NaN window -> 0.0, as zipline)."""
    for j in prange(data.shape[1]):
        x = working_column(data, adjustments, j)
        cursor = segment_cursor((adjustments,), (j,))
        t0 = wl - 1
        while t0 < x.shape[0]:
            t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
            _lwma_run(x, wl, t0, t1, out[:, j])
            t0 = t1


# ---- weighted average value (VWAP) / average dollar volume ------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def _wav_direct(b, w, s, e, adv, wl):
    num = 0.0
    den = 0.0
    for r in range(s, e):
        p = b[r] * w[r]
        if p == p:
            num += p
        ww = w[r]
        if ww == ww:
            den += ww
    if adv:
        return num / wl
    return num / den


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _wav_value(b, w, i, wl, adv, sp, sw, nzp, nzw, pbad, wbad):
    if pbad > 0 or (wbad > 0 and not adv):  # an infinity among the products or weights
        return _wav_direct(b, w, i, i + wl, adv, wl)
    if adv:
        return sp * (1.0 / wl)
    return sp / sw


@njit(cache=True, nogil=True, error_model="numpy")
def _fast_wav(bin_, win, bout, wout, o, adv, inv_wl, sp, sw, nzp, nzw):
    """Slide while every product and weight in the window is finite (rows in: ``bin_``/``win``, out:
    ``bout``/``wout``); stop at the first incoming row that is not and return the rows done."""
    for i in range(o.shape[0]):
        wv = win[i]
        pv = bin_[i] * wv
        if pv - pv != 0.0 or wv - wv != 0.0:
            return i, sp, sw, nzp, nzw
        wu = wout[i]
        pu = bout[i] * wu
        sp += pv - pu
        nzp += np.int64(pv != 0.0) - np.int64(pu != 0.0)
        sp = sp if nzp > 0 else 0.0
        if adv:
            o[i] = sp * inv_wl
        else:
            sw += wv - wu
            nzw += np.int64(wv != 0.0) - np.int64(wu != 0.0)
            sw = sw if nzw > 0 else 0.0
            o[i] = sp / sw
    return o.shape[0], sp, sw, nzp, nzw


@njit(cache=True, nogil=True, error_model="numpy")
def _general_wav(b, w, bin_, win, bout, wout, o, base, wl, adv, sp, sw, nzp, nzw, pbad, wbad, nfin):
    """NaN-aware slide until the window is all finite again; ``base`` is the first row of ``o[0]``'s window.
    ``nfin`` counts the rows whose product and weight are both finite; windows holding an infinity are evaluated
    directly."""
    for i in range(o.shape[0]):
        wv = win[i]
        wu = wout[i]
        pv = bin_[i] * wv
        pu = bout[i] * wu
        fpv = pv - pv == 0.0
        fpu = pu - pu == 0.0
        fwv = wv - wv == 0.0
        fwu = wu - wu == 0.0
        sp += (pv if fpv else 0.0) - (pu if fpu else 0.0)
        nzp += np.int64(fpv & (pv != 0.0)) - np.int64(fpu & (pu != 0.0))
        pbad += np.int64(abs(pv) == _INF) - np.int64(abs(pu) == _INF)
        sp = sp if nzp > 0 else 0.0
        sw += (wv if fwv else 0.0) - (wu if fwu else 0.0)
        nzw += np.int64(fwv & (wv != 0.0)) - np.int64(fwu & (wu != 0.0))
        wbad += np.int64(abs(wv) == _INF) - np.int64(abs(wu) == _INF)
        sw = sw if nzw > 0 else 0.0
        nfin += np.int64(fpv & fwv) - np.int64(fpu & fwu)
        o[i] = _wav_value(b, w, base + i, wl, adv, sp, sw, nzp, nzw, pbad, wbad)
        if nfin == wl:
            return i + 1, sp, sw, nzp, nzw, pbad, wbad, nfin
    return o.shape[0], sp, sw, nzp, nzw, pbad, wbad, nfin


@njit(cache=True, nogil=True, error_model="numpy")
def _wav_run(b, w, wl, t0, t1, oc, adv):
    """``nansum(b * w) / nansum(w)`` (adv=False) or ``nansum(b * w) / wl`` (adv=True) over each window.

    Sums run over finite products / weights; ``nz*`` count the non-zero ones (0 -> the sum is exactly 0, so an
    all-zero-volume window gives 0 / 0 = NaN as in numpy), ``*bad`` count the infinities, ``nfin`` the rows whose
    product and weight are both finite (all of them: the lean loop :func:`_fast_wav`).
    """
    period = max(4 * wl, RESUM_PERIOD)
    inv_wl = 1.0 / wl
    q = t0
    while q < t1:
        e = min(q + period, t1)
        start = q - wl + 1
        sp = 0.0
        sw = 0.0
        nzp = 0
        nzw = 0
        pbad = 0
        wbad = 0
        nfin = 0
        for r in range(start, q + 1):
            ww = w[r]
            p = b[r] * ww
            fp = p - p == 0.0
            fw = ww - ww == 0.0
            if fp:
                sp += p
                nzp += np.int64(p != 0.0)
            elif p == p:
                pbad += 1
            if fw:
                sw += ww
                nzw += np.int64(ww != 0.0)
            elif ww == ww:
                wbad += 1
            nfin += np.int64(fp & fw)
        oc[start] = _wav_value(b, w, start, wl, adv, sp, sw, nzp, nzw, pbad, wbad)
        bin_ = b[q + 1 : e]
        win = w[q + 1 : e]
        bout = b[q + 1 - wl : e - wl]
        wout = w[q + 1 - wl : e - wl]
        o = oc[q + 2 - wl : e - wl + 1]
        m = e - q - 1
        i = 0
        while i < m:
            if nfin == wl:
                di, sp, sw, nzp, nzw = _fast_wav(
                    bin_[i:], win[i:], bout[i:], wout[i:], o[i:], adv, inv_wl, sp, sw, nzp, nzw
                )
                i += di
            if i < m:
                di, sp, sw, nzp, nzw, pbad, wbad, nfin = _general_wav(
                    b, w, bin_[i:], win[i:], bout[i:], wout[i:], o[i:], q + 2 - wl + i, wl, adv,
                    sp, sw, nzp, nzw, pbad, wbad, nfin,
                )  # fmt: skip
                i += di
        q = e


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def weighted_average_kernel(base, weight, wl, base_adjustments, weight_adjustments, out, dollar_volume):
    """``nansum(base * weight) / nansum(weight)`` over each window (zipline ``WeightedAverageValue``/``VWAP``), or
    ``nansum(close * volume) / wl`` when ``dollar_volume`` (zipline ``AverageDollarVolume``)."""
    for j in prange(base.shape[1]):
        b = working_column(base, base_adjustments, j)
        w = working_column(weight, weight_adjustments, j)
        cursor = segment_cursor((base_adjustments, weight_adjustments), (j, j))
        t0 = wl - 1
        while t0 < b.shape[0]:
            t1 = next_segment((b, w), (base_adjustments, weight_adjustments), (j, j), cursor, t0)
            if dollar_volume:  # the flag as a constant: each variant's loops without the other's branches
                _wav_run(b, w, wl, t0, t1, out[:, j], True)
            else:
                _wav_run(b, w, wl, t0, t1, out[:, j], False)
            t0 = t1


def linear_weighted_moving_average(data, wl, adjustments=None) -> np.ndarray:
    """zipline ``LinearWeightedMovingAverage``: ``nansum(x * [1, ..., wl]) / (wl * (wl + 1) / 2)``."""
    return window_out(linear_weighted_moving_average_kernel, {"data": data}, wl, {"data": adjustments})


def weighted_average_value(base, weight, wl, base_adjustments=None, weight_adjustments=None) -> np.ndarray:
    """zipline ``WeightedAverageValue``: ``nansum(base * weight) / nansum(weight)`` per window."""
    inputs = {"base": base, "weight": weight}
    adjustments = {"base": base_adjustments, "weight": weight_adjustments}
    return window_out(weighted_average_kernel, inputs, wl, adjustments, False)


def vwap(close, volume, wl, close_adjustments=None, volume_adjustments=None) -> np.ndarray:
    """zipline ``VWAP``: :func:`weighted_average_value` of close weighted by volume."""
    inputs = {"close": close, "volume": volume}
    adjustments = {"close": close_adjustments, "volume": volume_adjustments}
    return window_out(weighted_average_kernel, inputs, wl, adjustments, False)


def average_dollar_volume(close, volume, wl, close_adjustments=None, volume_adjustments=None) -> np.ndarray:
    """zipline ``AverageDollarVolume``: ``nansum(close * volume) / wl`` per window."""
    inputs = {"close": close, "volume": volume}
    adjustments = {"close": close_adjustments, "volume": volume_adjustments}
    return window_out(weighted_average_kernel, inputs, wl, adjustments, True)
