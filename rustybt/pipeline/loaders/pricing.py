"""PricingLoader: EquityPricing columns from a catalog bundle, shifted one session, adjusted point in time.

The row for session D holds the bar of the session before D (what was known at the start of D). A split,
dividend or merger effective on session E becomes known on the row of E (``apply_row``) and multiplies every
earlier row holding a bar dated before E; volumes take the inverse split ratio only. The raw arrays come from
the bundle's Parquet reader, the events from its adjustments table: the same sources as the DataPortal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rustybt.data.catalog.bundle import Bundle
from rustybt.data.readers.adjustments import AdjustmentReader
from rustybt.data.readers.parquet import ParquetBarReader
from rustybt.pipeline.adjusted_array import MULTIPLY, AdjustedArray

__all__ = ["PricingLoader"]

_FIELDS = ("open", "high", "low", "close", "volume")


class PricingLoader:
    """Serve ``EquityPricing`` (open, high, low, close, volume) from a daily bundle.

    Parameters
    ----------
    bundle
        A bundle (pinned to an ingestion) storing daily bars.
    cache
        Optional :class:`~rustybt.data.cache.CacheManager` for the loaded raw arrays.
    """

    def __init__(self, bundle: Bundle, *, cache=None) -> None:
        self.bundle = bundle
        self.reader = ParquetBarReader(bundle, cache=cache)
        self.adjustments = AdjustmentReader(bundle)
        if self.reader.data_frequency != "daily":
            raise ValueError(f"bundle {bundle.name!r} stores {bundle.resolution} bars; the pipeline needs daily bars")

    def load_adjusted_array(self, domain, columns: Sequence, dates: pd.DatetimeIndex, sids: np.ndarray, mask):
        """See :mod:`rustybt.pipeline.loaders.base`: one AdjustedArray per column, shifted one session."""
        fields = []
        for col in columns:
            if col.name not in _FIELDS:
                name = getattr(col, "qualname", col.name)
                raise ValueError(f"PricingLoader serves {', '.join(_FIELDS)}, not {name}")
            fields.append(col.name)
        naive = pd.DatetimeIndex(dates).tz_localize(None) if pd.DatetimeIndex(dates).tz else pd.DatetimeIndex(dates)
        cal = self.reader.trading_calendar
        # the bar shown on row D is the previous session's bar
        bar_sessions = pd.DatetimeIndex([cal.previous_session(naive[0])]).append(naive[:-1]).as_unit("ns")
        bar_utc = bar_sessions.tz_localize("UTC")
        unique = list(dict.fromkeys(fields))
        raw = dict(
            zip(
                unique,
                self.reader.load_raw_arrays(unique, bar_utc[0], bar_utc[-1], [int(s) for s in sids]),
                strict=True,
            )
        )
        bar_ns = bar_utc.asi8
        date_ns = naive.as_unit("ns").tz_localize("UTC").asi8
        out = {}
        for col, field in zip(columns, fields, strict=True):
            data = raw[field]
            if data.shape[0] != len(dates):  # calendar rows must line up one-to-one with the pipeline dates
                raise ValueError(f"expected {len(dates)} bar rows for {field}, loaded {data.shape[0]}")
            records = self._records(field, sids, bar_ns, date_ns)
            out[col] = AdjustedArray.from_records(data, records, missing_value=col.missing_value)
        return out

    def _records(self, field: str, sids: np.ndarray, bar_ns: np.ndarray, date_ns: np.ndarray):
        records = []
        for j, sid in enumerate(sids):
            if not self.adjustments.has_events(int(sid)):
                continue
            events = self.adjustments.events(int(sid), field)
            for effective, ratio in zip(events.effective_ns, events.ratios, strict=True):
                apply_row = int(np.searchsorted(date_ns, effective))  # first row dated on or after E
                if apply_row >= len(date_ns):
                    continue  # not known yet within these dates: no lookahead
                last_row = int(np.searchsorted(bar_ns, effective)) - 1  # last row holding a bar dated before E
                if last_row < 0:
                    continue
                records.append((apply_row, j, 0, last_row, MULTIPLY, float(ratio)))
        return records
