"""The "compiling kernels…" line: once per process, only when Numba really compiles, during a run."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from rustybt.pipeline import Pipeline, run_pipeline
from rustybt.pipeline.data import EquityPricing as P
from rustybt.pipeline.factors import CustomFactor
from rustybt.pipeline.hooks import compile_notice


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(compile_notice, "_said", False)


def _new_kernel():
    @njit
    def twice(x):
        return x * 2.0

    return twice


def test_said_once_when_numba_compiles(fresh, capsys):
    kernel = _new_kernel()
    with compile_notice.watching():
        kernel(1.0)  # a real compilation
    with compile_notice.watching():
        _new_kernel()(2.0)  # another one: already said in this process
    assert capsys.readouterr().err.count(compile_notice.MESSAGE) == 1


def test_silent_without_compilation_or_outside_a_run(fresh, capsys):
    kernel = _new_kernel()
    kernel(1.0)  # compiled outside a watched run: nothing said
    with compile_notice.watching():
        kernel(3.0)  # already compiled
    assert compile_notice.MESSAGE not in capsys.readouterr().err
    assert compile_notice._listener is None  # the listener is gone after the run


def test_progress_off_silences_it(fresh, capsys, monkeypatch):
    monkeypatch.setenv("RUSTYBT_PROGRESS", "0")
    with compile_notice.watching():
        _new_kernel()(1.0)
    assert compile_notice.MESSAGE not in capsys.readouterr().err


def test_a_run_that_compiles_says_it(fresh, capsys, catalog, csvdir):
    from rustybt.data.adapters import CSVAdapter

    catalog.register("b", adapter=CSVAdapter.from_csvdir(csvdir), validation="lenient")
    catalog.ingest("b", progress=False)
    kernel = _new_kernel()

    class Doubled(CustomFactor):
        inputs = (P.close,)
        window_length = 1

        def compute(self, today, assets, out, close):
            out[:] = kernel(close[-1])

    result = run_pipeline(Pipeline({"d": Doubled()}), "2014-06-02", "2014-06-03", bundle=catalog.bundle("b"))
    assert np.isfinite(result["d"]).all()
    assert capsys.readouterr().err.count(compile_notice.MESSAGE) == 1
