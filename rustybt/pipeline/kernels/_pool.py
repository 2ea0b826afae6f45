"""Recycling of large result arrays within and across pipeline runs.

A run computes a dozen or more ``(dates x assets)`` arrays of the same few shapes, and most become garbage soon
after they are made (an output column once gathered, an intermediate once its last consumer ran). Handing a fresh
50 MB array to each kernel costs a page fault per page, and under memory pressure the OS's page compaction can
make that cost many times the kernel's own run time. While a pool is active (:func:`pooled`, entered by the
engine for each run), arrays the engine releases are kept and handed out again by :func:`empty` / :func:`full`.
A request of the same shape, dtype and order gets a kept array as it is; any other request gets a view of the
smallest kept buffer that holds it with little waste (terms differ in their lookback rows, and filters are bool),
and that buffer returns to the pool when the view is released. Each engine keeps its pool between runs (bounded
by ``DEFAULT_MAX_BYTES``), so running a pipeline again reuses the previous run's memory.

An array is only recycled when nothing else refers to it (CPython reference count) and it owns its memory or is a
view this pool lent whose buffer nothing else refers to, so a value a user kept from a custom factor, or a view of
one, is never overwritten.

The result frame's float block is memory the run gives away, so it cannot be released like the rest. The pool
instead remembers the buffers behind the last ``RESULT_BUFFERS`` result blocks (:meth:`ArrayPool.result_block`)
and hands one out again once nothing else refers to it: the frame that used it, and every Series or array taken
from that frame, is gone. A notebook that reassigns ``df = run_pipeline(...)`` therefore alternates between two
blocks instead of faulting in a new one per run, which on a virtual machine costs up to 2 ms per MiB of huge pages
(a quarter of a warm run here). A new result buffer, like every new array the pool hands out, is put on small
pages (``rustybt._pages``), faulted in at once: it is written whole, and first touches of small pages cost about a
quarter of huge ones there.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

from rustybt import _pages

__all__ = ["ArrayPool", "empty", "full", "pooled"]

#: arrays smaller than this are not worth recycling
MIN_BYTES = 1 << 20
#: what a run's pool may hold: the result arrays a run of a dozen terms over 3,000 assets x 9 years has in flight
#: at once (seven of 52-57 MiB). It only ever holds arrays a run released, so never more than a run needed at its
#: peak; a smaller bound made every later run of that pipeline fault in fresh arrays and free others.
DEFAULT_MAX_BYTES = 512 << 20
#: a kept buffer serves a request of another shape if it is at most this much larger (no 60 MB buffer for a
#: 7 MB mask while a 60 MB request would then need fresh memory)
MAX_WASTE = 1.5
#: how many result-frame buffers the pool remembers for reuse (two: the result being replaced is still alive
#: while the next one is computed)
RESULT_BUFFERS = 2


class ArrayPool:
    """Free arrays (any shape), handed out whole or as views, bounded by ``max_bytes``."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._free: list[np.ndarray] = []  # arrays that own their memory
        self._lent: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # id -> buffer behind a lent view
        self._bytes = 0
        self.reused = 0  # statistics, for tests and benchmarks
        self.released = 0
        self.views = 0  # reuses that handed out a view of a buffer of another shape
        self.results_reused = 0  # result blocks served from the buffer of a dropped result
        self._results: list[np.ndarray] = []  # buffers behind the last result blocks, oldest first
        self._lock = threading.Lock()

    def take(self, shape: tuple, dtype, order: str) -> np.ndarray | None:
        """A kept array of exactly ``shape``/``dtype``/``order``, else a view of the smallest kept buffer that
        holds it (at most ``MAX_WASTE`` times larger), else None."""
        shape, dtype = tuple(shape), np.dtype(dtype)
        need = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
        with self._lock:  # an engine's pool may serve runs in several threads
            best, exact = None, False
            for k, buf in enumerate(self._free):
                if buf.shape == shape and buf.dtype == dtype and _order(buf) == order:
                    best, exact = k, True
                    break
                if need <= buf.nbytes <= need * MAX_WASTE and (best is None or buf.nbytes < self._free[best].nbytes):
                    best = k
            if best is None:
                return None
            buf = self._free.pop(best)
            self._bytes -= buf.nbytes
            self.reused += 1
            if exact:
                return buf
            self._lent[id(buf)] = buf
            self.views += 1
        view = buf.ravel(order="K").view(np.uint8)[:need].view(dtype).reshape(shape, order=order)
        return view

    def release(self, value) -> bool:
        """Keep ``value`` for reuse if it is a large array that owns its memory (or a view this pool lent) and
        nobody else refers to it (nor, for a view, to its buffer).

        The caller must hold no other reference to ``value`` than the argument it passes (pass the result of
        ``dict.pop`` directly, not a variable it keeps).
        """
        if type(value) is not np.ndarray or sys.getrefcount(value) > _UNREFERENCED:
            return False
        if value.nbytes < MIN_BYTES or not value.flags.writeable:
            return False
        buf = value.base
        if buf is None:
            buf = value
        elif self._lent.get(id(buf)) is not buf or sys.getrefcount(buf) > _LENT_BUFFER_REFS:
            return False  # a view of someone else's array, or its buffer is referred to elsewhere
        if self._bytes + buf.nbytes > self.max_bytes:
            return False
        with self._lock:
            self._lent.pop(id(buf), None)
            self._free.append(buf)
            self._bytes += buf.nbytes
            self.released += 1
        return True

    def result_block(self, n_rows: int, n_cols: int) -> np.ndarray:
        """An F-ordered float64 ``(n_rows, n_cols)`` block for a result frame: in the buffer of an earlier
        result that nothing refers to any more if one fits (at most ``MAX_WASTE`` times larger), else new."""
        n = n_rows * n_cols
        with self._lock:
            pick = None
            for k in range(len(self._results)):
                size = self._results[k].size
                if n <= size <= n * MAX_WASTE and self._result_refs(k) == _UNREFERENCED_RESULT:
                    pick = k
                    break
            if pick is None:
                buf = _pages.empty((max(n, 1),), np.float64, "C")
            else:
                buf = self._results.pop(pick)
                self.results_reused += 1
            self._results.append(buf)
            del self._results[:-RESULT_BUFFERS]
        return buf[:n].reshape((n_rows, n_cols), order="F")

    def _result_refs(self, k: int) -> int:
        # the reference count of a remembered result buffer, as result_block() sees it: see _UNREFERENCED_RESULT
        return sys.getrefcount(self._results[k])

    def clear(self) -> None:
        """Drop every kept array and the remembered result buffers."""
        with self._lock:
            self._free.clear()
            self._bytes = 0
            self._results.clear()

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        return self._bytes

    def _refs(self, value) -> int:
        # same signature and call pattern as release(): see _UNREFERENCED
        return sys.getrefcount(value)

    def _buffer_refs(self, value) -> int:
        # same lookups as release() on a lent view: see _LENT_BUFFER_REFS
        buf = value.base
        if buf is None:
            buf = value
        elif self._lent.get(id(buf)) is not buf:
            return -1
        return sys.getrefcount(buf)


