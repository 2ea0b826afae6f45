"""Chunked pipelines as Dask tasks equal the single-process run cell for cell, also when a worker dies mid-run."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from rustybt.distributed import run_chunked_pipeline
from rustybt.pipeline import Pipeline, run_pipeline
from rustybt.pipeline.bundle_engine import engine_for_bundle
from rustybt.pipeline.data import EquityPricing
from rustybt.pipeline.factors import CustomFactor, Returns, SimpleMovingAverage

START, END = "2012-03-01", "2013-06-28"


class Range(CustomFactor):
    """A user-defined factor: shipped to the workers by value (this test module is not importable there)."""

    inputs = (EquityPricing.high, EquityPricing.low)
    window_length = 10

    def compute(self, today, assets, out, high, low):
        out[:] = np.nanmax(high, axis=0) - np.nanmin(low, axis=0)


class DieOnce(CustomFactor):
    """Kills its worker process the first time it runs anywhere (a marker file says it did), then computes."""

    inputs = (EquityPricing.close,)
    window_length = 3
    params = ("marker",)

    def compute(self, today, assets, out, close, marker):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            out[:] = close[-1] - close[0]
            return
        os.close(fd)
        os._exit(1)  # the worker process dies mid-task, as on a lost node


def _pipe(**extra) -> Pipeline:
    close = EquityPricing.close.latest
    sma = SimpleMovingAverage(inputs=[EquityPricing.close], window_length=20)
    return Pipeline(
        {
            "close": close,
            "sma": sma,
            "ret": Returns(window_length=5),
            "z": (sma / close).zscore(),
            "range_rank": Range().rank(),
            "q": Returns(window_length=5).quantiles(3),
            "top": Range().top(5),
            **extra,
        },
        screen=EquityPricing.volume.latest > 0,
    )


def test_cluster_run_equals_single_process(client, sample_catalog):
    bundle = sample_catalog.bundle("sample")
    got = run_chunked_pipeline(_pipe(), START, END, 60, bundle="sample", catalog=sample_catalog, client=client)
    assert len(got) > 5000
    # cell for cell (bit for bit) the single-process chunked run: same chunks, same lookbacks, same kernels
    expected = engine_for_bundle(bundle).run_chunked_pipeline(_pipe(), START, END, 60, progress=False)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    # and the unchunked run up to rounding (rolling sums start at each chunk's own lookback)
    whole = run_pipeline(_pipe(), START, END, bundle=bundle, progress=False)
    pd.testing.assert_frame_equal(got, whole, rtol=1e-12)
    # the chunks ran on both worker processes, each opening the catalog itself
    assert len(client.scheduler_info()["workers"]) == 2


def test_lost_worker_is_retried_without_a_wrong_result(client, sample_catalog, tmp_path):
    marker = str(tmp_path / "died")
    pipe = _pipe(move=DieOnce(marker=marker))
    got = run_chunked_pipeline(pipe, START, END, 100, bundle="sample", catalog=sample_catalog, client=client,
                               progress=False)  # fmt: skip
    assert os.path.exists(marker)  # a worker did die
    expected = engine_for_bundle(sample_catalog.bundle("sample")).run_chunked_pipeline(
        pipe, START, END, 100, progress=False
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_polars_output_and_bad_arguments(client, sample_catalog):
    got = run_chunked_pipeline(_pipe(), START, "2012-04-30", 20, bundle=sample_catalog.bundle("sample"),
                               client=client, output="polars", progress=False)  # fmt: skip
    assert got.columns[:3] == ["date", "sid", "symbol"]
    with pytest.raises(ValueError, match="chunksize"):
        run_chunked_pipeline(_pipe(), START, END, 0, bundle=sample_catalog.bundle("sample"), client=client)


def test_pipeline_api_takes_client(client, sample_catalog):
    from rustybt.pipeline import run_chunked_pipeline as run

    bundle = sample_catalog.bundle("sample")
    got = run(_pipe(), START, "2012-06-29", 40, bundle=bundle, client=client, progress=False)
    expected = run(_pipe(), START, "2012-06-29", 40, bundle=bundle, progress=False)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    with pytest.raises(TypeError, match="bundle="):
        run(_pipe(), START, END, 40, client=client)
