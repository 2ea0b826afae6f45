"""CacheManager: keys, memory LRU accounting, disk round trips and checksums, config defaults, threads, reprs."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import random
import subprocess
import sys
import threading
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from rustybt.data.cache import CacheManager, CacheStats
from rustybt.errors import ConfigError

MIB = 2**20
ITEM = 4096  # bytes of one test array: 512 float64


def arr(fill: float, nbytes: int = ITEM) -> np.ndarray:
    return np.full(nbytes // 8, fill, dtype=np.float64)


def mb(nbytes: int) -> float:
    """MiB that convert back to exactly ``nbytes`` (multiples of 4096 bytes are exact binary fractions)."""
    return nbytes / MIB


def objects(cache_dir: Path) -> list[Path]:
    return sorted(p for p in (cache_dir / "objects").iterdir() if not p.name.startswith("."))


@pytest.fixture
def disk_cache(tmp_path: Path) -> CacheManager:
    return CacheManager(max_memory_mb=1, disk_cache_path=tmp_path / "cache", enabled=True)


# --- keys --------------------------------------------------------------------------------------------------------


def test_make_key_matches_the_documented_sha256_chain():
    state = hashlib.sha256(b"rustybt.cache.key/v1").digest()
    first = hashlib.sha256(state + b's"quandl"').digest()
    second = hashlib.sha256(first + b"i42").digest()
    assert CacheManager.make_key("quandl") == first.hex()[:16]
    assert CacheManager.make_key("quandl", 42) == first.hex()[:16] + second.hex()[:16]


def test_make_key_of_leading_parts_is_a_prefix():
    short = CacheManager.make_key("bundle", "ing-1")
    long = CacheManager.make_key("bundle", "ing-1", "close", "1d", dt.date(2020, 1, 2), [1, 2, 3])
    assert long.startswith(short)
    assert len(long) == 6 * 16
    assert set(long) <= set("0123456789abcdef")


def test_make_key_equal_for_equivalent_spellings():
    k = CacheManager.make_key
    assert k([1, 2, 3]) == k((1, 2, 3)) == k(np.array([1, 2, 3], dtype=np.int32)) == k(pd.Index([1, 2, 3]))
    assert k(np.int64(7)) == k(7)
    assert k(np.float32(0.5)) == k(0.5)
    assert k({"b": 1, "a": 2}) == k({"a": 2, "b": 1})
    assert k({3, 1, 2}) == k(frozenset({2, 3, 1}))
    session = pd.Timestamp("2020-01-02", tz="UTC")
    assert k(dt.date(2020, 1, 2)) == k(session) == k(np.datetime64("2020-01-02")) == k(dt.datetime(2020, 1, 2))
    assert k(pd.Timestamp("2020-01-02 05:00", tz="America/New_York")) == k(pd.Timestamp("2020-01-02 10:00"))
    assert k(pd.date_range("2020-01-01", periods=2)) == k([dt.date(2020, 1, 1), dt.date(2020, 1, 2)])
    assert k(dt.timedelta(days=1)) == k(pd.Timedelta("1D")) == k(np.timedelta64(24, "h"))
    assert k(0.0) == k(-0.0)


def test_make_key_distinguishes_types_values_and_grouping():
    k = CacheManager.make_key
    keys = [
        k(1),
        k(1.0),
        k("1"),
        k(True),
        k(None),
        k(Decimal("1")),
        k(b"1"),
        k([1]),
        k("a", "b"),
        k(("a", "b")),
        k("b", "a"),
        k("ab"),
        k(pd.Timestamp("2020-01-02")),
        k(pd.Timestamp("2020-01-02 00:00:00.000000001")),
        k(Path("a/b")),
    ]
    assert len(set(keys)) == len(keys)


def test_make_key_rejects_parts_without_a_stable_form():
    with pytest.raises(TypeError, match="object"):
        CacheManager.make_key("bundle", object())
    with pytest.raises(TypeError, match="at least one part"):
        CacheManager.make_key()


KEY_PARTS_SOURCE = """
import datetime as dt
from decimal import Decimal
from pathlib import Path
import numpy as np
import pandas as pd
PARTS = [
    ("quandl", "20240101T000000Z", "close", "1d"),
    (pd.Timestamp("2020-01-02", tz="UTC"), dt.date(2020, 12, 31), np.array([1, 2, 24])),
    ({"adjusted": True, "fields": ["open", "close"]}, {5, 3}, 2.5, None, Decimal("0.01"), Path("x/y")),
]
"""


def test_make_key_is_identical_in_another_process():
    namespace: dict = {}
    exec(KEY_PARTS_SOURCE, namespace)
    here = [CacheManager.make_key(*parts) for parts in namespace["PARTS"]]
    script = KEY_PARTS_SOURCE + (
        "from rustybt.data.cache import CacheManager\nfor parts in PARTS:\n    print(CacheManager.make_key(*parts))\n"
    )
    for seed in ("1", "4242"):  # different str hash salts: the key must not depend on hash()
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == here


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
    assert "<th style='text-align:left'>hit rate</th><td style='text-align:left'>100.0%</td>" in page
    assert "<th style='text-align:left'>disk entries</th><td style='text-align:left'>1</td>" in page
    stats_page = cache.stats._repr_html_()
    assert stats_page.startswith("<table")
    assert "corrupt discarded" in stats_page
