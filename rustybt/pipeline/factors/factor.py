"""Factor: pipeline terms producing numbers, with zipline's operators and methods.

Cross-sectional methods (``rank``, ``demean``, ``zscore``, ``winsorize``, ``quantiles``, daily summaries) run the
Numba kernels of :mod:`rustybt.pipeline.kernels.crosssection` over all dates at once, groups included.
"""

from __future__ import annotations

from numbers import Number

import numpy as np

from rustybt.pipeline.classifiers import Classifier, Everything, Quantiles
from rustybt.pipeline.dtypes import FACTOR_DTYPES, bool_dtype, float64_dtype, is_missing
from rustybt.pipeline.errors import BadBinaryOperator, BadPercentileBounds, UnknownRankMethod
from rustybt.pipeline.expression import (
    COMPARISONS,
    MATH_BINOPS,
    NUMEXPR_MATH_FUNCS,
    NumericalExpression,
    is_comparison,
    method_name_for_op,
)
from rustybt.pipeline.filters import Filter, MaximumFilter, NumExprFilter, PercentileFilter, TopBottomFilter
from rustybt.pipeline.kernels import crosssection as cs
from rustybt.pipeline.mixins import RestrictedDTypeMixin, SingleInputMixin
from rustybt.pipeline.sentinels import NotSpecified
from rustybt.pipeline.term import AssetExists, ComputableTerm, Term

__all__ = [
    "DailySummary",
    "Factor",
    "GroupedRowTransform",
    "NumExprFactor",
    "Rank",
    "RecarrayField",
]

RANK_METHODS = frozenset(["average", "min", "max", "dense", "ordinal"])
SUMMARY_FUNCS = ("mean", "stddev", "max", "min", "median", "sum", "notnull_count")


def _coerce_number(value, dtype: np.dtype):
    """A Python number as a numpy scalar of ``dtype`` (zipline's ``coerce_to_dtype``)."""
    if dtype.kind == "M":
        raise TypeError(
            f"Don't know how to compute {dtype} with the number {value!r}: compare datetime factors "
            "with other datetime factors"
        )
    return np.array([value], dtype=dtype)[0]


def binop_return_dtype(op: str, left: np.dtype, right: np.dtype) -> np.dtype:
    if is_comparison(op):
        if left != right:
            raise TypeError(
                f"Don't know how to compute {left} {op} {right}.\n"
                "Comparisons are only supported between Factors of equal dtypes."
            )
        return bool_dtype
    if left != float64_dtype or right != float64_dtype:
        raise TypeError(
            f"Don't know how to compute {left.name} {op} {right.name}.\n"
            "Arithmetic operators are only supported between Factors of dtype 'float64'."
        )
    return float64_dtype


def _binary_operator(op: str):
    commuted = method_name_for_op(op, commute=True)
    is_compare = is_comparison(op)

    def binary_operator(self, other):
        if isinstance(other, Number | np.number) and not isinstance(other, Term):
            other = _coerce_number(other, self.dtype)
        rtype = NumExprFilter if is_compare else NumExprFactor
        if isinstance(self, NumExprFactor):
            self_expr, other_expr, new_inputs = self.build_binary_op(op, other)
            return rtype(
                f"({self_expr}) {op} ({other_expr})",
                new_inputs,
                dtype=binop_return_dtype(op, self.dtype, other.dtype),
            )
        if isinstance(other, NumExprFactor):
            return getattr(other, commuted)(self)
        if isinstance(other, Term):
            dtype = binop_return_dtype(op, self.dtype, other.dtype)
            if self is other:
                return rtype(f"x_0 {op} x_0", (self,), dtype=dtype)
            return rtype(f"x_0 {op} x_1", (self, other), dtype=dtype)
        if isinstance(other, np.generic):
            return rtype(f"x_0 {op} ({other})", (self,), dtype=binop_return_dtype(op, self.dtype, other.dtype))
        raise BadBinaryOperator(op, self, other)

    binary_operator.__name__ = method_name_for_op(op)
    binary_operator.__doc__ = f"``self {op} other`` as a {'Filter' if is_compare else 'Factor'}."
    return binary_operator


