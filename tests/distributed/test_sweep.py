"""A backtest sweep on the cluster equals running every grid point in this process."""

from __future__ import annotations

import sys

import cloudpickle
import pandas as pd
import pytest

from rustybt.api import order_target_percent, symbol
from rustybt.distributed import grid_points, run_point, sweep

# workers cannot import this test module: ship its functions by value, as a notebook's would be
cloudpickle.register_pickle_by_value(sys.modules[__name__])

START, END = "2013-01-02", "2013-12-31"


def initialize(context, fast, slow, sym="AAPL"):
    context.asset = symbol(sym)
    context.fast, context.slow = fast, slow


def handle_data(context, data):
    prices = data.history(context.asset, "price", context.slow, "1d")
    target = 1.0 if prices.iloc[-context.fast :].mean() > prices.mean() else 0.0
    order_target_percent(context.asset, target)


def _without_ids(column: pd.Series) -> list:
    return [[{k: v for k, v in d.items() if k not in ("id", "order_id")} for d in day] for day in column]


GRID = {"fast": [5, 10], "slow": [20, 40], "sym": ["AAPL", "KO"]}


def test_sweep_equals_each_point_in_process(client, sample_catalog):
    frame, perfs = sweep(initialize, GRID, start=START, end=END, capital_base=100_000.0, bundle="sample",
                         catalog=sample_catalog, client=client, handle_data=handle_data, keep_perf=True,
                         progress=False)  # fmt: skip
    assert list(frame[["fast", "slow", "sym"]].itertuples(index=False, name=None)) == [
        tuple(p.values()) for p in grid_points(GRID)
    ]
    assert len(frame) == 8 and frame["transactions"].gt(0).all()
    assert frame["portfolio_value"].nunique() > 1  # the parameters do change the runs
    bundle = sample_catalog.bundle("sample")
    run_kwargs = {"initialize": initialize, "start": START, "end": END, "capital_base": 100_000.0,
                  "handle_data": handle_data}  # fmt: skip
    for point, row in zip(grid_points(GRID), frame.itertuples(index=False), strict=True):
        local = run_point(point, run_kwargs, bundle)
        remote = perfs[tuple(point.values())]
        plain = [c for c in local.columns if c not in ("orders", "transactions")]
        pd.testing.assert_frame_equal(remote[plain], local[plain], check_exact=True)
        for column in ("orders", "transactions"):  # equal but for the random order ids
            assert _without_ids(remote[column]) == _without_ids(local[column])
        last = local.iloc[-1]
        assert row.portfolio_value == last["portfolio_value"]
        assert row.sharpe == last["sharpe"] or (pd.isna(row.sharpe) and pd.isna(last["sharpe"]))
        assert row.max_drawdown == last["max_drawdown"]


def test_grid_names_that_are_run_parameters_vary_the_run(client, sample_catalog):
    grid = {"capital_base": [50_000.0, 200_000.0], "fast": [5], "slow": [20]}  # one-value entries: fixed params
    frame = sweep(initialize, grid, start=START, end="2013-03-28", capital_base=1.0,
                  bundle=sample_catalog.bundle("sample"), client=client, handle_data=handle_data,
                  progress=False)  # fmt: skip
    assert frame["capital_base"].tolist() == [50_000.0, 200_000.0]
    assert frame["portfolio_value"].iloc[1] > 3 * frame["portfolio_value"].iloc[0]


def test_bad_grid():
    with pytest.raises(ValueError, match="grid"):
        grid_points({})
    with pytest.raises(ValueError, match="fast"):
        grid_points({"fast": 5})
    with pytest.raises(TypeError, match="fast"):
        sweep(initialize, {"slow": [20]}, start=START, end=END, capital_base=1.0, bundle=object(), client=None,
              fast=5)  # fmt: skip
