"""One registry of data adapters: registry name -> adapter class, its module imported only when asked for.

The built-in adapters are listed here by module, so that neither ``import rustybt`` nor a lookup by name imports a
vendor's client library it does not need (ccxt alone takes about two seconds). Every :class:`BarAdapter`
subclass with a ``name`` registers itself when its module is imported; :func:`register_adapter_module` adds a
module for a name from outside this package (an adapter of a higher layer registers itself this way, so this
package never imports it). The catalog stores the name with a bundle and rebuilds the adapter with
:func:`adapter_from_config` in a later process.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rustybt.errors import AdapterError

if TYPE_CHECKING:
    from rustybt.data.adapters.base import BarAdapter

__all__ = [
    "ADAPTER_MODULES",
    "adapter_class",
    "adapter_from_config",
    "register_adapter",
    "register_adapter_module",
    "registered_adapters",
]

#: Registry name -> (module, class name) of the adapters this package ships.
ADAPTER_MODULES: dict[str, tuple[str, str]] = {
    "csv": ("rustybt.data.adapters.csv", "CSVAdapter"),
    "futures-csv": ("rustybt.data.adapters.futures_csv", "FuturesCSVAdapter"),
    "ccxt": ("rustybt.data.adapters.ccxt", "CCXTAdapter"),
    "yfinance": ("rustybt.data.adapters.yfinance", "YFinanceAdapter"),
    "polygon": ("rustybt.data.adapters.polygon", "PolygonAdapter"),
    "alpaca": ("rustybt.data.adapters.alpaca", "AlpacaAdapter"),
    "alphavantage": ("rustybt.data.adapters.alphavantage", "AlphaVantageAdapter"),
}

_CLASSES: dict[str, type[BarAdapter]] = {}
_EXTRA_MODULES: dict[str, str] = {}  # registered from outside the package: name -> module


def register_adapter(cls: type[BarAdapter]) -> None:
    """Record ``cls`` under ``cls.name`` (called by ``BarAdapter.__init_subclass__``)."""
    _CLASSES[cls.name] = cls


def register_adapter_module(name: str, module: str) -> None:
    """Import ``module`` when the adapter ``name`` is asked for (its class registers itself on import)."""
    _EXTRA_MODULES[name] = module


def _modules() -> dict[str, str]:
    return {**{name: module for name, (module, _) in ADAPTER_MODULES.items()}, **_EXTRA_MODULES}


def adapter_class(name: str) -> type[BarAdapter]:
    """The adapter class registered as ``name``, importing its module on first use.

    Raises
    ------
    AdapterError
        No adapter of that name; the message lists the known names.
    """
    if name not in _CLASSES and name in _modules():
        importlib.import_module(_modules()[name])
    try:
        return _CLASSES[name]
    except KeyError:
        known = sorted(set(_CLASSES) | set(_modules()))
        raise AdapterError(f"unknown adapter {name!r}; known: {', '.join(known)}") from None


def registered_adapters() -> dict[str, type[BarAdapter]]:
    """Every known adapter class by registry name (imports every adapter module; their client libraries are
    imported only when an adapter is built)."""
    for module in _modules().values():
        importlib.import_module(module)
    return dict(_CLASSES)


def adapter_from_config(name: str, params: Mapping[str, Any]) -> BarAdapter:
    """Rebuild a stored adapter: ``adapter_class(name).from_config(params)``."""
    return adapter_class(name).from_config(params)
