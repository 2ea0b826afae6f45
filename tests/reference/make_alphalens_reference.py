"""Reference values for rustybt.pipeline.analysis, computed by alphalens-reloaded itself.

Two steps, two interpreters (alphalens needs pandas < 3 and never sees RustyBT):

1. ``.venv/bin/python tests/reference/make_alphalens_reference.py`` (RustyBT's venv, no alphalens importable):
   writes ``alphalens_prices.csv``, the shipped sample's 30 equities' closes adjusted as of 2014-12-31
   (``prices_for(bundle, None, "2012-01-03", "2014-12-31")``), sessions x symbols.
2. ``benchmarks/.venv-alphalens/bin/python tests/reference/make_alphalens_reference.py`` (made by
   ``benchmarks/alphalens_env/setup.sh``): reads that CSV, builds the deterministic factor (20-session returns,
   2013-07-01 .. 2014-06-30; a sector per asset: sid mod 3) and writes alphalens' outputs as
   ``alphalens_ref_*.csv`` (floats with ``%.17g``: they round-trip).

tests/pipeline/analysis/test_alphalens_reference.py compares RustyBT's functions on the same inputs with them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PRICES = HERE / "alphalens_prices.csv"
FACTOR_START, FACTOR_END = "2013-07-01", "2014-06-30"


def factor_from_prices(prices):
    """The reference factor: 20-session returns on the factor dates, stacked to (date, asset)."""
    factor = prices.pct_change(20, fill_method=None).loc[FACTOR_START:FACTOR_END].stack()
    factor.index = factor.index.set_names(["date", "asset"])
    return factor.rename("factor")


def sectors(columns):
    """A sector per symbol (its column position mod 3): groups for the by-group variants."""
    return {sym: ("ABC"[i % 3]) for i, sym in enumerate(columns)}


def read_prices():
    import pandas as pd

    prices = pd.read_csv(PRICES, index_col=0, parse_dates=True, float_precision="round_trip")
    prices.index.name = "date"
    prices.columns.name = "asset"
    return prices


def write_prices() -> None:
    import tempfile

    os.environ.setdefault("RUSTYBT_CONFIG", os.path.join(tempfile.mkdtemp(), "none.yaml"))
    from rustybt import Catalog
    from rustybt.pipeline.analysis import prices_for
    from rustybt.sample import register_sample

    root = tempfile.mkdtemp(prefix="alphalens-ref-")
    catalog = Catalog(root=root)
    register_sample(catalog)
    catalog.ingest("sample", progress=False)
    bundle = catalog.bundle("sample")
    equities = [a for a in bundle.asset_finder.retrieve_all(bundle.asset_finder.sids) if len(a.symbol) <= 4]
    prices = prices_for(bundle, equities, "2012-01-03", "2014-12-31")
    prices.columns = [a.symbol for a in prices.columns]
    prices.to_csv(PRICES, float_format="%.17g")
    print(f"wrote {PRICES} {prices.shape}")


def write_reference() -> None:
    import alphalens
    import numpy as np
    import pandas as pd
    from alphalens import performance as perf
    from alphalens import plotting, utils

    prices = read_prices()
    factor = factor_from_prices(prices)

    def out(name: str, frame) -> None:
        frame.to_csv(HERE / f"alphalens_ref_{name}.csv", float_format="%.17g")

    fd = utils.get_clean_factor_and_forward_returns(factor, prices, quantiles=5, periods=(1, 5, 10))
    out("factor_data", fd)
    ic = perf.factor_information_coefficient(fd)
    out("ic", ic)
    out("ic_summary", plotting.plot_information_table(ic, return_df=True))
    out("ic_by_month", perf.mean_information_coefficient(fd, by_time="ME"))
    mean, se = perf.mean_return_by_quantile(fd)
    out("mean_return_by_quantile", mean)
    out("mean_return_by_quantile_se", se)
    mean_raw, _se_raw = perf.mean_return_by_quantile(fd, demeaned=False)
    out("mean_return_by_quantile_raw", mean_raw)
    by_date, se_date = perf.mean_return_by_quantile(fd, by_date=True)
    rate = by_date.apply(utils.rate_of_return, axis=0, base_period="1D")
    se_rate = se_date.apply(utils.std_conversion, axis=0, base_period="1D")
    spread, spread_se = perf.compute_mean_returns_spread(rate, 5, 1, std_err=se_rate)
    out("spread", spread)
    out("spread_se", spread_se)
    cum = by_date["1D"].unstack("factor_quantile").apply(perf.cumulative_returns)
    out("cumulative_by_quantile", cum)
    returns = perf.factor_returns(fd)
    out("factor_returns", returns)
    out("alpha_beta", perf.factor_alpha_beta(fd, returns))
    turnover = pd.concat(
        [perf.quantile_turnover(fd["factor_quantile"], q, p).rename(f"q{q}_p{p}") for p in (1, 5) for q in range(1, 6)],
        axis=1,
    )
    out("turnover", turnover)
    autocorr = pd.concat([perf.factor_rank_autocorrelation(fd, p).rename(f"p{p}") for p in (1, 5)], axis=1)
    out("autocorrelation", autocorr)

    # variants: bins, groups, group-neutral, binning by group, non-cumulative returns, equal weights
    groups = sectors(prices.columns)
    fdg = utils.get_clean_factor_and_forward_returns(
        factor, prices, groupby=groups, quantiles=4, periods=(1, 3), binning_by_group=True
    )
    out("grouped_factor_data", fdg)
    out("grouped_ic_by_group", perf.factor_information_coefficient(fdg, group_adjust=True, by_group=True))
    mean_g, se_g = perf.mean_return_by_quantile(fdg, by_group=True, group_adjust=True)
    out("grouped_mean_return", mean_g)
    out("grouped_mean_return_se", se_g)
    out("grouped_factor_returns", perf.factor_returns(fdg, group_adjust=True, equal_weight=True))
    fdb = utils.get_clean_factor_and_forward_returns(
        factor, prices, quantiles=None, bins=4, periods=(2,), cumulative_returns=False, filter_zscore=None
    )
    out("bins_factor_data", fdb)
    weekly = factor[factor.index.get_level_values("date").dayofweek == 2]  # Wednesdays only: gaps in the dates
    fdw = utils.get_clean_factor_and_forward_returns(weekly, prices, quantiles=[0, 0.1, 0.5, 0.9, 1.0], periods=(1, 5))
    out("weekly_factor_data", fdw)
    out("weekly_ic", perf.factor_information_coefficient(fdw))
    out("weekly_turnover", perf.quantile_turnover(fdw["factor_quantile"], 4, 1).to_frame("q4_p1"))
    out("weekly_autocorrelation", perf.factor_rank_autocorrelation(fdw, 1).to_frame("p1"))
    print(f"alphalens-reloaded {alphalens.__version__}, pandas {pd.__version__}, numpy {np.__version__}: wrote")
    for path in sorted(HERE.glob("alphalens_ref_*.csv")):
        print(" ", path.name)


if __name__ == "__main__":
    try:
        import alphalens  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO))
        write_prices()
    else:
        write_reference()
