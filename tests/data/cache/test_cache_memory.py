"""CacheManager in memory: LRU eviction with exact byte accounting, counters, read-only values."""

from __future__ import annotations

import logging
import random
from collections import OrderedDict

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _cache_values import ITEM, MIB, arr, mb

from rustybt.data.cache import CacheManager, CacheStats

# --- memory LRU --------------------------------------------------------------------------------------------------


def test_lru_evicts_least_recently_used_with_exact_byte_accounting():
    cache = CacheManager(max_memory_mb=mb(3 * ITEM), enabled=True)
    cache.put("a", arr(1))
    cache.put("b", arr(2))
    cache.put("c", arr(3))
    assert cache.stats.memory_bytes == 3 * ITEM
    cache.get("a")  # a becomes most recent: b is now the oldest
    cache.put("d", arr(4))
    assert "b" not in cache
    assert {k for k in "abcd" if k in cache} == {"a", "c", "d"}
    assert cache.stats.memory_bytes == 3 * ITEM
    assert cache.stats.evictions == 1
    cache.put("e", arr(5, 2 * ITEM))  # needs two slots: c then a (the two oldest) go
    assert {k for k in "acde" if k in cache} == {"d", "e"}
    assert cache.stats.memory_bytes == 3 * ITEM
    assert cache.stats.evictions == 3


def test_replacing_a_key_accounts_only_the_new_value():
    cache = CacheManager(max_memory_mb=mb(4 * ITEM), enabled=True)
    cache.put("a", arr(1, ITEM))
    cache.put("a", arr(2, 2 * ITEM))
    assert cache.stats.memory_bytes == 2 * ITEM
    assert cache.stats.entries == 1
    assert cache.get("a")[0] == 2.0


