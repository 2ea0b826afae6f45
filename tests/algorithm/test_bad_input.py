"""Bad input: each case is a clear RustyBTError naming what is wrong."""

from __future__ import annotations

import pandas as pd
import pytest

from rustybt import errors


def _run(catalog, handle_data=None, initialize=None, **kw):
    from rustybt import run_algorithm

    args = {"start": "2013-01-02", "end": "2013-01-10", "capital_base": 1e5, "bundle": "sample"}
    args.update(kw)
    return run_algorithm(
        initialize=initialize or (lambda context: None), handle_data=handle_data, catalog=catalog, **args
    )


def test_unknown_symbol_names_close_matches(sample_catalog):
    from rustybt.api import symbol

    with pytest.raises(errors.SymbolNotFound, match=r"'APPL'.*did you mean AAPL"):
        _run(sample_catalog, initialize=lambda context: symbol("APPL"))


def test_ccxt_and_catalog_spellings(sample_catalog):
    from rustybt.algorithm import TradingAlgorithm

    algo = TradingAlgorithm(
        bundle="sample_crypto", start="2024-01-02", end="2024-01-02", data_frequency="1h", catalog=sample_catalog
    )
    assert algo.symbol("BTC/USDT") == algo.symbol("BTC-USDT")
    with pytest.raises(errors.SymbolNotFound, match="BTC-USDT"):
        algo.symbol("BTC/USD")


@pytest.mark.parametrize("capital", [0, -5, float("nan"), float("inf")])
def test_capital_base_must_be_positive(sample_catalog, capital):
    with pytest.raises(errors.InvalidArgument, match="capital_base"):
        _run(sample_catalog, capital_base=capital)


def test_start_before_data_and_end_after(sample_catalog):
    with pytest.raises(errors.NoDataBeforeDate, match=r"start 2011-06-01 is before the first session.*2012-01-03"):
        _run(sample_catalog, start="2011-06-01")
    with pytest.raises(errors.NoDataAfterDate, match=r"end 2015-03-02 is after the last session.*2014-12-31"):
        _run(sample_catalog, end="2015-03-02")


def test_frequency_must_match_bundle(sample_catalog):
    with pytest.raises(errors.ResolutionError, match="stores 1d bars"):
        _run(sample_catalog, data_frequency="1h")


@pytest.mark.parametrize("amount", [float("nan"), float("inf"), "ten"])
def test_non_finite_amounts(sample_catalog, amount):
    from rustybt.api import order, symbol

    def handle_data(context, data):
        order(symbol("AAPL"), amount)

    with pytest.raises(errors.InvalidOrder, match="AAPL"):
        _run(sample_catalog, handle_data=handle_data)


def test_zero_amount_is_a_documented_no_op(sample_catalog):
    from rustybt.api import order, symbol

    ids = []

    def handle_data(context, data):
        ids.append(order(symbol("AAPL"), 0))
        ids.append(order(symbol("AAPL"), 0.3))  # whole shares for equities: truncates to 0

    perf = _run(sample_catalog, handle_data=handle_data)
    assert set(ids) == {None}
    assert sum(len(t) for t in perf["transactions"]) == 0


def test_order_on_an_asset_that_stopped_trading(sample_catalog):
    bundle = sample_catalog.bundle("sample")
    ended = [a for a in bundle.assets if a.end_date is not None and a.end_date < bundle.end.tz_localize(None)]
    if not ended:
        pytest.skip("the sample holds no delisted asset")
    asset = ended[0]
    day = asset.end_date + pd.Timedelta(days=10)
    from rustybt.api import order

    with pytest.raises(errors.CannotOrderDelistedAsset, match=asset.symbol):
        _run(
            sample_catalog,
            handle_data=lambda c, d: order(asset, 10),
            start=day,
            end=day + pd.Timedelta(days=7),
        )


def test_pipeline_output_never_attached(sample_catalog):
    from rustybt.api import pipeline_output

    def before_trading_start(context, data):
        pipeline_output("nope")

    with pytest.raises(errors.PipelineNotAttached, match=r"'nope'.*attach_pipeline"):
        _run(sample_catalog, before_trading_start=before_trading_start)


def test_exception_in_handle_data_names_bar_and_line(sample_catalog):
    def handle_data(context, data):
        if data.current_dt.day == 4:
            {}["missing"]  # the user's bug

    with pytest.raises(errors.AlgorithmError) as info:
        _run(sample_catalog, handle_data=handle_data)
    message = str(info.value)
    assert "KeyError" in message and "2013-01-04" in message
    assert "test_bad_input.py" in message and '{}["missing"]' in message
    assert isinstance(info.value.__cause__, KeyError)


def test_history_longer_than_the_data(sample_catalog):
    from rustybt.api import symbol

    def handle_data(context, data):
        data.history(symbol("AAPL"), "close", 5000, "1d")

    with pytest.raises(errors.NoDataBeforeDate, match="5000 bars.*ask for at most"):
        _run(sample_catalog, handle_data=handle_data)


def test_api_outside_a_backtest():
    from rustybt.api import order

    with pytest.raises(errors.RustyBTError, match="inside a running backtest"):
        order(None, 1)


def test_controls(sample_catalog):
    from rustybt.api import order, set_long_only, set_max_order_count, symbol

    def init_long(context):
        set_long_only()

    with pytest.raises(errors.TradingControlViolation, match="short"):
        _run(sample_catalog, initialize=init_long, handle_data=lambda c, d: order(symbol("KO"), -5))

    def init_count(context):
        set_max_order_count(1)

    def two_orders(context, data):
        order(symbol("KO"), 1)
        order(symbol("KO"), 1)

    with pytest.raises(errors.TradingControlViolation, match="more than 1 orders"):
        _run(sample_catalog, initialize=init_count, handle_data=two_orders)


def test_an_algorithm_runs_once(sample_catalog):
    from rustybt.algorithm import TradingAlgorithm

    algo = TradingAlgorithm(
        bundle="sample", start="2013-01-02", end="2013-01-04", catalog=sample_catalog, initialize=lambda context: None
    )
    algo.run()
    with pytest.raises(errors.InvalidArgument, match="already ran"):
        algo.run()
