"""The hook interface: what a user hook passed to a run sees, delegation to several hooks, the no-op hooks."""

from __future__ import annotations

from contextlib import contextmanager

import pandas as pd
import pytest

from rustybt.pipeline import Pipeline, SimplePipelineEngine, run_chunked_pipeline, run_pipeline
from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.factors import SimpleMovingAverage
from rustybt.pipeline.hooks import (
    HOOK_METHODS,
    DelegatingHooks,
    NoHooks,
    PipelineHooks,
    TestingHooks,
    builtin_speedups,
)
from rustybt.pipeline.term import AssetExists, InputDates, LoadableTerm


def _pipe() -> Pipeline:
    sma = SimpleMovingAverage(inputs=[P.close], window_length=5)
    return Pipeline({"close": P.close.latest, "sma": sma}, screen=P.volume.latest > 0)


def _events(trace, name):
    return [c for c in trace if c.method_name == name]


def test_a_user_hook_sees_the_run_its_chunk_each_load_and_each_term_in_order(world):
    engine = world.engine()
    start, end = world.sessions[40], world.sessions[60]
    hook = TestingHooks()
    result = engine.run_pipeline(_pipe(), start, end, hooks=[hook], progress=False)
    trace = hook.trace

    # the run encloses the chunk, which encloses every load and term
    assert [(c.state, c.method_name) for c in trace[:2]] == [
        ("enter", "running_pipeline"),
        ("enter", "computing_chunk"),
    ]
    assert [(c.state, c.method_name) for c in trace[-2:]] == [("exit", "computing_chunk"), ("exit", "running_pipeline")]
    assert trace[0].args[1:] == (start, end) and trace[1].args[1:] == (start, end)
    order = trace[1].args[0]
    # each event is entered and left before the next one starts
    inner = trace[2:-2]
    assert [c.state for c in inner] == ["enter", "exit"] * (len(inner) // 2)
    assert all(
        a.args == b.args and a.method_name == b.method_name for a, b in zip(inner[::2], inner[1::2], strict=True)
    )

    # one load per loader (each column has its own here), each column loaded once, in execution order
    loads = [c.args[0] for c in _events(trace, "loading_terms") if c.state == "enter"]
    loaded = [t for batch in loads for t in batch]
    assert sorted(t.name for t in loaded) == ["close", "volume"]
    assert all(isinstance(t, LoadableTerm) for t in loaded)
    # every other term of the plan computed once, in execution order; the root mask is given, not computed
    computed = [c.args[0] for c in _events(trace, "computing_term") if c.state == "enter"]
    expected = [t for t in order if not isinstance(t, LoadableTerm | AssetExists | InputDates)]
    assert computed == expected
    assert {type(t).__name__ for t in computed} >= {"SimpleMovingAverage", "Latest"}

    # and the run is the same as without the hook
    pd.testing.assert_frame_equal(result, engine.run_pipeline(_pipe(), start, end, progress=False))


def test_a_chunked_run_enters_the_run_once_and_each_chunk(world):
    hook = TestingHooks()
    start, end = world.sessions[40], world.sessions[60]
    run_chunked_pipeline(_pipe(), start, end, 8, hooks=[hook], engine=world.engine(), progress=False)
    runs = [c for c in _events(hook.trace, "running_pipeline")]
    assert [(c.state, c.args[1:]) for c in runs] == [("enter", (start, end)), ("exit", (start, end))]
    chunks = [c.args[1:] for c in _events(hook.trace, "computing_chunk") if c.state == "enter"]
    assert chunks == [
        (world.sessions[40], world.sessions[47]),
        (world.sessions[48], world.sessions[55]),
        (world.sessions[56], world.sessions[60]),
    ]


def test_module_level_run_pipeline_passes_hooks_and_engine_default_hooks_come_first(world):
    calls = []

    class Named(PipelineHooks):
        def __init__(self, name):
            self.name = name

        @contextmanager
        def running_pipeline(self, pipeline, start_date, end_date):
            calls.append(f"enter {self.name}")
            yield
            calls.append(f"exit {self.name}")

    engine = SimplePipelineEngine(
        world.loaders(), world.finder, world.engine()._default_domain, default_hooks=[Named("default")]
    )
    run_pipeline(_pipe(), world.sessions[40], world.sessions[45], [Named("run")], engine=engine, progress=False)
    assert calls == ["enter default", "enter run", "exit run", "exit default"]


def test_delegating_hooks_fan_out_in_order_and_short_circuit():
    assert isinstance(DelegatingHooks([]), NoHooks)
    one = TestingHooks()
    assert DelegatingHooks([one]) is one
    a, b = TestingHooks(), TestingHooks()
    both = DelegatingHooks([a, b])
    log = []
    a.trace, b.trace = log, log  # one shared trace shows the nesting
    with both.computing_term("t"):
        pass
    assert [(c.state, c.args) for c in log] == [
        ("enter", ("t",)),
        ("enter", ("t",)),
        ("exit", ("t",)),
        ("exit", ("t",)),
    ]
    assert log[0] is not log[1]


def test_something_that_is_not_a_hook_is_refused_by_name(world):
    with pytest.raises(TypeError, match="is not a pipeline hook.*computing_term"):
        world.engine().run_pipeline(_pipe(), world.sessions[40], world.sessions[45], hooks=[object()])


def test_the_base_class_and_no_hooks_do_nothing():
    for hooks in (PipelineHooks(), NoHooks()):
        for name in HOOK_METHODS:
            args = {"running_pipeline": 3, "computing_chunk": 3, "loading_terms": 1, "computing_term": 1}[name]
            with getattr(hooks, name)(*[None] * args):
                pass


def test_speedups_are_hooks_and_can_be_left_out(world):
    assert [type(h).__name__ for h in builtin_speedups()] == ["GCPauseHooks", "WarmupHooks"]
    plain = SimplePipelineEngine(world.loaders(), world.finder, world.engine()._default_domain, speedups=[])
    start, end = world.sessions[40], world.sessions[60]
    pd.testing.assert_frame_equal(
        plain.run_pipeline(_pipe(), start, end, progress=False),
        world.engine().run_pipeline(_pipe(), start, end, progress=False),
    )
