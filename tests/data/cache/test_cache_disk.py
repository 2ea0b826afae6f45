"""CacheManager's disk cache: round trips, checksums, damaged entries, atomic files, bound, invalidation."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _cache_values import MIB, arr, objects

from rustybt.data.cache import CacheManager

# --- disk --------------------------------------------------------------------------------------------------------


def numpy_values() -> dict[str, np.ndarray]:
    return {
        "float64-F": np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
        "int32": np.arange(-5, 5, dtype=np.int32),
        "bool": np.array([True, False, True]),
        "datetime64[ns]": np.array(["2020-01-02", "2020-01-03"], dtype="datetime64[ns]"),
        "unicode": np.array(["AAPL", "MSFT"]),
    }


@pytest.mark.parametrize("name", list(numpy_values()))
def test_disk_round_trip_numpy(tmp_path: Path, name: str):
    value = numpy_values()[name]
    CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True).put("k", value)
    got = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True).get("k")
    np.testing.assert_array_equal(got, value)
    assert got.dtype == value.dtype
    assert got.shape == value.shape
    assert got.flags.f_contiguous == value.flags.f_contiguous
    assert not got.flags.writeable


def test_disk_round_trip_polars_frame_keeps_dtypes(tmp_path: Path):
    value = pl.DataFrame(
        {
            "timestamp": pl.Series([dt.datetime(2020, 1, 2), dt.datetime(2020, 1, 3)]).cast(pl.Datetime("ns", "UTC")),
            "sid": pl.Series([1, 2], dtype=pl.Int64),
            "close": pl.Series(["10.25", "11.50"]).cast(pl.Decimal(12, 2)),
            "volume": pl.Series([100, None], dtype=pl.UInt32),
            "symbol": pl.Series(["A", "B"], dtype=pl.Categorical),
        }
    )
    CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True).put("k", value)
    got = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True).get("k")
    assert got.schema == value.schema
    assert got.equals(value)


def test_disk_round_trip_polars_series_keeps_name_and_dtype(tmp_path: Path):
    value = pl.Series("close", [1.5, None, 3.0], dtype=pl.Float32)
    CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True).put("k", value)
    got = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True).get("k")
    assert got.name == "close"
    assert got.dtype == pl.Float32
    assert got.equals(value)


def test_disk_round_trip_pandas_frame_keeps_dtypes_and_index(tmp_path: Path):
    value = pd.DataFrame(
        {
            "close": [1.5, np.nan, 3.0],
            "volume": pd.array([1, None, 3], dtype="Int64"),
            "symbol": pd.Categorical(["A", "B", "A"]),
            "when": pd.date_range("2020-01-02", periods=3, tz="UTC"),
            "flag": [True, False, True],
        },
        index=pd.Index([10, 20, 30], name="sid", dtype=np.int64),
    )
    CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True).put("k", value)
    got = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True).get("k")
    pd.testing.assert_frame_equal(got, value)  # checks dtypes and the index too


def test_disk_round_trip_pandas_series_keeps_name_index_and_dtype(tmp_path: Path):
    index = pd.DatetimeIndex(["2020-01-02", "2020-01-03"], tz="UTC", name="session")
    value = pd.Series(np.array([1.5, 2.5], dtype=np.float32), index=index, name="close")
    CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True).put("k", value)
    got = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True).get("k")
    pd.testing.assert_series_equal(got, value)


def test_disk_hit_is_counted_and_promoted_to_memory(disk_cache: CacheManager):
    disk_cache.put("k", arr(1))
    disk_cache.clear(disk=False)
    assert disk_cache.stats.entries == 0
    disk_cache.get("k")
    disk_cache.get("k")
    stats = disk_cache.stats
    assert (stats.disk_hits, stats.memory_hits, stats.entries) == (1, 1, 1)


def test_put_without_disk_writes_nothing_to_disk(disk_cache: CacheManager):
    disk_cache.put("k", arr(1), disk=False)
    assert disk_cache.stats.disk_entries == 0


def test_value_parquet_cannot_hold_stays_in_memory_only(disk_cache: CacheManager, caplog):
    with caplog.at_level(logging.INFO, logger="rustybt.data.cache"):
        disk_cache.put("k", pd.DataFrame({0: [1.0], 1: [2.0]}))
    assert disk_cache.stats.disk_entries == 0
    assert disk_cache.get("k") is not None
    assert any("memory only" in r.getMessage() for r in caplog.records)


def flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [flip_last_byte, flip_middle_byte, truncate_half, Path.unlink])
@pytest.mark.parametrize("value", [arr(1.0), pl.DataFrame({"x": [1, 2, 3]})], ids=["numpy", "polars"])
def test_damaged_disk_entry_is_discarded_and_recomputed(tmp_path: Path, damage, value, caplog):
    first = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True)
    first.put("k", value)
    [stored] = objects(tmp_path)
    damage(stored)

    cache = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True)
    calls = []

    def compute():
        calls.append(1)
        return value

    with caplog.at_level(logging.WARNING, logger="rustybt.data.cache"):
        got = cache.get_or_compute("k", compute)
    assert calls == [1]
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(got, value)
    else:
        assert got.equals(value)
    assert cache.stats.corrupt_discarded == 1
    assert cache.stats.misses == 1
    assert any(r.levelno == logging.WARNING and "k" in r.getMessage() for r in caplog.records)
    assert not stored.exists()
    # the recomputed value replaced the damaged entry on disk and reads back intact
    assert CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True).get("k") is not None


def test_damaged_entry_is_never_returned_by_get(tmp_path: Path):
    cache = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True)
    cache.put("k", arr(7.0))
    cache.clear(disk=False)
    flip_last_byte(objects(tmp_path)[0])
    assert cache.get("k", "miss") == "miss"
    assert "k" not in cache
    assert cache.stats.disk_entries == 0


def test_index_persists_for_a_new_instance(tmp_path: Path):
    first = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True)
    first.put("a", arr(1))
    first.put("b", pl.DataFrame({"x": [1]}))
    disk_bytes = first.stats.disk_bytes
    second = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True)
    assert (second.stats.disk_entries, second.stats.disk_bytes) == (2, disk_bytes)
    assert len(second) == 2
    assert "a" in second
    assert second.get("a")[0] == 1.0
    assert second.stats.disk_hits == 1
    assert (tmp_path / "index.sqlite").exists()


def test_disk_files_are_written_atomically_without_leftovers(tmp_path: Path):
    cache = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True)
    cache.put("k", arr(1))
    cache.put("k", arr(2))  # replacing removes the old file
    names = [p.name for p in (tmp_path / "objects").iterdir()]
    assert len(names) == 1
    assert names[0].endswith(".npy")
    assert not any(n.startswith(".tmp") for n in names)


def test_unreadable_index_is_rebuilt_empty(tmp_path: Path, caplog):
    (tmp_path / "index.sqlite").write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="rustybt.data.cache"):
        cache = CacheManager(max_memory_mb=1, disk_cache_path=tmp_path, enabled=True)
    assert cache.stats.disk_entries == 0
    cache.put("k", arr(1))
    assert cache.stats.disk_entries == 1
    assert any("unreadable" in r.getMessage() for r in caplog.records)


def test_disk_bound_evicts_least_recently_read(tmp_path: Path):
    cache = CacheManager(max_memory_mb=0, disk_cache_path=tmp_path, enabled=True)
    cache.put("probe", arr(0))
    one = cache.stats.disk_bytes  # size of one .npy file of ITEM bytes of data
    cache.clear()
    bounded = CacheManager(max_memory_mb=0, disk_cache_path=tmp_path, enabled=True, max_disk_mb=(3 * one) / MIB)
    for key in "abc":
        bounded.put(key, arr(1))
    bounded.get("a")  # read: b is now the least recently used on disk
    bounded.put("d", arr(1))
    assert {k for k in "abcd" if k in bounded} == {"a", "c", "d"}
    stats = bounded.stats
    assert stats.disk_bytes <= 3 * one
    assert stats.disk_evictions == 1
    assert len(objects(tmp_path)) == 3


def test_invalidate_prefix_and_clear_cover_memory_and_disk(disk_cache: CacheManager):
    k = CacheManager.make_key
    disk_cache.put(k("b1", "ing1", "close"), arr(1))
    disk_cache.put(k("b1", "ing1", "open"), arr(2), disk=False)
    disk_cache.put(k("b1", "ing2", "close"), arr(3))
    disk_cache.put(k("b2", "ing1", "close"), arr(4))
    assert len(disk_cache) == 4
    assert disk_cache.invalidate_prefix(k("b1", "ing1")) == 2
    assert len(disk_cache) == 2
    assert disk_cache.invalidate(k("b1", "ing2", "close")) is True
    assert disk_cache.invalidate(k("b1", "ing2", "close")) is False
    assert disk_cache.get(k("b1", "ing2", "close")) is None
    disk_cache.clear()
    assert len(disk_cache) == 0
    assert disk_cache.stats.disk_entries == 0


@pytest.mark.parametrize(
    "new_value",
    [
        pytest.param(({"disk": False}, arr(2)), id="disk=False"),
        pytest.param(({}, pd.DataFrame({0: [2.0]})), id="not-parquet-able"),
    ],
)
def test_replacing_a_key_never_lets_the_old_disk_value_come_back(disk_cache: CacheManager, new_value):
    kwargs, value = new_value
    disk_cache.put("k", arr(1))
    disk_cache.put("k", value, **kwargs)
    disk_cache.clear(disk=False)  # as if the new value had been evicted from memory
    assert disk_cache.get("k") is None
    assert disk_cache.stats.disk_entries == 0


def test_clear_memory_only_keeps_disk(disk_cache: CacheManager):
    disk_cache.put("k", arr(1))
    disk_cache.clear(disk=False)
    assert disk_cache.stats.entries == 0
    assert disk_cache.stats.disk_entries == 1
