"""The background Numba set-up and the map of kernels each step calls: a later process loads those of its steps
before any call, and no others."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rustybt.pipeline.hooks import warmup as _warmup

SMA_STEP = "rustybt.pipeline.factors.basic.SimpleMovingAverage"

# a small pipeline over an in-memory loader: SimpleMovingAverage runs rolling_moments_kernel, which Numba caches
RUN = textwrap.dedent(
    """
    import numpy as np, pandas as pd
    from rustybt.assets import AssetFinder, Equity
    from rustybt.calendars import sessions_in_range
    from rustybt.pipeline import US_EQUITIES, Pipeline, SimplePipelineEngine
    from rustybt.pipeline.data import USEquityPricing as P
    from rustybt.pipeline.factors import SimpleMovingAverage
    from rustybt.pipeline.loaders import DataFrameLoader
    sessions = sessions_in_range("XNYS", pd.Timestamp("2013-01-02"), pd.Timestamp("2013-06-28"))
    close = pd.DataFrame(np.arange(len(sessions) * 3, dtype=float).reshape(-1, 3), index=sessions, columns=[1, 2, 3])
    finder = AssetFinder([Equity(s, f"S{s}", start_date=sessions[0], end_date=sessions[-1], exchange="NYSE")
                          for s in (1, 2, 3)])
    engine = SimplePipelineEngine({P.close: DataFrameLoader(P.close, close)}, finder, default_domain=US_EQUITIES)
    pipe = Pipeline({"sma": SimpleMovingAverage(inputs=[P.close], window_length=5)})
    engine.run_pipeline(pipe, sessions[10], sessions[-1])
    """
)

# a fresh process that only asks for the steps' kernels and reports what got loaded, calling no kernel
PRELOAD = textwrap.dedent(
    """
    import sys
    from rustybt.pipeline.hooks import warmup as _warmup
    from rustybt.pipeline.kernels.rolling import moments as rolling
    from rustybt.pipeline import _output
    assert not rolling.rolling_moments_kernel.signatures
    _warmup.want(sys.argv[1:])
    _warmup.start()
    _warmup._requests.join()
    print(len(rolling.rolling_moments_kernel.signatures), len(_output._gather.signatures))
    """
)


def _python(code: str, home: Path, *args: str, **env) -> str:
    environ = {**os.environ, "HOME": str(home), "RUSTYBT_CONFIG": str(home / "none.yaml"), **env}
    done = subprocess.run([sys.executable, "-c", code, *args], env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _map_file(home: Path) -> Path:
    files = list((home / ".rustybt" / "cache" / "kernels").glob("steps-*.pkl"))
    assert len(files) == 1, files
    return files[0]


def _kernels(home: Path) -> dict:
    with _map_file(home).open("rb") as f:
        return pickle.load(f)["kernels"]


def test_a_run_maps_its_steps_to_kernels_and_a_later_process_loads_only_those_of_its_steps(tmp_path):
    _python(RUN, tmp_path)
    kernels = _kernels(tmp_path)
    assert [(m, n) for m, n, _ in kernels[SMA_STEP]] == [
        ("rustybt.pipeline.kernels.rolling.moments", "rolling_moments_kernel")
    ]
    assert ("rustybt.pipeline._output", "_gather") in {(m, n) for m, n, _ in kernels["rustybt.pipeline._output"]}
    # loaded from Numba's disk cache before any call asked for it; the output step's kernels were not asked for
    assert _python(PRELOAD, tmp_path, SMA_STEP) == "1 0"
    assert _python(PRELOAD, tmp_path, SMA_STEP, "rustybt.pipeline._output") == "1 1"
    assert _python(PRELOAD, tmp_path, "some.other.Step") == "0 0"


def test_the_map_can_be_turned_off(tmp_path):
    _python(RUN, tmp_path, RUSTYBT_KERNEL_PRELOAD="0")
    assert not (tmp_path / ".rustybt" / "cache" / "kernels").exists()
    _python(RUN, tmp_path)  # now mapped
    assert _python(PRELOAD, tmp_path, SMA_STEP, RUSTYBT_KERNEL_PRELOAD="0") == "0 0"  # and not loaded when off


def test_an_unreadable_or_stale_map_is_ignored(tmp_path):
    _python(RUN, tmp_path)
    kernels = _kernels(tmp_path)
    path = _map_file(tmp_path)
    path.write_bytes(b"not a pickle")
    assert _python(PRELOAD, tmp_path, SMA_STEP) == "0 0"
    # a kernel that no longer exists is skipped; the others still load
    kernels[SMA_STEP].insert(0, ("rustybt.pipeline.kernels.rolling.moments", "no_such_kernel", ()))
    path.write_bytes(pickle.dumps({"format": _warmup._FORMAT, "kernels": kernels}))
    assert _python(PRELOAD, tmp_path, SMA_STEP) == "1 0"
    # and forgotten: a run loads the map, fails to preload that entry, and writes the map again without it
    _python(
        RUN + "\nfrom rustybt.pipeline.hooks import warmup as _warmup\n_warmup._requests.join()\n_warmup.record()\n",
        tmp_path,
    )
    assert ("rustybt.pipeline.kernels.rolling.moments", "no_such_kernel", ()) not in _kernels(tmp_path)[SMA_STEP]
    assert [n for _, n, _ in _kernels(tmp_path)[SMA_STEP]] == ["rolling_moments_kernel"]
    # a map of the older format (which also listed helpers compiled into kernels) is not used
    path.write_bytes(pickle.dumps({"format": 1, "kernels": kernels}))
    assert _python(PRELOAD, tmp_path, SMA_STEP) == "0 0"


RETURNS_STEP = "rustybt.pipeline.factors.basic.Returns"

# Returns runs returns_kernel, which calls the cached helpers _ends_run and the driver's working_column
RUN_RETURNS = RUN.replace("SimpleMovingAverage", "Returns")

# what a fresh process loads when it asks for the Returns step: the kernel, and none of its helpers
PRELOAD_RETURNS = textwrap.dedent(
    f"""
    from rustybt.pipeline.hooks import warmup as _warmup
    from rustybt.pipeline.kernels import _segments, returns as r
    _warmup.want(["{RETURNS_STEP}"])
    _warmup.start()
    _warmup._requests.join()
    print(len(r.returns_kernel.signatures), len(_segments.working_column.signatures), len(r._ends_run.signatures))
    """
)


def test_a_kernel_compiled_in_a_step_is_mapped_without_the_helpers_compiled_into_it(tmp_path):
    """The first process after an install compiles every kernel, and with each its jitted helpers; only the kernel
    is what the step called (the helpers are compiled into it, so a later process never loads them)."""
    numba_cache = tmp_path / "numba"  # empty: everything is compiled in the first process
    _python(RUN_RETURNS, tmp_path, NUMBA_CACHE_DIR=str(numba_cache))
    assert [(m, n) for m, n, _ in _kernels(tmp_path)[RETURNS_STEP]] == [
        ("rustybt.pipeline.kernels.returns", "returns_kernel")
    ]
    # the second process loads them from the cache, and the map has nothing more to learn
    before = _map_file(tmp_path).read_bytes()
    _python(RUN_RETURNS, tmp_path, NUMBA_CACHE_DIR=str(numba_cache))
    assert _map_file(tmp_path).read_bytes() == before
    assert _python(PRELOAD_RETURNS, tmp_path, NUMBA_CACHE_DIR=str(numba_cache)) == "1 0 0"


@pytest.fixture
def fresh_state(monkeypatch):
    state = (("_map", None), ("_on_disk", None), ("_map_path", None), ("_requested", set()), ("_stale", set()))
    for name, value in state:
        monkeypatch.setattr(_warmup, name, value)


def test_observe_keeps_what_a_step_loads_on_demand_and_record_writes_only_changes(fresh_state):
    import numpy as np
    from numba import njit

    from rustybt.data.readers import _scatter

    with _warmup.observe("step.A"):
        pass  # nothing loaded: nothing learned
    assert _warmup._kernel_map() == {}
    _warmup.record()
    assert not _warmup._path().exists()  # nothing to write

    with _warmup.observe("step.B"):
        # a signature no other code uses (three fields of float32 values): loaded or compiled here, on demand
        _scatter.place_bars(
            tuple(np.zeros((2, 1), order="F") for _ in range(3)),
            tuple(np.ones(1, np.float32) for _ in range(3)),
            np.zeros(1, np.int64),
            np.ones(1, np.int64),
            np.zeros(2, np.int64),
            0,
            2,
            np.ones(1, np.int64),
            np.zeros(1, np.int64),
            np.zeros(1, np.bool_),
            True,
        )
        njit(lambda x: x + 1)(1)  # not a cached module-level kernel of RustyBT: not mapped
    step_b = _warmup._kernel_map()["step.B"]
    assert [(m, n) for m, n, _ in step_b] == [("rustybt.data.readers._scatter", "place_bars")]
    _warmup.record()
    path = _warmup._path()
    stamp = path.stat().st_mtime_ns - 10**9
    os.utime(path, ns=(stamp, stamp))
    _warmup.record()  # unchanged: not written again
    assert path.stat().st_mtime_ns == stamp
    with path.open("rb") as f:
        assert pickle.load(f)["kernels"] == {"step.B": step_b}


def test_the_map_is_the_warmup_hooks_alone(tmp_path):
    """Without the speed-ups nothing is mapped; with the warm-up hook alone the run maps its steps."""
    plain = RUN.replace("default_domain=US_EQUITIES)", "default_domain=US_EQUITIES, speedups=[])")
    assert plain != RUN
    _python(plain, tmp_path)
    assert not (tmp_path / ".rustybt" / "cache" / "kernels").exists()
    alone = plain.replace("speedups=[])", "speedups=[WarmupHooks()])")
    _python("from rustybt.pipeline.hooks import WarmupHooks\n" + alone, tmp_path)
    assert SMA_STEP in _kernels(tmp_path)


def test_steps_are_term_classes_and_loaded_columns_their_data_set():
    from rustybt.pipeline.data import USEquityPricing
    from rustybt.pipeline.factors import SimpleMovingAverage

    assert _warmup.step_of(SimpleMovingAverage(inputs=[USEquityPricing.close], window_length=3)) == SMA_STEP
    assert _warmup.step_of(USEquityPricing.close) == "load:rustybt.pipeline.data.equity_pricing.EquityPricing"
