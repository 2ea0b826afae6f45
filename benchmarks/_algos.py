"""The benchmark algorithms of benchmarks/algorithm.py, written once for both systems.

Each factory takes the system's modules (``api``: ``rustybt.api`` or ``zipline.api``; ``finance``: a namespace with
``slippage`` and ``commission``; ``pipeline``: a namespace with ``Pipeline`` and ``AverageDollarVolume``) and returns
the keyword arguments of ``run_algorithm`` (initialize, handle_data, before_trading_start). The code the two systems
run is therefore the same text; only the modules differ.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

TOP_N = 500
# small enough that FixedBasisPointsSlippage's 10% volume limit rarely splits an order over sessions
CAPITAL_BASE = {"rebalance": 1_000_000.0, "crossover": 100_000.0, "crypto": 100_000.0}
MA_SYMBOL = "S0000"
CRYPTO_PAIRS = ("BTC-USDT", "ETH-USDT")


def top_adv_rebalance(api, finance, pipeline, stats: dict) -> dict:
    """(a) Monthly rebalance into the top 500 assets by AverageDollarVolume(20), equal weights."""

    def make_pipeline():
        adv = pipeline.AverageDollarVolume(window_length=20)
        return pipeline.Pipeline(columns={"adv": adv}, screen=adv.top(TOP_N))

    def rebalance(context, data):
        chosen = list(context.out.index)
        keep = set(chosen)
        for asset in list(context.portfolio.positions):
            if asset not in keep:
                api.order_target_percent(asset, 0.0)
        weight = 1.0 / len(chosen) if chosen else 0.0
        for asset in chosen:
            api.order_target_percent(asset, weight)
        stats["rebalances"] = stats.get("rebalances", 0) + 1

    def initialize(context):
        api.set_slippage(finance.slippage.FixedBasisPointsSlippage())
        api.set_commission(finance.commission.PerShare())
        api.attach_pipeline(make_pipeline(), "top")
        api.schedule_function(rebalance, api.date_rules.month_start(), api.time_rules.market_open())

    def before_trading_start(context, data):
        context.out = api.pipeline_output("top")

    return {"initialize": initialize, "before_trading_start": before_trading_start}


def ma_crossover(api, finance, stats: dict, frequency: str = "1d", assets=(MA_SYMBOL,), weight: float = 1.0) -> dict:
    """(b) and (c) Moving-average crossover: ``data.history`` of 20 and 50 bars every bar; the 20-bar call is timed."""
    timings = stats.setdefault("history_ns", [])

    def initialize(context):
        api.set_slippage(finance.slippage.FixedBasisPointsSlippage())
        api.set_commission(finance.commission.PerShare(min_trade_cost=1))
        context.assets = [api.symbol(s) for s in assets]

    def handle_data(context, data):
        for asset in context.assets:
            t0 = time.perf_counter_ns()
            short = data.history(asset, "price", 20, frequency)
            timings.append(time.perf_counter_ns() - t0)
            long = data.history(asset, "price", 50, frequency)
            s, lg = short.mean(), long.mean()
            held = context.portfolio.positions[asset].amount != 0
            if s > lg and not held:
                api.order_target_percent(asset, weight / len(context.assets))
            elif s < lg and held:
                api.order_target_percent(asset, 0.0)

    return {"initialize": initialize, "handle_data": handle_data}


def namespaces(slippage, commission, Pipeline=None, AverageDollarVolume=None):
    return (
        SimpleNamespace(slippage=slippage, commission=commission),
        SimpleNamespace(Pipeline=Pipeline, AverageDollarVolume=AverageDollarVolume),
    )
