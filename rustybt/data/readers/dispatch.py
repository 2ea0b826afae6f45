"""A reader that routes each asset to the reader of its asset class (equities, crypto, futures...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rustybt.assets import AssetFinder
from rustybt.data.readers.base import BarReader
from rustybt.errors import NoDataForSid

__all__ = ["AssetDispatchBarReader"]


class AssetDispatchBarReader:
    """Route reads by asset class: ``{"equity": equity_reader, "future": futures_reader, ...}``.

    All readers must share one data frequency and calendar, so that their rows line up; ``load_raw_arrays``
    reads each class's sids from its reader and places the columns back in the requested order.
    """

    def __init__(self, asset_finder: AssetFinder, readers: Mapping[str, BarReader]) -> None:
        if not readers:
            raise ValueError("AssetDispatchBarReader needs at least one reader")
        frequencies = {r.data_frequency for r in readers.values()}
        calendars = {r.trading_calendar.name for r in readers.values()}
        if len(frequencies) > 1 or len(calendars) > 1:
            raise ValueError(
                f"readers must share one data frequency and calendar, got {sorted(frequencies)} / {sorted(calendars)}"
            )
        self.asset_finder = asset_finder
        self.readers = dict(readers)
        self._first = next(iter(self.readers.values()))

    @property
    def data_frequency(self) -> str:
        return self._first.data_frequency

    @property
    def trading_calendar(self):
        return self._first.trading_calendar

    @property
    def calendar_name(self) -> str:
        return self._first.calendar_name

    def reader_for(self, sid: int) -> BarReader:
        """The reader serving ``sid``'s asset class."""
        asset = self.asset_finder.retrieve_asset(sid)
        try:
            return self.readers[asset.asset_class]
        except KeyError:
            raise NoDataForSid(
                f"no reader for asset class {asset.asset_class!r} (sid {sid}); readers: {', '.join(self.readers)}"
            ) from None

    def load_raw_arrays(
        self, columns: Sequence[str], start_date: pd.Timestamp, end_date: pd.Timestamp, assets: Sequence[int]
    ) -> list[np.ndarray]:
        """As :meth:`BarReader.load_raw_arrays`, with each asset read by its class's reader."""
        sids = [int(a) for a in assets]
        groups = self.asset_finder.group_by_class(sids)
        out: list[np.ndarray] | None = None
        position = {sid: i for i, sid in enumerate(sids)}
        for asset_class, class_sids in groups.items():
            reader = self.reader_for(class_sids[0])
            arrays = reader.load_raw_arrays(columns, start_date, end_date, class_sids)
            if out is None:
                out = [np.full((a.shape[0], len(sids)), np.nan, order="F") for a in arrays]
            idx = [position[s] for s in class_sids]
            for target, source in zip(out, arrays, strict=True):
                target[:, idx] = source
            _ = asset_class
        return out or [np.empty((0, 0)) for _ in columns]

    def get_value(self, sid: int, dt: pd.Timestamp, field: str) -> float:
        return self.reader_for(sid).get_value(sid, dt, field)

    def get_last_traded_dt(self, sid: int, dt: pd.Timestamp):
        return self.reader_for(sid).get_last_traded_dt(sid, dt)
