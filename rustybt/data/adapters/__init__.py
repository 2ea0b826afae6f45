"""Data adapters: each turns a vendor's data into the canonical bar frame.

Vendor adapters are exported lazily (module ``__getattr__``): ``import rustybt`` never imports a vendor's client
library (ccxt alone takes about two seconds to import); ``from rustybt.data.adapters import CCXTAdapter`` does.
"""

from __future__ import annotations

import importlib
from typing import Any

from rustybt.data.adapters.base import AdapterMetadata, BarAdapter, SymbolBars, adapter_from_config
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.adapters.futures_csv import FuturesCSVAdapter

#: Lazily exported names -> the module defining them.
_LAZY_EXPORTS: dict[str, str] = {
    "CCXTAdapter": "rustybt.data.adapters.ccxt",
    "YFinanceAdapter": "rustybt.data.adapters.yfinance",
    "PolygonAdapter": "rustybt.data.adapters.polygon",
    "AlpacaAdapter": "rustybt.data.adapters.alpaca",
    "AlphaVantageAdapter": "rustybt.data.adapters.alphavantage",
}

#: Registry names of lazily imported adapters -> their module, imported when the registry is asked for that name
#: (a bundle registered with the adapter is re-ingested in a new process). The modules import their client
#: library only when an adapter is built.
LAZY_ADAPTERS: dict[str, str] = {
    "ccxt": "rustybt.data.adapters.ccxt",
    "yfinance": "rustybt.data.adapters.yfinance",
    "polygon": "rustybt.data.adapters.polygon",
    "alpaca": "rustybt.data.adapters.alpaca",
    "alphavantage": "rustybt.data.adapters.alphavantage",
}

__all__ = [
    "AdapterMetadata",
    "AlpacaAdapter",
    "AlphaVantageAdapter",
    "BarAdapter",
    "CCXTAdapter",
    "CSVAdapter",
    "FuturesCSVAdapter",
    "PolygonAdapter",
    "SymbolBars",
    "YFinanceAdapter",
    "adapter_from_config",
]


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_EXPORTS))
