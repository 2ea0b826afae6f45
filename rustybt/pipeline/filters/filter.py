"""Filters: terms producing booleans (screens and masks)."""

from __future__ import annotations

import numpy as np

from rustybt.pipeline._kernels import grouped_is_maximal, rolling_true_count
from rustybt.pipeline.dtypes import (
    CLASSIFIER_DTYPES,
    FACTOR_DTYPES,
    FILTER_DTYPES,
    bool_dtype,
    is_missing,
)
from rustybt.pipeline.errors import (
    BadBinaryOperator,
    BadPercentileBounds,
    NonExistentAssetInTimeFrame,
    UnsupportedDataType,
)
from rustybt.pipeline.expression import FILTER_BINOPS, NumericalExpression, method_name_for_op
from rustybt.pipeline.labelarray import LabelArray
from rustybt.pipeline.mixins import (
    CustomTermMixin,
    IfElseMixin,
    LatestMixin,
    PositiveWindowLengthMixin,
    RestrictedDTypeMixin,
    SingleInputMixin,
    StandardOutputs,
)
from rustybt.pipeline.sentinels import NotSpecified
from rustybt.pipeline.term import AssetExists, ComputableTerm, Term

__all__ = [
    "AllPresent",
    "ArrayPredicate",
    "CustomFilter",
    "Filter",
    "Latest",
    "MaximumFilter",
    "NotNullFilter",
    "NullFilter",
    "NumExprFilter",
    "PercentileFilter",
    "SingleAsset",
    "StaticAssets",
    "StaticSids",
    "TopBottomFilter",
]


def _binary_operator(op: str):
    commuted = method_name_for_op(op, commute=True)

    def binary_operator(self, other):
        if isinstance(self, NumericalExpression):
            self_expr, other_expr, new_inputs = self.build_binary_op(op, other)
            return NumExprFilter.create(f"({self_expr}) {op} ({other_expr})", new_inputs)
        if isinstance(other, NumericalExpression):
            return getattr(other, commuted)(self)
        if isinstance(other, Term):
            if other.dtype != bool_dtype:
                raise BadBinaryOperator(op, self, other)
            if self is other:
                return NumExprFilter.create(f"x_0 {op} x_0", (self,))
            return NumExprFilter.create(f"x_0 {op} x_1", (self, other))
        if isinstance(other, int | np.integer | np.bool_):
            return NumExprFilter.create(f"x_0 {op} {int(other)}", (self,))
        raise BadBinaryOperator(op, self, other)

    binary_operator.__name__ = method_name_for_op(op)
    binary_operator.__doc__ = f"Binary Operator: '{op}'"
    return binary_operator


def _invert(self):
    """Unary Operator: '~'"""
    if isinstance(self, NumericalExpression):
        return NumExprFilter.create(f"~({self._expr})", self.inputs)
    return NumExprFilter.create("~x_0", (self,))


class Filter(RestrictedDTypeMixin, ComputableTerm):
    """A pipeline expression computing a boolean for each (date, asset).

    Combine with ``&``, ``|`` and ``~``; use as a ``Pipeline(screen=...)`` or as the ``mask`` of other terms.
    Filters are window-safe: a yes/no decision means the same from every point in time.
    """

    window_safe = True
    ALLOWED_DTYPES = FILTER_DTYPES
    dtype = bool_dtype

    def _validate(self) -> None:
        super()._validate()
        if self.dtype != bool_dtype:
            raise UnsupportedDataType(type(self).__name__, self.dtype)

    @classmethod
    def _principal_computable_term_type(cls):
        return Filter

    def if_else(self, if_true, if_false):
        """A term taking ``if_true``'s values where this filter is True and ``if_false``'s elsewhere."""
        for name, term in (("if_true", if_true), ("if_false", if_false)):
            if not isinstance(term, ComputableTerm):
                raise TypeError(f"if_else() expected {name} to be a Factor, Filter or Classifier, got {term!r}")
        true_type = if_true._principal_computable_term_type()
        false_type = if_false._principal_computable_term_type()
        if true_type is not false_type:
            raise TypeError(
                f"Mismatched types in if_else(): if_true={true_type.__name__}, but if_false={false_type.__name__}"
            )
        if if_true.dtype != if_false.dtype:
            raise TypeError(
                f"Mismatched dtypes in if_else(): if_true.dtype = {if_true.dtype}, if_false.dtype = {if_false.dtype}"
            )
        if if_true.outputs != if_false.outputs:
            raise ValueError(
                f"Mismatched outputs in if_else(): if_true.outputs = {if_true.outputs}, "
                f"if_false.outputs = {if_false.outputs}"
            )
        if not _same(if_true.missing_value, if_false.missing_value):
            raise ValueError(
                f"Mismatched missing values in if_else(): if_true.missing_value = {if_true.missing_value!r}, "
                f"if_false.missing_value = {if_false.missing_value!r}"
            )
        return type(if_true)._with_mixin(IfElseMixin)(condition=self, if_true=if_true, if_false=if_false)


