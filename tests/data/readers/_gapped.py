"""Daily CSV bars with random gaps and staggered listings, ingested into a catalog: the readers' test data."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rustybt import Catalog
from rustybt.data.adapters.csv import CSVAdapter


def ingest_gapped_daily(
    root: Path,
    symbols: Sequence[str],
    sessions: pd.DatetimeIndex,
    *,
    seed: int,
    drop: Callable[[int], float],
    listing_step: int,
    price: float,
    step_sd: float,
    spread: float,
    volumes: tuple[int, int],
) -> tuple[Catalog, dict[str, pd.DataFrame]]:
    """Bundle ``"d"`` in a catalog under ``root``: symbol ``k`` misses a share ``drop(k)`` of the sessions and lists
    ``k * listing_step`` sessions late; also returns the frames the CSV files were written from (by date)."""
    rng = np.random.default_rng(seed)
    (root / "src" / "daily").mkdir(parents=True)
    frames = {}
    for k, symbol in enumerate(symbols):
        days = sessions[rng.random(len(sessions)) > drop(k)][k * listing_step :]
        close = np.round(price + np.cumsum(rng.normal(0, step_sd, len(days))).clip(10 - price, None), 2)
        frame = pd.DataFrame(
            {
                "date": days.strftime("%Y-%m-%d"),
                "open": close,
                "high": close + spread,
                "low": close - spread,
                "close": close,
                "volume": rng.integers(*volumes, len(days)),
                "dividend": 0.0,
                "split": 1.0,
            }
        )
        frame.to_csv(root / "src" / "daily" / f"{symbol}.csv", index=False)
        frames[symbol] = frame.set_index(pd.DatetimeIndex(frame["date"]))
    catalog = Catalog(root=root / "cat")
    catalog.register("d", adapter=CSVAdapter.from_csvdir(root / "src"), validation="lenient")
    catalog.ingest("d", progress=False)
    return catalog, frames
