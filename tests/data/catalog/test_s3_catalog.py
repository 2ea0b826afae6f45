"""Bundles on an S3 server (moto, on localhost): published atomically by a conditional write of LIVE, read on
another "machine" (another cache) equal to the local catalog; a writer dying before the publish, or losing to a
concurrent one, leaves the published ingestion live."""

from __future__ import annotations

import socket

import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

from rustybt.data.catalog import Catalog
from rustybt.data.catalog.objectstore import ObjectStoreCatalog
from rustybt.errors import IngestionError
from rustybt.sample import register_sample, sample_data_dir


@pytest.fixture(scope="module")
def s3_url():
    import boto3
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket="rustybt-test")  # fmt: skip
    yield endpoint
    server.stop()


def _options(endpoint: str) -> dict:
    return {"key": "testing", "secret": "testing", "endpoint_url": endpoint,
            "client_kwargs": {"region_name": "us-east-1"}}  # fmt: skip


def _register(catalog: ObjectStoreCatalog) -> None:
    from rustybt.data.adapters.csv import CSVAdapter

    catalog.register("sample", adapter=CSVAdapter.from_csvdir(sample_data_dir() / "equities"), calendar="XNYS",
                     validation="lenient", exchange="NYSE", overwrite=True)  # fmt: skip


def test_publish_and_read_elsewhere(s3_url, tmp_path):
    writer = ObjectStoreCatalog("s3://rustybt-test/cat1", _options(s3_url), cache_dir=tmp_path / "writer")
    _register(writer)
    ingestion = writer.ingest("sample", progress=False)
    assert writer.live_ingestion("sample") == ingestion.record.id
    assert writer.bundles() == ["sample"]

    reader = ObjectStoreCatalog("s3://rustybt-test/cat1", _options(s3_url), cache_dir=tmp_path / "reader")
    bundle = reader.bundle("sample")
    assert bundle.ingestion_id == ingestion.record.id
    local = Catalog(tmp_path / "local")
    register_sample(local)
    local.ingest("sample", progress=False)
    expected = local.bundle("sample")
    assert bundle.bars(exact=True).equals(expected.bars(exact=True))
    assert bundle.bars(["AAPL"], start="2013-01-01", end="2013-03-01").equals(
        expected.bars(["AAPL"], start="2013-01-01", end="2013-03-01")
    )
    assert bundle.verify().ok


def test_dead_writer_and_concurrent_writer_leave_the_live_ingestion(s3_url, tmp_path, monkeypatch):
    url = "s3://rustybt-test/cat2"
    first = ObjectStoreCatalog(url, _options(s3_url), cache_dir=tmp_path / "a")
    _register(first)
    live = first.ingest("sample", progress=False).record.id

    def die(*args, **kwargs):
        raise KeyboardInterrupt("writer killed between upload and publish")

    with monkeypatch.context() as m:
        m.setattr(ObjectStoreCatalog, "_publish", die)
        with pytest.raises(KeyboardInterrupt):
            first.ingest("sample", progress=False)
    reader = ObjectStoreCatalog(url, _options(s3_url), cache_dir=tmp_path / "r")
    assert reader.live_ingestion("sample") == live
    assert reader.bundle("sample").rows > 0

    # a concurrent writer publishes between this writer's start and its publish: this one's PUT fails (412)
    other = ObjectStoreCatalog(url, _options(s3_url), cache_dir=tmp_path / "b")
    _register(other)
    original = ObjectStoreCatalog._upload

    def upload_then_race(self, name, ingestion_id):
        original(self, name, ingestion_id)
        if self is first:
            other.ingest("sample", progress=False)

    monkeypatch.setattr(ObjectStoreCatalog, "_upload", upload_then_race)
    with pytest.raises(IngestionError, match="another ingestion"):
        first.ingest("sample", progress=False)
    winner = reader.live_ingestion("sample")
    assert winner not in (live,) and winner == other.live_ingestion("sample")
    assert reader.bundle("sample").ingestion_id == winner
