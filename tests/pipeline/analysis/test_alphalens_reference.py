"""rustybt.pipeline.analysis against alphalens-reloaded 0.5.1's own numbers on the same prices and factor.

The CSVs were written by tests/reference/make_alphalens_reference.py in benchmarks/.venv-alphalens (alphalens
with pandas 2.3.3); the inputs (the sample's adjusted closes, 20-session returns as the factor) are rebuilt here
exactly as that script builds them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rustybt.pipeline import analysis as al

REF = Path(__file__).resolve().parents[2] / "reference"
_spec = importlib.util.spec_from_file_location("make_alphalens_reference", REF / "make_alphalens_reference.py")
maker = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("make_alphalens_reference", maker)
_spec.loader.exec_module(maker)

RTOL = 1e-10


def ref(name: str, index_cols: int | list[int] = 0) -> pd.DataFrame:
    frame = pd.read_csv(REF / f"alphalens_ref_{name}.csv", index_col=index_cols)
    if isinstance(frame.index, pd.MultiIndex):
        if not pd.api.types.is_numeric_dtype(frame.index.levels[0]):
            frame.index = frame.index.set_levels(pd.to_datetime(frame.index.levels[0]), level=0)
    elif not pd.api.types.is_numeric_dtype(frame.index):
        with contextlib.suppress(ValueError, TypeError):
            frame.index = pd.to_datetime(frame.index, format="%Y-%m-%d")
    return frame


def _key(value):
    """An index entry as text: dates as YYYY-MM-DD, quantiles 1.0 and 1 alike, tuples element-wise."""
    if isinstance(value, tuple):
        return tuple(_key(v) for v in value)
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def assert_frame(ours: pd.DataFrame | pd.Series, theirs: pd.DataFrame, *, rtol: float = RTOL, atol: float = 1e-13):
    ours = ours.to_frame() if isinstance(ours, pd.Series) else ours
    assert [_key(c) for c in ours.columns] == [_key(c) for c in theirs.columns]
    assert len(ours) == len(theirs)
    assert [_key(i) for i in ours.index] == [_key(i) for i in theirs.index]
    np.testing.assert_allclose(
        ours.to_numpy(dtype="float64"), theirs.to_numpy(dtype="float64"), rtol=rtol, atol=atol, equal_nan=True
    )


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return maker.read_prices()


@pytest.fixture(scope="module")
def factor(prices) -> pd.Series:
    return maker.factor_from_prices(prices)


@pytest.fixture(scope="module")
def fd(factor, prices) -> pd.DataFrame:
    return al.get_clean_factor_and_forward_returns(factor, prices, quantiles=5, periods=(1, 5, 10))


def _same_rows(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    keys = [(str(d.date()), a) for d, a in ours.index]
    their_keys = [(str(pd.Timestamp(d).date()), a) for d, a in theirs.index]
    assert keys == their_keys


def test_factor_data(fd):
    theirs = ref("factor_data", [0, 1])
    _same_rows(fd, theirs)
    assert_frame(fd, theirs)
    assert list(fd.columns) == ["1D", "5D", "10D", "factor", "factor_quantile"]


def test_information_coefficient(fd):
    ic = al.factor_information_coefficient(fd)
    assert_frame(ic, ref("ic"))
    summary = al.ic_summary(ic)
    assert_frame(summary, ref("ic_summary"), rtol=1e-9)
    assert_frame(al.mean_information_coefficient(fd, by_time="ME"), ref("ic_by_month"))
    assert_frame(al.mean_information_coefficient(fd, by_time="M"), ref("ic_by_month"))  # alphalens' spelling


def test_mean_return_by_quantile_and_spread(fd):
    mean, se = al.mean_return_by_quantile(fd)
    assert_frame(mean, ref("mean_return_by_quantile"))
    assert_frame(se, ref("mean_return_by_quantile_se"))
    raw, _ = al.mean_return_by_quantile(fd, demeaned=False)
    assert_frame(raw, ref("mean_return_by_quantile_raw"))
    by_date, se_date = al.mean_return_by_quantile(fd, by_date=True)
    rate = by_date.apply(al.rate_of_return, axis=0, base_period="1D")
    se_rate = se_date.apply(al.std_conversion, axis=0, base_period="1D")
    spread, spread_se = al.compute_mean_returns_spread(rate, 5, 1, std_err=se_rate)
    assert_frame(spread, ref("spread"))
    assert_frame(spread_se, ref("spread_se"))
    cum = al.cumulative_returns_by_quantile(fd, "1D")
    theirs = ref("cumulative_by_quantile")
    assert_frame(cum, theirs)


def test_factor_returns_alpha_beta(fd):
    returns = al.factor_returns(fd)
    assert_frame(returns, ref("factor_returns"))
    assert_frame(al.factor_alpha_beta(fd, returns), ref("alpha_beta"), rtol=1e-8)


def test_turnover_and_autocorrelation(fd):
    turnover = pd.concat(
        [al.quantile_turnover(fd["factor_quantile"], q, p).rename(f"q{q}_p{p}") for p in (1, 5) for q in range(1, 6)],
        axis=1,
    )
    assert_frame(turnover, ref("turnover"))
    autocorr = pd.concat([al.factor_rank_autocorrelation(fd, p).rename(f"p{p}") for p in (1, 5)], axis=1)
    assert_frame(autocorr, ref("autocorrelation"))


def test_groups_group_adjust_binning_by_group(factor, prices):
    groups = maker.sectors(prices.columns)
    fdg = al.get_clean_factor_and_forward_returns(
        factor, prices, groupby=groups, quantiles=4, periods=(1, 3), binning_by_group=True
    )
    theirs = ref("grouped_factor_data", [0, 1])
    _same_rows(fdg, theirs)
    assert list(fdg["group"].astype(str)) == list(theirs["group"].astype(str))
    assert_frame(fdg.drop(columns="group"), theirs.drop(columns="group"))
    ic = al.factor_information_coefficient(fdg, group_adjust=True, by_group=True)
    assert_frame(ic, ref("grouped_ic_by_group", [0, 1]))
    mean, se = al.mean_return_by_quantile(fdg, by_group=True, group_adjust=True)
    assert_frame(mean, ref("grouped_mean_return", [0, 1]))
    assert_frame(se, ref("grouped_mean_return_se", [0, 1]))
    assert_frame(al.factor_returns(fdg, group_adjust=True, equal_weight=True), ref("grouped_factor_returns"))


def test_bins_and_one_period_returns(factor, prices):
    fdb = al.get_clean_factor_and_forward_returns(
        factor, prices, quantiles=None, bins=4, periods=(2,), cumulative_returns=False, filter_zscore=None
    )
    theirs = ref("bins_factor_data", [0, 1])
    _same_rows(fdb, theirs)
    assert_frame(fdb, theirs)


def test_gapped_dates_follow_the_trading_calendar(factor, prices):
    weekly = factor[factor.index.get_level_values("date").dayofweek == 2]
    fdw = al.get_clean_factor_and_forward_returns(weekly, prices, quantiles=[0, 0.1, 0.5, 0.9, 1.0], periods=(1, 5))
    theirs = ref("weekly_factor_data", [0, 1])
    _same_rows(fdw, theirs)
    assert_frame(fdw, theirs)
    assert_frame(al.factor_information_coefficient(fdw), ref("weekly_ic"))  # NaN rows for the sessions between
    assert_frame(al.quantile_turnover(fdw["factor_quantile"], 4, 1).to_frame("q4_p1"), ref("weekly_turnover"))
    assert_frame(al.factor_rank_autocorrelation(fdw, 1).to_frame("p1"), ref("weekly_autocorrelation"))
