"""Slippage and commission arithmetic against hand-computed values (zipline's formulas written out)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rustybt.assets import CryptoSpot, Equity
from rustybt.finance import commission, slippage
from rustybt.finance.execution import LimitOrder, StopOrder, asymmetric_round_price
from rustybt.finance.order import Order, Transaction

DT = pd.Timestamp("2014-01-02 21:00", tz="UTC")
EQ = Equity(1, "ABC")
BTC = CryptoSpot(2, "BTC-USDT")


class Bar:
    """The two things a slippage model reads: ``current(asset, field)`` and ``current_dt``."""

    def __init__(self, close: float, volume: float) -> None:
        self.values = {"close": close, "price": close, "volume": volume}
        self.current_dt = DT

    def current(self, asset, field):
        return self.values[field]


def fills(model, bar, orders, asset=EQ):
    return [(o.id, t.amount, t.price) for o, t in model.simulate(bar, asset, orders)]


def test_fixed_slippage_half_spread():
    buy, sell = Order(DT, EQ, 100, id="b"), Order(DT, EQ, -50, id="s")
    out = fills(slippage.FixedSlippage(spread=0.10), Bar(20.0, 1000), [buy, sell])
    assert out == [("b", 100, 20.05), ("s", -50, 19.95)]


def test_fixed_basis_points_defaults_and_volume_limit():
    model = slippage.FixedBasisPointsSlippage()
    assert (model.basis_points, model.volume_limit) == (5.0, 0.1)
    # 10% of 1,000 shares: 100 fill now, the rest waits for later bars
    out = fills(model, Bar(50.0, 1000), [Order(DT, EQ, 250, id="a")])
    assert out == [("a", 100, 50.0 + 50.0 * 0.0005)]
    # two orders share the bar's limit
    out = fills(model, Bar(50.0, 1000), [Order(DT, EQ, 60, id="x"), Order(DT, EQ, -70, id="y")])
    assert out == [("x", 60, 50.025), ("y", -40, 50.0 - 50.0 * 0.0005)]


def test_volume_share_price_impact():
    model = slippage.VolumeShareSlippage()
    assert (model.volume_limit, model.price_impact) == (0.025, 0.1)
    out = fills(model, Bar(10.0, 2000), [Order(DT, EQ, 30, id="a")])
    share = 30 / 2000
    assert out == [("a", 30, 10.0 + share**2 * 0.1 * 10.0)]
    # capped at 2.5% of volume (50 shares), impact at the cap
    out = fills(model, Bar(10.0, 2000), [Order(DT, EQ, -80, id="b")])
    assert out == [("b", -50, 10.0 - 0.025**2 * 0.1 * 10.0)]


def test_no_volume_no_fill_and_no_slippage():
    assert fills(slippage.NoSlippage(), Bar(10.0, 0), [Order(DT, EQ, 10)]) == []
    assert fills(slippage.NoSlippage(), Bar(10.0, 5), [Order(DT, EQ, 10, id="n")]) == [("n", 10, 10.0)]


def test_crypto_fills_are_fractional():
    out = fills(slippage.FixedBasisPointsSlippage(), Bar(40_000.0, 12.0), [Order(DT, BTC, 0.25, id="c")], BTC)
    assert out == [("c", 0.25, 40_000.0 * 1.0005)]


def test_limit_and_stop_triggers():
    limit = Order(DT, EQ, 10, limit=9.5, id="l")
    assert fills(slippage.NoSlippage(), Bar(10.0, 100), [limit]) == []
    assert fills(slippage.NoSlippage(), Bar(9.4, 100), [limit]) == [("l", 10, 9.4)]
    stop = Order(DT, EQ, -10, stop=9.0, id="s")
    assert fills(slippage.NoSlippage(), Bar(9.5, 100), [stop]) == []
    assert fills(slippage.NoSlippage(), Bar(8.9, 100), [stop]) == [("s", -10, 8.9)]


def test_asymmetric_rounding_of_limit_prices():
    # zipline: a buy limit of 0.0396 rounds up to 0.04 (within 0.05 tick), 0.035 down to 0.03; sells mirror
    assert asymmetric_round_price(0.0396, True) == pytest.approx(0.04)
    assert asymmetric_round_price(0.035, True) == pytest.approx(0.03)
    assert asymmetric_round_price(0.035, False) == pytest.approx(0.04)
    assert LimitOrder(10.004).get_limit_price(True) == pytest.approx(10.00)
    assert StopOrder(10.004).get_stop_price(True) == pytest.approx(10.01)


def _fill(model, order, amount, price):
    txn = Transaction(order.asset, amount, DT, price, order.id)
    cost = model.calculate(order, txn)
    order.filled += amount
    order.commission += cost
    return cost


def test_per_share_minimum_charged_once_per_order():
    model = commission.PerShare(min_trade_cost=1.0)
    assert model.cost_per_share == 0.001
    order = Order(DT, EQ, 3000)
    assert _fill(model, order, 100, 10.0) == 1.0  # 0.10 < minimum
    assert _fill(model, order, 500, 10.0) == 0.0  # 0.60 total still under the minimum already paid
    assert _fill(model, order, 2400, 10.0) == pytest.approx(3000 * 0.001 - 1.0)


def test_per_trade_per_dollar_per_contract():
    order = Order(DT, EQ, 100)
    assert _fill(commission.PerTrade(cost=5.0), order, 50, 10.0) == 5.0
    assert _fill(commission.PerTrade(cost=5.0), order, 50, 10.0) == 0.0
    assert _fill(commission.PerDollar(), Order(DT, EQ, 100), 100, 20.0) == pytest.approx(100 * 20.0 * 0.0015)
    from rustybt.assets import Future

    fut = Future(3, "ESH4", root_symbol="ES", multiplier=50.0)
    model = commission.PerContract(cost={"ES": 2.0}, exchange_fee={"ES": 1.5})
    assert _fill(model, Order(DT, fut, 4), 4, 4000.0) == pytest.approx(4 * 2.0 + 1.5)


def test_maker_taker_fees_in_basis_points():
    model = commission.MakerTakerFee(maker_bps=2.0, taker_bps=7.5)
    market = Order(DT, BTC, 0.5)
    limit = Order(DT, BTC, 0.5, limit=39_000.0)
    assert _fill(model, market, 0.5, 40_000.0) == pytest.approx(0.5 * 40_000.0 * 7.5e-4)
    assert _fill(model, limit, 0.5, 39_000.0) == pytest.approx(0.5 * 39_000.0 * 2e-4)
    assert math.isfinite(model.calculate(market, Transaction(BTC, -0.1, DT, 1.0, "x")))