for _op in FILTER_BINOPS:
    setattr(Filter, method_name_for_op(_op), _binary_operator(_op))
    setattr(Filter, method_name_for_op(_op, commute=True), _binary_operator(_op))
Filter.__invert__ = _invert


def _same(a, b) -> bool:
    if a is b or a == b:
        return True
    try:
        return bool(np.isnan(a) and np.isnan(b))
    except TypeError:
        return False


class NumExprFilter(NumericalExpression, Filter):
    """A filter computed from an expression (``&``, ``|``, ``~``, comparisons); False outside its mask."""

    @classmethod
    def create(cls, expr: str, binds):
        return cls(expr=expr, binds=binds, dtype=bool_dtype)

    def _compute(self, arrays, dates, assets, mask):
        return super()._compute(arrays, dates, assets, mask) & mask


class NullFilter(SingleInputMixin, Filter):
    """True where the input term is missing."""

    window_length = 0

    def __new__(cls, term):
        return super().__new__(cls, inputs=(term,))

    def _compute(self, arrays, dates, assets, mask):
        data = arrays[0]
        if isinstance(data, LabelArray):
            return data.is_missing()
        return is_missing(data, self.inputs[0].missing_value)


class NotNullFilter(SingleInputMixin, Filter):
    """True where the input term is not missing."""

    window_length = 0

    def __new__(cls, term):
        return super().__new__(cls, inputs=(term,))

    def _compute(self, arrays, dates, assets, mask):
        data = arrays[0]
        if isinstance(data, LabelArray):
            return data.not_missing()
        return ~is_missing(data, self.inputs[0].missing_value)


class PercentileFilter(SingleInputMixin, Filter):
    """True where the factor lies between two percentiles (0..100) of its values that day (within ``mask``)."""

    window_length = 0

    def __new__(cls, factor, min_percentile, max_percentile, mask=NotSpecified):
        return super().__new__(
            cls, inputs=(factor,), mask=mask, min_percentile=min_percentile, max_percentile=max_percentile
        )

    def _init(self, min_percentile, max_percentile, **kwargs):
        self._min_percentile = min_percentile
        self._max_percentile = max_percentile
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, min_percentile, max_percentile, **kwargs):
        return (super()._static_identity(**kwargs), min_percentile, max_percentile)

    def _validate(self) -> None:
        if not 0.0 <= self._min_percentile < self._max_percentile <= 100.0:
            raise BadPercentileBounds(self._min_percentile, self._max_percentile, 100.0)
        super()._validate()

    def _compute(self, arrays, dates, assets, mask):
        data = np.array(arrays[0], dtype=np.float64, copy=True)
        data[~mask] = np.nan
        out = np.zeros(data.shape, dtype=bool)
        valid_rows = ~np.all(np.isnan(data), axis=1) if data.size else np.zeros(data.shape[0], bool)
        if valid_rows.any():
            sub = data[valid_rows]
            lower = np.nanpercentile(sub, self._min_percentile, axis=1, keepdims=True)
            upper = np.nanpercentile(sub, self._max_percentile, axis=1, keepdims=True)
            out[valid_rows] = (lower <= sub) & (sub <= upper)
        return np.asfortranarray(out)

    def graph_repr(self) -> str:
        return f"{type(self).__name__}:\\l  min: {self._min_percentile}, max: {self._max_percentile}\\l"


