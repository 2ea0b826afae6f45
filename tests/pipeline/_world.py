"""A small in-memory world for engine tests: XNYS sessions, six assets with staggered lifetimes, random OHLCV with
NaNs, served through DataFrameLoader (no I/O, no shift)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rustybt.assets import AssetFinder, Equity
from rustybt.calendars import get_calendar
from rustybt.pipeline import US_EQUITIES, Pipeline, SimplePipelineEngine
from rustybt.pipeline.data import USEquityPricing
from rustybt.pipeline.loaders import DataFrameLoader

FIELDS = ("open", "high", "low", "close", "volume")


def xnys_sessions(start: str, end: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(get_calendar("XNYS").sessions_in_range(start, end))


@dataclass
class World:
    sessions: pd.DatetimeIndex
    assets: list
    frames: dict
    adjustments: dict = field(default_factory=dict)

    @property
    def finder(self) -> AssetFinder:
        return AssetFinder(self.assets)

    @property
    def sids(self) -> list[int]:
        return [a.sid for a in self.assets]

    def alive(self, dates=None) -> pd.DataFrame:
        dates = self.sessions if dates is None else dates
        return self.finder.lifetimes(dates, include_start_date=False)

    def masked(self, name: str) -> pd.DataFrame:
        """What DataFrameLoader serves: the frame with values outside lifetimes set to NaN."""
        return self.frames[name].where(self.alive())

    def loaders(self, extra: dict | None = None) -> dict:
        out = {
            getattr(USEquityPricing, name): DataFrameLoader(
                getattr(USEquityPricing, name), frame, self.adjustments.get(name)
            )
            for name, frame in self.frames.items()
        }
        out.update(extra or {})
        return out

    def engine(self, extra: dict | None = None) -> SimplePipelineEngine:
        return SimplePipelineEngine(self.loaders(extra), self.finder, US_EQUITIES)

    def run(self, columns: dict, start=None, end=None, screen=None, extra=None, **kw) -> pd.DataFrame:
        start = self.sessions[40] if start is None else start
        end = self.sessions[-1] if end is None else end
        kw.setdefault("progress", False)
        return self.engine(extra).run_pipeline(Pipeline(columns, screen=screen), start, end, **kw)


def wide(result: pd.DataFrame, column: str, world: World, start=None) -> pd.DataFrame:
    """A result column as dates x sids (NaN where the row is absent)."""
    s = result[column]
    frame = pd.DataFrame(
        {"date": s.index.get_level_values(0), "sid": [int(a) for a in s.index.get_level_values(1)], "v": s.values}
    )
    out = frame.pivot(index="date", columns="sid", values="v")
    dates = out.index if start is None else world.sessions[world.sessions.get_loc(pd.Timestamp(start)) :]
    return out.reindex(index=dates, columns=world.sids)


def make_world(seed: int = 0, n_assets: int = 6, start: str = "2014-01-02", end: str = "2014-09-30") -> World:
    rng = np.random.default_rng(seed)
    sessions = xnys_sessions(start, end)
    n = len(sessions)
    sids = list(range(1, n_assets + 1))
    close = 40.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, (n, n_assets)), axis=0))
    close[rng.random((n, n_assets)) < 0.05] = np.nan
    spread = rng.uniform(0.0, 0.03, (n, n_assets))
    frames = {
        "close": close,
        "open": close * (1 + rng.normal(0, 0.005, (n, n_assets))),
        "high": close * (1 + spread),
        "low": close * (1 - spread),
        "volume": rng.integers(1_000, 50_000, (n, n_assets)).astype(float),
    }
    frames = {k: pd.DataFrame(v, index=sessions, columns=sids) for k, v in frames.items()}
    starts = [pd.Timestamp("2013-01-02")] * n_assets
    ends = [None] * n_assets
    if n_assets >= 5:
        starts[4] = sessions[60]  # starts inside the run
    if n_assets >= 6:
        ends[5] = sessions[120]  # delisted inside the run
    assets = [
        Equity(sid, f"A{sid}", exchange="TEST", start_date=starts[i], end_date=ends[i]) for i, sid in enumerate(sids)
    ]
    return World(sessions, assets, frames)


def rolling_reference(world: World, names, wl: int, func, start=None) -> pd.DataFrame:
    """Apply ``func(*windows) -> values per asset`` to every trailing window of the masked frames (zipline's
    per-day compute), and mask outputs outside lifetimes."""
    frames = [world.masked(n).to_numpy() for n in ([names] if isinstance(names, str) else names)]
    n = len(world.sessions)
    out = np.full((n, len(world.sids)), np.nan)
    with np.errstate(all="ignore"):
        for i in range(wl - 1, n):
            out[i] = func(*[f[i - wl + 1 : i + 1] for f in frames])
    result = pd.DataFrame(out, index=world.sessions, columns=world.sids).where(world.alive())
    if start is not None:
        result = result.loc[pd.Timestamp(start) :]
    return result
