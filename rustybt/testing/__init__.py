"""Testing kit: what RustyBT's own tests use, shipped so that users can test their research the same way.

* :class:`ReplayTransport` (:mod:`rustybt.testing.replay`): recorded HTTP responses served to a real ccxt
  exchange object in place of its transport; everything above the socket stays ccxt's own code.

Names are exported lazily (module ``__getattr__``), so ``import rustybt.testing`` imports no test dependency
(ccxt, IPython) until a name that needs it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Exported name -> the module defining it.
_EXPORTS: dict[str, str] = {
    "ReplayTransport": "rustybt.testing.replay",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
