"""Factor analysis of pipeline results: alphalens-reloaded's names, signatures and semantics, no plotting.

alphalens users port by changing the import::

    from rustybt.pipeline import analysis as al          # was: import alphalens as al
    prices = al.prices_for(bundle, result, start, end)     # adjusted closes, dates x assets
    factor_data = al.get_clean_factor_and_forward_returns(result["momentum"], prices, quantiles=5)
    ic = al.factor_information_coefficient(factor_data)

Every function of ``alphalens.utils`` and ``alphalens.performance`` that research code calls is here (also as
``analysis.utils`` and ``analysis.performance``), plus :func:`prices_for` (a bundle's adjusted closes as
alphalens' ``prices`` frame) and :func:`factor_tearsheet` (every number of the full tear sheet for one column).
The charts live in the notebook layer (:mod:`rustybt.notebook.factor_plots`).
"""

from __future__ import annotations

from rustybt.pipeline.analysis._prices import factor_column, forward_returns, prices_for, quantile_returns_table
from rustybt.pipeline.analysis.performance import (
    compute_mean_returns_spread,
    cumulative_returns,
    cumulative_returns_by_quantile,
    factor_alpha_beta,
    factor_information_coefficient,
    factor_rank_autocorrelation,
    factor_returns,
    factor_weights,
    ic_summary,
    mean_information_coefficient,
    mean_return_by_quantile,
    quantile_turnover,
)
from rustybt.pipeline.analysis.tearsheet import FactorTearsheet, factor_tearsheet, tearsheet_from_factor_data
from rustybt.pipeline.analysis.utils import (
    MaxLossExceededError,
    NonMatchingTimezoneError,
    compute_forward_returns,
    demean_forward_returns,
    get_clean_factor,
    get_clean_factor_and_forward_returns,
    get_forward_returns_columns,
    infer_trading_calendar,
    quantize_factor,
    rate_of_return,
    std_conversion,
    timedelta_to_string,
)

__all__ = [
    "FactorTearsheet",
    "MaxLossExceededError",
    "NonMatchingTimezoneError",
    "compute_forward_returns",
    "compute_mean_returns_spread",
    "cumulative_returns",
    "cumulative_returns_by_quantile",
    "demean_forward_returns",
    "factor_alpha_beta",
    "factor_column",
    "factor_information_coefficient",
    "factor_rank_autocorrelation",
    "factor_returns",
    "factor_tearsheet",
    "factor_weights",
    "forward_returns",
    "get_clean_factor",
    "get_clean_factor_and_forward_returns",
    "get_forward_returns_columns",
    "ic_summary",
    "infer_trading_calendar",
    "mean_information_coefficient",
    "mean_return_by_quantile",
    "prices_for",
    "quantile_returns_table",
    "quantile_turnover",
    "quantize_factor",
    "rate_of_return",
    "std_conversion",
    "tearsheet_from_factor_data",
    "timedelta_to_string",
]
