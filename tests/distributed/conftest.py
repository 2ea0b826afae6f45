"""One real Dask cluster (scheduler + 2 worker processes) per test module, and the sample bundle in a tmp catalog."""

from __future__ import annotations

import pytest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, memory_limit=0
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def sample_catalog(tmp_path_factory):
    from rustybt.data.catalog import Catalog
    from rustybt.sample import register_sample

    catalog = Catalog(tmp_path_factory.mktemp("catalog"))
    register_sample(catalog)
    catalog.ingest("sample", progress=False)
    return catalog
