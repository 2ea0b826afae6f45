from __future__ import annotations

from pathlib import Path

import pytest

from rustybt.data.cache import CacheManager


@pytest.fixture
def disk_cache(tmp_path: Path) -> CacheManager:
    return CacheManager(max_memory_mb=1, disk_cache_path=tmp_path / "cache", enabled=True)
