"""Large arrays on small (4 KiB) pages.

NumPy asks Linux for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on every large allocation. Faulting in
a huge page the process has not used before can cost far more than the small pages it replaces: the kernel may
have to compact memory to find 2 MiB of contiguous RAM, and on virtual machines each new huge page is typically
backed page by page by the host. On the 2-core VM the benchmarks run on, a first-touch huge page costs about
1.9 ms per MiB against 0.5 ms per MiB for small pages; huge pages only win when memory the process freed is
handed out again (0.1 ms per MiB).

Arrays that are filled once and then kept (a loader's raw arrays, a result frame's block) or recycled by the
pipeline's array pool are therefore allocated with :func:`empty`, on small pages: they are faulted in once either
way, so small pages are the cheaper way to do it. Everything else keeps NumPy's default.

:func:`empty` also faults the pages in with one ``madvise(MADV_POPULATE_WRITE)`` call (Linux 5.14 and later)
instead of one page fault per 4 KiB page as the array is first written: 0.3 ms per MiB here against 0.5-0.6 ms,
and the call releases the GIL (ctypes), so another thread runs meanwhile. Every caller writes the whole array, so
nothing is faulted in that would not have been. On other systems the call fails and the pages fault in as before.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import sys

import numpy as np

__all__ = ["empty", "full"]

log = logging.getLogger(__name__)

_MADV_NOHUGEPAGE = 15  # <sys/mman.h> on Linux
_MADV_POPULATE_WRITE = 23  # Linux 5.14+
_PAGE = mmap.PAGESIZE
_MIN_BYTES = 4 << 20  # NumPy asks for huge pages from this size on: smaller arrays are left alone


def _load_madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
    except (OSError, AttributeError):  # pragma: no cover - unusual libc
        return None
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    return madvise


_madvise = _load_madvise()


def small_pages(arr: np.ndarray, populate: bool = False) -> bool:
    """Ask the kernel to back ``arr``'s not yet touched memory with small pages, and with ``populate`` to fault
    them all in now; True if it agreed to small pages."""
    if _madvise is None or arr.nbytes < _MIN_BYTES:
        return False
    start = -(-arr.ctypes.data // _PAGE) * _PAGE  # whole pages inside the array only
    stop = (arr.ctypes.data + arr.nbytes) // _PAGE * _PAGE
    if stop <= start:
        return False
    if _madvise(start, stop - start, _MADV_NOHUGEPAGE) != 0:  # pragma: no cover - e.g. kernels without THP
        log.debug("madvise(MADV_NOHUGEPAGE) failed: errno %d", ctypes.get_errno())
        return False
    if populate and _madvise(start, stop - start, _MADV_POPULATE_WRITE) != 0:  # pragma: no cover - Linux < 5.14
        log.debug("madvise(MADV_POPULATE_WRITE) failed: errno %d", ctypes.get_errno())
    return True


def empty(shape, dtype=np.float64, order: str = "F") -> np.ndarray:
    """``np.empty`` on small pages, faulted in at once (see the module docstring): for arrays the caller will
    write whole."""
    arr = np.empty(shape, dtype=dtype, order=order)
    small_pages(arr, populate=True)
    return arr


def full(shape, fill_value, dtype=np.float64, order: str = "F") -> np.ndarray:
    """``np.full`` on small pages."""
    arr = empty(shape, dtype, order)
    arr.fill(fill_value)
    return arr
