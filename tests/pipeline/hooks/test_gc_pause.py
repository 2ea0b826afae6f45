"""Automatic cycle collection is off during a run and restored after it, whatever happens."""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest

from rustybt.assets import AssetFinder, Equity
from rustybt.calendars import sessions_in_range
from rustybt.pipeline import US_EQUITIES, Pipeline, SimplePipelineEngine
from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.factors import CustomFactor
from rustybt.pipeline.hooks import GCPauseHooks
from rustybt.pipeline.hooks import gc_pause as _gc
from rustybt.pipeline.loaders import DataFrameLoader


class _GcState(CustomFactor):
    """1.0 where automatic collection is on while it computes, else 0.0; raises on request."""

    inputs = [P.close]
    window_length = 1
    fail = False

    def compute(self, today, assets, out, close):
        if type(self).fail:
            raise RuntimeError("boom")
        out[:] = float(gc.isenabled())


def _engine(**kwargs):
    sessions = sessions_in_range("XNYS", pd.Timestamp("2014-01-02"), pd.Timestamp("2014-02-28"))
    close = pd.DataFrame(1.0, index=sessions, columns=[1, 2])
    finder = AssetFinder([Equity(s, f"S{s}", start_date=sessions[0], end_date=sessions[-1]) for s in (1, 2)])
    loaders = {P.close: DataFrameLoader(P.close, close)}
    return SimplePipelineEngine(loaders, finder, default_domain=US_EQUITIES, **kwargs), sessions


@pytest.fixture
def engine():
    return _engine()


@pytest.fixture(autouse=True)
def _restore_gc():
    was = gc.isenabled()
    yield
    _GcState.fail = False
    (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("enabled", [True, False])
def test_a_run_pauses_collection_and_restores_the_state_it_found(engine, enabled):
    engine, sessions = engine
    (gc.enable if enabled else gc.disable)()
    result = engine.run_pipeline(Pipeline({"gc": _GcState()}), sessions[5], sessions[-1])
    assert (result["gc"] == 0.0).all()  # off while computing
    assert gc.isenabled() is enabled
    chunked = engine.run_chunked_pipeline(Pipeline({"gc": _GcState()}), sessions[5], sessions[-1], chunksize=10)
    assert (chunked["gc"] == 0.0).all() and gc.isenabled() is enabled


def test_a_failing_run_restores_collection(engine):
    engine, sessions = engine
    gc.enable()
    _GcState.fail = True
    with pytest.raises(Exception, match="boom"):
        engine.run_pipeline(Pipeline({"gc": _GcState()}), sessions[5], sessions[-1])
    assert gc.isenabled()


def test_nested_pauses_restore_only_at_the_outermost():
    gc.enable()
    with _gc.paused():
        with _gc.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    np.testing.assert_equal(_gc._depth, 0)


@pytest.mark.parametrize("speedups", [[GCPauseHooks()], []], ids=["the hook alone", "no speed-ups"])
def test_the_pause_is_the_gc_pause_hook(speedups):
    engine, sessions = _engine(speedups=speedups)
    gc.enable()
    result = engine.run_pipeline(Pipeline({"gc": _GcState()}), sessions[5], sessions[-1])
    assert (result["gc"] == (0.0 if speedups else 1.0)).all()
    assert gc.isenabled()