class CustomFilter(PositiveWindowLengthMixin, CustomTermMixin, Filter):
    """Base class for user-defined filters: implement ``compute(self, today, assets, out, *inputs)``.

    See :class:`~rustybt.pipeline.factors.CustomFactor` for the contract (Python and Numba paths).
    """

    def _validate(self) -> None:
        try:
            super()._validate()
        except UnsupportedDataType as exc:
            if self.dtype in CLASSIFIER_DTYPES:
                raise UnsupportedDataType(
                    type(self).__name__, self.dtype, hint="Did you mean to create a CustomClassifier?"
                ) from exc
            if self.dtype in FACTOR_DTYPES:
                raise UnsupportedDataType(
                    type(self).__name__, self.dtype, hint="Did you mean to create a CustomFactor?"
                ) from exc
            raise


class ArrayPredicate(SingleInputMixin, Filter):
    """A filter applying ``op(data, *opargs) -> bool array`` to the result of ``term`` (False outside mask)."""

    params = ("op", "opargs")
    window_length = 0

    def __new__(cls, term, op, opargs):
        if not isinstance(term, Term):
            raise TypeError(f"ArrayPredicate expected a Term, got {type(term).__name__}")
        if not isinstance(opargs, tuple):
            raise TypeError(f"ArrayPredicate expected opargs to be a tuple, got {type(opargs).__name__}")
        hash(opargs)
        return super().__new__(ArrayPredicate, op=op, opargs=opargs, inputs=(term,), mask=term.mask)

    def _compute(self, arrays, dates, assets, mask):
        return np.asarray(self.params["op"](arrays[0], *self.params["opargs"]), dtype=bool) & mask

    def graph_repr(self) -> str:
        op = self.params["op"]
        return f"{type(self).__name__}:\\l  op: {getattr(op, '__module__', '')}.{getattr(op, '__name__', op)}()"


class Latest(LatestMixin, CustomFilter):
    """The most recent value of a boolean column (``BoundColumn.latest``)."""


class SingleAsset(Filter):
    """True only for ``asset``; raises if the asset does not exist over the whole computed range."""

    inputs = ()
    window_length = 1

    def __new__(cls, asset):
        return super().__new__(cls, asset=asset)

    def _init(self, asset, **kwargs):
        self._asset = asset
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, asset, **kwargs):
        return (super()._static_identity(**kwargs), asset)

    def _compute(self, arrays, dates, assets, mask):
        mine = np.asarray(assets, dtype=np.int64) == self._asset.sid
        out = np.asfortranarray(np.repeat(mine[None, :], len(mask), axis=0))
        if mine.sum() != 1 or (out & mask).sum() != len(mask):
            raise NonExistentAssetInTimeFrame(
                asset=self._asset,
                start_date=dates[0] if len(dates) else None,
                end_date=dates[-1] if len(dates) else None,
            )
        return out

    def graph_repr(self) -> str:
        return f"SingleAsset:\\l  asset: {self._asset!r}\\l"


class StaticSids(Filter):
    """True for a fixed set of sids (within the default mask)."""

    inputs = ()
    window_length = 0
    params = ("sids",)

    def __new__(cls, sids):
        return super().__new__(cls, sids=frozenset(int(s) for s in sids))

    def _compute(self, arrays, dates, assets, mask):
        mine = np.isin(np.asarray(assets, dtype=np.int64), list(self.params["sids"]))
        return np.asfortranarray(np.repeat(mine[None, :], len(mask), axis=0) & mask)


