"""Rolling min / max and zipline's ``MaxDrawdown``: two-stack sliding aggregation, O(1) amortized per row.

Every wl window ends the "front" is rebuilt as the suffix aggregates of the current window; the rows pushed since
are summarised by their running aggregate. Combining the front suffix at the window start with that running
aggregate gives the window's value: branch-free for min/max (a monotonic deque needs a data-dependent pop loop
per row).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._arrays import window_out
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column

__all__ = ["max_drawdown", "max_drawdown_kernel", "rolling_extreme_kernel", "rolling_max", "rolling_min"]

_NAN = np.nan
_INF = np.inf


@njit(cache=True, nogil=True, error_model="numpy")
def _extreme_block(win, nxt, o, sign, suf, lv):
    """Outputs for the window ``win`` (length wl) and the next ``len(nxt)`` (< wl) windows, which add the rows
    ``nxt`` one by one: ``o[j] = max(suffix max of win from j, max of nxt[:j])``. ``lv`` is the position (relative
    to ``win``) of the last non-NaN value in ``win`` (-1: none); a window without one gives NaN."""
    neg_inf = -_INF
    wl = win.shape[0]
    acc = neg_inf
    for q in range(wl - 1, -1, -1):
        w = win[q] * sign
        w = w if w == w else neg_inf
        acc = acc if acc > w else w  # strict '>' compiles to maxsd
        suf[q] = acc
    o[0] = acc * sign if lv >= 0 else _NAN
    back = neg_inf
    for j in range(nxt.shape[0]):
        v = nxt[j] * sign
        if v == v:
            lv = wl + j
        else:
            v = neg_inf
        back = back if back > v else v
        f = suf[j + 1]
        m = f if f > back else back
        o[j + 1] = m * sign if lv >= j + 1 else _NAN


@njit(cache=True, nogil=True, error_model="numpy")
def _extreme_run(x, wl, t0, t1, oc, sign, suf):
    """nanmax of ``sign * x`` times ``sign`` (sign=1: nanmax, sign=-1: nanmin); ``suf`` is scratch of length wl.

    Blocks of wl window ends: the first window's suffix maxima are computed once, and each later window of the
    block is max(suffix max from its start, running max of the rows added since): O(1) per row, branch-free.
    """
    t = t0
    while t < t1:
        s = t - wl + 1
        lv = -1
        for q in range(wl - 1, -1, -1):
            if x[s + q] == x[s + q]:
                lv = q
                break
        e = min(t + wl, t1)
        _extreme_block(x[s : t + 1], x[t + 1 : e], oc[s : e - wl + 1], sign, suf, lv)
        t = e


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def rolling_extreme_kernel(data, wl, adjustments, out, sign):
    """``np.nanmax`` (sign=1.0) or ``np.nanmin`` (sign=-1.0) over each window (all-NaN window -> NaN)."""
    for j in prange(data.shape[1]):
        suf = np.empty(wl, dtype=np.float64)
        x = working_column(data, adjustments, j)
        cursor = segment_cursor((adjustments,), (j,))
        t0 = wl - 1
        while t0 < x.shape[0]:
            t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
            _extreme_run(x, wl, t0, t1, out[:, j], sign, suf)
            t0 = t1


# ---- max drawdown: two-stack sliding aggregation -----------------------------------------------------------------
#
# A segment's summary is (max, min, argmin, best, end): best = max over i of (running max up to i) - x_i, end = the
# first i attaining it; NaNs are the identity (-inf, inf, -1, -inf, -1). Summaries combine associatively, so the
# window [s, t] = front-suffix[s] (rebuilt every wl rows) combined with the summary of the rows pushed since.


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _dd_combine(amx, amn, aam, abs_, abe, bmx, bmn, bam, bbs, bbe):
    """Summary of segment A followed by segment B."""
    mx = amx if amx >= bmx else bmx
    a_min = amn <= bmn
    mn = amn if a_min else bmn
    am = aam if a_min else bam
    cross = amx - bmn  # a peak in A, the trough at B's (first) minimum
    best = abs_ if abs_ >= bbs else bbs
    best = best if best >= cross else cross
    end_b = bbe if bbs == best else bam
    end_b = bam if (cross == best and bam < end_b) else end_b
    end = abe if abs_ == best else end_b  # on ties the earliest end wins (numpy's nanargmax)
    return mx, mn, am, best, end


@njit(cache=True, nogil=True, error_model="numpy")
def _dd_direct(x, s, e):
    """zipline ``MaxDrawdown.compute`` on ``x[s:e]`` verbatim (used for windows holding an infinity)."""
    runmax = _NAN
    best = -_INF
    end = s
    for r in range(s, e):
        v = x[r]
        if runmax != runmax or v > runmax:  # np.fmax.accumulate
            runmax = v
        dd = runmax - v
        if dd != dd:
            dd = -_INF
        if dd > best:
            best = dd
            end = r
    peak = _NAN
    for r in range(s, end + 1):
        v = x[r]
        if v == v and (peak != peak or v > peak):
            peak = v
    return (peak - x[end]) / x[end]


@njit(cache=True, nogil=True, error_model="numpy")
def _dd_run(x, wl, t0, t1, oc, fmx, fmn, fam, fbs, fbe):
    if t0 >= t1:
        return
    fe = -1  # last row of the front stack; -1 forces a rebuild at t0
    base = 0
    bmx = -_INF
    bmn = _INF
    bam = -1
    bbs = -_INF
    bbe = -1
    ninf = 0
    for r in range(t0 - wl + 1, t0):
        v = x[r]
        ninf += np.int64(abs(v) == _INF)
    for t in range(t0, t1):
        s = t - wl + 1
        v = x[t]
        ninf += np.int64(abs(v) == _INF)
        if t > t0:
            u = x[t - wl]
            ninf -= np.int64(abs(u) == _INF)
        if s > fe:
            fe = t
            base = s
            amx = -_INF
            amn = _INF
            aam = -1
            abs_ = -_INF
            abe = -1
            for r in range(t, s - 1, -1):
                xv = x[r]
                if xv == xv:
                    amx, amn, aam, abs_, abe = _dd_combine(xv, xv, r, 0.0, r, amx, amn, aam, abs_, abe)
                q = r - base
                fmx[q] = amx
                fmn[q] = amn
                fam[q] = aam
                fbs[q] = abs_
                fbe[q] = abe
            bmx = -_INF
            bmn = _INF
            bam = -1
            bbs = -_INF
            bbe = -1
        elif v == v:
            bmx, bmn, bam, bbs, bbe = _dd_combine(bmx, bmn, bam, bbs, bbe, v, v, t, 0.0, t)
        q = s - base
        _, _, _, best, end = _dd_combine(fmx[q], fmn[q], fam[q], fbs[q], fbe[q], bmx, bmn, bam, bbs, bbe)
        if ninf > 0:
            oc[s] = _dd_direct(x, s, t + 1)
        elif best == -_INF:
            oc[s] = _NAN
        else:
            oc[s] = best / x[end]


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def max_drawdown_kernel(data, wl, adjustments, out):
    """zipline ``MaxDrawdown``: largest (running max - x), first such row ``e``, divided by ``x[e]``."""
    for j in prange(data.shape[1]):
        fmx = np.empty(wl, dtype=np.float64)
        fmn = np.empty(wl, dtype=np.float64)
        fam = np.empty(wl, dtype=np.int64)
        fbs = np.empty(wl, dtype=np.float64)
        fbe = np.empty(wl, dtype=np.int64)
        x = working_column(data, adjustments, j)
        cursor = segment_cursor((adjustments,), (j,))
        t0 = wl - 1
        while t0 < x.shape[0]:
            t1 = next_segment((x,), (adjustments,), (j,), cursor, t0)
            _dd_run(x, wl, t0, t1, out[:, j], fmx, fmn, fam, fbs, fbe)
            t0 = t1


def rolling_min(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nanmin`` (all-NaN window -> NaN)."""
    return window_out(rolling_extreme_kernel, {"data": data}, wl, {"data": adjustments}, -1.0)


def rolling_max(data, wl, adjustments=None) -> np.ndarray:
    """Rolling ``np.nanmax`` (all-NaN window -> NaN)."""
    return window_out(rolling_extreme_kernel, {"data": data}, wl, {"data": adjustments}, 1.0)


def max_drawdown(data, wl, adjustments=None) -> np.ndarray:
    """zipline ``MaxDrawdown`` per window."""
    return window_out(max_drawdown_kernel, {"data": data}, wl, {"data": adjustments})
