"""Backtest sweeps: :func:`~rustybt.algorithm.run.run_algorithm` over a parameter grid, one Dask task per point."""

from __future__ import annotations

import inspect
import itertools
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import cloudpickle
import pandas as pd

from rustybt.config import env_flag
from rustybt.data.catalog import Bundle, Catalog
from rustybt.distributed.pipeline import BundleRef

__all__ = ["SUMMARY_COLUMNS", "grid_points", "run_point", "sweep"]

log = logging.getLogger(__name__)

#: Summary statistics of a run, each read from the last row of its perf frame (zipline's cumulative figures).
SUMMARY_COLUMNS = (
    "portfolio_value",
    "algorithm_period_return",
    "sharpe",
    "sortino",
    "max_drawdown",
    "algo_volatility",
    "max_leverage",
)


def _run_algorithm_parameters() -> frozenset[str]:
    from rustybt.algorithm.run import run_algorithm

    return frozenset(inspect.signature(run_algorithm).parameters)


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``grid``'s values (the last key varies fastest), as ``{name: value}`` dicts."""
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError("grid must be a non-empty mapping of parameter name -> sequence of values")
    names = list(grid)
    values = []
    for name in names:
        options = grid[name]
        if isinstance(options, str | bytes) or not isinstance(options, Sequence) or not options:
            raise ValueError(f"grid[{name!r}] must be a non-empty list of values, got {options!r}")
        values.append(list(options))
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def run_point(
    point: Mapping[str, Any], run_kwargs: Mapping[str, Any], bundle: Bundle | str, catalog: Catalog | None = None
) -> pd.DataFrame:
    """One grid point in this process: its perf frame.

    Point names that are :func:`run_algorithm` parameters (e.g. ``capital_base``) are passed to it; the others go to
    ``initialize`` as keyword arguments (``initialize(context, fast=10, slow=30)``).
    """
    from rustybt.algorithm.run import run_algorithm

    accepted = _run_algorithm_parameters()
    kwargs = dict(run_kwargs)
    algo_params = {k: v for k, v in point.items() if k not in accepted}
    kwargs.update({k: v for k, v in point.items() if k in accepted})
    initialize = kwargs.pop("initialize")
    if algo_params:

        def initialize_point(context, _init=initialize, _params=algo_params):
            return _init(context, **_params)

        kwargs["initialize"] = initialize_point
    else:
        kwargs["initialize"] = initialize
    return run_algorithm(bundle=bundle, catalog=catalog, **kwargs)


def _summary(perf: pd.DataFrame) -> dict[str, Any]:
    last = perf.iloc[-1]
    row = {name: float(last[name]) for name in SUMMARY_COLUMNS if name in perf.columns}
    row["transactions"] = int(perf["transactions"].map(len).sum()) if "transactions" in perf.columns else 0
    return row


def _sweep_task(ref: BundleRef, point: dict[str, Any], run_kwargs_bytes: bytes, keep_perf: bool) -> tuple:
    run_kwargs = cloudpickle.loads(run_kwargs_bytes)
    perf = run_point(point, run_kwargs, ref.open())
    return _summary(perf), (perf if keep_perf else None)


def sweep(
    initialize: Callable,
    grid: Mapping[str, Sequence[Any]],
    *,
    start: Any,
    end: Any,
    capital_base: float,
    bundle: str | Bundle,
    client,
    catalog: Catalog | None = None,
    keep_perf: bool = False,
    retries: int = 1,
    progress: bool | None = None,
    **run_kwargs: Any,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[tuple, pd.DataFrame]]:
    """Run :func:`~rustybt.algorithm.run.run_algorithm` for every point of ``grid`` as tasks on a Dask cluster.

    Parameters
    ----------
    initialize
        The algorithm's ``initialize(context, **params)``: it receives the grid's parameters that are not
        :func:`run_algorithm` parameters as keyword arguments.
    grid
        ``{name: [values]}``; every combination is one backtest (``{"fast": [5, 10], "slow": [20, 50]}``: 4 runs).
        Names that are :func:`run_algorithm` parameters (``capital_base``, ``start``...) vary the run itself.
    start, end, capital_base, bundle, catalog, **run_kwargs
        As :func:`run_algorithm` (``handle_data=``, ``before_trading_start=``, ``data_frequency=``...); the
        callables travel to the workers by value (cloudpickle), so notebook-defined functions work. A bundle name is
        pinned to its live ingestion when the sweep starts, so every point reads the same data.
    client
        A ``distributed.Client``.
    keep_perf
        Also return every point's full perf frame, keyed by the point's values in grid order.
    retries
        Times a point that raised is run again (a point whose worker died is rescheduled by Dask regardless).
    progress
        A ``tqdm.auto`` bar over finished points (default: on unless ``RUSTYBT_PROGRESS`` is off).

    Returns
    -------
    One row per grid point, in grid order: the parameters, then :data:`SUMMARY_COLUMNS` (the last perf row's
    cumulative figures) and ``transactions`` (fills over the run); with ``keep_perf``, also ``{point: perf}``.
    """
    from distributed import as_completed

    points = grid_points(grid)
    kwargs = {"initialize": initialize, "start": start, "end": end, "capital_base": capital_base, **run_kwargs}
    unknown = set(kwargs) - _run_algorithm_parameters()
    if unknown:
        raise TypeError(
            f"run_algorithm has no parameter(s) {sorted(unknown)}; fixed parameters of initialize go in the grid "
            "with one value"
        )
    if isinstance(bundle, str):
        bundle = (catalog or Catalog()).bundle(bundle)
    ref = BundleRef.of(bundle)
    payload = cloudpickle.dumps(kwargs)
    run = f"rustybt-sweep-{uuid.uuid4().hex[:12]}"
    futures = [
        client.submit(_sweep_task, ref, point, payload, keep_perf, retries=retries, key=f"{run}-{i}")
        for i, point in enumerate(points)
    ]
    log.info("sweep: %d backtests on %s", len(futures), ref)
    forced = env_flag("RUSTYBT_PROGRESS")
    if progress if progress is not None else (forced if forced is not None else True):
        from tqdm.auto import tqdm

        for _ in tqdm(as_completed(futures), total=len(futures), desc="backtests", unit="run"):
            pass
    results = client.gather(futures)
    frame = pd.DataFrame([{**point, **summary} for point, (summary, _) in zip(points, results, strict=True)])
    if not keep_perf:
        return frame
    perfs = {tuple(point.values()): perf for point, (_, perf) in zip(points, results, strict=True)}
    return frame, perfs
