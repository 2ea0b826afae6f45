"""Run an algorithm defined in Python source (a file for ``rustybt run``, a cell for ``%%rustybt backtest``).

The source defines either zipline's functions (``initialize`` and optionally ``handle_data``,
``before_trading_start``, ``analyze``) or one subclass of :class:`~rustybt.algorithm.TradingAlgorithm`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rustybt.algorithm.algorithm import TradingAlgorithm
from rustybt.algorithm.result import BacktestResult
from rustybt.errors import InvalidArgument

__all__ = ["run_file", "run_namespace", "run_source"]

_HOOKS = ("initialize", "handle_data", "before_trading_start", "analyze")


def run_namespace(
    namespace: dict[str, Any],
    *,
    bundle: Any,
    start: Any,
    end: Any,
    capital_base: float = 100_000.0,
    data_frequency: str | None = None,
    catalog: Any = None,
    where: str = "the code",
) -> BacktestResult:
    """Run what ``namespace`` defines (a TradingAlgorithm subclass wins over functions)."""
    classes = [
        v
        for v in namespace.values()
        if isinstance(v, type) and issubclass(v, TradingAlgorithm) and v is not TradingAlgorithm
    ]
    if data_frequency is None:
        from rustybt.data.catalog import Catalog

        resolution = (catalog or Catalog()).bundle(bundle).resolution if isinstance(bundle, str) else bundle.resolution
        data_frequency = "daily" if resolution == "1d" else resolution
    common = {
        "bundle": bundle,
        "start": start,
        "end": end,
        "capital_base": capital_base,
        "data_frequency": data_frequency,
        "catalog": catalog,
    }
    if classes:
        return classes[-1](**common).run()
    hooks = {name: namespace.get(name) for name in _HOOKS if callable(namespace.get(name))}
    if "initialize" not in hooks:
        raise InvalidArgument(
            f"{where} defines neither a TradingAlgorithm subclass nor an initialize(context) function"
        )
    return TradingAlgorithm(**common, **hooks).run()


def run_source(source: str, filename: str = "<algorithm>", **kwargs: Any) -> BacktestResult:
    """Execute ``source`` (compiled under ``filename``, so errors name its lines) and run what it defines."""
    namespace: dict[str, Any] = {"__name__": "__rustybt_algorithm__", "__file__": filename}
    exec(compile(source, filename, "exec"), namespace)  # the user's own algorithm, as `python algo.py` would
    return run_namespace(namespace, where=filename, **kwargs)


def run_file(path: str | Path, *, out: str | Path | None = None, **kwargs: Any) -> BacktestResult:
    """``rustybt run``: run the algorithm in ``path``; write the perf frame to ``out`` (Parquet) if given."""
    path = Path(path)
    if not path.is_file():
        raise InvalidArgument(f"algorithm file {path} does not exist")
    result = run_source(path.read_text(encoding="utf-8"), filename=str(path), **kwargs)
    if out is not None:
        result.to_parquet(out)
    return result