class StaticAssets(StaticSids):
    """True for a fixed set of assets."""

    def __new__(cls, assets):
        return super().__new__(cls, frozenset(int(a) for a in assets))


class AllPresent(CustomFilter, SingleInputMixin, StandardOutputs):
    """True where the input had data on every day of the trailing window."""

    def _validate(self) -> None:
        if isinstance(self.inputs[0], Filter):
            raise TypeError("Input to filter `AllPresent` cannot be a Filter.")
        super()._validate()

    def compute(self, today, assets, out, value):
        if value.dtype == object:
            missing = np.array([v is None or v == self.inputs[0].missing_value for v in value.ravel()]).reshape(
                value.shape
            )
        else:
            missing = is_missing(value, self.inputs[0].missing_value)
        out[:] = ~np.any(missing, axis=0)

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        if aa.has_adjustments:
            return self._compute_python(windows, dates, assets, mask)
        if aa.categories is not None:
            missing = aa.data < 0
        else:
            missing = is_missing(aa.data, self.inputs[0].missing_value)
        out = rolling_true_count(missing, self.window_length) == 0
        return np.asfortranarray(out & mask)


class MaximumFilter(Filter, StandardOutputs):
    """True for the asset with the largest value of ``factor`` in each group (``Factor.top(1)``)."""

    window_length = 0

    def __new__(cls, factor, groupby, mask):
        if groupby is NotSpecified:
            from rustybt.pipeline.classifiers import Everything

            groupby = Everything()
        return super().__new__(cls, inputs=(factor, groupby), mask=mask)

    def _compute(self, arrays, dates, assets, mask):
        data = arrays[0]
        labels, null_label = self.inputs[1]._to_integral(arrays[1])
        effective = mask & (labels != null_label) & ~is_missing(data, self.inputs[0].missing_value)
        return grouped_is_maximal(np.asarray(data), labels, effective)

    def __repr__(self) -> str:
        return (
            f"Maximum({self.inputs[0].recursive_repr()}, groupby={self.inputs[1].recursive_repr()}, "
            f"mask={self.mask.recursive_repr()})"
        )

    def graph_repr(self) -> str:
        return f"Maximum:\\l  groupby: {self.inputs[1].recursive_repr()}\\l  mask: {self.mask.recursive_repr()}\\l"


class TopBottomFilter(Filter, StandardOutputs):
    """True for the ``count`` assets with the largest (``largest=True``) or smallest values of ``factor`` each day
    within ``mask``: ``Factor.top(N)`` / ``Factor.bottom(N)`` without ``groupby``.

    Equal to zipline's ``factor.rank(ascending=not largest, mask=mask) <= N`` (ordinal ranks: ties go to the
    earlier asset), computed by per-day selection instead of a full sort.
    """

    window_length = 0

    def __new__(cls, factor, count, largest, mask):
        return super().__new__(cls, inputs=(factor,), count=int(count), largest=bool(largest), mask=mask)

    def _init(self, count, largest, **kwargs):
        self._count = count
        self._largest = largest
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, count, largest, **kwargs):
        return (super()._static_identity(**kwargs), count, largest)

    def _compute(self, arrays, dates, assets, mask):
        from rustybt.pipeline.kernels.crosssection import top_bottom

        data = np.asarray(arrays[0])
        values = np.asarray(data, dtype=np.float64)  # no copy for float64 factors
        if data.dtype.kind != "f":
            values = np.where(is_missing(data, self.inputs[0].missing_value), np.nan, values)
        return top_bottom(values, self._count, mask=np.asfortranarray(mask), largest=self._largest)

    def __repr__(self) -> str:
        which = "top" if self._largest else "bottom"
        mask_info = "" if self.mask is AssetExists() else f", mask={self.mask.recursive_repr()}"
        return f"{self.inputs[0].recursive_repr()}.{which}({self._count}{mask_info})"

    def graph_repr(self) -> str:
        which = "Top" if self._largest else "Bottom"
        return f"{which}({self._count}):\\l  mask: {type(self.mask).__name__}\\l"