def _reflected_binary_operator(op: str):
    def reflected_binary_operator(self, other):
        if isinstance(other, Number | np.number) and not isinstance(other, Term):
            other = _coerce_number(other, self.dtype)
        if isinstance(self, NumericalExpression):
            self_expr, other_expr, new_inputs = self.build_binary_op(op, other)
            return NumExprFactor(
                f"({other_expr}) {op} ({self_expr})",
                new_inputs,
                dtype=binop_return_dtype(op, other.dtype, self.dtype),
            )
        if isinstance(other, np.generic):
            return NumExprFactor(f"{other} {op} x_0", (self,), dtype=binop_return_dtype(op, other.dtype, self.dtype))
        raise BadBinaryOperator(op, other, self)

    reflected_binary_operator.__name__ = method_name_for_op(op, commute=True)
    return reflected_binary_operator


def _negate(self):
    """``-self``"""
    if self.dtype != float64_dtype:
        raise TypeError(
            f"Can't apply unary operator '-' to instance of {type(self).__name__!r} with dtype "
            f"{self.dtype.name!r}.\n'-' is only supported for Factors of dtype 'float64'."
        )
    if isinstance(self, NumericalExpression):
        return NumExprFactor(f"-({self._expr})", self.inputs, dtype=float64_dtype)
    return NumExprFactor("-x_0", (self,), dtype=float64_dtype)


def _function_application(func: str):
    def mathfunc(self):
        if isinstance(self, NumericalExpression):
            return NumExprFactor(f"{func}({self._expr})", self.inputs, dtype=float64_dtype)
        return NumExprFactor(f"{func}(x_0)", (self,), dtype=float64_dtype)

    mathfunc.__name__ = func
    mathfunc.__doc__ = f"A Factor computing ``{func}()`` of each value of ``self``."
    return mathfunc


def _float64_only(method):
    def wrapper(self, *args, **kwargs):
        if self.dtype != float64_dtype:
            raise TypeError(
                f"{method.__name__}() is only defined on Factors of dtype float64, but it was called on a Factor "
                f"of dtype {self.dtype}."
            )
        return method(self, *args, **kwargs)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def _check_mask(mask, name="mask"):
    if mask is not NotSpecified and not isinstance(mask, Filter):
        raise TypeError(f"{name} must be a Filter, got {type(mask).__name__}")


def _check_groupby(groupby):
    if groupby is not NotSpecified and not isinstance(groupby, Classifier):
        raise TypeError(f"groupby must be a Classifier, got {type(groupby).__name__}")


def _summary_method(name: str):
    def method(self, mask=NotSpecified):
        _check_mask(mask)
        if self.dtype != float64_dtype:
            raise TypeError(
                f"{name}() is only defined on Factors of dtype float64, but it was called on a Factor of dtype "
                f"{self.dtype}."
            )
        return DailySummary(name, self, mask=mask, dtype=self.dtype)

    method.__name__ = name
    method.__doc__ = f"A 1-D factor computing the {name} of ``self`` across assets (within ``mask``), each day."
    return method


