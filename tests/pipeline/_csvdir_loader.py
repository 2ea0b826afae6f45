"""A small pricing loader over the zipline csvdir sample, for checking the engine against zipline's numbers.

It reproduces what zipline's bundle + USEquityPricingLoader serve (tests/reference/README.md): prices stored as
``round(x * 1000) * 0.001``, the one-session shift (row D holds D-1's bar), split ratio ``1/s`` and dividend ratio
``1 - amount / stored_close(E-1)`` applied point in time to every bar before the effective date E, in windows
ending on or after row E; volume gets the inverse split ratio only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rustybt.assets import AssetFinder, Equity
from rustybt.pipeline.adjusted_array import MULTIPLY, AdjustedArray

CSVDIR = Path(__file__).resolve().parents[1] / "resources" / "zipline-csvdir" / "daily"
SYMBOLS = ["AAPL", "IBM", "KO", "MSFT"]


def load_bars() -> dict[int, pd.DataFrame]:
    bars = {}
    for sid, sym in enumerate(SYMBOLS):
        df = pd.read_csv(CSVDIR / f"{sym}.csv", parse_dates=["date"], index_col="date").sort_index()
        df.index = pd.DatetimeIndex(df.index).as_unit("ns")
        for col in ["open", "high", "low", "close"]:
            df[col] = np.round(df[col].to_numpy() * 1000).astype("uint32") * 0.001
        bars[sid] = df
    return bars


def finder_for(bars: dict[int, pd.DataFrame]) -> AssetFinder:
    return AssetFinder(
        [
            Equity(sid, SYMBOLS[sid], exchange="CSVDIR", start_date=df.index[0], end_date=df.index[-1])
            for sid, df in bars.items()
        ]
    )


class CsvdirPricingLoader:
    def __init__(self, bars: dict[int, pd.DataFrame]) -> None:
        self.bars = bars
        self.events = {}
        for sid, df in bars.items():
            ev = []
            for date in df.index[df["split"] != 1.0]:
                ev.append((date, 1.0 / df.at[date, "split"], "split"))
            for date in df.index[df["dividend"] != 0.0]:
                i = df.index.get_loc(date)
                ev.append((date, 1.0 - df.at[date, "dividend"] / df["close"].iloc[i - 1], "dividend"))
            self.events[sid] = sorted(ev)

    def load_adjusted_array(self, domain, columns, dates, sids, mask):
        sessions = domain.sessions()
        prev = sessions[sessions.get_indexer(dates) - 1]
        out = {}
        for column in columns:
            field = column.name
            data = np.full((len(dates), len(sids)), np.nan)
            records = []
            for j, sid in enumerate(sids):
                df = self.bars[int(sid)]
                data[:, j] = df[field].reindex(prev).to_numpy(dtype=float)
                for eff, ratio, kind in self.events[int(sid)]:
                    if eff < dates[0] or eff > dates[-1]:
                        continue
                    if field == "volume":
                        if kind != "split":
                            continue
                        ratio = 1.0 / ratio
                    row = int(dates.searchsorted(eff))
                    records.append((row, j, 0, row, MULTIPLY, ratio))
            data[~mask] = np.nan
            out[column] = AdjustedArray.from_records(data, records, column.missing_value)
        return out
