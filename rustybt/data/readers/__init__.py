"""Bar readers, adjustments, history and the DataPortal."""

from rustybt.data.readers.adjustments import AdjustmentReader
from rustybt.data.readers.base import BarReader
from rustybt.data.readers.continuous_futures import ContinuousFuture, continuous_future, current_chain
from rustybt.data.readers.data_portal import DataPortal
from rustybt.data.readers.dispatch import AssetDispatchBarReader
from rustybt.data.readers.history import HistoryLoader
from rustybt.data.readers.parquet import ParquetBarReader, ParquetDailyBarReader, ParquetMinuteBarReader

__all__ = [
    "AdjustmentReader",
    "AssetDispatchBarReader",
    "BarReader",
    "ContinuousFuture",
    "DataPortal",
    "HistoryLoader",
    "ParquetBarReader",
    "ParquetDailyBarReader",
    "ParquetMinuteBarReader",
    "continuous_future",
    "current_chain",
]
