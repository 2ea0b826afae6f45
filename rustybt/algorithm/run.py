"""zipline's ``run_algorithm``: same signature, returns the perf DataFrame."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pandas as pd

from rustybt.algorithm.algorithm import TradingAlgorithm
from rustybt.errors import InvalidArgument

__all__ = ["run_algorithm"]


def run_algorithm(
    start: Any,
    end: Any,
    initialize: Callable,
    capital_base: float,
    handle_data: Callable | None = None,
    before_trading_start: Callable | None = None,
    analyze: Callable | None = None,
    data_frequency: str = "daily",
    bundle: Any = None,
    bundle_timestamp: Any = None,
    trading_calendar: Any = None,
    metrics_set: str = "default",
    benchmark_returns: pd.Series | None = None,
    default_extension: bool = True,
    extensions: tuple = (),
    strict_extensions: bool = True,
    environ: Any = os.environ,
    custom_loader: Any = None,
    *,
    catalog: Any = None,
) -> pd.DataFrame:
    """Run a zipline-style algorithm on a catalog bundle; returns zipline's perf DataFrame.

    The parameters are zipline-reloaded's. ``bundle`` names a bundle of ``catalog`` (default ``Catalog()``);
    ``trading_calendar`` must be the bundle's own (or None); ``metrics_set`` only ``"default"``; the extension,
    environ and loader parameters are accepted for compatibility and ignored (a catalog needs no extensions).
    ``bundle_timestamp`` is not supported: a bundle is pinned to its live ingestion.
    """
    if bundle is None:
        raise InvalidArgument("run_algorithm needs bundle= (the name of a catalog bundle)")
    if metrics_set != "default":
        raise InvalidArgument(f"metrics_set {metrics_set!r} is not available; only 'default'")
    if bundle_timestamp is not None:
        raise InvalidArgument("bundle_timestamp is not supported: pass catalog.bundle(name, ingestion=...) as bundle")
    algo = TradingAlgorithm(
        bundle=bundle,
        start=start,
        end=end,
        capital_base=capital_base,
        data_frequency=data_frequency,
        initialize=initialize,
        handle_data=handle_data,
        before_trading_start=before_trading_start,
        analyze=analyze,
        catalog=catalog,
        benchmark_returns=benchmark_returns,
    )
    if trading_calendar is not None:
        name = getattr(trading_calendar, "name", str(trading_calendar))
        if name != algo.bundle.calendar_name:
            raise InvalidArgument(
                f"trading_calendar {name!r} is not the calendar of bundle {algo.bundle.name!r} "
                f"({algo.bundle.calendar_name!r})"
            )
    return algo.run().perf
