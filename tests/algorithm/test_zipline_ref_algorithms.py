"""Backtests equal zipline-reloaded 3.2.1's own ``run_algorithm`` on the same data (tests/reference).

The three algorithms of ``tests/reference/make_zipline_algorithm_reference.py``, written with RustyBT's imports
(zipline's spelling), run on zipline's csvdir ingestion of the real AAPL/IBM/KO/MSFT 2012-2014 samples migrated
to a catalog: the same stored prices (zipline keeps 1/1000 units), the same splits and dividends. Every session's
portfolio value must be within 1e-6 relative of zipline's and the fills identical: date, asset and amount exactly,
the price up to the float representation of the stored close (see ``test_fills_identical``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rustybt import Catalog, run_algorithm
from rustybt.api import (
    attach_pipeline,
    date_rules,
    order_target_percent,
    pipeline_output,
    schedule_function,
    set_commission,
    set_slippage,
    symbol,
    time_rules,
)
from rustybt.finance import commission, slippage
from rustybt.pipeline import Pipeline
from rustybt.pipeline.factors import AverageDollarVolume, Returns

HERE = Path(__file__).parent
REFERENCE = HERE.parent / "reference"
INGESTION = HERE.parent / "resources" / "zipline-bundle" / "csvdir-ingestion"
START = pd.Timestamp("2012-04-02")
END = pd.Timestamp("2014-12-31")
CAPITAL_BASE = 100_000
RTOL = 1e-6
PRICE_ULPS = 4 * np.finfo(float).eps  # fill prices: equal up to the float representation of the stored close


# --- the algorithms (as in the generator, with rustybt's imports) ------------------------------------------------


def buy_and_hold():
    def initialize(context):
        set_slippage(slippage.FixedSlippage(spread=0.0))
        set_commission(commission.PerTrade(cost=1.0))
        context.assets = [symbol(s) for s in ("AAPL", "IBM", "KO", "MSFT")]
        context.bought = False

    def handle_data(context, data):
        if not context.bought:
            for asset in context.assets:
                order_target_percent(asset, 0.25)
            context.bought = True

    return {"initialize": initialize, "handle_data": handle_data}


def ma_crossover():
    def initialize(context):
        set_slippage(slippage.FixedBasisPointsSlippage())
        set_commission(commission.PerShare(min_trade_cost=1))
        context.assets = [symbol("AAPL"), symbol("KO")]

    def handle_data(context, data):
        for asset in context.assets:
            short = data.history(asset, "price", 20, "1d").mean()
            long = data.history(asset, "price", 50, "1d").mean()
            held = context.portfolio.positions[asset].amount != 0
            if short > long and not held:
                order_target_percent(asset, 0.5)
            elif short < long and held:
                order_target_percent(asset, 0.0)

    return {"initialize": initialize, "handle_data": handle_data}


def pipeline_rebalance():
    def make_pipeline():
        ret = Returns(window_length=20)
        return Pipeline(columns={"ret": ret, "adv": AverageDollarVolume(window_length=20)}, screen=ret.top(2))

    def rebalance(context, data):
        chosen = set(context.out.index)
        for asset in list(context.portfolio.positions):
            if asset not in chosen:
                order_target_percent(asset, 0.0)
        for asset in sorted(chosen, key=lambda a: a.sid):
            order_target_percent(asset, 0.5)

    def initialize(context):
        set_slippage(slippage.VolumeShareSlippage(volume_limit=0.025, price_impact=0.1))
        set_commission(commission.PerDollar(cost=0.0015))
        attach_pipeline(make_pipeline(), "top2")
        schedule_function(rebalance, date_rules.month_start(), time_rules.market_open())

    def before_trading_start(context, data):
        context.out = pipeline_output("top2")

    return {"initialize": initialize, "before_trading_start": before_trading_start}


ALGORITHMS = {"buy_and_hold": buy_and_hold, "ma_crossover": ma_crossover, "pipeline_rebalance": pipeline_rebalance}


# --- fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    catalog = Catalog(root=tmp_path_factory.mktemp("zl-algo"))
    catalog.migrate(INGESTION, "zl", progress=False)
    return catalog


@pytest.fixture(scope="module", params=list(ALGORITHMS))
def case(request, catalog):
    name = request.param
    import exchange_calendars as xcals

    sessions = xcals.get_calendar("XNYS").sessions_in_range(START, END)
    perf = run_algorithm(
        start=START,
        end=END,
        capital_base=CAPITAL_BASE,
        data_frequency="daily",
        bundle="zl",
        benchmark_returns=pd.Series(0.0, index=sessions),
        catalog=catalog,
        **ALGORITHMS[name](),
    )
    ref_perf = pd.read_csv(REFERENCE / f"zipline_algo_{name}_perf.csv")
    ref_txns = pd.read_csv(REFERENCE / f"zipline_algo_{name}_transactions.csv")
    return name, perf, ref_perf, ref_txns


# --- helpers -------------------------------------------------------------------------------------------------------


def _days(index) -> list[str]:
    return [pd.Timestamp(d).strftime("%Y-%m-%d") for d in index]


def _fills(perf: pd.DataFrame) -> pd.DataFrame:
    """Every fill of a zipline-style perf frame: date, symbol, amount, price and its share of the order's commission."""
    paid: dict = {}
    rows = []
    orders_col = perf["orders"] if "orders" in perf else [[]] * len(perf)
    for day, txns, orders in zip(_days(perf.index), perf["transactions"], orders_col, strict=True):
        cumulative = {o["id"]: float(o["commission"] or 0.0) for o in orders}
        for t in txns:
            oid = t.get("order_id")
            fee = np.nan
            if oid in cumulative:
                fee = cumulative[oid] - paid.get(oid, 0.0)
                paid[oid] = cumulative[oid]
            rows.append(
                {
                    "date": day,
                    "symbol": t["sid"].symbol,
                    "amount": float(t["amount"]),
                    "price": float(t["price"]),
                    "commission": fee,
                }
            )
    return pd.DataFrame(rows, columns=["date", "symbol", "amount", "price", "commission"])


