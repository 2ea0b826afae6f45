"""Rolling correlation and regression kernels: Pearson, Spearman, linear regression, SimpleBeta.

Each column of a 2-D ``target`` ``(n_dates, n_assets)`` is compared, over every trailing window, with a
``regressor`` that is either one series (``(n_dates,)`` or ``(n_dates, 1)``, e.g. one asset's returns) or 2-D of the
same shape as ``target`` (asset-wise). Semantics follow zipline-reloaded's ``pipeline.factors.statistical``:

- :func:`rolling_pearson` -- ``vectorized_pearson_r(..., allowed_missing=0)``: population co-moments, any NaN in
  the window of either series gives NaN (:mod:`.pearson`);
- :func:`rolling_spearman` -- ``scipy.stats.spearmanr`` per window: Pearson of average ranks, NaN if any NaN
  (:mod:`.spearman`);
- :func:`rolling_linear_regression` -- ``scipy.stats.linregress(x=regressor, y=target)`` per window: alpha
  (intercept), beta (slope), r_value, p_value (two-sided, Student t with n - 2 dof), stderr (of the slope)
  (:mod:`.pearson`);
- :func:`simple_beta` -- ``vectorized_beta``: slope over the pairwise-valid rows, NaN when more than
  ``int(allowed_missing_percentage * window_length)`` rows miss either value (:mod:`.beta`).

Windows where an input is exactly constant give NaN correlations (scipy warns and returns NaN; ``linregress``
raises on constant ``x``, where these kernels return NaN for all five outputs). Kernels take
``(target, regressor, wl, target_adjustments, regressor_adjustments, out..., params...)`` and walk their assets
with the shared driver of :mod:`rustybt.pipeline.kernels._segments`.
"""

from rustybt.pipeline.kernels.correlation.beta import simple_beta, simple_beta_kernel
from rustybt.pipeline.kernels.correlation.pearson import (
    LinearRegressionResult,
    linear_regression_kernel,
    pearson_kernel,
    rolling_linear_regression,
    rolling_pearson,
)
from rustybt.pipeline.kernels.correlation.spearman import rolling_spearman, spearman_kernel

__all__ = [
    "LinearRegressionResult",
    "linear_regression_kernel",
    "pearson_kernel",
    "rolling_linear_regression",
    "rolling_pearson",
    "rolling_spearman",
    "simple_beta",
    "simple_beta_kernel",
    "spearman_kernel",
]
