"""Large arrays on small (4 KiB) pages.

NumPy asks Linux for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on every large allocation. Faulting in
a huge page the process has not used before can cost far more than the small pages it replaces: the kernel may
have to compact memory to find 2 MiB of contiguous RAM, and on virtual machines each new huge page is typically
backed page by page by the host. On the 2-core VM the benchmarks run on, a first-touch huge page costs about
1.9 ms per MiB against 0.5 ms per MiB for small pages; huge pages only win when memory the process freed is
handed out again (0.1 ms per MiB).

Arrays that are filled once and then kept (a loader's raw arrays) or recycled by the pipeline's array pool are
therefore allocated with :func:`empty`, on small pages: they are faulted in once either way, so small pages are
the cheaper way to do it. Everything else keeps NumPy's default.
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


def small_pages(arr: np.ndarray) -> bool:
    """Ask the kernel to back ``arr``'s not yet touched memory with small pages; True if it agreed."""
    if _madvise is None or arr.nbytes < _MIN_BYTES:
        return False
    start = -(-arr.ctypes.data // _PAGE) * _PAGE  # whole pages inside the array only
    stop = (arr.ctypes.data + arr.nbytes) // _PAGE * _PAGE
    if stop <= start:
        return False
    if _madvise(start, stop - start, _MADV_NOHUGEPAGE) != 0:  # pragma: no cover - e.g. kernels without THP
        log.debug("madvise(MADV_NOHUGEPAGE) failed: errno %d", ctypes.get_errno())
        return False
    return True


def empty(shape, dtype=np.float64, order: str = "F") -> np.ndarray:
    """``np.empty`` on small pages (see the module docstring)."""
    arr = np.empty(shape, dtype=dtype, order=order)
    small_pages(arr)
    return arr


def full(shape, fill_value, dtype=np.float64, order: str = "F") -> np.ndarray:
    """``np.full`` on small pages."""
    arr = empty(shape, dtype, order)
    arr.fill(fill_value)
    return arr
