"""Recycling of large result arrays within and across pipeline runs.

A run computes a dozen or more ``(dates x assets)`` arrays of the same few shapes, and most become garbage soon
after they are made (an output column once gathered, an intermediate once its last consumer ran). Handing a fresh
50 MB array to each kernel costs a page fault per page, and under memory pressure the OS's page compaction can
make that cost many times the kernel's own run time. While a pool is active (:func:`pooled`, entered by the
engine for each run), arrays the engine releases are kept and handed out again by :func:`empty` / :func:`full`
for the next request of the same shape, dtype and order. Each engine keeps its pool between runs (bounded by
``DEFAULT_MAX_BYTES``), so running a pipeline again reuses the previous run's memory.

An array is only recycled when nothing else refers to it (CPython reference count) and it owns its memory, so a
value a user kept from a custom factor, or a view of one, is never overwritten.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

__all__ = ["ArrayPool", "empty", "full", "pooled"]

#: arrays smaller than this are not worth recycling
MIN_BYTES = 1 << 20
#: what a run's pool may hold: a few result arrays (it trades a little peak memory for no page faults)
DEFAULT_MAX_BYTES = 192 << 20


class ArrayPool:
    """Free arrays by ``(shape, dtype, order)``, bounded by ``max_bytes``."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._free: dict[tuple, list[np.ndarray]] = {}
        self._bytes = 0
        self.reused = 0  # statistics, for tests and benchmarks
        self.released = 0
        self._lock = threading.Lock()

    def take(self, shape: tuple, dtype, order: str) -> np.ndarray | None:
        with self._lock:  # an engine's pool may serve runs in several threads
            stack = self._free.get((tuple(shape), np.dtype(dtype), order))
            if not stack:
                return None
            arr = stack.pop()
            self._bytes -= arr.nbytes
            self.reused += 1
            return arr

    def release(self, value) -> bool:
        """Keep ``value`` for reuse if it is a large array that owns its memory and nobody else refers to it.

        The caller must hold no other reference to ``value`` than the argument it passes (pass the result of
        ``dict.pop`` directly, not a variable it keeps).
        """
        if type(value) is not np.ndarray or sys.getrefcount(value) > _UNREFERENCED:
            return False
        if value.base is not None or value.nbytes < MIN_BYTES or not value.flags.writeable:
            return False
        if self._bytes + value.nbytes > self.max_bytes:
            return False
        order = "F" if value.flags.f_contiguous and not value.flags.c_contiguous else "C"
        with self._lock:
            self._free.setdefault((value.shape, value.dtype, order), []).append(value)
            self._bytes += value.nbytes
            self.released += 1
        return True

    def clear(self) -> None:
        """Drop every kept array."""
        with self._lock:
            self._free.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        return self._bytes

    def _refs(self, value) -> int:
        # same signature and call pattern as release(): see _UNREFERENCED
        return sys.getrefcount(value)


# The reference count release() sees for a value passed as a temporary that nothing else refers to, measured once
# with the same call pattern: CPython versions differ in how call arguments are counted.
_UNREFERENCED = ArrayPool()._refs(np.empty(1))

_ACTIVE: ContextVar[ArrayPool | None] = ContextVar("rustybt_array_pool", default=None)


@contextmanager
def pooled(pool: ArrayPool | None = None) -> Iterator[ArrayPool]:
    """Make ``pool`` (default: a new one) the source of :func:`empty` / :func:`full` within the block."""
    pool = pool if pool is not None else ArrayPool()
    token = _ACTIVE.set(pool)
    try:
        yield pool
    finally:
        _ACTIVE.reset(token)


def active_pool() -> ArrayPool | None:
    """The pool of the current run, if any."""
    return _ACTIVE.get()


def empty(shape: tuple, dtype=np.float64, order: str = "F") -> np.ndarray:
    """``np.empty`` that reuses a released array of the same shape, dtype and order while a pool is active."""
    pool = _ACTIVE.get()
    if pool is not None:
        arr = pool.take(shape, dtype, order)
        if arr is not None:
            return arr
    return np.empty(shape, dtype=dtype, order=order)


def full(shape: tuple, fill_value, dtype=np.float64, order: str = "F") -> np.ndarray:
    """``np.full`` on top of :func:`empty`."""
    arr = empty(shape, dtype, order)
    arr.fill(fill_value)
    return arr
