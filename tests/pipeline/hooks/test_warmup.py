"""The warm-up hook: Numba's set-up runs in a background thread from the start of a run, and only with the hook."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from rustybt.pipeline.hooks import warmup

# a small pipeline over an in-memory loader, in a fresh process (the set-up happens once per process); SPEEDUPS is
# replaced by the engine's speedups= argument; prints whether the run started the set-up thread
RUN = textwrap.dedent(
    """
    import numpy as np, pandas as pd
    from rustybt.assets import AssetFinder, Equity
    from rustybt.calendars import sessions_in_range
    from rustybt.pipeline import US_EQUITIES, Pipeline, SimplePipelineEngine
    from rustybt.pipeline.data import USEquityPricing as P
    from rustybt.pipeline.factors import SimpleMovingAverage
    from rustybt.pipeline.hooks import GCPauseHooks, WarmupHooks, warmup
    from rustybt.pipeline.loaders import DataFrameLoader
    sessions = sessions_in_range("XNYS", pd.Timestamp("2013-01-02"), pd.Timestamp("2013-06-28"))
    close = pd.DataFrame(np.arange(len(sessions) * 3, dtype=float).reshape(-1, 3), index=sessions, columns=[1, 2, 3])
    finder = AssetFinder([Equity(s, f"S{s}", start_date=sessions[0], end_date=sessions[-1], exchange="NYSE")
                          for s in (1, 2, 3)])
    engine = SimplePipelineEngine({P.close: DataFrameLoader(P.close, close)}, finder, default_domain=US_EQUITIES,
                                  speedups=SPEEDUPS)
    pipe = Pipeline({"sma": SimpleMovingAverage(inputs=[P.close], window_length=5)})
    result = engine.run_pipeline(pipe, sessions[10], sessions[-1])
    expected = close.rolling(5).mean().loc[sessions[10]:]  # DataFrameLoader: no one-session shift
    assert np.allclose(result["sma"].unstack().to_numpy(), expected.to_numpy())
    print(warmup._thread is not None)
    """
)


def _run(speedups: str) -> str:
    code = RUN.replace("SPEEDUPS", speedups)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("speedups", "expected"),
    [
        ("None", "True"),
        ("[WarmupHooks()]", "True"),
        ("[GCPauseHooks()]", "False"),
        ("[]", "False"),
    ],
    ids=["default", "the hook alone", "without it", "no speed-ups"],
)
def test_the_set_up_runs_in_the_background_with_the_hook_only(speedups, expected):
    assert _run(speedups) == expected


def test_setting_up_is_true_only_while_the_thread_works(monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(warmup, "_thread", None)
    monkeypatch.setattr(warmup, "_set_up_done", threading.Event())
    monkeypatch.setattr(warmup, "_set_up", lambda: (release.wait(10), warmup._set_up_done.set()))
    assert not warmup.setting_up()  # not started
    thread = warmup.start()
    assert warmup.start() is thread  # once per process
    assert warmup.setting_up()
    release.set()
    thread.join(10)
    assert not warmup.setting_up()
