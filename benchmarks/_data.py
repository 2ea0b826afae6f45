"""Deterministic generated data sets shared by the benchmarks (written once under benchmarks/.work/)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

WORK = Path(__file__).parent / ".work"


def xnys_sessions(start: str, n: int) -> pd.DatetimeIndex:
    import exchange_calendars as xcals

    cal = xcals.get_calendar("XNYS", start="2000-01-01")
    sessions = cal.sessions[cal.sessions >= pd.Timestamp(start)]
    return sessions[:n]


def daily_csvdir(n_assets: int, n_sessions: int, name: str | None = None) -> Path:
    """zipline csvdir layout: <dir>/daily/S0000.csv ... with date,open,high,low,close,volume,dividend,split."""
    root = WORK / (name or f"daily_{n_assets}x{n_sessions}")
    done = root / ".complete"
    if done.exists():
        return root
    (root / "daily").mkdir(parents=True, exist_ok=True)
    sessions = xnys_sessions("2010-01-04", n_sessions).strftime("%Y-%m-%d")
    rng = np.random.default_rng(42)
    for i in range(n_assets):
        close = np.round(20 * np.exp(np.cumsum(rng.normal(0.0002, 0.015, n_sessions))) + 1, 2)
        spread = np.abs(rng.normal(0, 0.01, n_sessions))
        open_ = np.round(close * (1 + rng.normal(0, 0.003, n_sessions)), 2)
        high = np.round(np.maximum(open_, close) * (1 + spread), 2)
        low = np.round(np.minimum(open_, close) * (1 - spread), 2)
        pl.DataFrame(
            {
                "date": sessions,
                "open": open_,
                "high": high,
                "low": low,
                "close": close,
                "volume": rng.integers(10_000, 5_000_000, n_sessions),
                "dividend": np.zeros(n_sessions),
                "split": np.ones(n_sessions),
            }
        ).write_csv(root / "daily" / f"S{i:04d}.csv", float_precision=2)
    done.touch()
    return root


def adjusted_csvdir(n_assets: int, n_sessions: int, name: str | None = None) -> Path:
    """Like :func:`daily_csvdir`, but shaped like real equities: quarterly cash dividends on every asset, a split
    (2:1, 3:1 or a 1:2 reverse) every two to four years per asset with the raw prices after it divided accordingly,
    a third of the assets starting late (up to five years in) and a tenth ending early (delisted). No gaps inside an
    asset's life: zipline's bcolz writer refuses missing sessions, and both systems must read the same files.
    """
    root = WORK / (name or f"adjusted_{n_assets}x{n_sessions}")
    done = root / ".complete"
    if done.exists():
        return root
    (root / "daily").mkdir(parents=True, exist_ok=True)
    sessions = xnys_sessions("2010-01-04", n_sessions).strftime("%Y-%m-%d")
    rng = np.random.default_rng(43)
    for i in range(n_assets):
        first = int(rng.integers(1, min(1260, n_sessions // 2))) if rng.random() < 1 / 3 else 0
        last = n_sessions - int(rng.integers(1, n_sessions // 4)) if rng.random() < 0.1 else n_sessions
        n = last - first
        close = 20 * np.exp(np.cumsum(rng.normal(0.0002, 0.015, n))) + 1
        split = np.ones(n)
        day = int(rng.integers(100, 700))
        while day < n:
            split[day] = rng.choice([2.0, 3.0, 0.5])
            day += int(rng.integers(504, 1008))
        close = close / np.cumprod(split)  # raw prices: a 2:1 split halves every later price
        dividend = np.zeros(n)
        quarter = int(rng.integers(5, 63))
        dividend[quarter::63] = np.round(close[quarter::63] * rng.uniform(0.002, 0.01), 4)
        close = np.round(close, 2) + 0.01
        spread = np.abs(rng.normal(0, 0.01, n))
        open_ = np.round(close * (1 + rng.normal(0, 0.003, n)), 2)
        high = np.round(np.maximum(open_, close) * (1 + spread), 2)
        low = np.round(np.minimum(open_, close) * (1 - spread), 2)
        pl.DataFrame(
            {
                "date": sessions[first:last],
                "open": open_,
                "high": high,
                "low": low,
                "close": close,
                "volume": rng.integers(10_000, 5_000_000, n),
                "dividend": dividend,
                "split": split,
            }
        ).write_csv(root / "daily" / f"A{i:04d}.csv", float_precision=4)
    done.touch()
    return root


def minute_csvs(n_assets: int, n_sessions: int, name: str | None = None) -> Path:
    """One CSV per symbol of XNYS 1m bars (timestamp,open,high,low,close,volume) in <dir>/."""
    root = WORK / (name or f"minute_{n_assets}x{n_sessions}")
    done = root / ".complete"
    if done.exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    import exchange_calendars as xcals

    cal = xcals.get_calendar("XNYS", start="2000-01-01")
    sessions = xnys_sessions("2019-01-02", n_sessions)
    minutes = cal.minutes_in_range(cal.session_first_minute(sessions[0]), cal.session_close(sessions[-1]))
    stamps = minutes.strftime("%Y-%m-%dT%H:%M:%SZ")
    n = len(minutes)
    rng = np.random.default_rng(7)
    for i in range(n_assets):
        close = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.0008, n))), 4)
        open_ = np.round(np.r_[close[0], close[:-1]], 4)
        high = np.round(np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.0004, n))), 4)
        low = np.round(np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.0004, n))), 4)
        pl.DataFrame(
            {
                "timestamp": stamps,
                "open": open_,
                "high": high,
                "low": low,
                "close": close,
                "volume": rng.integers(1, 5000, n),
            }
        ).write_csv(root / f"M{i:03d}.csv", float_precision=4)
    done.touch()
    return root


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def table(rows: list[dict], title: str) -> str:
    frame = pl.DataFrame(rows)
    with pl.Config(tbl_rows=100, tbl_hide_dataframe_shape=True, tbl_width_chars=200, fmt_str_lengths=80):
        return f"\n{title}\n{frame}"
