"""Bar readers, adjustments, history and the DataPortal.

The names load on first use (PEP 562), so importing one module of this package (e.g. the :class:`BarReader`
protocol in :mod:`~rustybt.data.readers.base`, which the legacy store readers implement) does not load the whole
data-access layer.
"""

from __future__ import annotations

from rustybt._utils import lazy_exports

_EXPORTS = {
    "AdjustmentReader": ".adjustments",
    "AssetDispatchBarReader": ".dispatch",
    "BarReader": ".base",
    "ContinuousFuture": ".continuous_futures",
    "DataPortal": ".data_portal",
    "HistoryLoader": ".history",
    "ParquetBarReader": ".parquet",
    "ParquetDailyBarReader": ".parquet",
    "ParquetMinuteBarReader": ".parquet",
    "continuous_future": ".continuous_futures",
    "current_chain": ".continuous_futures",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