def _describe_first_difference(ours: pd.DataFrame, ref: pd.DataFrame, column: str) -> str:
    a, b = ours[column].to_numpy(dtype=float), ref[column].to_numpy(dtype=float)
    bad = ~np.isclose(a, b, rtol=RTOL, atol=1e-9)
    i = int(np.argmax(bad))
    cols = ["portfolio_value", "ending_cash", "ending_value", "pnl", "capital_used"]
    lines = [f"{int(bad.sum())} sessions differ in {column}; first on {ref['date'].iloc[i]}:"]
    for c in cols:
        lines.append(f"  {c:16s} rustybt {ours[c].iloc[i]!r:>24}  zipline {ref[c].iloc[i]!r:>24}")
    if i > 0:
        lines.append(
            f"  previous session {ref['date'].iloc[i - 1]}: portfolio_value rustybt "
            f"{ours['portfolio_value'].iloc[i - 1]!r} zipline {ref['portfolio_value'].iloc[i - 1]!r}"
        )
    return "\n".join(lines)


# --- tests ---------------------------------------------------------------------------------------------------------


def test_sessions(case):
    name, perf, ref_perf, _ = case
    assert _days(perf.index) == list(ref_perf["date"]), f"{name}: perf rows are not zipline's sessions"


@pytest.mark.parametrize("column", ["portfolio_value", "ending_cash", "ending_value"])
def test_every_session_matches_zipline(case, column):
    name, perf, ref_perf, _ = case
    ours = perf.reset_index(drop=True)
    assert len(ours) == len(ref_perf)
    a, b = ours[column].to_numpy(dtype=float), ref_perf[column].to_numpy(dtype=float)
    assert np.allclose(a, b, rtol=RTOL, atol=1e-9), f"{name}: " + _describe_first_difference(ours, ref_perf, column)


def test_returns_match_zipline(case):
    name, perf, ref_perf, _ = case
    a, b = perf["returns"].to_numpy(dtype=float), ref_perf["returns"].to_numpy(dtype=float)
    assert np.allclose(a, b, rtol=1e-6, atol=1e-10), f"{name}: daily returns differ"


def test_fills_identical(case):
    name, perf, _, ref_txns = case
    ours = _fills(perf)
    key = ["date", "symbol", "amount"]
    merged = ours.merge(ref_txns, on=key, how="outer", suffixes=("", "_zl"), indicator=True)
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, f"{name}: fills only on one side:\n{missing[[*key, 'price', 'price_zl', '_merge']]}"
    assert len(ours) == len(ref_txns)
    # The same decimal prices; the float64 may differ in the last bits: zipline's bcolz reader returns closes as
    # ``uint32 * 0.001`` (81719 * 0.001 = 81.71900000000001), the catalog the nearest float to the decimal
    # (81.719), so a fill at close * (1 + 5 bp) can be 1-2 ulps apart. Anything larger is a real difference.
    rel = np.abs(merged["price"] / merged["price_zl"] - 1)
    off = merged[rel > PRICE_ULPS]
    assert off.empty, f"{name}: fill prices differ:\n{off[[*key, 'price', 'price_zl']]}"


def test_commissions_match(case):
    name, perf, _, ref_txns = case
    ours = _fills(perf)
    if ours["commission"].isna().all():
        pytest.fail(f"{name}: perf['orders'] carries no per-order commission (zipline's orders column)")
    merged = ours.merge(ref_txns, on=["date", "symbol", "amount"], suffixes=("", "_zl"))
    bad = ~np.isclose(merged["commission"], merged["commission_zl"], rtol=1e-9, atol=1e-9)
    shown = merged.loc[bad, ["date", "symbol", "commission", "commission_zl"]]
    assert not bad.any(), f"{name}: commissions differ:\n{shown}"