class Factor(RestrictedDTypeMixin, ComputableTerm):
    """A pipeline expression producing a number (float64, int64 or datetime64) for each (date, asset).

    Factors combine with ``+ - * / ** %`` and numbers into new factors and with ``< <= > >= !=`` (and
    :meth:`eq`) into filters; ``==`` keeps Python identity so terms can live in dicts and sets.
    """

    ALLOWED_DTYPES = FACTOR_DTYPES

    eq = _binary_operator("==")

    __neg__ = _negate

    @classmethod
    def _principal_computable_term_type(cls):
        return Factor

    # --- cross-sectional transforms ----------------------------------------------------------------------------
    @_float64_only
    def demean(self, mask=NotSpecified, groupby=NotSpecified):
        """Subtract each day's mean (per group; ignoring entries outside ``mask``, which become NaN)."""
        _check_mask(mask)
        _check_groupby(groupby)
        return GroupedRowTransform(
            transform="demean",
            transform_args=(),
            factor=self,
            groupby=groupby,
            dtype=self.dtype,
            missing_value=self.missing_value,
            window_safe=self.window_safe,
            mask=mask,
        )

    @_float64_only
    def zscore(self, mask=NotSpecified, groupby=NotSpecified):
        """``(x - mean) / std`` of each day's values (population std, ddof 0), per group, within ``mask``."""
        _check_mask(mask)
        _check_groupby(groupby)
        return GroupedRowTransform(
            transform="zscore",
            transform_args=(),
            factor=self,
            groupby=groupby,
            dtype=self.dtype,
            missing_value=self.missing_value,
            mask=mask,
            window_safe=True,
        )

    def rank(self, method="ordinal", ascending=True, mask=NotSpecified, groupby=NotSpecified):
        """Rank of each asset's value each day (1 = smallest; ``method`` as ``scipy.stats.rankdata``).

        Missing values and assets outside ``mask`` get NaN. ``ordinal`` (the default) breaks ties by asset order.
        """
        _check_mask(mask)
        _check_groupby(groupby)
        if groupby is NotSpecified:
            return Rank(self, method=method, ascending=ascending, mask=mask)
        if method not in RANK_METHODS:
            raise UnknownRankMethod(method, RANK_METHODS)
        return GroupedRowTransform(
            transform="rank",
            transform_args=(method, bool(ascending)),
            factor=self,
            groupby=groupby,
            dtype=float64_dtype,
            missing_value=np.nan,
            mask=mask,
            window_safe=True,
        )

    def pearsonr(self, target, correlation_length, mask=NotSpecified):
        """Rolling Pearson correlation of each column of ``self`` with ``target`` (a slice or a 2-D term)."""
        from rustybt.pipeline.factors.statistical import RollingPearson

        return RollingPearson(base_factor=self, target=target, correlation_length=correlation_length, mask=mask)

    def spearmanr(self, target, correlation_length, mask=NotSpecified):
        """Rolling Spearman rank correlation of each column of ``self`` with ``target``."""
        from rustybt.pipeline.factors.statistical import RollingSpearman

        return RollingSpearman(base_factor=self, target=target, correlation_length=correlation_length, mask=mask)

    def linear_regression(self, target, regression_length, mask=NotSpecified):
        """Rolling OLS of each column of ``self`` (dependent) on ``target`` (independent)."""
        from rustybt.pipeline.factors.statistical import RollingLinearRegression

        return RollingLinearRegression(
            dependent=self, independent=target, regression_length=regression_length, mask=mask
        )

    @_float64_only
    def winsorize(self, min_percentile, max_percentile, mask=NotSpecified, groupby=NotSpecified):
        """Clip each day's values to their ``min_percentile`` / ``max_percentile`` quantiles (fractions 0..1)."""
        for name, value in (("min_percentile", min_percentile), ("max_percentile", max_percentile)):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        _check_mask(mask)
        _check_groupby(groupby)
        if not 0.0 <= min_percentile < max_percentile <= 1.0:
            raise BadPercentileBounds(min_percentile, max_percentile, 1.0)
        return GroupedRowTransform(
            transform="winsorize",
            transform_args=(float(min_percentile), float(max_percentile)),
            factor=self,
            groupby=groupby,
            dtype=self.dtype,
            missing_value=self.missing_value,
            mask=mask,
            window_safe=self.window_safe,
        )

    def quantiles(self, bins, mask=NotSpecified):
        """Classifier: labels 0..bins-1 by quantile of each day's values (``pd.qcut``); -1 where missing."""
        if not isinstance(bins, int) or isinstance(bins, bool):
            raise TypeError(f"bins must be an int, got {type(bins).__name__}")
        _check_mask(mask)
        if mask is NotSpecified:
            mask = self.mask
        return Quantiles(inputs=(self,), bins=bins, mask=mask)

    def quartiles(self, mask=NotSpecified):
        """``quantiles(4)``."""
        return self.quantiles(bins=4, mask=mask)

    def quintiles(self, mask=NotSpecified):
        """``quantiles(5)``."""
        return self.quantiles(bins=5, mask=mask)

    def deciles(self, mask=NotSpecified):
        """``quantiles(10)``."""
        return self.quantiles(bins=10, mask=mask)

    def top(self, N, mask=NotSpecified, groupby=NotSpecified):
        """Filter: the ``N`` assets with the largest values each day (per group)."""
        if N == 1:
            return self._maximum(mask=mask, groupby=groupby)
        return self._top_bottom(N, True, mask, groupby)

    def bottom(self, N, mask=NotSpecified, groupby=NotSpecified):
        """Filter: the ``N`` assets with the smallest values each day (per group)."""
        return self._top_bottom(N, False, mask, groupby)

    def _top_bottom(self, N, largest: bool, mask, groupby):
        if groupby is NotSpecified and isinstance(N, Number) and not isinstance(N, bool) and np.isfinite(N):
            _check_mask(mask)
            # same result as rank(...) <= N, by per-day selection instead of a full sort
            return TopBottomFilter(self, count=int(np.floor(N)), largest=largest, mask=mask)
        return self.rank(ascending=not largest, mask=mask, groupby=groupby) <= N

    def _maximum(self, mask=NotSpecified, groupby=NotSpecified):
        return MaximumFilter(self, groupby=groupby, mask=mask)

    def percentile_between(self, min_percentile, max_percentile, mask=NotSpecified):
        """Filter: values between the ``min_percentile`` and ``max_percentile`` (0..100) of each day's values."""
        return PercentileFilter(self, min_percentile=min_percentile, max_percentile=max_percentile, mask=mask)

    def isnan(self):
        """Filter: True where the value is NaN."""
        self._only_float("isnan")
        return self != self

    def notnan(self):
        """Filter: True where the value is not NaN."""
        self._only_float("notnan")
        return ~self.isnan()

    def isfinite(self):
        """Filter: True where the value is neither NaN nor infinite."""
        self._only_float("isfinite")
        return (-np.inf < self) & (self < np.inf)

    def _only_float(self, name: str) -> None:
        if self.dtype != float64_dtype:
            raise TypeError(
                f"{name}() was called on a factor of dtype {self.dtype}.\n{name}() is only defined for dtype "
                "float64. To filter missing data, use isnull() or notnull()."
            )

    def clip(self, min_bound, max_bound, mask=NotSpecified):
        """Values limited to ``[min_bound, max_bound]`` (``numpy.clip``)."""
        from rustybt.pipeline.factors.basic import Clip

        return Clip(inputs=[self], min_bound=min_bound, max_bound=max_bound)


