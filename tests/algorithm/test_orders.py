"""Order styles, cancels, targets and controls inside the loop, checked against the sample CSV."""

from __future__ import annotations

import pandas as pd
import pytest

from rustybt.sample import sample_data_dir


def _closes(symbol: str) -> pd.Series:
    frame = pd.read_csv(sample_data_dir() / "equities" / "daily" / f"{symbol}.csv", parse_dates=["date"])
    return frame.set_index("date")["close"]


def _run(catalog, handle_data, start="2013-03-01", end="2013-04-30", initialize=None):
    from rustybt import run_algorithm
    from rustybt.api import set_commission, set_slippage
    from rustybt.finance import commission, slippage

    def init(context):
        set_slippage(slippage.NoSlippage())
        set_commission(commission.PerTrade(cost=0.0))
        context.state = {}
        if initialize:
            initialize(context)

    return run_algorithm(
        start=start,
        end=end,
        initialize=init,
        handle_data=handle_data,
        capital_base=1e6,
        bundle="sample",
        catalog=catalog,
    )


def test_limit_buy_fills_on_the_first_bar_at_or_below_the_limit(sample_catalog):
    from rustybt.api import order, symbol

    closes = _closes("KO").loc["2013-03-01":"2013-04-30"]
    limit = float(closes.iloc[5:].min())  # reached on some later bar (closes have two decimals: no tick rounding)
    expected_day = closes.index[1:][closes.iloc[1:] <= limit][0]

    def handle_data(context, data):
        if not context.state:
            context.state["id"] = order(symbol("KO"), 100, limit_price=limit)

    perf = _run(sample_catalog, handle_data)
    fills = [(d.tz_convert(None).normalize(), t["price"]) for d, day in perf["transactions"].items() for t in day]
    assert fills == [(expected_day, closes.loc[expected_day])]


def test_eod_cancel_and_cancel_order(sample_catalog):
    from rustybt.api import cancel_order, get_open_orders, get_order, order, set_cancel_policy, symbol
    from rustybt.finance import ORDER_STATUS, EODCancel

    def initialize(context):
        set_cancel_policy(EODCancel(warn_on_cancel=False))

    def handle_data(context, data):
        ko = symbol("KO")
        if "a" not in context.state:
            context.state["a"] = order(ko, 100, limit_price=1.0)  # never fills
            context.state["b"] = order(ko, 100, limit_price=1.0)
            assert len(get_open_orders(ko)) == 2
            cancel_order(context.state["b"])
            assert len(get_open_orders(ko)) == 1
        elif "checked" not in context.state:
            context.state["checked"] = True
            assert get_open_orders() == {}
            assert get_order(context.state["a"]).status == ORDER_STATUS.CANCELLED
            assert get_order(context.state["b"]).status == ORDER_STATUS.CANCELLED

    perf = _run(sample_catalog, handle_data, end="2013-03-05", initialize=initialize)
    assert sum(len(t) for t in perf["transactions"]) == 0
    statuses = [o["status"] for o in perf["orders"].iloc[0]]
    assert sorted(statuses) == [ORDER_STATUS.CANCELLED, ORDER_STATUS.CANCELLED]


def test_order_value_and_targets_by_hand(sample_catalog):
    from rustybt.api import order_target, order_target_value, order_value, symbol

    closes = _closes("IBM").loc["2013-03-01":"2013-04-30"]
    steps = []

    def handle_data(context, data):
        ibm = symbol("IBM")
        k = len(steps)
        held = context.portfolio.positions[ibm].amount
        steps.append(held)
        if k == 0:
            order_value(ibm, 10_000)  # floor(10000 / close) shares
        elif k == 2:
            order_target(ibm, 30)
        elif k == 4:
            order_target_value(ibm, 2_000)

    _run(sample_catalog, handle_data, end="2013-03-11")
    c = closes.to_numpy()
    first = int(10_000 / c[0])
    # zipline truncates the *difference* towards zero: 30 + int(9.55 - 30) = 30 - 20 = 10 shares, not int(9.55)
    assert steps[1] == first and steps[3] == 30 and steps[5] == 30 + int(2_000 / c[4] - 30)


def test_max_position_size_and_leverage(sample_catalog):
    from rustybt.api import order, order_target_percent, set_max_leverage, set_max_position_size, symbol
    from rustybt.errors import TradingControlViolation

    def init_size(context):
        set_max_position_size(symbol("KO"), max_shares=50)

    with pytest.raises(TradingControlViolation, match="max_shares=50"):
        _run(sample_catalog, lambda c, d: order(symbol("KO"), 60), initialize=init_size)

    def init_lev(context):
        set_max_leverage(1.5)

    with pytest.raises(TradingControlViolation, match=r"exceeds set_max_leverage\(1.5\)"):
        _run(sample_catalog, lambda c, d: order_target_percent(symbol("KO"), 2.0), initialize=init_lev)
