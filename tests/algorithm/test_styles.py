"""Both API styles exactly as the issue writes them (the subclass on the hourly crypto sample, zipline's
functions on the daily equities sample), checked against values recomputed from the CSVs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rustybt.sample import sample_data_dir


def make_pipeline():
    from rustybt.pipeline import Pipeline
    from rustybt.pipeline.factors import Returns

    return Pipeline(columns={"ret": Returns(window_length=3)})


def test_subclass_style_on_hourly_crypto(sample_catalog):
    from rustybt.algorithm import TradingAlgorithm

    seen = {}

    class MyStrategy(TradingAlgorithm):
        def initialize(self, context):
            self.btc = self.symbol("BTC/USDT")  # ccxt spelling; 'BTC-USDT' works too
            self.attach_pipeline(make_pipeline(), "my_pipe")

        def before_trading_start(self, context, data):
            context.pipeline_output = self.pipeline_output("my_pipe")
            seen.setdefault("pipe", context.pipeline_output)

        def handle_data(self, context, data):
            current_price = data.current(self.btc, "close")
            prices = data.history(self.btc, fields="close", bar_count=20, frequency="1d")
            seen.setdefault("daily", (data.current_dt, prices))
            if current_price > prices.mean():
                self.order(self.btc, 0.5)  # crypto: fractional amounts

    result = MyStrategy(
        bundle="sample_crypto",
        start="2024-01-25",
        end="2024-03-31",
        capital_base=100_000,
        data_frequency="1h",
        catalog=sample_catalog,
    ).run()
    perf = result.perf
    assert len(perf) == (pd.Timestamp("2024-03-31") - pd.Timestamp("2024-01-25")).days + 1  # 24/7 sessions
    txns = result.transactions
    assert len(txns) > 0 and set(txns["amount"]) == {0.5}
    # the pipeline row for 2024-01-25 holds 3-day returns of the daily closes known at its open
    bars = pd.read_csv(sample_data_dir() / "crypto" / "1h" / "BTC-USDT.csv", parse_dates=["timestamp"])
    daily_close = bars.set_index("timestamp")["close"].resample("1D").last()
    expected_ret = daily_close.loc["2024-01-24"] / daily_close.loc["2024-01-22"] - 1  # 3 closes: 22nd..24th
    pipe = seen["pipe"]
    btc = next(a for a in pipe.index if a.symbol == "BTC-USDT")
    np.testing.assert_allclose(pipe.loc[btc, "ret"], expected_ret, rtol=1e-9)
    # daily history in hourly mode: 19 completed sessions, then the current partial one up to this bar
    dt, prices = seen["daily"]
    assert dt == pd.Timestamp("2024-01-25 01:00", tz="UTC") and len(prices) == 20
    np.testing.assert_allclose(prices.iloc[:-1].to_numpy(), daily_close.loc["2024-01-06":"2024-01-24"].to_numpy())
    assert prices.iloc[-1] == bars.set_index("timestamp").loc["2024-01-25 00:00", "close"]


def test_functional_style(sample_catalog):
    from rustybt import run_algorithm
    from rustybt.api import (
        attach_pipeline,
        cancel_order,
        date_rules,
        get_datetime,
        get_open_orders,
        order_target_percent,
        pipeline_output,
        record,
        schedule_function,
        set_commission,
        set_slippage,
        symbol,
        time_rules,
    )
    from rustybt.finance import commission, slippage
    from rustybt.pipeline import Pipeline
    from rustybt.pipeline.factors import AverageDollarVolume, Returns

    def initialize(context):
        set_slippage(slippage.VolumeShareSlippage(volume_limit=0.025, price_impact=0.1))
        set_commission(commission.PerDollar(cost=0.0015))
        ret = Returns(window_length=20)
        attach_pipeline(
            Pipeline(columns={"ret": ret, "adv": AverageDollarVolume(window_length=20)}, screen=ret.top(2)), "top2"
        )
        schedule_function(rebalance, date_rules.month_start(), time_rules.market_open())
        context.aapl = symbol("AAPL")
        context.months = []

    def rebalance(context, data):
        for orders in get_open_orders().values():
            for o in orders:
                cancel_order(o)
        chosen = set(context.out.index)
        for asset in list(context.portfolio.positions):
            if asset not in chosen:
                order_target_percent(asset, 0.0)
        for asset in sorted(chosen, key=lambda a: a.sid):
            order_target_percent(asset, 0.5)
        context.months.append(get_datetime())

    def before_trading_start(context, data):
        context.out = pipeline_output("top2")

    def handle_data(context, data):
        record(aapl=data.current(context.aapl, "price"), n=len(context.portfolio.positions))

    perf = run_algorithm(
        start=pd.Timestamp("2013-01-02"),
        end=pd.Timestamp("2014-12-31"),
        initialize=initialize,
        handle_data=handle_data,
        before_trading_start=before_trading_start,
        analyze=None,
        capital_base=100_000,
        data_frequency="daily",
        bundle="sample",
        catalog=sample_catalog,
    )
    aapl = pd.read_csv(sample_data_dir() / "equities" / "daily" / "AAPL.csv", parse_dates=["date"]).set_index("date")
    np.testing.assert_allclose(perf["aapl"].to_numpy(), aapl.loc["2013-01-02":"2014-12-31", "close"].to_numpy())
    assert perf["n"].max() >= 2
    # fills happen on the session after each month start (orders fill on the next bar)
    fill_days = {t["dt"].date() for day in perf["transactions"] for t in day}
    sessions = perf.index.tz_convert(None).normalize()
    month_starts = pd.Series(sessions).groupby(sessions.to_period("M")).first()
    next_session = {d: sessions[i + 1] for i, d in enumerate(sessions[:-1])}
    assert fill_days == {next_session[d].date() for d in month_starts if d in next_session}
