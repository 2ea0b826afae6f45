"""Rolling correlations, regressions and beta (zipline-reloaded's ``factors.statistical``), computed by
:mod:`rustybt.pipeline.kernels.correlation`."""

from __future__ import annotations

import numpy as np

from rustybt.assets import Asset
from rustybt.pipeline.dtypes import float64_dtype, int64_dtype
from rustybt.pipeline.errors import IncompatibleTerms
from rustybt.pipeline.factors.basic import Returns, _masked
from rustybt.pipeline.factors.custom import CustomFactor
from rustybt.pipeline.filters import SingleAsset
from rustybt.pipeline.kernels import correlation
from rustybt.pipeline.mixins import MultiOutput, StandardOutputs
from rustybt.pipeline.sentinels import NotSpecified
from rustybt.pipeline.term import AssetExists, Term

__all__ = [
    "RollingLinearRegression",
    "RollingLinearRegressionOfReturns",
    "RollingPearson",
    "RollingPearsonOfReturns",
    "RollingSpearman",
    "RollingSpearmanOfReturns",
    "SimpleBeta",
    "vectorized_beta",
    "vectorized_pearson_r",
]

ALLOWED_DTYPES = (float64_dtype, int64_dtype)


def _check_inputs(cls_name: str, length_name: str, length, minimum: int, **terms) -> None:
    for name, term in terms.items():
        if not isinstance(term, Term):
            raise TypeError(f"{cls_name}() expected a Term for {name}, got {type(term).__name__}")
        if term.dtype not in ALLOWED_DTYPES:
            raise TypeError(
                f"{cls_name}() expected a term of dtype float64 or int64 for argument {name!r}, but got "
                f"{term.dtype} instead."
            )
    if not isinstance(length, int) or isinstance(length, bool):
        raise TypeError(f"{cls_name}() expected an int for {length_name}, got {type(length).__name__}")
    if length < minimum:
        raise ValueError(f"{cls_name}() expected {length_name} to be >= {minimum}, but got {length}.")


def _regressor(aa) -> np.ndarray:
    data = aa.data
    return data[:, 0] if data.shape[1] == 1 else data


class _RollingCorrelation(CustomFactor):
    def __new__(cls, base_factor, target, correlation_length, mask=NotSpecified):
        _check_inputs(cls.__name__, "correlation_length", correlation_length, 2, base_factor=base_factor,
                      target=target)  # fmt: skip
        if target.ndim == 2 and base_factor.mask is not target.mask:
            raise IncompatibleTerms(base_factor, target)
        return super().__new__(cls, inputs=[base_factor, target], window_length=correlation_length, mask=mask)


class RollingPearson(_RollingCorrelation):
    """Rolling Pearson correlation of each column of ``base_factor`` with ``target`` (slice or 2-D term)."""

    window_safe = True

    def compute(self, today, assets, out, base_data, target_data):
        vectorized_pearson_r(base_data, target_data, allowed_missing=0, out=out)

    def _vectorized_compute(self, windows, dates, assets, mask):
        base, target = windows
        out = correlation.rolling_pearson(base.data, _regressor(target), self.window_length, base.adjustments,
                                          target.adjustments)  # fmt: skip
        return _masked(self, out, mask)


class RollingSpearman(_RollingCorrelation):
    """Rolling Spearman rank correlation of each column of ``base_factor`` with ``target``."""

    window_safe = True

    def compute(self, today, assets, out, base_data, target_data):
        from scipy.stats import spearmanr

        target_data = np.broadcast_arrays(target_data, base_data)[0]
        for i in range(len(out)):
            out[i] = spearmanr(base_data[:, i], target_data[:, i])[0]

    def _vectorized_compute(self, windows, dates, assets, mask):
        base, target = windows
        out = correlation.rolling_spearman(base.data, _regressor(target), self.window_length, base.adjustments,
                                           target.adjustments)  # fmt: skip
        return _masked(self, out, mask)


class RollingLinearRegression(CustomFactor):
    """Rolling OLS of ``dependent`` on ``independent``: outputs alpha, beta, r_value, p_value, stderr."""

    outputs = ("alpha", "beta", "r_value", "p_value", "stderr")

    def __new__(cls, dependent, independent, regression_length, mask=NotSpecified):
        _check_inputs(cls.__name__, "regression_length", regression_length, 2, dependent=dependent,
                      independent=independent)  # fmt: skip
        if independent.ndim == 2 and dependent.mask is not independent.mask:
            raise IncompatibleTerms(dependent, independent)
        return super().__new__(cls, inputs=[dependent, independent], window_length=regression_length, mask=mask)

    def compute(self, today, assets, out, dependent, independent):
        from scipy.stats import linregress

        independent = np.broadcast_arrays(independent, dependent)[0]
        for i in range(len(out)):
            res = linregress(y=dependent[:, i], x=independent[:, i])
            out.alpha[i] = res[1]
            out.beta[i] = res[0]
            out.r_value[i] = res[2]
            out.p_value[i] = res[3]
            out.stderr[i] = res[4]

    def _vectorized_compute(self, windows, dates, assets, mask):
        dep, ind = windows
        res = correlation.rolling_linear_regression(dep.data, _regressor(ind), self.window_length, dep.adjustments,
                                                    ind.adjustments)  # fmt: skip
        return MultiOutput({name: _masked(self, getattr(res, name), mask) for name in self.outputs})


def _returns_of(target, returns_length):
    if not isinstance(target, Asset):
        raise TypeError(f"target must be an Asset, got {type(target).__name__}")
    return Returns(window_length=returns_length, mask=(AssetExists() | SingleAsset(asset=target)))


