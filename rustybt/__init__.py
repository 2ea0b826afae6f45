"""RustyBT: a Jupyter-centric research workbench for financial market data.

``import rustybt`` stays light: it never imports IPython, ipywidgets or plotly (the notebook layer loads them
lazily, on ``%load_ext rustybt`` or when an object is displayed).
"""

from rustybt import errors
from rustybt.assets import Asset, AssetFinder, Equity
from rustybt.config import Config, load_config
from rustybt.data.catalog import Bundle, Catalog, Ingestion

__version__ = "0.1.0"

__all__ = [
    "Asset",
    "AssetFinder",
    "Bundle",
    "Catalog",
    "Config",
    "Equity",
    "Ingestion",
    "TradingAlgorithm",
    "__version__",
    "errors",
    "load_config",
    "run_algorithm",
]

_LAZY = {"run_algorithm": "rustybt.algorithm.run", "TradingAlgorithm": "rustybt.algorithm.algorithm"}


def __getattr__(name: str) -> object:
    """The strategy layer on first use (``from rustybt import run_algorithm``): ``import rustybt`` stays light."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rustybt' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def _tear_sheet(perf: object) -> object:
    """``BacktestResult.plot()``: the notebook layer's plotly tear sheet. The front door does the wiring (as for
    ``%load_ext``): the strategy layer never imports the notebook layer itself."""
    from rustybt.notebook.backtest_plots import tear_sheet

    return tear_sheet(perf)


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext rustybt``: register the ``%rustybt`` magics (imports the notebook layer only now)."""
    from rustybt.notebook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext rustybt``: remove the ``%rustybt`` magics."""
    from rustybt.notebook.magics import unload_ipython_extension as unload

    unload(ipython)