def _order(arr: np.ndarray) -> str:
    return "F" if arr.flags.f_contiguous and not arr.flags.c_contiguous else "C"


# The reference count release() sees for a value passed as a temporary that nothing else refers to, measured once
# with the same call pattern: CPython versions differ in how call arguments are counted.
_UNREFERENCED = ArrayPool()._refs(np.empty(1))


def _calibrate_lent_buffer_refs() -> int:
    # the reference count release() sees for the buffer behind a lent view that nothing else refers to
    pool = ArrayPool()
    pool._free.append(np.empty(MIN_BYTES // 8 + 8))
    pool._bytes = pool._free[0].nbytes
    box = {"view": pool.take((MIN_BYTES // 8,), np.float64, "C")}
    return pool._buffer_refs(box.pop("view"))


_LENT_BUFFER_REFS = _calibrate_lent_buffer_refs()


def _calibrate_unreferenced_result() -> int:
    # the reference count result_block() sees for a remembered buffer that nothing else refers to
    pool = ArrayPool()
    pool._results.append(np.empty(4))
    return pool._result_refs(0)


_UNREFERENCED_RESULT = _calibrate_unreferenced_result()

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
    """``np.empty`` that reuses a released array of the same shape, dtype and order while a pool is active; a new
    array then goes on small pages (``rustybt._pages``: every kernel writes its whole output, and the pool will
    recycle it). Without a pool (a kernel called directly), NumPy's default: an array freed and made again
    gets huge pages the process had already faulted in."""
    pool = _ACTIVE.get()
    if pool is None:
        return np.empty(shape, dtype=dtype, order=order)
    arr = pool.take(shape, dtype, order)
    return arr if arr is not None else _pages.empty(shape, dtype, order)


def full(shape: tuple, fill_value, dtype=np.float64, order: str = "F") -> np.ndarray:
    """``np.full`` on top of :func:`empty`."""
    arr = empty(shape, dtype, order)
    arr.fill(fill_value)
    return arr
