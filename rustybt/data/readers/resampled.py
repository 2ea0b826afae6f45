"""Daily bars of an intraday bundle: its stored bars resampled to its calendar's sessions on read.

The pipeline computes on daily sessions. An hourly (or minute) bundle, such as the 24/7 crypto sample, serves
it through this reader: the bars are aggregated per session by :func:`rustybt.data.resample.resample_bars` (open
first, close last, high max, low min, volume sum; the calendar decides which session a bar belongs to), so a
pipeline row on an hourly bundle sees the same daily bar that ``bundle.bars(frequency="1d")`` returns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rustybt.calendars import bar_labels
from rustybt.data.catalog.bundle import Bundle
from rustybt.data.readers.base import OHLCV_FIELDS
from rustybt.data.resolution import parse_resolution

__all__ = ["ResampledDailyBarReader"]

# Bars outside trading hours belong to the next session (pre-open, weekends, holidays) or to the previous one
# (after-hours): scanning a week either side of the requested sessions catches every bar of them.
_SCAN_PAD = pd.Timedelta(days=7)


class ResampledDailyBarReader:
    """Daily bars of an intraday ``bundle``, aggregated per session of its calendar when read.

    Parameters
    ----------
    bundle
        A bundle (pinned to an ingestion) storing intraday bars (``1m`` ... ``4h``).
    """

    data_frequency = "daily"
    resolution = "1d"

    def __init__(self, bundle: Bundle) -> None:
        if not parse_resolution(bundle.resolution).is_intraday:
            raise ValueError(f"bundle {bundle.name!r} stores {bundle.resolution} bars; read them with ParquetBarReader")
        self.bundle = bundle

    @property
    def calendar_name(self) -> str:
        return self.bundle.calendar_name

    def labels(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
        """Session labels (midnight UTC) from ``start`` to ``end``: the rows of :meth:`load_raw_arrays`."""
        return bar_labels(self.calendar_name, "1d", start, end)

    def load_raw_arrays(
        self,
        columns: Sequence[str],
        start_date: pd.Timestamp,
        end_date: pd.Timestamp,
        assets: Sequence[int],
    ) -> list[np.ndarray]:
        """One float64 array per column, shape (sessions, assets) in Fortran order, NaN where a session has no bar."""
        for col in columns:
            if col not in OHLCV_FIELDS:
                raise ValueError(f"unknown bar field {col!r}; readers serve {', '.join(OHLCV_FIELDS)}")
        labels = self.labels(start_date, end_date)
        sids = np.asarray([int(a) for a in assets], dtype=np.int64)
        out = [np.full((len(labels), len(sids)), np.nan, order="F") for _ in columns]
        if len(labels) == 0 or len(sids) == 0:
            return out
        daily = self.bundle.bars(
            sorted(set(sids.tolist()) & set(self.bundle.sids)),
            labels[0] - _SCAN_PAD,
            labels[-1] + _SCAN_PAD,
            frequency="1d",
        )
        ts = daily.get_column("timestamp").dt.epoch("ns").to_numpy()
        rows = np.searchsorted(labels.asi8, ts)
        inside = (rows < len(labels)) & (labels.asi8[np.minimum(rows, len(labels) - 1)] == ts)
        col_of = {int(s): j for j, s in enumerate(sids)}  # a sid asked for twice gets its last column ...
        frame_sids = daily.get_column("sid").to_numpy()
        cols = np.array([col_of.get(int(s), -1) for s in frame_sids], dtype=np.int64)
        keep = inside & (cols >= 0)
        for arr, field in zip(out, columns, strict=True):
            arr[rows[keep], cols[keep]] = daily.get_column(field).to_numpy()[keep]
        duplicated = len(col_of) < len(sids)
        if duplicated:  # ... and the earlier columns of that sid are copies of it
            for j, s in enumerate(sids):
                for arr in out:
                    arr[:, j] = arr[:, col_of[int(s)]]
        return out
