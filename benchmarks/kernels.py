"""Issue 3 benchmark, kernels alone: RustyBT's Numba window kernels vs pandas ``rolling`` vs the memory-traffic floor.

    .venv/bin/python benchmarks/kernels.py [--dates 2520] [--assets 3000] [--repeat 5]

Input: one (dates x assets) F-ordered float64 array of random-walk prices (each asset's series contiguous, as the
pipeline engine holds it). For each kernel:

* ``kernel``: the jitted kernel on a preallocated, already touched ``out`` (what the engine's inner call costs);
* ``wrapper``: the public wrapper (``rolling_mean(data, wl)`` ...), which also allocates ``out`` (page faults);
* ``pandas``: the pandas equivalent on ``pd.DataFrame(data)`` (a column per asset), built once outside the timing;
* ``floor``: (bytes read + bytes written) / copy bandwidth, the bandwidth being 2 x nbytes / best time of
  ``np.copyto`` between two same-size, already touched arrays (single-threaded numpy).

Times are the best of ``--repeat`` runs (the machine is shared; the load average is printed). Each kernel's result
is also checked against its pandas equivalent (max relative difference over cells where both are finite).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))

from rustybt.pipeline.kernels._adjust import empty_adjustments
from rustybt.pipeline.kernels.ewm import decay_rate_from_span, ewm_kernel, ewma
from rustybt.pipeline.kernels.returns import RETURNS, returns, returns_kernel
from rustybt.pipeline.kernels.rolling import (
    MEAN,
    STD,
    rolling_mean,
    rolling_moments_kernel,
    rolling_std,
    rsi,
    rsi_kernel,
)


def wide_table(rows: list[dict], title: str) -> str:
    """A polars table with every column shown (benchmarks/_data.table truncates wide tables)."""
    frame = pl.DataFrame(rows)
    with pl.Config(
        tbl_rows=100, tbl_cols=-1, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True,
        tbl_width_chars=400, fmt_str_lengths=100,
    ):  # fmt: skip
        return f"\n{title}\n{frame}"


def prices(n_dates: int, n_assets: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0002, 0.015, (n_dates, n_assets))
    return np.asfortranarray(20.0 * np.exp(np.cumsum(steps, axis=0)) + 1.0)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def copy_bandwidth(data: np.ndarray, repeat: int) -> float:
    """Bytes per second of ``np.copyto`` counting one read and one write of ``data.nbytes`` each."""
    dst = np.empty_like(data, order="F")
    np.copyto(dst, data)  # touch the pages first
    seconds = best(lambda: np.copyto(dst, data), max(repeat, 5))
    return 2 * data.nbytes / seconds


def pandas_rsi(frame: pd.DataFrame, wl: int) -> pd.DataFrame:
    """zipline RSI with pandas: ups / downs are the rolling means of the clipped diffs (wl closes, wl - 1 diffs)."""
    diff = frame.diff()
    ups = diff.clip(lower=0.0).rolling(wl - 1).mean()
    downs = (-diff).clip(lower=0.0).rolling(wl - 1).mean()
    return 100.0 - 100.0 / (1.0 + ups / downs)


def pandas_ewma(frame: pd.DataFrame, wl: int, span: float) -> pd.DataFrame:
    """zipline's windowed EWMA with pandas: a rolling window of exponential weights, newest weight 1 (scipy)."""
    decay = 1.0 - 2.0 / (span + 1.0)
    return frame.rolling(wl, win_type="exponential").mean(center=wl - 1, tau=-1.0 / np.log(decay), sym=False)


