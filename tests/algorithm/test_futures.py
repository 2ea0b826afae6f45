"""Futures in the loop: continuous futures give the contract to trade, positions settle price changes times the
multiplier in cash, and zipline's auto-close ends a position at its contract's auto-close date."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rustybt.sample import sample_data_dir


def _closes(symbol: str) -> pd.Series:
    frame = pd.read_csv(sample_data_dir() / "futures" / "daily" / f"{symbol}.csv", parse_dates=["date"])
    return frame.set_index("date")["close"]


def test_hold_the_front_contract_until_auto_close(sample_catalog):
    from rustybt.algorithm import TradingAlgorithm
    from rustybt.finance import commission, slippage

    seen = []

    class Front(TradingAlgorithm):
        def initialize(self, context):
            self.cf = self.continuous_future("XF", roll="calendar")
            self.set_slippage(us_futures=slippage.NoSlippage())
            self.set_commission(us_futures=commission.PerContract(cost=0.0))
            context.done = False

        def handle_data(self, context, data):
            seen.append((data.current_dt, data.current(self.cf, "contract"), data.current(self.cf, "price")))
            if not context.done:
                self.order(data.current(self.cf, "contract"), 2)
                context.done = True

    perf = (
        Front(bundle="sample_futures", start="2014-02-03", end="2014-03-20", capital_base=1e6, catalog=sample_catalog)
        .run()
        .perf
    )
    contract = seen[0][1]
    assert contract.symbol == "XFH14" and seen[0][2] == _closes("XFH14").loc["2014-02-03"]
    closes = _closes("XFH14")
    fill_day = perf.index[1].tz_convert(None).normalize()
    fill = closes.loc[fill_day]
    # no cash changes hands on the fill; afterwards cash follows (close - fill) x 1000 x 2 until the auto-close
    # on 2014-03-12 closes the position at that day's close
    days = perf.index.tz_convert(None).normalize()
    held = (days >= fill_day) & (days <= pd.Timestamp("2014-03-12"))
    last_close = closes.reindex(days).ffill().to_numpy()
    expected = 1e6 + np.where(held, (last_close - fill) * 1000 * 2, 0.0)
    settle = (closes.loc["2014-03-12"] - fill) * 1000 * 2
    expected[days > pd.Timestamp("2014-03-12")] = 1e6 + settle
    np.testing.assert_allclose(perf["portfolio_value"].to_numpy(), expected, rtol=1e-12)
    assert perf.loc[perf.index[days == pd.Timestamp("2014-03-12")][0], "positions"] == []
    closing = [t for t in perf["transactions"].iloc[int(np.flatnonzero(days == pd.Timestamp("2014-03-12"))[0])]]
    assert [(t["amount"], t["order_id"]) for t in closing] == [(-2, None)]
    assert seen[-1][1].symbol != "XFH14"  # the continuous future rolled on


def test_continuous_future_cannot_be_ordered(sample_catalog):
    import pytest

    from rustybt.algorithm import TradingAlgorithm
    from rustybt.errors import InvalidOrder

    class Bad(TradingAlgorithm):
        def initialize(self, context):
            self.cf = self.continuous_future("XF")

        def handle_data(self, context, data):
            self.order(self.cf, 1)

    with pytest.raises(InvalidOrder, match="current contract"):
        Bad(bundle="sample_futures", start="2014-02-03", end="2014-02-05", catalog=sample_catalog).run()
