"""rustybt._pages: large arrays on small pages, checked in the kernel's own view of the mappings."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from rustybt import _pages


def _vm_flags(address: int) -> list[str]:
    """VmFlags of the mapping holding ``address`` (/proc/self/smaps)."""
    current = None
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(x, 16) for x in head.split("-"))
                current = lo <= address < hi
            elif head == "VmFlags:" and current:
                return line.split()[1:]
    raise AssertionError(f"no mapping holds {address:#x}")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise and /proc are Linux's")
def test_large_arrays_are_marked_no_huge_pages_and_stay_usable():
    arr = _pages.full((1024, 1024), np.nan)  # 8 MiB
    middle = arr.ctypes.data + arr.nbytes // 2
    assert "nh" in _vm_flags(middle)  # MADV_NOHUGEPAGE took effect
    assert arr.flags.f_contiguous and arr.shape == (1024, 1024) and np.isnan(arr).all()
    arr[:] = 2.0
    assert arr.sum() == 2.0 * arr.size
    plain = np.empty((1024, 1024))
    assert "nh" not in _vm_flags(plain.ctypes.data + plain.nbytes // 2)  # NumPy's default elsewhere


def test_small_arrays_are_left_alone():
    arr = _pages.empty((10, 10), np.int64, "C")
    assert _pages.small_pages(arr) is False and arr.flags.c_contiguous and arr.dtype == np.int64
