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


def _linux_at_least(major: int, minor: int) -> bool:
    import os
    import re

    found = re.match(r"(\d+)\.(\d+)", os.uname().release) if sys.platform.startswith("linux") else None
    return found is not None and (int(found[1]), int(found[2])) >= (major, minor)


@pytest.mark.skipif(not _linux_at_least(5, 14), reason="madvise(MADV_POPULATE_WRITE) came with Linux 5.14")
def test_empty_faults_its_pages_in_at_once():
    import resource

    def faults() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    plain = np.empty(8 << 20)  # 64 MiB: a fresh mapping, nothing faulted in yet
    before = faults()
    plain[:] = 1.0
    assert faults() - before >= 32  # one fault per page written: 32 huge pages at least (16,384 small ones)
    del plain
    arr = _pages.empty((8 << 20,), np.float64, "C")
    before = faults()
    arr[:] = 1.0
    assert faults() - before < 16 and arr.sum() == arr.size
