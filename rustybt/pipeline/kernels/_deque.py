"""Monotonic deques of row indices for sliding min / max (ties keep the earliest row), in Numba.

A deque is an int64 ring buffer ``q`` of capacity ``wl + 1`` and a state ``st = [head, size]``. Pushing a row pops
the rows behind it that it dominates, so the front is always the window's extreme: O(1) amortized per row.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["dq_clear", "dq_expire", "dq_first_at_least", "dq_pair", "dq_push_max", "dq_push_min"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_JIT)
def dq_pair(wl):
    """An empty min-deque and max-deque for windows of ``wl`` rows: ``(qmin, smin, qmax, smax)``."""
    return np.empty(wl + 1, np.int64), np.zeros(2, np.int64), np.empty(wl + 1, np.int64), np.zeros(2, np.int64)


@njit(**_JIT)
def dq_clear(st):
    st[0] = 0
    st[1] = 0


@njit(**_JIT)
def dq_push_max(q, st, x, i):
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
def dq_push_min(q, st, x, i):
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
def dq_expire(q, st, start):
    """Drop rows ``< start`` from the front."""
    cap = q.shape[0]
    while st[1] > 0 and q[st[0]] < start:
        st[0] = (st[0] + 1) % cap
        st[1] -= 1


@njit(**_JIT)
def dq_first_at_least(q, st, start):
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
