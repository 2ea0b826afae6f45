"""Factors about event dates (earnings, dividends...): business days since / until an event."""

from __future__ import annotations

import numpy as np

from rustybt.pipeline.dtypes import float64_dtype
from rustybt.pipeline.factors.factor import Factor

__all__ = ["BusinessDaysSincePreviousEvent", "BusinessDaysUntilNextEvent"]

_NOT_NAT = np.datetime64("2000-01-01", "D")


def _busday_count_mask_nat(begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    begin_nat = np.isnat(begin)
    end_nat = np.isnat(end)
    out = np.busday_count(np.where(begin_nat, _NOT_NAT, begin), np.where(end_nat, _NOT_NAT, end)).astype(np.float64)
    out[np.broadcast_to(begin_nat | end_nat, out.shape)] = np.nan
    return np.asfortranarray(out)


def _event_days(arrays, dates, mask) -> tuple[np.ndarray, np.ndarray]:
    events = np.asarray(arrays[0])
    if events.dtype.kind != "M":
        raise TypeError(f"event factors need a datetime64 input, got {events.dtype}")
    events = events.astype("datetime64[D]")
    events[~mask] = np.datetime64("NaT", "D")
    reference = np.asarray(dates.values).astype("datetime64[D]")[:, np.newaxis]
    return events, reference


class BusinessDaysSincePreviousEvent(Factor):
    """Business days (Mon-Fri, not trading days) from the latest event date to each date; NaN without an event.

    Pass the event-date column as input: ``BusinessDaysSincePreviousEvent(inputs=[MyData.asof_date])``.
    """

    window_length = 0
    dtype = float64_dtype

    def _compute(self, arrays, dates, assets, mask):
        events, reference = _event_days(arrays, dates, mask)
        return _busday_count_mask_nat(events, reference)


class BusinessDaysUntilNextEvent(Factor):
    """Business days from each date to the next known event date; NaN without one."""

    window_length = 0
    dtype = float64_dtype

    def _compute(self, arrays, dates, assets, mask):
        events, reference = _event_days(arrays, dates, mask)
        return _busday_count_mask_nat(reference, events)
