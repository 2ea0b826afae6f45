"""The reference documentation's spelling: ``from rustybt.data.polars.cache_manager import CacheManager``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl


def test_reference_import_path_is_the_cache_manager_with_its_keywords(tmp_path: Path):
    from rustybt.data.cache import CacheManager as Implementation
    from rustybt.data.polars.cache_manager import CacheManager

    assert CacheManager is Implementation
    cache = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path / "cache")
    assert cache.max_memory_bytes == 2**20
    assert cache.disk_cache_path == tmp_path / "cache"

    frame = pl.DataFrame({"sid": [1, 2], "close": [10.5, 20.25]})
    key = CacheManager.make_key("bundle", "close", [1, 2])
    cache.put(key, frame)
    assert (tmp_path / "cache" / "index.sqlite").exists()

    # a new manager over the same directory reads the entry back from disk
    again = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path / "cache")
    assert again.get(key).equals(frame)
    assert again.stats.disk_hits == 1
    np.testing.assert_array_equal(again.get(key).get_column("close").to_numpy(), [10.5, 20.25])
