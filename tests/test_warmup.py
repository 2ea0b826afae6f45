"""The background Numba set-up and the list of kernels used: a later process loads them before any call."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rustybt import _warmup

# a small pipeline over an in-memory loader: SimpleMovingAverage runs rolling_mean_kernel, which Numba caches
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

# a fresh process that only starts the background thread and reports what it loaded, calling no kernel
PRELOAD = textwrap.dedent(
    """
    import sys
    from rustybt import _warmup
    from rustybt.pipeline.kernels import rolling
    assert not rolling.rolling_mean_kernel.signatures
    _warmup.start().join(120)
    print(len(rolling.rolling_mean_kernel.signatures))
    """
)


def _python(code: str, home: Path, **env) -> str:
    environ = {**os.environ, "HOME": str(home), "RUSTYBT_CONFIG": str(home / "none.yaml"), **env}
    done = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def home(tmp_path):
    return tmp_path


def _listed(home: Path) -> list:
    files = list((home / ".rustybt" / "cache" / "kernels").glob("used-*.pkl"))
    assert len(files) == 1, files
    with files[0].open("rb") as f:
        return pickle.load(f)


def test_a_run_records_its_kernels_and_the_next_process_loads_them_in_the_background(home):
    _python(RUN, home)
    listed = _listed(home)
    names = {(module, name) for module, name, _ in listed}
    assert ("rustybt.pipeline.kernels.rolling", "rolling_mean_kernel") in names
    assert _python(PRELOAD, home) == "1"  # loaded from Numba's disk cache before any call asked for it


def test_the_list_can_be_turned_off(home):
    _python(RUN, home, RUSTYBT_KERNEL_PRELOAD="0")
    assert not (home / ".rustybt" / "cache" / "kernels").exists()
    _python(RUN, home)  # now listed
    assert _python(PRELOAD, home, RUSTYBT_KERNEL_PRELOAD="0") == "0"  # and not loaded when turned off


def test_an_unreadable_or_stale_list_is_ignored(home):
    _python(RUN, home)
    listed = _listed(home)
    (path,) = (home / ".rustybt" / "cache" / "kernels").glob("used-*.pkl")
    path.write_bytes(b"not a pickle")
    assert _python(PRELOAD, home) == "0"
    # a kernel that no longer exists is skipped; the others still load
    path.write_bytes(pickle.dumps([("rustybt.pipeline.kernels.rolling", "no_such_kernel", ()), *listed]))
    assert _python(PRELOAD, home) == "1"


def test_record_rewrites_the_list_only_when_it_changes(monkeypatch):
    monkeypatch.setattr(_warmup, "_recorded", None)
    monkeypatch.setattr(_warmup, "used_kernels", lambda: [("m", "k", ("sig",))])
    _warmup.record()
    path = _warmup._path()
    stamp = path.stat().st_mtime_ns - 10**9
    os.utime(path, ns=(stamp, stamp))
    _warmup.record()  # unchanged: not written again
    assert path.stat().st_mtime_ns == stamp
    monkeypatch.setattr(_warmup, "used_kernels", lambda: [("m", "k", ("sig",)), ("m", "k2", ("sig",))])
    _warmup.record()
    with path.open("rb") as f:
        assert pickle.load(f) == [("m", "k", ("sig",)), ("m", "k2", ("sig",))]


def test_used_kernels_lists_the_readers_kernels_first():
    import numpy as np

    from rustybt.data.readers._scatter import place_bars

    place_bars(
        (np.zeros((2, 1), order="F"),),
        (np.ones(1),),
        np.zeros(1, np.int64),
        np.ones(1, np.int64),
        np.zeros(2, np.int64),
        0,
        2,
        np.ones(1, np.int64),
        np.zeros(1, np.int64),
    )
    used = _warmup.used_kernels()
    assert used[0][:2] == ("rustybt.data.readers._scatter", "place_bars")
    assert len(used) <= _warmup.MAX_KERNELS
