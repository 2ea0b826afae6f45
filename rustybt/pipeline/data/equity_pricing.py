"""Daily OHLCV pricing dataset."""

from __future__ import annotations

from rustybt.pipeline.data.dataset import Column, DataSet
from rustybt.pipeline.domain import US_EQUITIES
from rustybt.pipeline.dtypes import float64_dtype

__all__ = ["EquityPricing", "USEquityPricing"]


class EquityPricing(DataSet):
    """Daily open, high, low, close (currency-denominated) and volume, all float64 and window-safe.

    The loader serving it shifts by one session: the row for session D holds the bar of the session before D,
    split- and dividend-adjusted point in time.
    """

    open = Column(float64_dtype, currency_aware=True)
    high = Column(float64_dtype, currency_aware=True)
    low = Column(float64_dtype, currency_aware=True)
    close = Column(float64_dtype, currency_aware=True)
    volume = Column(float64_dtype)


USEquityPricing = EquityPricing.specialize(US_EQUITIES)
