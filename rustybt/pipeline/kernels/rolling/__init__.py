"""Rolling-window kernels for zipline's built-in window factors, one module per family.

Every kernel takes float64 ``(n_dates, n_assets)`` inputs whose asset columns are contiguous, the window length
``wl``, one :class:`~rustybt.pipeline.kernels._adjust.Adjustments` record per input (in input order), a
preallocated F-ordered ``out`` of shape ``(n_dates - wl + 1, n_assets)`` and then any scalar parameters.
``out[i, j]`` is the factor over rows ``[i, i + wl)`` of asset ``j``, seen with exactly the adjustments whose
``apply_row <= i + wl - 1``; each kernel walks its assets with the shared driver of
:mod:`rustybt.pipeline.kernels._segments`.

- :mod:`.moments` -- sum, mean, var, std, count (one kernel, the statistic a parameter) and annualized volatility;
- :mod:`.extremes` -- min, max (two-stack sliding aggregation) and max drawdown;
- :mod:`.weighted` -- linear weighted moving average, weighted average value / VWAP, average dollar volume;
- :mod:`.rsi` -- RSI.

The semantics follow zipline-reloaded's ``compute`` methods (``SimpleMovingAverage`` = ``nanmean``,
``LinearWeightedMovingAverage``, ``WeightedAverageValue``/``VWAP``, ``AverageDollarVolume``, ``MaxDrawdown``,
``AnnualizedVolatility``, ``RSI``), including their results for all-NaN windows and divisions by zero.
"""

from rustybt.pipeline.kernels.rolling.extremes import (
    max_drawdown,
    max_drawdown_kernel,
    rolling_extreme_kernel,
    rolling_max,
    rolling_min,
)
from rustybt.pipeline.kernels.rolling.moments import (
    COUNT,
    MEAN,
    RESUM_PERIOD,
    STD,
    SUM,
    VAR,
    annualized_volatility,
    rolling_count,
    rolling_mean,
    rolling_moments_kernel,
    rolling_std,
    rolling_sum,
    rolling_var,
)
from rustybt.pipeline.kernels.rolling.rsi import rsi, rsi_kernel
from rustybt.pipeline.kernels.rolling.weighted import (
    average_dollar_volume,
    linear_weighted_moving_average,
    linear_weighted_moving_average_kernel,
    vwap,
    weighted_average_kernel,
    weighted_average_value,
)

__all__ = [
    "COUNT",
    "MEAN",
    "RESUM_PERIOD",
    "STD",
    "SUM",
    "VAR",
    "annualized_volatility",
    "average_dollar_volume",
    "linear_weighted_moving_average",
    "linear_weighted_moving_average_kernel",
    "max_drawdown",
    "max_drawdown_kernel",
    "rolling_count",
    "rolling_extreme_kernel",
    "rolling_max",
    "rolling_mean",
    "rolling_min",
    "rolling_moments_kernel",
    "rolling_std",
    "rolling_sum",
    "rolling_var",
    "rsi",
    "rsi_kernel",
    "vwap",
    "weighted_average_kernel",
    "weighted_average_value",
]
