"""Cross-sectional (per-date) kernels: rank, top/bottom, demean, zscore, winsorize, quantiles and daily summaries.

Inputs are F-ordered float64 ``(n_dates, n_assets)`` arrays, an optional boolean ``mask`` of the same shape
(False = ignore this asset on this date) and optional int64 ``groups`` labels (``-1`` = no group). Each kernel runs
``prange`` over tiles of dates, copied into row-major buffers; within a date the valid entries are ordered by
(group, value, column) with two stable sorts (a radix sort on the values' order-preserving bits, then a counting
sort on the group labels), so every group of every date is handled in one pass with no Python loop over rows or
groups. ``top``/``bottom`` only select (radix selection), they do not sort.

Semantics follow zipline-reloaded (``Factor.rank/demean/zscore/winsorize/quantiles`` and ``DailySummary``):

- an entry takes part when its mask is True, its group label is not -1 and (for everything but the NaN-aware
  statistics that simply skip it) its value is not NaN; every other entry outputs NaN (``-1`` for quantiles);
- ``rank``: ``scipy.stats.rankdata`` semantics over the valid entries of each group; ``ordinal`` (the default)
  breaks ties by column order, also when ``ascending=False`` (zipline ranks the negated values with a stable sort);
- ``zscore`` uses the population standard deviation (ddof 0); a zero deviation gives NaN;
- ``winsorize`` is zipline's ``winsorize`` row function (itself after ``scipy.stats.mstats.winsorize``);
- ``quantiles`` equals ``pd.qcut(values, bins, labels=False)`` on each date's (group's) valid values: the same
  quantile probabilities (pandas rounds non-representable ones up), numpy's linear interpolation and the
  right-closed, lowest-inclusive bin assignment. Where pandas would raise because bin edges repeat, the same
  assignment rule is applied to the repeated edges;
- ``daily_summary``: nan-aware mean, stddev (ddof 0), max, min, median, sum (0.0 when empty) and notnull_count
  over the masked row, one value per date.
"""

from rustybt.pipeline.kernels.crosssection.center import (
    demean,
    demean_kernel,
    winsorize,
    winsorize_kernel,
    zscore,
    zscore_kernel,
)
from rustybt.pipeline.kernels.crosssection.quantiles import qcut_probabilities, quantiles, quantiles_kernel
from rustybt.pipeline.kernels.crosssection.rank import RANK_METHODS, rank, rank_kernel, top_bottom, top_bottom_kernel
from rustybt.pipeline.kernels.crosssection.summary import SUMMARY_FUNCS, daily_summary, daily_summary_kernel

__all__ = [
    "RANK_METHODS",
    "SUMMARY_FUNCS",
    "daily_summary",
    "daily_summary_kernel",
    "demean",
    "demean_kernel",
    "qcut_probabilities",
    "quantiles",
    "quantiles_kernel",
    "rank",
    "rank_kernel",
    "top_bottom",
    "top_bottom_kernel",
    "winsorize",
    "winsorize_kernel",
    "zscore",
    "zscore_kernel",
]
