"""A pipeline on the cluster over a bundle published on an S3 server (moto, on localhost): the workers open the
pinned ingestion from the object store themselves; the result equals the single-process chunked run."""

from __future__ import annotations

import socket
import sys

import cloudpickle
import pandas as pd
import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

from rustybt.data.catalog.objectstore import ObjectStoreCatalog
from rustybt.distributed import BundleRef, run_chunked_pipeline
from rustybt.pipeline import Pipeline
from rustybt.pipeline.bundle_engine import engine_for_bundle
from rustybt.pipeline.data import EquityPricing
from rustybt.pipeline.factors import Returns, SimpleMovingAverage
from rustybt.sample import sample_data_dir

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    import boto3
    from moto.server import ThreadedMotoServer

    from rustybt.data.adapters.csv import CSVAdapter

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket="rustybt-cluster")  # fmt: skip
    options = {"key": "testing", "secret": "testing", "endpoint_url": endpoint,
               "client_kwargs": {"region_name": "us-east-1"}}  # fmt: skip
    catalog = ObjectStoreCatalog("s3://rustybt-cluster/cat", options, cache_dir=tmp_path_factory.mktemp("writer"))
    catalog.register("sample", adapter=CSVAdapter.from_csvdir(sample_data_dir() / "equities"), calendar="XNYS",
                     validation="lenient", exchange="NYSE")  # fmt: skip
    catalog.ingest("sample", progress=False)
    yield catalog
    server.stop()


def test_pipeline_on_an_s3_bundle(client, store):
    pipe = Pipeline(
        {"sma": SimpleMovingAverage(inputs=[EquityPricing.close], window_length=20), "ret": Returns(window_length=5)},
        screen=EquityPricing.volume.latest > 0,
    )
    bundle = store.bundle("sample")
    ref = BundleRef.of(bundle)
    assert ref.url == "s3://rustybt-cluster/cat" and "testing" not in repr(ref)
    got = run_chunked_pipeline(pipe, "2012-03-01", "2013-06-28", 80, bundle=bundle, client=client, progress=False)
    expected = engine_for_bundle(bundle).run_chunked_pipeline(pipe, "2012-03-01", "2013-06-28", 80, progress=False)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    # each worker read the ingestion from the store into its own read cache (its HOME), not the writer's files
    cached = client.run(_cached_ingestions)
    assert all(bundle.ingestion_id in ids for ids in cached.values()), cached


def _cached_ingestions() -> list[str]:
    from rustybt.config import load_config

    root = load_config().cache.disk_cache_dir / "objectstore"
    return [p.name for p in root.glob("*/read/sample/*")]
