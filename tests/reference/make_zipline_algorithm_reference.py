"""Generate backtest references from zipline-reloaded's own ``run_algorithm``.

Run inside the separate zipline virtualenv (NOT RustyBT's .venv)::

    bash benchmarks/zipline_env/setup.sh
    benchmarks/.venv-zipline/bin/python tests/reference/make_zipline_algorithm_reference.py

The bundle is the same csvdir ingestion as ``make_zipline_reference.py`` (real AAPL/IBM/KO/MSFT 2012-2014, XNYS,
the exchanges-table fix so that the US_EQUITIES pipeline domain sees the assets), ingested by zipline into a
temporary ZIPLINE_ROOT. Three algorithms run through ``zipline.run_algorithm`` with explicit models and a zero
benchmark series (``benchmark_returns``), so nothing is fetched from the internet:

``buy_and_hold``
    ``order_target_percent(asset, 0.25)`` for the four assets on the first bar, then nothing.
    ``FixedSlippage(spread=0.0)``, ``PerTrade(cost=1.0)``. The AAPL 7:1 and KO 2:1 splits and every cash
    dividend flow through zipline's ledger.
``ma_crossover``
    AAPL and KO, every session: 20- and 50-bar means of ``data.history(asset, "price", n, "1d")``; long 0.5 of
    the portfolio while the short mean is above the long one, flat otherwise (``order_target_percent``).
    ``FixedBasisPointsSlippage()`` (5 bp, volume limit 0.1), ``PerShare(min_trade_cost=1)``.
``pipeline_rebalance``
    A pipeline (``Returns(20)``, ``AverageDollarVolume(20)``; screen ``Returns(20).top(2)``), read in
    ``before_trading_start``; ``schedule_function(rebalance, date_rules.month_start(), time_rules.market_open())``
    equal-weights the two assets (0.5 each) and closes the rest.
    ``VolumeShareSlippage(volume_limit=0.025, price_impact=0.1)``, ``PerDollar(cost=0.0015)``.

Every algorithm runs 2012-04-02 .. 2014-12-31 with capital_base 100,000 (the start leaves 50 sessions of history
before the first bar). For each one the generator writes

* ``zipline_algo_<name>_perf.csv``: one row per session: ``date, portfolio_value, returns, pnl, ending_cash,
  ending_value, capital_used, gross_leverage``;
* ``zipline_algo_<name>_transactions.csv``: one row per fill: ``date, symbol, amount, price, commission, order_id``
  (``commission`` is the fill's share of its order's commission: zipline records commission on the order, so it
  is the increase of that order's cumulative commission on the fill's session).

Floats are written with ``float_format="%.17g"`` (round-trip exact float64).
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_zipline_reference import (  # noqa: E402  (same csvdir copy and bundle as the pipeline references)
    BUNDLE_END,
    BUNDLE_START,
    CALENDAR,
    _USExchangeAssetWriter,
    ensure_csvdir_copy,
)

BUNDLE_NAME = "rustybt-csvdir-algorithm-reference"

START = pd.Timestamp("2012-04-02")
END = pd.Timestamp("2014-12-31")
CAPITAL_BASE = 100_000.0
PERF_COLUMNS = [
    "portfolio_value",
    "returns",
    "pnl",
    "ending_cash",
    "ending_value",
    "capital_used",
    "gross_leverage",
]


class _PayOnExDateAdjustmentWriter:
    """Proxy for SQLiteAdjustmentWriter: csvdir's dividends get ``pay_date = ex_date`` (csvdir leaves it NaT).

    With NaT pay dates zipline's ledger earns each dividend on its ex-date and files it under the pay date NaT,
    which no session ever equals: the cash is never paid. The csv files carry one date per dividend, so the
    catalog (and RustyBT's ledger) pays on the ex-date; this makes zipline do the same. Ratios for the pipeline
    and history are computed from ex_date and amount only, so nothing else changes.
    """

    def __init__(self, inner):
        self._inner = inner

    def write(self, *args, **kwargs):
        divs = kwargs.get("dividends")
        if divs is not None and len(divs):
            divs = divs.copy()
            divs["pay_date"] = divs["ex_date"]
            kwargs["dividends"] = divs
        return self._inner.write(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def ingest_bundle(csvdir: Path, environ: dict):
    """zipline's csvdir ingest with the exchanges fix (make_zipline_reference.py) and pay dates on ex-dates."""
    from zipline.data import bundles
    from zipline.data.bundles.csvdir import csvdir_equities

    csv_ingest = csvdir_equities(["daily"], str(csvdir))

    def ingest(environ, asset_db_writer, minute_bar_writer, daily_bar_writer, adjustment_writer, *args, **kwargs):
        return csv_ingest(
            environ,
            _USExchangeAssetWriter(asset_db_writer),
            minute_bar_writer,
            daily_bar_writer,
            _PayOnExDateAdjustmentWriter(adjustment_writer),
            *args,
            **kwargs,
        )

    if BUNDLE_NAME in bundles.bundles:
        bundles.unregister(BUNDLE_NAME)
    bundles.register(BUNDLE_NAME, ingest, calendar_name=CALENDAR, start_session=BUNDLE_START, end_session=BUNDLE_END)
    bundles.ingest(BUNDLE_NAME, environ=environ, show_progress=False)
    return bundles.load(BUNDLE_NAME, environ=environ)


# ----------------------------------------------------------------------------------------------------------------
# the three algorithms (zipline's spelling; tests/algorithm/test_zipline_ref_algorithms.py has the same with
# rustybt's imports)
# ----------------------------------------------------------------------------------------------------------------


def buy_and_hold():
    from zipline.api import order_target_percent, set_commission, set_slippage, symbol
    from zipline.finance import commission, slippage

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
    from zipline.api import order_target_percent, set_commission, set_slippage, symbol
    from zipline.finance import commission, slippage

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
    from zipline.api import (
        attach_pipeline,
        date_rules,
        order_target_percent,
        pipeline_output,
        schedule_function,
        set_commission,
        set_slippage,
        time_rules,
    )
    from zipline.finance import commission, slippage
    from zipline.pipeline import Pipeline
    from zipline.pipeline.factors import AverageDollarVolume, Returns

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


ALGORITHMS = {
    "buy_and_hold": buy_and_hold,
    "ma_crossover": ma_crossover,
    "pipeline_rebalance": pipeline_rebalance,
}


# ----------------------------------------------------------------------------------------------------------------
# running and writing
# ----------------------------------------------------------------------------------------------------------------


def run(name: str, environ: dict) -> pd.DataFrame:
    from zipline import run_algorithm
    from zipline.utils.calendar_utils import get_calendar

    calendar = get_calendar("XNYS")
    sessions = calendar.sessions_in_range(START, END)
    zero_benchmark = pd.Series(0.0, index=sessions)
    return run_algorithm(
        start=START,
        end=END,
        capital_base=CAPITAL_BASE,
        data_frequency="daily",
        bundle=BUNDLE_NAME,
        trading_calendar=calendar,
        benchmark_returns=zero_benchmark,
        environ=environ,
        **ALGORITHMS[name](),
    )


def _day(ts) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def perf_table(perf: pd.DataFrame) -> pd.DataFrame:
    out = perf[PERF_COLUMNS].copy()
    out.insert(0, "date", [_day(d) for d in perf.index])
    return out.reset_index(drop=True)


def transactions_table(perf: pd.DataFrame) -> pd.DataFrame:
    """Every fill, with its share of its order's commission (the rise of the order's cumulative commission)."""
    paid: dict[str, float] = {}  # order id -> cumulative commission seen so far
    rows = []
    for day, txns, orders in zip(perf.index, perf["transactions"], perf["orders"], strict=True):
        cumulative = {o["id"]: float(o["commission"] or 0.0) for o in orders}
        by_order: dict[str, list[dict]] = {}
        for t in txns:
            by_order.setdefault(t["order_id"], []).append(t)
        for order_id, fills in by_order.items():
            if len(fills) != 1:  # daily bars: one fill per order and session; anything else needs a rule
                raise AssertionError(f"{_day(day)}: order {order_id} has {len(fills)} fills in one session")
            t = fills[0]
            commission = cumulative[order_id] - paid.get(order_id, 0.0)
            paid[order_id] = cumulative[order_id]
            rows.append(
                {
                    "date": _day(day),
                    "symbol": t["sid"].symbol,
                    "amount": int(t["amount"]),
                    "price": float(t["price"]),
                    "commission": commission,
                    "order_id": order_id,
                }
            )
    return pd.DataFrame(rows, columns=["date", "symbol", "amount", "price", "commission", "order_id"])


def main() -> int:
    import zipline

    csvdir = ensure_csvdir_copy()
    with tempfile.TemporaryDirectory(prefix="zipline-root-") as root:
        environ = {"ZIPLINE_ROOT": root}
        ingest_bundle(csvdir, environ)
        for name in ALGORITHMS:
            perf = run(name, environ)
            table = perf_table(perf)
            txns = transactions_table(perf)
            table.to_csv(HERE / f"zipline_algo_{name}_perf.csv", index=False, float_format="%.17g")
            txns.to_csv(HERE / f"zipline_algo_{name}_transactions.csv", index=False, float_format="%.17g")
            print(
                f"{name}: {len(table)} sessions, {len(txns)} fills, final portfolio value "
                f"{table['portfolio_value'].iloc[-1]:.2f}"
            )
    print(f"zipline-reloaded {zipline.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
