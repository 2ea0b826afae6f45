"""One cache per concern on the read path: the pricing loader's raw arrays, sized by the configuration.

The kernels take float64 arrays that are writable (a read-only array is another Numba type: every kernel would be
compiled again) with each asset's column contiguous (else AdjustedArray copies the data to F order). A second read
must hand out exactly such arrays, the ones already loaded, and put nothing in the DataPortal's CacheManager.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rustybt import Catalog
from rustybt.calendars import sessions_in_range
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.cache import CacheManager
from rustybt.data.readers import ParquetDailyBarReader
from rustybt.pipeline.data import EquityPricing
from rustybt.pipeline.domain import Domain
from rustybt.pipeline.loaders.pricing import PricingLoader
from rustybt.sample import sample_data_dir

MIB = 2**20


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    catalog = Catalog(root=tmp_path_factory.mktemp("pricing_cache"))
    catalog.register("s", adapter=CSVAdapter.from_csvdir(sample_data_dir() / "equities"), validation="lenient")
    catalog.ingest("s", progress=False)
    return catalog.bundle("s")


@pytest.fixture(params=["from Parquet", "through the dense copy"])
def bars_cache(request, monkeypatch):
    if request.param == "from Parquet":
        monkeypatch.setenv("RUSTYBT_BARS_CACHE", "0")
    return request.param


def _load(loader, fields, start="2014-01-02", end="2014-12-31"):
    domain = Domain(loader.bundle.calendar_name)
    dates = sessions_in_range(loader.bundle.calendar_name, pd.Timestamp(start), pd.Timestamp(end))
    sids = np.asarray(sorted(loader.bundle.sids), dtype=np.int64)
    columns = [getattr(EquityPricing, f).specialize(domain) for f in fields]
    mask = np.ones((len(dates), len(sids)), dtype=bool)
    return dict(zip(fields, loader.load_adjusted_array(domain, columns, dates, sids, mask).values(), strict=True))


def _count_reads(monkeypatch, loader) -> list:
    calls = []
    real = loader.reader.load_raw_arrays

    def counted(columns, *args):
        calls.append(tuple(columns))
        return real(columns, *args)

    monkeypatch.setattr(loader.reader, "load_raw_arrays", counted)
    return calls


def _kernel_ready(arr: np.ndarray) -> bool:
    """What the kernels take as it is: writable float64 with each column contiguous."""
    return arr.dtype == np.float64 and arr.flags.writeable and arr.strides[0] == arr.itemsize


def test_second_read_hands_out_the_loaded_arrays_as_kernels_take_them(bundle, bars_cache, monkeypatch):
    cache = CacheManager(max_memory_mb=64)
    loader = PricingLoader(bundle, cache=cache)
    first = _load(loader, ["close", "volume"])
    calls = _count_reads(monkeypatch, loader)
    second = _load(loader, ["close", "volume"])
    shorter = _load(loader, ["close"], start="2014-03-03", end="2014-09-30")  # a row slice of the same arrays
    assert calls == []
    for field in ("close", "volume"):
        data = second[field]._data
        assert _kernel_ready(data), (field, data.flags, data.strides)
        assert np.shares_memory(data, first[field]._data)  # the same memory: no copy on the way to the kernels
        np.testing.assert_array_equal(data, first[field]._data)
    assert _kernel_ready(shorter["close"]._data) and np.shares_memory(shorter["close"]._data, first["close"]._data)
    assert len(cache) == 0  # the DataPortal's cache holds none of the pipeline's arrays


def test_reader_with_a_cache_manager_returns_kernel_ready_arrays_every_time(bundle, bars_cache):
    cache = CacheManager(max_memory_mb=64)
    reader = ParquetDailyBarReader(bundle, cache=cache)
    sids = sorted(bundle.sids)
    start, end = pd.Timestamp("2012-01-03"), pd.Timestamp("2014-12-31")
    first = reader.load_raw_arrays(["close", "volume"], start, end, sids)
    second = reader.load_raw_arrays(["close", "volume"], start, end, sids)
    for a, b in zip(first, second, strict=True):
        assert _kernel_ready(b), (b.flags, b.strides)
        np.testing.assert_array_equal(a, b)
    assert len(cache) == 0


def test_loader_cache_takes_the_configured_size(bundle, monkeypatch):
    monkeypatch.setenv("RUSTYBT_CACHE_SIZE_MB", "3")
    assert PricingLoader(bundle).raw_cache.max_bytes == 3 * MIB
    monkeypatch.delenv("RUSTYBT_CACHE_SIZE_MB")
    assert PricingLoader(bundle).raw_cache.max_bytes == 512 * MIB  # the built-in default, no longer a fixed 1 GiB
    assert PricingLoader(bundle, cache=CacheManager(max_memory_mb=2)).raw_cache.max_bytes == 2 * MIB
    assert PricingLoader(bundle, raw_cache_mb=5).raw_cache.max_bytes == 5 * MIB  # an explicit size wins


def test_loader_cache_evicts_to_stay_within_a_small_size(bundle, monkeypatch):
    one_field = _load(PricingLoader(bundle, raw_cache_mb=0), ["close"])["close"]._data.nbytes
    loader = PricingLoader(bundle, cache=CacheManager(max_memory_mb=1.5 * one_field / MIB))  # room for one field
    calls = _count_reads(monkeypatch, loader)
    _load(loader, ["close"])
    _load(loader, ["volume"])  # evicts close
    assert loader.raw_cache._bytes <= loader.raw_cache.max_bytes
    assert len(loader.raw_cache._entries) == 1
    _load(loader, ["volume"])  # still held
    _load(loader, ["close"])  # read again
    assert calls == [("close",), ("volume",), ("close",)]


def test_disabled_cache_keeps_nothing(bundle, monkeypatch, tmp_path: Path):
    config = tmp_path / "config.yaml"
    config.write_text("cache:\n  enabled: false\n")
    monkeypatch.setenv("RUSTYBT_CONFIG", str(config))
    loader = PricingLoader(bundle)
    assert loader.raw_cache.max_bytes == 0
    calls = _count_reads(monkeypatch, loader)
    first = _load(loader, ["close"])
    again = _load(loader, ["close"])
    assert calls == [("close",), ("close",)]
    assert loader.raw_cache._bytes == 0 and not loader.raw_cache._entries
    np.testing.assert_array_equal(again["close"]._data, first["close"]._data)
    disabled = CacheManager(max_memory_mb=64, enabled=False)
    assert PricingLoader(bundle, cache=disabled).raw_cache.max_bytes == 0


def test_the_loader_passes_its_read_ahead_to_the_reader(bundle):
    def never() -> bool:
        return False

    assert PricingLoader(bundle, read_ahead=never).reader.read_ahead is never
    assert PricingLoader(bundle, read_ahead=None).reader.read_ahead is None


def test_the_readers_do_not_consult_the_pipelines_warm_up():
    import rustybt.data.readers as readers

    for path in Path(readers.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [f"{node.module}.{a.name}" for a in node.names]
            assert not any("_warmup" in n or n.startswith("rustybt.pipeline") for n in names), (path.name, names)
