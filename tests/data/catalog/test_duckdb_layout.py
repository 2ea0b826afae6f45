"""The catalog as a plain dataset: DuckDB reads a bundle's documented hive layout, locally and from S3 (a moto
server on localhost), and gets exactly ``bundle.bars(exact=True)``: the same rows, the same decimals."""

from __future__ import annotations

import socket

import polars as pl
import pytest

duckdb = pytest.importorskip("duckdb")

from rustybt.data.catalog import Catalog  # noqa: E402
from rustybt.sample import register_sample  # noqa: E402

COLUMNS = ["timestamp", "sid", "open", "high", "low", "close", "volume"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    catalog = Catalog(tmp_path_factory.mktemp("catalog"))
    register_sample(catalog)
    catalog.ingest("sample", progress=False)
    return catalog.bundle("sample")


def _expected(bundle) -> pl.DataFrame:
    return bundle.bars(exact=True).select(COLUMNS).sort("sid", "timestamp")


def _duckdb_bars(con, pattern: str) -> pl.DataFrame:
    sql = (
        f"SELECT {', '.join(COLUMNS)}, frequency, year FROM read_parquet('{pattern}', hive_partitioning = true) "
        "WHERE frequency = '1d' ORDER BY sid, timestamp"
    )
    return con.sql(sql).pl()


def _check(got: pl.DataFrame, bundle) -> None:
    expected = _expected(bundle)
    assert got["year"].to_list() == got["timestamp"].dt.year().cast(pl.Int64).to_list()  # partition keys as columns
    # DuckDB names the zone "Etc/UTC": the same instants
    got = got.select(COLUMNS).with_columns(pl.col("timestamp").dt.convert_time_zone("UTC"))
    assert got.schema["close"] == expected.schema["close"]  # DECIMAL(38, s): the exact digits, not float64
    assert got.equals(expected)


def test_duckdb_reads_a_local_bundle(bundle):
    con = duckdb.connect()
    _check(_duckdb_bars(con, f"{bundle.path}/bars/frequency=*/year=*/*.parquet"), bundle)
    # partition pruning on the hive keys, as documented
    count = con.sql(
        f"SELECT count(*) FROM read_parquet('{bundle.path}/bars/frequency=1d/year=*/*.parquet', "
        "hive_partitioning = true) WHERE year = 2013"
    ).fetchall()[0][0]
    assert count == bundle.bars(start="2013-01-01", end="2013-12-31").height


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_duckdb_reads_a_bundle_on_s3(bundle, monkeypatch):
    pytest.importorskip("moto.server")
    for var in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)  # never a real account
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3fs = pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        fs = s3fs.S3FileSystem(
            key="testing", secret="testing", endpoint_url=f"http://127.0.0.1:{port}",
            client_kwargs={"region_name": "us-east-1"},
        )  # fmt: skip
        import boto3

        boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        ).create_bucket(Bucket="bars-bucket")  # fmt: skip
        prefix = f"bars-bucket/catalog/bundles/sample/{bundle.ingestion_id}"
        fs.put(str(bundle.path), prefix, recursive=True)
        con = duckdb.connect()
        con.register_filesystem(fs)  # DuckDB reads s3:// through fsspec (no httpfs download needed)
        _check(_duckdb_bars(con, f"s3://{prefix}/bars/frequency=*/year=*/*.parquet"), bundle)
    finally:
        server.stop()
