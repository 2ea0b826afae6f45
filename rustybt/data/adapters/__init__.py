"""Data adapters: each turns a vendor's data into the canonical bar frame."""

from rustybt.data.adapters.base import AdapterMetadata, BarAdapter, SymbolBars, adapter_from_config
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.adapters.futures_csv import FuturesCSVAdapter

__all__ = ["AdapterMetadata", "BarAdapter", "CSVAdapter", "FuturesCSVAdapter", "SymbolBars", "adapter_from_config"]
