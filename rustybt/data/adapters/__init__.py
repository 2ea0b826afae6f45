"""Data adapters: each turns a vendor's data into the canonical bar frame.

Vendor adapters are exported lazily (module ``__getattr__``) from the one registry of adapter modules
(:data:`~rustybt.data.adapters.registry.ADAPTER_MODULES`): ``import rustybt`` never imports a vendor's client
library (ccxt alone takes about two seconds to import); ``from rustybt.data.adapters import CCXTAdapter`` does.
"""

from __future__ import annotations

from rustybt._utils import lazy_exports
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

__getattr__, __dir__ = lazy_exports(__name__, _LAZY_EXPORTS)