def max_rel_diff(ours: np.ndarray, theirs: np.ndarray) -> float:
    both = np.isfinite(ours) & np.isfinite(theirs)
    if not both.any():
        return float("nan")
    a, b = ours[both], theirs[both]
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def kernel_rows(n_dates: int = 2520, n_assets: int = 3000, repeat: int = 5) -> tuple[list[dict], float]:
    data = prices(n_dates, n_assets)
    frame = pd.DataFrame(data)
    adj = empty_adjustments(n_assets)
    bandwidth = copy_bandwidth(data, repeat)
    decay = decay_rate_from_span(20)

    # (label, raw kernel, wrapper call, wl, extra kernel params, pandas call)
    cases = [
        (
            "SMA / rolling mean (wl=50)",
            rolling_moments_kernel,
            lambda: rolling_mean(data, 50),
            50,
            (MEAN, 1.0),
            lambda: frame.rolling(50).mean(),
        ),
        (
            "SMA / rolling mean (wl=200)",
            rolling_moments_kernel,
            lambda: rolling_mean(data, 200),
            200,
            (MEAN, 1.0),
            lambda: frame.rolling(200).mean(),
        ),
        (
            "EWMA span=20 (wl=60)",
            ewm_kernel,
            lambda: ewma(data, 60, decay),
            60,
            (decay, False),
            lambda: pandas_ewma(frame, 60, 20),
        ),
        (
            "Returns (wl=252)",
            returns_kernel,
            lambda: returns(data, 252),
            252,
            (RETURNS,),
            lambda: frame.pct_change(251, fill_method=None),
        ),
        (
            "rolling std ddof=0 (wl=20)",
            rolling_moments_kernel,
            lambda: rolling_std(data, 20),
            20,
            (STD, 1.0),
            lambda: frame.rolling(20).std(ddof=0),
        ),
        ("RSI (wl=15)", rsi_kernel, lambda: rsi(data, 15), 15, (), lambda: pandas_rsi(frame, 15)),
    ]
    rows = []
    for label, kernel, wrapper, wl, params, peer in cases:
        out = np.empty((n_dates - wl + 1, n_assets), dtype=np.float64, order="F")
        kernel(data, wl, adj, out, *params)  # compile / load from the Numba cache, touch out
        t_kernel = best(
            lambda kernel=kernel, wl=wl, out=out, params=params: kernel(data, wl, adj, out, *params), repeat
        )
        t_wrapper = best(wrapper, repeat)
        t_pandas = best(peer, max(1, min(repeat, 3)))
        floor = (data.nbytes + out.nbytes) / bandwidth
        diff = max_rel_diff(out, peer().to_numpy()[wl - 1 :])
        rows.append(
            {
                "kernel": label,
                "rustybt kernel ms": round(t_kernel * 1e3, 1),
                "wrapper ms": round(t_wrapper * 1e3, 1),
                "pandas ms": round(t_pandas * 1e3, 1),
                "pandas / kernel": round(t_pandas / t_kernel, 1),
                "floor ms": round(floor * 1e3, 1),
                "kernel / floor": round(t_kernel / floor, 2),
                "wrapper / floor": round(t_wrapper / floor, 2),
                "max rel diff vs pandas": f"{diff:.1e}",
            }
        )
    # pandas' own (infinite-window) EWM, for scale: a different quantity from zipline's windowed EWMA
    t_ewm = best(lambda: frame.ewm(span=20).mean(), max(1, min(repeat, 3)))
    rows.append(
        {
            "kernel": "(pandas ewm(span=20).mean(): no window, not zipline's EWMA)",
            "rustybt kernel ms": None,
            "wrapper ms": None,
            "pandas ms": round(t_ewm * 1e3, 1),
            "pandas / kernel": None,
            "floor ms": round(2 * data.nbytes / bandwidth * 1e3, 1),
            "kernel / floor": None,
            "wrapper / floor": None,
            "max rel diff vs pandas": "",
        }
    )
    return rows, bandwidth


def kernels_table(n_dates: int = 2520, n_assets: int = 3000, repeat: int = 5) -> str:
    load0 = os.getloadavg()
    rows, bandwidth = kernel_rows(n_dates, n_assets, repeat)
    load1 = os.getloadavg()
    import numba

    title = (
        f"Kernels alone on a {n_dates} x {n_assets} F-ordered float64 array ({n_dates * n_assets * 8 / 2**20:.0f} MiB);"
        f" np.copyto bandwidth {bandwidth / 1e9:.2f} GB/s (read + write); Numba threads {numba.get_num_threads()},"
        f" {os.cpu_count()} CPUs; load average {load0[0]:.2f} before, {load1[0]:.2f} after; best of {repeat}"
    )
    return wide_table(rows, title)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dates", type=int, default=2520)
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(kernels_table(args.dates, args.assets, args.repeat))


if __name__ == "__main__":
    main()
