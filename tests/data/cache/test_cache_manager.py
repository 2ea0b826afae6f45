"""CacheManager: config defaults, threads, reprs."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import numpy as np
import pytest
from _cache_values import ITEM, MIB, arr, mb

from rustybt.data.cache import CacheManager
from rustybt.errors import ConfigError

# --- configuration -----------------------------------------------------------------------------------------------


def test_defaults_come_from_the_built_in_config():
    cache = CacheManager()
    assert cache.enabled is True
    assert cache.max_memory_bytes == 512 * MIB
    assert cache.disk_cache_path is None
    assert cache.stats.max_disk_bytes is None


def test_defaults_come_from_the_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("RUSTYBT_CACHE_SIZE_MB", "3")
    monkeypatch.setenv("RUSTYBT_CACHE_DIR", str(tmp_path / "envcache"))
    cache = CacheManager()
    assert cache.max_memory_bytes == 3 * MIB
    assert cache.disk_cache_path == tmp_path / "envcache"
    cache.put("k", arr(1))
    assert (tmp_path / "envcache" / "index.sqlite").exists()
    assert cache.stats.disk_entries == 1


def test_explicit_arguments_beat_the_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("RUSTYBT_CACHE_SIZE_MB", "3")
    monkeypatch.setenv("RUSTYBT_CACHE_DIR", str(tmp_path / "envcache"))
    cache = CacheManager(max_memory_mb=5, disk_cache_path=tmp_path / "mine")
    assert cache.max_memory_bytes == 5 * MIB
    assert cache.disk_cache_path == tmp_path / "mine"


def test_config_file_can_disable_the_cache(monkeypatch, tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("cache:\n  enabled: false\n  max_size_mb: 7\n")
    monkeypatch.setenv("RUSTYBT_CONFIG", str(config))
    cache = CacheManager()
    assert cache.enabled is False
    assert cache.max_memory_bytes == 7 * MIB
    calls = []
    assert cache.get_or_compute("k", lambda: calls.append(1) or np.ones(2))[0] == 1.0
    assert cache.get_or_compute("k", lambda: calls.append(1) or np.ones(2))[0] == 1.0
    assert len(calls) == 2
    assert len(cache) == 0


def test_negative_bound_is_a_config_error():
    with pytest.raises(ConfigError, match="max_memory_mb"):
        CacheManager(max_memory_mb=-1, enabled=True)
    with pytest.raises(ConfigError, match="max_disk_mb"):
        CacheManager(max_memory_mb=1, enabled=True, max_disk_mb=float("nan"))


# --- threads -----------------------------------------------------------------------------------------------------


def test_threads_putting_and_getting_keep_the_bound_and_the_values(tmp_path: Path):
    bound = 20 * ITEM
    cache = CacheManager(max_memory_mb=mb(bound), disk_cache_path=tmp_path, enabled=True)
    errors: list[BaseException] = []
    peak = [0]
    stop = threading.Event()

    def expected(i: int) -> np.ndarray:
        return np.full((i % 7 + 1) * 64, float(i))  # 512..3584 bytes

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(300):
                i = rng.randrange(60)
                if rng.random() < 0.5:
                    cache.put(f"k{i}", expected(i), disk=rng.random() < 0.3)
                else:
                    got = cache.get_or_compute(f"k{i}", lambda i=i: expected(i))
                    np.testing.assert_array_equal(got, expected(i))
        except BaseException as exc:
            errors.append(exc)

    def watcher() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], cache.stats.memory_bytes)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    watch = threading.Thread(target=watcher)
    watch.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watch.join()
    assert errors == []
    assert peak[0] <= bound
    assert cache.stats.memory_bytes <= bound
    for i in range(60):  # whatever survived, in memory or on disk, is the value put under its key
        got = cache.get(f"k{i}")
        if got is not None:
            np.testing.assert_array_equal(got, expected(i))
    assert cache.stats.memory_bytes <= bound


# --- display -----------------------------------------------------------------------------------------------------


def test_repr_shows_the_stats():
    cache = CacheManager(max_memory_mb=1, enabled=True)
    cache.put("k", arr(1))
    cache.get("k")
    cache.get("missing")
    text = repr(cache)
    assert text.startswith("CacheManager(enabled")
    assert "4.0 KiB / 1.0 MiB (1 entries)" in text
    assert "hit rate 50.0% (1 hits, 1 misses)" in text
    assert "hit_rate=50.0%" in repr(cache.stats)


def test_html_repr_is_escaped_and_deterministic(tmp_path: Path):
    cache = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path / "a<b&c>", enabled=True)
    cache.put("k", arr(1))
    cache.get("k")
    page = cache._repr_html_()
    assert page == cache._repr_html_()
    assert "a&lt;b&amp;c&gt;" in page
    assert "a<b" not in page
    assert "<th>hit rate</th><td>100.0%</td>" in page
    assert "<th>disk entries</th><td>1</td>" in page
    stats_page = cache.stats._repr_html_()
    assert stats_page.startswith('<div class="rbt ')
    assert "corrupt discarded" in stats_page
