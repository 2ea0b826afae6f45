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
    suffix: np.ndarray  # suffix[k] = prod(event_ratios[k:]), suffix[-1] = 1
    base: np.ndarray  # values * factors: a window ending at bar i is base[...] / factors[i]
    label_offset: int  # index of ts[0] in the portal's label grid when ts is a gap-free run of it, else -1

    def factor_at(self, t_ns: int) -> float:
        """``B(t)``: product of ratios of events strictly after ``t``."""
        if len(self.event_ns) == 0:
            return 1.0
        return float(self.suffix[np.searchsorted(self.event_ns, t_ns, side="right")])


class HistoryLoader:
    """Prepared per-asset series with adjustment factors, shared by every history call of a portal."""

    def __init__(self, reader: ParquetBarReader, adjustments: AdjustmentReader, labels: np.ndarray) -> None:
        self.reader = reader
        self.labels = labels
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
                suffix = np.ones(len(events) + 1)
                if len(events):
                    suffix[:-1] = np.cumprod(events.ratios[::-1])[::-1]
                factors = events.factors(ts)
                k0 = int(np.searchsorted(self.labels, ts[0])) if len(ts) else -1
                aligned = (
                    k0 >= 0 and k0 + len(ts) <= len(self.labels) and np.array_equal(self.labels[k0 : k0 + len(ts)], ts)
                )
                found = AssetSeries(
                    ts=ts,
                    values=values[field],
                    factors=factors,
                    base=values[field] * factors,
                    label_offset=k0 if aligned else -1,
                    event_ns=events.effective_ns,
                    event_ratios=events.ratios,
                    suffix=suffix,
                )
                self._prepared[key] = found
        return found

    def window_at(self, sid: int, field: str, start: int, stop: int, as_of_ns: int) -> np.ndarray:
        """Adjusted values for the label-grid rows ``[start, stop)`` ending at ``as_of_ns``: the hot path.

        When the asset has a bar on every label of the window this is one slice and one division.
        """
        s = self.series(sid, field)
        k0 = s.label_offset
        if k0 >= 0 and k0 <= start and stop - k0 <= len(s.ts) and s.ts[stop - k0 - 1] == as_of_ns:
            if len(s.event_ns) == 0:
                return s.values[start - k0 : stop - k0].copy()
            return s.base[start - k0 : stop - k0] / s.factors[stop - k0 - 1]
        return self.window(sid, field, self.labels[start:stop], as_of_ns)

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
