"""Student t two-sided p-value for the regression kernels (regularised incomplete beta, Lentz continued fraction),
as scipy's ``2 * stdtr(df, -|t|)``."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["t_two_sided_p"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_JIT)
def _betacf(a, b, x):
    fpmin = 1e-300
    eps = 1e-16
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < fpmin:
        d = fpmin
    d = 1.0 / d
    h = d
    for m in range(1, 100000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < fpmin:
            d = fpmin
        c = 1.0 + aa / c
        if abs(c) < fpmin:
            c = fpmin
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < fpmin:
            d = fpmin
        c = 1.0 + aa / c
        if abs(c) < fpmin:
            c = fpmin
        d = 1.0 / d
        de = d * c
        h *= de
        if abs(de - 1.0) < eps:
            break
    return h


@njit(**_JIT)
def _betainc_reg(a, b, x, xc):
    """Regularised incomplete beta I_x(a, b); ``xc`` is ``1 - x`` computed without cancellation."""
    if x <= 0.0:
        return 0.0
    if xc <= 0.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(xc)
    bt = math.exp(lbt)
    if x < (a + 1.0) / (a + b + 2.0):
        return bt * _betacf(a, b, x) / a
    return 1.0 - bt * _betacf(b, a, xc) / b


@njit(**_JIT)
def t_two_sided_p(t, df):
    """2 * P(T_df > |t|) (scipy's ``2 * stdtr(df, -|t|)``)."""
    if np.isnan(t):
        return np.nan
    tt = t * t
    if np.isinf(tt):
        return 0.0
    den = df + tt
    return _betainc_reg(0.5 * df, 0.5, df / den, tt / den)
