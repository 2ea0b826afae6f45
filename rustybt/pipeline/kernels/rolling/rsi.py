"""zipline's ``RSI`` over each window of closes, with running sums of the up and down moves."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._arrays import window_out
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column
from rustybt.pipeline.kernels.rolling.moments import RESUM_PERIOD

__all__ = ["rsi", "rsi_kernel"]

_NAN = np.nan
_INF = np.inf


# ---- RSI -------------------------------------------------------------------------------------------------------
#
# zipline: ups = nanmean(clip(diffs, 0, inf)), downs = abs(nanmean(clip(diffs, -inf, 0))), 100 - 100 / (1 + ups /
# downs). With su / sd the sums of the positive / negative diffs that equals 100 * su / (su + |sd|): one division
# instead of four, and the same special values (0 / 0 -> NaN when flat, 100 when no down move, 0 when no up move).


@njit(cache=True, nogil=True, error_model="numpy")
def _rsi_direct(x, s, e):
    su = 0.0
    sd = 0.0
    nv = 0
    for r in range(s + 1, e):
        d = x[r] - x[r - 1]
        if d == d:
            nv += 1
            if d > 0.0:
                su += d
            elif d < 0.0:
                sd += d
    if nv == 0:
        return _NAN
    ups = su / nv
    downs = abs(sd / nv)
    return 100.0 - (100.0 / (1.0 + (ups / downs)))


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _rsi_value(x, i, wl, su, sd, nv, nup, ndn, nbad):
    if nbad > 0:  # an infinite diff in the window
        return _rsi_direct(x, i, i + wl)
    if nv == 0:
        return _NAN
    up = su if nup > 0 else 0.0
    down = -sd if ndn > 0 else 0.0
    return 100.0 * up / (up + down)


@njit(cache=True, nogil=True, error_model="numpy")
def _fast_rsi(xa, xb, xc, xd, o, su, sd, nup, ndn):
    """Slide while every diff is finite (diff in: ``xa - xb``, out: ``xc - xd``); stop at the first non-finite
    incoming diff and return the rows done."""
    for i in range(o.shape[0]):
        dv = xa[i] - xb[i]
        if dv - dv != 0.0:
            return i, su, sd, nup, ndn
        du = xc[i] - xd[i]
        upv = dv > 0.0
        upu = du > 0.0
        dnv = dv < 0.0
        dnu = du < 0.0
        su += (dv if upv else 0.0) - (du if upu else 0.0)
        sd += (dv if dnv else 0.0) - (du if dnu else 0.0)
        nup += np.int64(upv) - np.int64(upu)
        ndn += np.int64(dnv) - np.int64(dnu)
        up = su if nup > 0 else 0.0
        down = -sd if ndn > 0 else 0.0
        o[i] = 100.0 * up / (up + down)
    return o.shape[0], su, sd, nup, ndn


@njit(cache=True, nogil=True, error_model="numpy")
def _general_rsi(xa, xb, xc, xd, o, x, base, wl, su, sd, nv, nup, ndn, nbad):
    """NaN-aware slide until every diff in the window is finite again; ``base`` is the first row of ``o[0]``'s
    window."""
    for i in range(o.shape[0]):
        dv = xa[i] - xb[i]
        du = xc[i] - xd[i]
        fv = dv - dv == 0.0
        fu = du - du == 0.0
        upv = fv & (dv > 0.0)
        upu = fu & (du > 0.0)
        dnv = fv & (dv < 0.0)
        dnu = fu & (du < 0.0)
        su += (dv if upv else 0.0) - (du if upu else 0.0)
        sd += (dv if dnv else 0.0) - (du if dnu else 0.0)
        nup += np.int64(upv) - np.int64(upu)
        ndn += np.int64(dnv) - np.int64(dnu)
        nv += np.int64(dv == dv) - np.int64(du == du)
        nbad += np.int64(abs(dv) == _INF) - np.int64(abs(du) == _INF)
        o[i] = _rsi_value(x, base + i, wl, su, sd, nv, nup, ndn, nbad)
        if nv - nbad == wl - 1:
            return i + 1, su, sd, nv, nup, ndn, nbad
    return o.shape[0], su, sd, nv, nup, ndn, nbad


@njit(cache=True, nogil=True, error_model="numpy")
def _rsi_run(x, wl, t0, t1, oc):
    """``su``/``sd`` sum the finite positive / negative diffs, ``nup``/``ndn`` count them (0 -> the sum is exactly
    0), ``nv`` counts the non-NaN diffs and ``nbad`` the infinite ones."""
    if wl < 2:  # no diff: nanmean of nothing
        for t in range(t0, t1):
            oc[t - wl + 1] = _NAN
        return
    period = max(4 * wl, RESUM_PERIOD)
    q = t0
    while q < t1:
        e = min(q + period, t1)
        start = q - wl + 1
        su = 0.0
        sd = 0.0
        nv = 0
        nup = 0
        ndn = 0
        nbad = 0
        for r in range(start + 1, q + 1):
            d = x[r] - x[r - 1]
            if d - d == 0.0:
                nv += 1
                if d > 0.0:
                    su += d
                    nup += 1
                elif d < 0.0:
                    sd += d
                    ndn += 1
            elif d == d:
                nv += 1
                nbad += 1
        oc[start] = _rsi_value(x, start, wl, su, sd, nv, nup, ndn, nbad)
        # diff entering at t: x[t] - x[t-1]; leaving: x[t-wl+1] - x[t-wl]
        xa = x[q + 1 : e]
        xb = x[q : e - 1]
        xc = x[q + 2 - wl : e + 1 - wl]
        xd = x[q + 1 - wl : e - wl]
        o = oc[q + 2 - wl : e - wl + 1]
        m = e - q - 1
        i = 0
        while i < m:
            if nv - nbad == wl - 1:  # every diff in the window is finite: lean loop
                di, su, sd, nup, ndn = _fast_rsi(xa[i:], xb[i:], xc[i:], xd[i:], o[i:], su, sd, nup, ndn)
                i += di
            if i < m:
                di, su, sd, nv, nup, ndn, nbad = _general_rsi(
                    xa[i:], xb[i:], xc[i:], xd[i:], o[i:], x, q + 2 - wl + i, wl, su, sd, nv, nup, ndn, nbad
                )
                i += di
        q = e


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rsi_kernel(data, wl, adjustments, out):
    """zipline ``RSI``: ``100 - 100 / (1 + ups / downs)`` over the diffs of each window (wl=1 -> NaN)."""
    for j in prange(data.shape[1]):
        x = working_column(data, adjustments, j)
        cursor = segment_cursor((adjustments,), (j,))
        t0 = wl - 1
        while t0 < x.shape[0]:
            t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
            _rsi_run(x, wl, t0, t1, out[:, j])
            t0 = t1


def rsi(closes, wl=15, adjustments=None) -> np.ndarray:
    """zipline ``RSI`` per window (``wl`` closes give ``wl - 1`` diffs; the default is zipline's 15)."""
    return window_out(rsi_kernel, {"data": closes}, wl, {"data": adjustments})
