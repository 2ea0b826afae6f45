"""Ingestion with symbols fetched on the cluster: the same bundle as a local ingest, one atomic commit; a rate limit
shared by the worker processes."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import cloudpickle
import polars as pl
import pytest

from rustybt.data.catalog import Catalog
from rustybt.distributed.ingest import ClusterAdapter, ingest
from rustybt.sample import register_sample

# workers must not import this module by name (tests/data/catalog has a test_ingest.py too): ship it by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def test_cluster_ingest_equals_local_ingest(client, tmp_path):
    local, remote = Catalog(tmp_path / "local"), Catalog(tmp_path / "remote")
    for catalog in (local, remote):
        register_sample(catalog)
    local.ingest("sample", progress=False)
    got = ingest(remote, "sample", client=client, progress=False)
    assert [r.id for r in remote.ingestions("sample")] == [got.record.id]  # committed once
    assert remote.live_ingestion("sample").id == got.record.id
    a, b = local.bundle("sample"), remote.bundle("sample")
    assert a.symbols == b.symbols and a.rows == b.rows
    assert b.bars().sort("sid", "timestamp").equals(a.bars().sort("sid", "timestamp"))
    assert b.adjustments().sort(pl.all()).equals(a.adjustments().sort(pl.all()))
    assert b.verify().ok


def test_failing_symbol_keeps_the_previous_ingestion(client, tmp_path):
    catalog = Catalog(tmp_path / "cat")
    register_sample(catalog)
    first = ingest(catalog, "sample", client=client, progress=False)
    with pytest.raises(Exception, match="NOPE"):
        ingest(catalog, "sample", client=client, progress=False, symbols=["AAPL", "NOPE"], strict=True)
    assert catalog.live_ingestion("sample").id == first.record.id
    assert [r.id for r in catalog.ingestions("sample")] == [first.record.id]


_RATE_SCRIPT = """
import json, os, time
from distributed import Client, LocalCluster
from rustybt.distributed.ingest import ClusterBucket

def take(name, rate, n):
    bucket = ClusterBucket(name, rate)
    slots = []
    for _ in range(n):
        slots.append(bucket.reserve_slot())
        time.sleep(max(0.0, slots[-1] - time.time()))  # use the slot, as acquire_sync() does
    return os.getpid(), slots

if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \\
            Client(cluster) as client:
        client.wait_for_workers(2)
        futures = [client.submit(take, "test-bucket", 20.0, 8, pure=False) for _ in range(2)]
        print(json.dumps([f.result(timeout=120) for f in futures]))
"""


def test_rate_limit_is_shared_by_the_workers(tmp_path):
    # its own cluster in a fresh process: in a process that has imported moto's server (the S3 tests), calls from
    # a worker's client to the scheduler were seen to hang; the bucket itself does not depend on that process
    script = tmp_path / "rate.py"
    script.write_text(_RATE_SCRIPT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240, check=True)
    results = json.loads(out.stdout.strip().splitlines()[-1])
    rate, n = 20.0, 8  # 2 processes x 8 requests at 20/s: 16 distinct slots, 50 ms apart, across processes
    assert len({pid for pid, _ in results}) == 2  # two processes took slots from the same bucket
    slots = sorted(s for _, slots in results for s in slots)
    assert len(slots) == 2 * n
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= 1 / rate - 1e-6, gaps  # never two requests closer than the rate allows, across processes
    assert slots[-1] - slots[0] >= (2 * n - 1) / rate - 1e-6


def test_proxy_keeps_the_adapter_identity(client, tmp_path):
    from rustybt.data.adapters.csv import CSVAdapter
    from rustybt.sample import sample_data_dir

    inner = CSVAdapter.from_csvdir(sample_data_dir() / "equities")
    proxy = ClusterAdapter(inner, client)
    assert proxy.name == inner.name and proxy.to_config() == inner.to_config()
    assert proxy.asset_class == inner.asset_class
