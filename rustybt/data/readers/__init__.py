"""Bar readers, adjustments, history and the DataPortal.

The names load on first use (PEP 562), so importing one module of this package (e.g. the :class:`BarReader`
protocol in :mod:`~rustybt.data.readers.base`, which the legacy store readers implement) does not load the whole
data-access layer.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AdjustmentReader": "adjustments",
    "AssetDispatchBarReader": "dispatch",
    "BarReader": "base",
    "ContinuousFuture": "continuous_futures",
    "DataPortal": "data_portal",
    "HistoryLoader": "history",
    "ParquetBarReader": "parquet",
    "ParquetDailyBarReader": "parquet",
    "ParquetMinuteBarReader": "parquet",
    "continuous_future": "continuous_futures",
    "current_chain": "continuous_futures",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
