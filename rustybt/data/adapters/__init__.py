"""Data adapters: each turns a vendor's data into the canonical bar frame.

Vendor adapters are exported lazily (module ``__getattr__``) from the one registry of adapter modules
(:data:`~rustybt.data.adapters.registry.ADAPTER_MODULES`): ``import rustybt`` never imports a vendor's client
library (ccxt alone takes about two seconds to import); ``from rustybt.data.adapters import CCXTAdapter`` does.
"""

from __future__ import annotations

import importlib
from typing import Any

from rustybt.data.adapters.base import AdapterMetadata, BarAdapter, SymbolBars
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.adapters.futures_csv import FuturesCSVAdapter
from rustybt.data.adapters.registry import (
    ADAPTER_MODULES,
    adapter_class,
    adapter_from_config,
    register_adapter_module,
    registered_adapters,
)
from rustybt.data.adapters.settings import AdapterSettings, NetworkSettings

#: Lazily exported class names -> the module defining them (the registry's built-in adapters).
_LAZY_EXPORTS: dict[str, str] = {cls: module for module, cls in ADAPTER_MODULES.values()}

__all__ = [
    "ADAPTER_MODULES",
    "AdapterMetadata",
    "AdapterSettings",
    "AlpacaAdapter",
    "AlphaVantageAdapter",
    "BarAdapter",
    "CCXTAdapter",
    "CSVAdapter",
    "FuturesCSVAdapter",
    "NetworkSettings",
    "PolygonAdapter",
    "SymbolBars",
    "YFinanceAdapter",
    "adapter_class",
    "adapter_from_config",
    "register_adapter_module",
    "registered_adapters",
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
