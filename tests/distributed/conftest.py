"""One real Dask cluster (scheduler + 2 worker processes) per test module, and the sample bundle in a tmp catalog."""

from __future__ import annotations

import pytest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    home = tmp_path_factory.mktemp("worker-home")  # workers start before the per-test isolation: isolate them here
    env = {
        "HOME": str(home),
        "RUSTYBT_CONFIG": str(home / "no-config.yaml"),
        "RUSTYBT_DATA_DIR": str(home / "data"),
        "RUSTYBT_OFFLINE": "1",
    }
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, memory_limit=0, env=env
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
