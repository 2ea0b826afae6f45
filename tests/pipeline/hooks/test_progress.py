"""The progress hook: a bar that reaches 100% whether the run has one chunk or several."""

from __future__ import annotations

from rustybt.pipeline import Pipeline
from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.factors import SimpleMovingAverage
from rustybt.pipeline.hooks import ProgressHooks


def _pipe() -> Pipeline:
    return Pipeline({"sma": SimpleMovingAverage(inputs=[P.close], window_length=5), "close": P.close.latest})


def _last_percent(err: str) -> int:
    shown = [part for part in err.replace("\r", "\n").split("\n") if part.startswith("pipeline:")]
    return int(shown[-1].split(":")[1].split("%")[0])


def test_a_run_with_the_progress_hook_ends_at_100_percent(world, capsys):
    hook = ProgressHooks(leave=True)
    world.engine().run_pipeline(_pipe(), world.sessions[40], world.sessions[60], hooks=[hook], progress=False)
    assert _last_percent(capsys.readouterr().err) == 100
    assert hook._bar is None  # closed


def test_a_chunked_run_shows_each_chunk_and_ends_at_100_percent(world, capsys):
    engine = world.engine()
    hook = ProgressHooks(leave=True)
    engine.run_chunked_pipeline(_pipe(), world.sessions[40], world.sessions[60], 5, hooks=[hook], progress=False)
    err = capsys.readouterr().err
    assert _last_percent(err) == 100
    assert f"{world.sessions[40].date()}..{world.sessions[44].date()}" in err  # the first chunk's dates


def test_progress_true_adds_the_hook_and_false_leaves_it_out(world, capsys):
    engine = world.engine()
    engine.run_pipeline(_pipe(), world.sessions[40], world.sessions[60], progress=False)
    assert "pipeline:" not in capsys.readouterr().err
    engine.run_pipeline(_pipe(), world.sessions[40], world.sessions[60], progress=True)
    assert "pipeline:" in capsys.readouterr().err
