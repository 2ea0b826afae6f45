"""History windows for one asset at the stored resolution, with point-in-time adjustment.

For each (sid, field) the loader keeps the asset's full series and the backward adjustment factor of every bar
(see :mod:`rustybt.data.readers.adjustments`), prepared once. A window ending at t is then a slice of the series
times ``B(bar) / B(t)``: successive calls on advancing dates cost a binary search and a ``bar_count`` multiply —
no I/O, no re-reading, no re-adjusting of earlier bars.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from rustybt.data.readers.adjustments import AdjustmentReader
from rustybt.data.readers.parquet import ParquetBarReader

__all__ = ["AssetSeries", "HistoryLoader"]


@dataclass(frozen=True)
class AssetSeries:
    """One asset's bars of one field, ready for windows: timestamps, raw values, backward factors, events."""

    ts: np.ndarray  # int64 ns, sorted
    values: np.ndarray  # raw float64
    factors: np.ndarray  # B(ts) per bar
    event_ns: np.ndarray
    event_ratios: np.ndarray

    def factor_at(self, t_ns: int) -> float:
        """``B(t)``: product of ratios of events strictly after ``t``."""
        if len(self.event_ns) == 0:
            return 1.0
        k = int(np.searchsorted(self.event_ns, t_ns, side="right"))
        return float(np.prod(self.event_ratios[k:])) if k < len(self.event_ns) else 1.0


class HistoryLoader:
    """Prepared per-asset series with adjustment factors, shared by every history call of a portal."""

    def __init__(self, reader: ParquetBarReader, adjustments: AdjustmentReader) -> None:
        self.reader = reader
        self.adjustments = adjustments
        self._prepared: dict[tuple[int, str], AssetSeries] = {}
        self._lock = threading.Lock()

    def series(self, sid: int, field: str) -> AssetSeries:
        """The prepared series of ``sid`` / ``field`` (built on first use)."""
        key = (int(sid), field)
        found = self._prepared.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._prepared.get(key)
            if found is None:
                ts, values = self.reader.series(sid)
                events = self.adjustments.events(sid, field)
                found = AssetSeries(
                    ts=ts,
                    values=values[field],
                    factors=events.factors(ts),
                    event_ns=events.effective_ns,
                    event_ratios=events.ratios,
                )
                self._prepared[key] = found
        return found

    def window(self, sid: int, field: str, labels_ns: np.ndarray, as_of_ns: int, adjust: bool = True) -> np.ndarray:
        """Values of ``field`` at ``labels_ns`` (NaN where no bar), adjusted as of ``as_of_ns``."""
        s = self.series(sid, field)
        pos = np.searchsorted(s.ts, labels_ns)
        n = len(s.ts)
        if n and pos[0] < n and pos[-1] - pos[0] == len(labels_ns) - 1 and s.ts[pos[-1]] == labels_ns[-1]:
            # the asset has a bar on every label: a plain slice
            sl = slice(int(pos[0]), int(pos[-1]) + 1)
            out = s.values[sl].copy()
            if adjust and len(s.event_ns):
                out *= s.factors[sl] / s.factor_at(as_of_ns)
            return out
        clipped = np.minimum(pos, max(n - 1, 0))
        hit = (pos < n) & (s.ts[clipped] == labels_ns) if n else np.zeros(len(labels_ns), dtype=bool)
        out = np.full(len(labels_ns), np.nan)
        out[hit] = s.values[clipped[hit]]
        if adjust and len(s.event_ns):
            out[hit] *= s.factors[clipped[hit]] / s.factor_at(as_of_ns)
        return out

    def last_before(self, sid: int, field: str, t_ns: int) -> tuple[int, float] | None:
        """(timestamp, raw value) of the last bar at or before ``t_ns`` with a non-NaN value, or None."""
        s = self.series(sid, field)
        i = int(np.searchsorted(s.ts, t_ns, side="right")) - 1
        while i >= 0 and np.isnan(s.values[i]):
            i -= 1
        return None if i < 0 else (int(s.ts[i]), float(s.values[i]))
