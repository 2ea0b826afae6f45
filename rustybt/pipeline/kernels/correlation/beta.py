"""zipline's ``SimpleBeta`` on given returns (``vectorized_beta``): Cov(x, y) / Var(x) over the rows where both
are present, with shifted running sums and monotonic deques (for "x is constant")."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rustybt.pipeline.kernels._deque import dq_clear, dq_expire, dq_pair, dq_push_max, dq_push_min
from rustybt.pipeline.kernels._segments import next_segment, segment_cursor, working_column
from rustybt.pipeline.kernels.correlation._regressor import one_output

__all__ = ["simple_beta", "simple_beta_kernel"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_JIT)
def _beta_run(yc, xc, wl, t0, t1, oc, allowed_missing, qmax, smax, qmin, smin):
    """Window ends ``t0 <= t < t1`` of one asset: sums rebuilt at ``t0`` and every wl rows."""
    kx = 0.0
    ky = 0.0
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    sxy = 0.0
    cnt = 0
    since = 0
    for t in range(t0, t1):
        s = t - wl + 1
        if t == t0 or since >= wl:
            dq_clear(smax)
            dq_clear(smin)
            kx = 0.0
            ky = 0.0
            for r in range(s, t + 1):
                if not (np.isnan(xc[r]) or np.isnan(yc[r])):
                    kx = xc[r]
                    ky = yc[r]
                    break
            sx = 0.0
            sy = 0.0
            sxx = 0.0
            sxy = 0.0
            cnt = 0
            for r in range(s, t + 1):
                if not (np.isnan(xc[r]) or np.isnan(yc[r])):
                    a = xc[r] - kx
                    b = yc[r] - ky
                    sx += a
                    sy += b
                    sxx += a * a
                    sxy += a * b
                    cnt += 1
                    dq_push_max(qmax, smax, xc, r)
                    dq_push_min(qmin, smin, xc, r)
            since = 0
        else:
            r = s - 1
            if not (np.isnan(xc[r]) or np.isnan(yc[r])):
                a = xc[r] - kx
                b = yc[r] - ky
                sx -= a
                sy -= b
                sxx -= a * a
                sxy -= a * b
                cnt -= 1
            dq_expire(qmax, smax, s)
            dq_expire(qmin, smin, s)
            if not (np.isnan(xc[t]) or np.isnan(yc[t])):
                a = xc[t] - kx
                b = yc[t] - ky
                sx += a
                sy += b
                sxx += a * a
                sxy += a * b
                cnt += 1
                dq_push_max(qmax, smax, xc, t)
                dq_push_min(qmin, smin, xc, t)
            since += 1
        if wl - cnt > allowed_missing or cnt == 0 or xc[qmax[smax[0]]] == xc[qmin[smin[0]]]:
            oc[s] = np.nan
        else:
            mxs = sx / cnt
            var = sxx / cnt - mxs * mxs
            cov = sxy / cnt - mxs * (sy / cnt)
            oc[s] = cov / var if var > 0.0 else np.nan


@njit(parallel=True, **_JIT)
def simple_beta_kernel(target, regressor, wl, target_adjustments, regressor_adjustments, out, allowed_missing):
    """zipline's ``vectorized_beta``: Cov(x, y) / Var(x) over rows where both are present; NaN when more than
    ``allowed_missing`` rows miss either, or when x is constant over the present rows."""
    single = regressor.shape[1] == 1
    for j in prange(target.shape[1]):
        jr = np.int64(0) if single else np.int64(j)
        qmin, smin, qmax, smax = dq_pair(wl)
        yc = working_column(target, target_adjustments, j)
        xc = working_column(regressor, regressor_adjustments, jr)
        cursor = segment_cursor((target_adjustments, regressor_adjustments), (np.int64(j), jr))
        t0 = wl - 1
        while t0 < yc.shape[0]:
            t1 = next_segment((yc, xc), (target_adjustments, regressor_adjustments), (np.int64(j), jr), cursor, t0)
            _beta_run(yc, xc, wl, t0, t1, out[:, j], allowed_missing, qmax, smax, qmin, smin)
            t0 = t1


def simple_beta(
    target,
    regressor,
    window_length: int,
    allowed_missing_percentage: float = 0.25,
    target_adjustments=None,
    regressor_adjustments=None,
) -> np.ndarray:
    """zipline ``SimpleBeta(target, regression_length, allowed_missing_percentage)`` on given returns.

    ``target`` holds the assets' returns (dependents), ``regressor`` the target asset's returns (independent);
    ``window_length >= 3``; ``allowed_missing = int(allowed_missing_percentage * window_length)``.
    """
    pct = float(allowed_missing_percentage)
    if not 0.0 <= pct <= 1.0:
        raise ValueError(f"simple_beta: allowed_missing_percentage must be in [0, 1], got {pct}")
    return one_output(
        simple_beta_kernel, "simple_beta", 3, target, regressor, window_length, target_adjustments,
        regressor_adjustments, lambda wl: int(pct * wl),
    )  # fmt: skip
