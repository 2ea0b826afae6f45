"""Values and paths for the cache tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

MIB = 2**20
ITEM = 4096  # bytes of one test array: 512 float64


def arr(fill: float, nbytes: int = ITEM) -> np.ndarray:
    return np.full(nbytes // 8, fill, dtype=np.float64)


def mb(nbytes: int) -> float:
    """MiB that convert back to exactly ``nbytes`` (multiples of 4096 bytes are exact binary fractions)."""
    return nbytes / MIB


def objects(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / "objects").iterdir() if not p.name.startswith("."))