for _op in MATH_BINOPS | (COMPARISONS - {"=="}):
    setattr(Factor, method_name_for_op(_op), _binary_operator(_op))
for _op in MATH_BINOPS:
    setattr(Factor, method_name_for_op(_op, commute=True), _reflected_binary_operator(_op))
for _func in NUMEXPR_MATH_FUNCS:
    setattr(Factor, _func, _function_application(_func))
for _name in SUMMARY_FUNCS:
    setattr(Factor, _name, _summary_method(_name))
Factor.__div__ = Factor.__truediv__
Factor.__rdiv__ = Factor.__rtruediv__
Factor.__hash__ = object.__hash__


class NumExprFactor(NumericalExpression, Factor):
    """A factor computed from an arithmetic expression of other factors."""


def _group_labels(classifier, output, mask):
    """int64 groups for the cross-section kernels: -1 where ``mask`` is False or the label is missing."""
    labels, null_label = classifier._to_integral(output)
    labels = np.asarray(labels, dtype=np.int64)
    if null_label == -1 and not np.any(labels < -1):
        groups = np.where(mask, labels, -1)
    else:
        valid = mask & (labels != null_label)
        _, inverse = np.unique(labels, return_inverse=True)
        groups = np.where(valid, inverse.reshape(labels.shape), -1)
    return np.asfortranarray(groups, dtype=np.int64)


class GroupedRowTransform(Factor):
    """A factor transforming each day's values of ``factor`` within the groups of ``groupby`` (zscore, demean,
    winsorize, grouped rank). Entries outside ``mask`` or without a group become missing."""

    window_length = 0

    def __new__(cls, transform, transform_args, factor, groupby, dtype, missing_value, mask, **kwargs):
        if mask is NotSpecified:
            mask = factor.mask
        else:
            mask = mask & factor.mask
        # without groupby there is one group: no classifier input (zipline adds Everything(); computing its
        # int64 labels would cost a full array and buy nothing: the kernels' ungrouped path uses the mask)
        inputs = (factor,) if groupby is NotSpecified else (factor, groupby)
        return super().__new__(
            GroupedRowTransform,
            transform=transform,
            transform_args=transform_args,
            inputs=inputs,
            missing_value=missing_value,
            mask=mask,
            dtype=dtype,
            **kwargs,
        )

    def _init(self, transform, transform_args, **kwargs):
        self._transform = transform
        self._transform_args = transform_args
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, transform, transform_args, **kwargs):
        return (super()._static_identity(**kwargs), transform, transform_args)

    def _compute(self, arrays, dates, assets, mask):
        data = _as_float(arrays[0], self.inputs[0].missing_value)
        if len(self.inputs) == 1:  # no groupby: one group, the kernels' ungrouped path
            groups, mask = None, np.asfortranarray(mask)
        elif isinstance(self.inputs[1], Everything):
            groups, mask = None, np.asfortranarray(mask & (np.asarray(arrays[1]) != Everything.missing_value))
        else:
            groups, mask = _group_labels(self.inputs[1], arrays[1], mask), None
        name, args = self._transform, self._transform_args
        if name == "demean":
            out = cs.demean(data, mask=mask, groups=groups)
        elif name == "zscore":
            with np.errstate(all="ignore"):
                out = cs.zscore(data, mask=mask, groups=groups)
        elif name == "winsorize":
            out = cs.winsorize(data, args[0], args[1], mask=mask, groups=groups)
        elif name == "rank":
            out = cs.rank(data, mask=mask, groups=groups, method=args[0], ascending=args[1])
        else:  # pragma: no cover
            raise AssertionError(f"unknown transform {name!r}")
        if self.dtype != float64_dtype:
            out = out.astype(self.dtype)
        return out

    @property
    def transform_name(self) -> str:
        return self._transform

    def graph_repr(self) -> str:
        return f"{type(self).__name__}({self._transform!r})"