class RollingPearsonOfReturns(RollingPearson):
    """Pearson correlation of every asset's returns with ``target``'s returns."""

    def __new__(cls, target, returns_length, correlation_length, mask=NotSpecified):
        returns = _returns_of(target, returns_length)
        return super().__new__(
            cls, base_factor=returns, target=returns[target], correlation_length=correlation_length, mask=mask
        )


class RollingSpearmanOfReturns(RollingSpearman):
    """Spearman correlation of every asset's returns with ``target``'s returns."""

    def __new__(cls, target, returns_length, correlation_length, mask=NotSpecified):
        returns = _returns_of(target, returns_length)
        return super().__new__(
            cls, base_factor=returns, target=returns[target], correlation_length=correlation_length, mask=mask
        )


class RollingLinearRegressionOfReturns(RollingLinearRegression):
    """Regression of every asset's returns on ``target``'s returns (outputs alpha, beta, r_value, p_value,
    stderr)."""

    window_safe = True

    def __new__(cls, target, returns_length, regression_length, mask=NotSpecified):
        returns = _returns_of(target, returns_length)
        return super().__new__(
            cls, dependent=returns, independent=returns[target], regression_length=regression_length, mask=mask
        )


class SimpleBeta(CustomFactor, StandardOutputs):
    """Slope of each asset's daily returns regressed on ``target``'s, over ``regression_length`` days.

    Assets missing more than ``int(allowed_missing_percentage * regression_length)`` observations get NaN.
    """

    window_safe = True
    dtype = float64_dtype
    params = ("allowed_missing_count",)

    def __new__(cls, target, regression_length, allowed_missing_percentage=0.25):
        if not isinstance(target, Asset):
            raise TypeError(f"SimpleBeta() expected an Asset for target, got {type(target).__name__}")
        if not isinstance(regression_length, int) or isinstance(regression_length, bool):
            raise TypeError(f"SimpleBeta() expected an int for regression_length, got {regression_length!r}")
        if not isinstance(allowed_missing_percentage, int | float):
            raise TypeError("SimpleBeta() expected a number for allowed_missing_percentage")
        if regression_length < 3:
            raise ValueError(f"SimpleBeta() expected regression_length to be >= 3, but got {regression_length}.")
        if not 0.0 <= allowed_missing_percentage <= 1.0:
            raise ValueError(
                "SimpleBeta() expected allowed_missing_percentage to be in [0.0, 1.0], but got "
                f"{allowed_missing_percentage}."
            )
        daily_returns = Returns(window_length=2, mask=(AssetExists() | SingleAsset(asset=target)))
        allowed_missing_count = int(allowed_missing_percentage * regression_length)
        return super().__new__(
            cls,
            inputs=[daily_returns, daily_returns[target]],
            window_length=regression_length,
            allowed_missing_count=allowed_missing_count,
        )

    def compute(self, today, assets, out, all_returns, target_returns, allowed_missing_count):
        vectorized_beta(all_returns, target_returns, allowed_missing_count, out=out)

    def _vectorized_compute(self, windows, dates, assets, mask):
        dep, ind = windows
        count = self.params["allowed_missing_count"]
        wl = self.window_length
        pct = 1.0 if count >= wl else (count + 0.5) / wl  # int(pct * wl) == count exactly
        out = correlation.simple_beta(dep.data, _regressor(ind), wl, pct, dep.adjustments, ind.adjustments)
        return _masked(self, out, mask)

    @property
    def target(self):
        return self.inputs[1].asset

    def graph_repr(self) -> str:
        count = self.params["allowed_missing_count"]
        return f"{type(self).__name__}({self.target.symbol!r}, {self.window_length}, {count})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.target}, length={self.window_length}, "
            f"allowed_missing={self.params['allowed_missing_count']})"
        )


def vectorized_beta(dependents, independent, allowed_missing, out=None):
    """zipline's reference: slopes of each column of ``dependents`` on ``independent`` (numpy)."""
    m = dependents.shape[1]
    if out is None:
        out = np.full(m, np.nan)
    independent = np.where(np.isnan(dependents), np.nan, independent)
    with np.errstate(all="ignore"):
        ind_residual = independent - np.nanmean(independent, axis=0)
        covariances = np.nanmean(ind_residual * dependents, axis=0)
        independent_variances = np.nanmean(ind_residual**2, axis=0)
        np.divide(covariances, independent_variances, out=out)
    out[np.isnan(independent).sum(axis=0) > allowed_missing] = np.nan
    return out


def vectorized_pearson_r(dependents, independents, allowed_missing, out=None):
    """zipline's reference: Pearson's r of each column of ``dependents`` with ``independents`` (numpy)."""
    m = dependents.shape[1]
    if out is None:
        out = np.full(m, np.nan)
    with np.errstate(all="ignore"):
        if allowed_missing > 0:
            either_nan = np.isnan(dependents) | np.isnan(independents)
            independents = np.where(either_nan, np.nan, independents)
            dependents = np.where(either_nan, np.nan, dependents)
            mean = np.nanmean
        else:
            mean = np.mean
        ind_residual = independents - mean(independents, axis=0)
        dep_residual = dependents - mean(dependents, axis=0)
        ind_variance = mean(ind_residual**2, axis=0)
        dep_variance = mean(dep_residual**2, axis=0)
        covariances = mean(ind_residual * dep_residual, axis=0)
        res = covariances / np.sqrt(ind_variance * dep_variance)
    res = np.where(np.isnan(independents).sum(axis=0) > allowed_missing, np.nan, res)
    out[:] = np.broadcast_to(res, out.shape)
    return out
