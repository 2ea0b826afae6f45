"""Issue 21 benchmark: the 9-year benchmark pipeline in one process vs as chunks on a 2-worker Dask LocalCluster.

    .venv/bin/python benchmarks/scale.py [--assets 3000] [--sessions 2520] [--chunksize 252] [--repeats 2]
    .venv/bin/python benchmarks/scale.py --ingest 2000     # only: ingest N symbols to local disk vs a local S3

Data: the generated 3,000-asset x 10-year XNYS daily bundle of benchmarks/pipeline.py (ingested into
benchmarks/.work/catalog if missing); the pipeline is benchmarks/pipeline.py's 13 columns with a top-500 screen,
from session 260 to the last (about 9 years).

Measured (medians over ``--repeats`` runs after one warm-up run each, so Numba compilation and the first open of
the catalog are excluded on both sides):
1. single process: ``run_pipeline`` (one chunk) and ``run_chunked_pipeline(chunksize)`` on one engine;
2. cluster: ``run_chunked_pipeline(..., client=)`` on ``LocalCluster(n_workers=2, threads_per_worker=1,
   processes=True)``; the per-chunk task times come from Dask's task stream; the result is checked equal, cell for
   cell, to the single-process chunked run.
3. ``--ingest N``: N generated symbols x 252 sessions ingested into a local catalog vs an ObjectStoreCatalog on a
   moto S3 server on localhost (the same local ingest, then the upload and the conditional publish), and the
   first open of the published bundle by another reader (download into its cache).
4. A projection on paper for a 32-worker cluster over a 20,000-asset minute-bar catalog, scaled from the measured
   per-chunk cost per asset-row (printed with its assumptions; not a measurement).

The machine this runs on has 2 cores, shared: two worker processes plus the client and scheduler compete for them,
so expect little or no gain here; the figures say what the distribution costs (pickling, scheduling, transfer of
result frames, each chunk's own lookback).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from _data import WORK  # noqa: E402
from pipeline import LOOKBACK, bundle_name, ensure_catalog, make_pipeline, run_range  # noqa: E402


def _median_time(fn, repeats: int) -> tuple[float, object]:
    fn()  # warm-up: compilation, first open, page cache
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--sessions", type=int, default=2520)
    parser.add_argument("--chunksize", type=int, default=252)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ingest", type=int, default=0, help="only the ingest comparison, with this many symbols")
    args = parser.parse_args()
    if args.ingest:
        ingest_comparison(args.ingest)
        return

    from distributed import Client, LocalCluster, get_task_stream

    from rustybt import Catalog
    from rustybt.pipeline.bundle_engine import engine_for_bundle

    ensure_catalog(args.assets, args.sessions)
    catalog = Catalog(root=WORK / "catalog")
    bundle = catalog.bundle(bundle_name(args.assets, args.sessions))
    _, start, end = run_range(args.sessions)
    pipe = make_pipeline()
    engine = engine_for_bundle(bundle, progress=False)

    single, _ = _median_time(lambda: engine.run_pipeline(pipe, start, end, progress=False), args.repeats)
    chunked, expected = _median_time(
        lambda: engine.run_chunked_pipeline(pipe, start, end, args.chunksize, progress=False), args.repeats
    )

    from rustybt.distributed import run_chunked_pipeline

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        t = time.perf_counter()
        run_chunked_pipeline(pipe, start, end, args.chunksize, bundle=bundle, client=client, progress=False)
        first = time.perf_counter() - t
        with get_task_stream(client) as stream:
            dist, got = _median_time(
                lambda: run_chunked_pipeline(
                    pipe, start, end, args.chunksize, bundle=bundle, client=client, progress=False
                ),
                args.repeats,
            )
        tasks = [
            (s["stop"] - s["start"])
            for entry in stream.data
            if str(entry["key"]).startswith("rustybt-pipeline")
            for s in entry["startstops"]
            if s["action"] == "compute"
        ]
    pd.testing.assert_frame_equal(got, expected, check_exact=True)

    from rustybt.pipeline.engine import compute_date_range_chunks

    chunks = len(compute_date_range_chunks(engine.resolve_domain(pipe).sessions(), start, end, args.chunksize))
    runs = args.repeats + 1  # the task stream also saw the warm-up run
    per_chunk = statistics.median(tasks)
    rows_per_chunk = (args.chunksize + LOOKBACK) * args.assets  # each chunk loads its own 252-row lookback
    cost_per_row = per_chunk / rows_per_chunk

    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} (1 min), {load[2]:.1f} (15 min) on {os.cpu_count()} cores")
    print(f"bundle {bundle.name}: {args.assets} assets, pipeline {start.date()}..{end.date()}, rows out {len(got):,}")
    print(f"single process, one chunk         : {single:7.2f} s")
    print(f"single process, chunks of {args.chunksize:4d}    : {chunked:7.2f} s")
    print(f"2-worker LocalCluster, same chunks: {dist:7.2f} s  (first run incl. worker warm-up: {first:.2f} s)")
    print(f"  {chunks} tasks per run, median compute per chunk {per_chunk:.3f} s (n={len(tasks)} over {runs} runs), "
          f"task compute summed {sum(tasks) / runs:.2f} s per run")  # fmt: skip
    print(f"  overhead vs single-process chunked: {dist / chunked:.2f}x wall; equal results: yes")

    # --- projection on paper ---------------------------------------------------------------------------------
    # Assumes the engine's cost grows linearly with the asset-rows a chunk loads (true of the kernels: rolling
    # windows are O(rows)), intraday windows (one session of lookback per chunk) and Parquet bytes per row as
    # this bundle's; docs/scale.md says what changes with the benchmark's 252-session windows.
    stored_per_row = bundle.size_bytes / bundle.rows
    assets, per_session, workers, years, chunk = 20_000, 390, 32, 9, 5
    sessions_total = 252 * years
    rows = (chunk + 1) * per_session * assets  # a chunk's minute rows, with one session of lookback
    task_s = rows * cost_per_row
    n_tasks = -(-sessions_total // chunk)
    read_gb = rows * stored_per_row / 1e9
    s3_s = read_gb / 0.1  # ~100 MB/s per worker from S3 in-region (one stream; more with parallel range GETs)
    wall = n_tasks / workers * (task_s + s3_s)
    print(
        f"projection (paper, not measured): {assets:,} assets x {per_session} minute bars x {years} years in chunks "
        f"of {chunk} sessions -> {n_tasks} tasks of {rows / 1e6:.0f}M asset-rows: ~{rows * 5 * 8 / 2**30:.1f} GiB "
        f"of float64 fields in memory per task, ~{read_gb:.2f} GB read from S3 ({stored_per_row:.1f} B/row stored) "
        f"~{s3_s:.0f} s, compute ~{task_s:.0f} s at the measured {cost_per_row * 1e9:.0f} ns per asset-row; "
        f"{workers} workers -> ~{wall / 60:.0f} min wall; total read "
        f"{n_tasks * read_gb:.0f} GB (lookback included), {n_tasks} tasks"
    )


def ingest_comparison(n_symbols: int) -> None:
    import socket
    import tempfile

    import boto3
    from _data import daily_csvdir
    from moto.server import ThreadedMotoServer

    from rustybt import Catalog
    from rustybt.data.adapters.csv import CSVAdapter
    from rustybt.data.catalog.objectstore import ObjectStoreCatalog

    csvdir = daily_csvdir(n_symbols, 252)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    logging_off()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                     aws_secret_access_key="bench").create_bucket(Bucket="bench")  # fmt: skip
        options = {"key": "bench", "secret": "bench", "endpoint_url": endpoint,
                   "client_kwargs": {"region_name": "us-east-1"}}  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            local = Catalog(Path(tmp) / "local")
            local.register("b", adapter=CSVAdapter.from_csvdir(csvdir), calendar="XNYS", validation="lenient")
            t = time.perf_counter()
            local.ingest("b", progress=False)
            disk = time.perf_counter() - t
            store = ObjectStoreCatalog("s3://bench/cat", options, cache_dir=Path(tmp) / "writer")
            store.register("b", adapter=CSVAdapter.from_csvdir(csvdir), calendar="XNYS", validation="lenient")
            t = time.perf_counter()
            ing = store.ingest("b", progress=False)
            s3 = time.perf_counter() - t
            reader = ObjectStoreCatalog("s3://bench/cat", options, cache_dir=Path(tmp) / "reader")
            t = time.perf_counter()
            bundle = reader.bundle("b")
            first_open = time.perf_counter() - t
            size = bundle.size_bytes
        print(f"ingest {n_symbols} symbols x 252 sessions: local disk {disk:.2f} s; S3 (moto on localhost) "
              f"{s3:.2f} s (ingestion {ing.record.id}, {size / 1e6:.1f} MB of Parquet); first open by another "
              f"reader (download to its cache) {first_open:.2f} s; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    finally:
        server.stop()


def logging_off() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)


if __name__ == "__main__":
    main()