def _as_float(data, missing_value) -> np.ndarray:
    arr = np.asarray(data)
    if arr.dtype.kind == "M":
        out = arr.view(np.int64).astype(np.float64)
        out[np.isnat(arr)] = np.nan
        return np.asfortranarray(out)
    out = np.asarray(arr, dtype=np.float64)
    if arr.dtype.kind != "f" and missing_value is not None:
        out = np.array(out, copy=True)
        out[is_missing(arr, missing_value)] = np.nan
    return np.asfortranarray(out)


class Rank(SingleInputMixin, Factor):
    """Each day's rank of another factor's values (see :meth:`Factor.rank`)."""

    window_length = 0
    dtype = float64_dtype
    window_safe = True

    def __new__(cls, factor, method, ascending, mask):
        return super().__new__(cls, inputs=(factor,), method=method, ascending=ascending, mask=mask)

    def _init(self, method, ascending, **kwargs):
        self._method = method
        self._ascending = ascending
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, method, ascending, **kwargs):
        return (super()._static_identity(**kwargs), method, ascending)

    def _validate(self) -> None:
        if self._method not in RANK_METHODS:
            raise UnknownRankMethod(self._method, RANK_METHODS)
        super()._validate()

    def _compute(self, arrays, dates, assets, mask):
        data = _as_float(arrays[0], self.inputs[0].missing_value)
        return cs.rank(data, mask=np.asfortranarray(mask), method=self._method, ascending=bool(self._ascending))

    def __repr__(self) -> str:
        mask_info = "" if self.mask is AssetExists() else f", mask={self.mask.recursive_repr()}"
        return f"{type(self).__name__}({self.inputs[0].recursive_repr()}, method='{self._method}'{mask_info})"

    def graph_repr(self) -> str:
        return f"Rank:\\l  method: {self._method!r}\\l  mask: {type(self.mask).__name__}\\l"


class RecarrayField(SingleInputMixin, Factor):
    """One output of a multiple-output factor (``factor.alpha``)."""

    def __new__(cls, factor, attribute):
        return super().__new__(
            cls,
            attribute=attribute,
            inputs=[factor],
            window_length=0,
            mask=factor.mask,
            dtype=factor.dtype,
            missing_value=factor.missing_value,
            window_safe=factor.window_safe,
        )

    def _init(self, attribute, **kwargs):
        self._attribute = attribute
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, attribute, **kwargs):
        return (super()._static_identity(**kwargs), attribute)

    def _compute(self, windows, dates, assets, mask):
        return windows[0][self._attribute]

    def __repr__(self) -> str:
        return f"{self.inputs[0].recursive_repr()}.{self._attribute}"

    def graph_repr(self) -> str:
        return f"{self.inputs[0].recursive_repr()}.{self._attribute}"


class DailySummary(SingleInputMixin, Factor):
    """1-D factor: one summary statistic of another factor across assets, per day."""

    ndim = 1
    window_length = 0
    params = ("func",)

    def __new__(cls, func, input_, mask, dtype):
        if dtype != float64_dtype:
            raise AssertionError(f"DailySummary only supports float64 dtype, got {dtype}")
        return super().__new__(
            cls,
            inputs=[input_],
            dtype=dtype,
            missing_value=np.nan,
            window_safe=input_.window_safe,
            func=func,
            mask=mask,
        )

    def _compute(self, arrays, dates, assets, mask):
        data = _as_float(arrays[0], self.inputs[0].missing_value)
        out = cs.daily_summary(data, self.params["func"], mask=np.asfortranarray(mask))
        return np.asfortranarray(out.reshape(-1, 1))

    def __repr__(self) -> str:
        return f"{self.inputs[0].recursive_repr()}.{self.params['func']}()"

    graph_repr = recursive_repr = __repr__
