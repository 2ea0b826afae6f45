"""Every number of alphalens' full tear sheet for one pipeline column, computed once and kept in one object.

:func:`factor_tearsheet` turns ``(result, column, bundle)`` into a :class:`FactorTearsheet`: the clean
``factor_data``, returns by quantile with the top-minus-bottom spread and its standard error, cumulative returns by
quantile, the IC per date with its summary and its monthly means, turnover and rank autocorrelation. Its HTML
view shows the tables; the charts are drawn by :func:`rustybt.notebook.factor_plots.factor_tearsheet`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rustybt.errors import InvalidArgument
from rustybt.pipeline.analysis import performance as perf
from rustybt.pipeline.analysis._prices import _portal, factor_column, prices_for
from rustybt.pipeline.analysis.utils import (
    get_clean_factor_and_forward_returns,
    get_forward_returns_columns,
    rate_of_return,
    std_conversion,
)

__all__ = ["FactorTearsheet", "factor_tearsheet"]


@dataclass
class FactorTearsheet:
    """The numbers of a factor tear sheet (alphalens' returns, information and turnover sheets).

    Attributes
    ----------
    column : str
        The pipeline column analysed.
    factor_data : pd.DataFrame
        alphalens' clean frame: forward returns per period, ``factor``, ``factor_quantile`` (and ``group``).
    mean_return_by_quantile, mean_return_std_error : pd.DataFrame
        Mean (demeaned) forward return per quantile as a one-period rate, and its standard error.
    mean_return_by_date : pd.DataFrame
        The same per (quantile, date), as a one-period rate.
    spread, spread_std_error : pd.DataFrame
        Top-minus-bottom spread per date (alphalens' ``(top - bottom) / 2``) and its joint standard error.
    cumulative_by_quantile : pd.DataFrame
        Growth of 1 in each quantile's basket on the first period's returns (dates x quantiles).
    factor_returns, cumulative_factor_returns : pd.DataFrame
        The factor-weighted long/short portfolio's returns per period, and the first period's growth of 1.
    alpha_beta : pd.DataFrame
        Annualised alpha and beta of that portfolio per period.
    ic, ic_summary, ic_by_month : pd.DataFrame
        IC per date and period, its statistics (mean, std, t-stat, p-value, skew, kurtosis), its monthly means.
    turnover : pd.DataFrame
        Mean turnover per quantile and period.
    autocorrelation : pd.DataFrame
        Factor-rank autocorrelation per date (one column per period).
    """

    column: str
    factor_data: pd.DataFrame
    mean_return_by_quantile: pd.DataFrame
    mean_return_std_error: pd.DataFrame
    mean_return_by_date: pd.DataFrame
    spread: pd.DataFrame
    spread_std_error: pd.DataFrame
    cumulative_by_quantile: pd.DataFrame
    factor_returns: pd.DataFrame
    cumulative_factor_returns: pd.Series
    alpha_beta: pd.DataFrame
    ic: pd.DataFrame
    ic_summary: pd.DataFrame
    ic_by_month: pd.DataFrame
    turnover: pd.DataFrame
    autocorrelation: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def periods(self) -> list[str]:
        """The forward-return columns (``"1D"``, ``"5D"``...)."""
        return list(get_forward_returns_columns(self.factor_data.columns))

    def returns_table(self) -> pd.DataFrame:
        """alphalens' returns table: alpha, beta, top/bottom quantile mean (bps) and the spread (bps)."""
        top, bottom = self.meta["top"], self.meta["bottom"]
        rows = {
            "Ann. alpha": self.alpha_beta.loc["Ann. alpha"],
            "beta": self.alpha_beta.loc["beta"],
            "Mean Period Wise Return Top Quantile (bps)": self.mean_return_by_quantile.loc[top] * 1e4,
            "Mean Period Wise Return Bottom Quantile (bps)": self.mean_return_by_quantile.loc[bottom] * 1e4,
            "Mean Period Wise Spread (bps)": self.spread.mean() * 1e4,
        }
        return pd.DataFrame(rows).T

    def __repr__(self) -> str:
        fd = self.factor_data
        dates = fd.index.get_level_values("date")
        return (
            f"FactorTearsheet({self.column!r}, {len(fd):,} rows, {dates.min().date()} .. {dates.max().date()}, "
            f"periods {', '.join(self.periods)}, {self.meta.get('quantiles')} quantiles)"
        )

    def _repr_html_(self) -> str:
        from rustybt._html.analysis import factor_tearsheet_html

        return factor_tearsheet_html(self)


def _periods_after(dates: pd.DatetimeIndex, bundle: Any, periods: Sequence[int]) -> pd.Timestamp:
    """The session ``max(periods)`` sessions after the last factor date (clamped to the bundle's end)."""
    portal = _portal(bundle)
    b = portal.bundle
    last = dates.max()
    last = last.tz_localize("UTC") if last.tzinfo is None else last.tz_convert("UTC")
    labels = portal.reader.labels(last, b.end)
    step = min(max(periods), len(labels) - 1) if len(labels) else 0
    return labels[step] if len(labels) else b.end


def factor_tearsheet(
    result: pd.DataFrame,
    column: str,
    bundle: Any,
    *,
    periods: Sequence[int] = (1, 5, 10),
    quantiles: int | Sequence[float] | None = 5,
    bins: int | Sequence[float] | None = None,
    groupby: pd.Series | Mapping[Any, Any] | None = None,
    max_loss: float = 0.35,
    long_short: bool = True,
    group_neutral: bool = False,
    filter_zscore: float | None = 20,
) -> FactorTearsheet:
    """Analyse ``result[column]`` against the bundle's adjusted closes, as alphalens' full tear sheet.

    Prices come from :func:`prices_for` (adjusted as of ``max(periods)`` sessions after the result's last date),
    the frame from :func:`get_clean_factor_and_forward_returns` with the same keywords; rates are per first
    period, as alphalens shows them. In a notebook, :func:`rustybt.notebook.factor_plots.factor_tearsheet`
    draws the charts as well.

    Returns
    -------
    FactorTearsheet
    """
    factor = factor_column(result, column)
    dates = factor.index.get_level_values(0)
    if len(dates) == 0:
        raise InvalidArgument(f"column {column!r} is empty; run the pipeline over a range with data")
    end = _periods_after(pd.DatetimeIndex(dates), bundle, periods)
    prices = prices_for(bundle, factor, dates.min(), end)
    factor_data = get_clean_factor_and_forward_returns(
        factor,
        prices,
        groupby=groupby,
        quantiles=quantiles,
        bins=bins,
        periods=periods,
        filter_zscore=filter_zscore,
        max_loss=max_loss,
    )
    return tearsheet_from_factor_data(factor_data, column, long_short=long_short, group_neutral=group_neutral)


def tearsheet_from_factor_data(
    factor_data: pd.DataFrame, column: str = "factor", *, long_short: bool = True, group_neutral: bool = False
) -> FactorTearsheet:
    """The tear sheet of an existing alphalens ``factor_data`` frame (e.g. built with custom prices)."""
    cols = get_forward_returns_columns(factor_data.columns)
    base = cols[0]
    mean_q, std_q = perf.mean_return_by_quantile(factor_data, demeaned=long_short, group_adjust=group_neutral)
    mean_q_rate = mean_q.apply(rate_of_return, axis=0, base_period=base)
    std_q_rate = std_q.apply(std_conversion, axis=0, base_period=base)
    by_date, std_by_date = perf.mean_return_by_quantile(
        factor_data, by_date=True, demeaned=long_short, group_adjust=group_neutral
    )
    by_date_rate = by_date.apply(rate_of_return, axis=0, base_period=base)
    std_by_date_rate = std_by_date.apply(std_conversion, axis=0, base_period=base)
    top = int(factor_data["factor_quantile"].max())
    bottom = int(factor_data["factor_quantile"].min())
    spread, spread_se = perf.compute_mean_returns_spread(by_date_rate, top, bottom, std_err=std_by_date_rate)
    returns = perf.factor_returns(factor_data, long_short, group_neutral)
    ic = perf.factor_information_coefficient(factor_data, group_neutral)
    steps = [max(int(pd.Timedelta(c).days), 1) for c in cols]
    quantile = factor_data["factor_quantile"]
    turnover = pd.DataFrame(
        {
            c: {int(q): perf.quantile_turnover(quantile, q, p).mean() for q in sorted(quantile.unique())}
            for c, p in zip(cols, steps, strict=True)
        }
    )
    turnover.index.name = "factor_quantile"
    autocorr = pd.concat(
        [perf.factor_rank_autocorrelation(factor_data, p).rename(c) for c, p in zip(cols, steps, strict=True)],
        axis=1,
    )
    return FactorTearsheet(
        column=column,
        factor_data=factor_data,
        mean_return_by_quantile=mean_q_rate,
        mean_return_std_error=std_q_rate,
        mean_return_by_date=by_date_rate,
        spread=spread,
        spread_std_error=spread_se,
        cumulative_by_quantile=perf.cumulative_returns(by_date[base].unstack("factor_quantile")),
        factor_returns=returns,
        cumulative_factor_returns=perf.cumulative_returns(returns[base]),
        alpha_beta=perf.factor_alpha_beta(factor_data, returns, long_short, group_neutral),
        ic=ic,
        ic_summary=perf.ic_summary(ic),
        ic_by_month=ic.resample("ME").mean(),
        turnover=turnover,
        autocorrelation=autocorr,
        meta={"top": top, "bottom": bottom, "quantiles": int(quantile.nunique()), "long_short": long_short},
    )