def test_memory_bound_holds_after_any_sequence_of_operations():
    bound = 50_000
    cache = CacheManager(max_memory_mb=bound / MIB, enabled=True)
    assert cache.max_memory_bytes == bound
    model: OrderedDict[str, int] = OrderedDict()  # an independent reference LRU: key -> nbytes
    rng = random.Random(20240611)
    for step in range(2000):
        key = f"k{rng.randrange(40)}"
        op = rng.random()
        if op < 0.6:
            nbytes = 8 * rng.randrange(0, 8000)  # up to 64000 bytes: some exceed the whole bound
            cache.put(key, np.zeros(nbytes // 8))
            model.pop(key, None)
            if nbytes <= bound:
                while model and sum(model.values()) + nbytes > bound:
                    model.popitem(last=False)
                model[key] = nbytes
        elif op < 0.9:
            got = cache.get(key)
            assert (got is not None) == (key in model), step
            if key in model:
                model.move_to_end(key)
                assert got.nbytes == model[key]
        else:
            cache.invalidate(key)
            model.pop(key, None)
        stats = cache.stats
        assert stats.memory_bytes <= bound, step
        assert stats.memory_bytes == sum(model.values()), step
        assert stats.entries == len(model), step


def test_value_larger_than_the_bound_is_not_kept_in_memory(caplog):
    cache = CacheManager(max_memory_mb=mb(2 * ITEM), enabled=True)
    cache.put("small", arr(1))
    with caplog.at_level(logging.DEBUG, logger="rustybt.data.cache"):
        cache.put("huge", arr(2, 3 * ITEM))
    assert "huge" not in cache
    assert "small" in cache  # nothing was evicted to make room for it
    assert cache.stats.evictions == 0
    assert cache.stats.memory_bytes == ITEM
    assert any(r.levelno == logging.DEBUG and "huge" in r.getMessage() for r in caplog.records)


def test_oversize_value_replaces_a_stale_smaller_entry():
    cache = CacheManager(max_memory_mb=mb(2 * ITEM), enabled=True)
    cache.put("k", arr(1))
    cache.put("k", arr(2, 3 * ITEM))
    assert cache.get("k") is None
    assert cache.stats.memory_bytes == 0


def test_hit_miss_and_eviction_counters():
    cache = CacheManager(max_memory_mb=mb(ITEM), enabled=True)
    assert cache.get("a") is None
    cache.put("a", arr(1))
    cache.get("a")
    cache.get("a")
    cache.put("b", arr(2))  # evicts a
    assert cache.get("a", "fallback") == "fallback"
    stats = cache.stats
    assert (stats.hits, stats.misses, stats.memory_hits, stats.disk_hits) == (2, 2, 2, 0)
    assert stats.evictions == 1
    assert stats.hit_rate == 0.5
    assert CacheStats().hit_rate == 0.0


def test_sizes_of_frames_are_measured_exactly():
    cache = CacheManager(max_memory_mb=1, enabled=True)
    pdf = pd.DataFrame({"x": np.arange(100, dtype=np.int64), "s": [f"s{i}" for i in range(100)]})
    plf = pl.DataFrame({"x": np.arange(100, dtype=np.int64)})
    cache.put("pd", pdf)
    assert cache.stats.memory_bytes == pdf.memory_usage(deep=True).sum()
    cache.put("pl", plf)
    assert cache.stats.memory_bytes == pdf.memory_usage(deep=True).sum() + plf.estimated_size()


def test_get_or_compute_computes_once_then_hits():
    cache = CacheManager(max_memory_mb=1, enabled=True)
    calls = []

    def compute():
        calls.append(1)
        return np.arange(4.0)

    first = cache.get_or_compute("k", compute)
    second = cache.get_or_compute("k", compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first, second)
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)


# --- read-only values --------------------------------------------------------------------------------------------


def test_returned_arrays_are_read_only_and_cannot_be_made_writable():
    cache = CacheManager(max_memory_mb=1, enabled=True)
    cache.put("k", np.arange(5.0))
    got = cache.get("k")
    assert not got.flags.writeable
    with pytest.raises(ValueError):
        got[0] = 99.0
    with pytest.raises(ValueError):
        got.flags.writeable = True
    computed = cache.get_or_compute("other", lambda: np.ones(3))
    assert not computed.flags.writeable


def test_put_copies_arrays_so_the_callers_array_stays_writable_and_separate():
    cache = CacheManager(max_memory_mb=1, enabled=True)
    original = np.arange(5.0)
    cache.put("k", original)
    original[0] = 99.0  # still the caller's writable array
    assert cache.get("k")[0] == 0.0


def test_mutating_a_returned_pandas_frame_does_not_change_the_cache():
    cache = CacheManager(max_memory_mb=1, enabled=True)
    cache.put("k", pd.DataFrame({"x": [1.0, 2.0]}))
    got = cache.get("k")
    got.loc[0, "x"] = 99.0
    assert cache.get("k")["x"].tolist() == [1.0, 2.0]


def test_in_place_changes_to_polars_values_do_not_reach_the_cache():
    cache = CacheManager(max_memory_mb=1, enabled=True)
    mine = pl.DataFrame({"x": [1, 2]})
    cache.put("frame", mine)
    mine.insert_column(1, pl.Series("y", [3, 4]))  # the caller's own frame, changed in place
    got = cache.get("frame")
    got.insert_column(1, pl.Series("z", [5, 6]))
    assert cache.get("frame").columns == ["x"]
    cache.put("series", pl.Series("s", [1, 2]))
    cache.get("series").scatter(0, 99)
    assert cache.get("series").to_list() == [1, 2]


def test_rejects_values_it_cannot_hold():
    cache = CacheManager(max_memory_mb=1, enabled=True)
    with pytest.raises(TypeError, match="dtype object"):
        cache.put("k", np.array(["a", None], dtype=object))
    with pytest.raises(TypeError, match="list"):
        cache.put("k", [1, 2])
    with pytest.raises(TypeError, match="strings"):
        cache.put(("not", "a", "str"), np.ones(1))
