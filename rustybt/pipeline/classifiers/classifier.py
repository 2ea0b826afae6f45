"""Classifiers: terms producing categorical labels (int64 codes or strings) used for grouping."""

from __future__ import annotations

import re
from numbers import Number

import numpy as np

from rustybt.pipeline.dtypes import CLASSIFIER_DTYPES, FACTOR_DTYPES, FILTER_DTYPES, categorical_dtype, int64_dtype
from rustybt.pipeline.errors import UnsupportedDataType
from rustybt.pipeline.filters import ArrayPredicate, NumExprFilter
from rustybt.pipeline.kernels import _pool
from rustybt.pipeline.labelarray import LabelArray
from rustybt.pipeline.mixins import (
    CustomTermMixin,
    LatestMixin,
    PositiveWindowLengthMixin,
    RestrictedDTypeMixin,
    SingleInputMixin,
    StandardOutputs,
)
from rustybt.pipeline.sentinels import NotSpecified
from rustybt.pipeline.term import ComputableTerm

__all__ = [
    "Classifier",
    "CustomClassifier",
    "Everything",
    "InvalidClassifierComparison",
    "Latest",
    "Quantiles",
    "Relabel",
]


class InvalidClassifierComparison(TypeError):
    def __init__(self, classifier, compval) -> None:
        super().__init__(
            f"Can't compare classifier of dtype {classifier.dtype} to value {compval!r} of type "
            f"{type(compval).__name__}."
        )


# ArrayPredicate operations: module-level functions (they are part of the term's identity)
def _label_eq(data, other):
    return data == other


def _label_ne(data, other):
    return data != other


def _startswith(data, prefix):
    return data.startswith(prefix)


def _endswith(data, suffix):
    return data.endswith(suffix)


def _has_substring(data, substring):
    return data.has_substring(substring)


def _matches(data, pattern):
    return data.matches(pattern)


def _label_element_of(data, choices):
    return data.element_of(choices)


def _int_element_of(data, choices):
    return np.isin(data, np.fromiter(choices, dtype=np.int64, count=len(choices)))


def _string_classifiers_only(method):
    def wrapper(self, *args, **kwargs):
        if self.dtype != categorical_dtype:
            raise TypeError(
                f"{method.__name__}() is only defined on Classifiers producing strings but it was called on a "
                f"Classifier of dtype {self.dtype}."
            )
        return method(self, *args, **kwargs)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


def _expect_str(name, value, types=(str, bytes)):
    if not isinstance(value, types):
        raise TypeError(f"expected {name} to be a string, got {type(value).__name__}")


class Classifier(RestrictedDTypeMixin, ComputableTerm):
    """A pipeline expression computing a categorical label per (date, asset): int64 codes or strings.

    Use as ``groupby=`` in ``demean``, ``zscore``, ``rank``...; compare with :meth:`eq`, :meth:`element_of`,
    :meth:`startswith`... to make filters.
    """

    ALLOWED_DTYPES = CLASSIFIER_DTYPES
    categories = NotSpecified

    def eq(self, other):
        """Filter: True where the label equals ``other``."""
        if other == self.missing_value:
            raise ValueError(
                f"Comparison against self.missing_value ({other!r}) in {type(self).__name__}.eq().\n"
                "Missing values have NaN semantics, so the requested comparison would always produce False.\n"
                "Use the isnull() method to check for missing values."
            )
        if isinstance(other, Number) != (self.dtype == int64_dtype):
            raise InvalidClassifierComparison(self, other)
        if isinstance(other, Number):
            return NumExprFilter.create(f"x_0 == {int(other)}", binds=(self,))
        return ArrayPredicate(term=self, op=_label_eq, opargs=(other,))

    def __ne__(self, other):  # type: ignore[override]
        if isinstance(other, Number) != (self.dtype == int64_dtype):
            raise InvalidClassifierComparison(self, other)
        if isinstance(other, Number):
            return NumExprFilter.create(f"((x_0 != {int(other)}) & (x_0 != {self.missing_value}))", binds=(self,))
        return ArrayPredicate(term=self, op=_label_ne, opargs=(other,))

    __hash__ = ComputableTerm.__hash__

    def _bad_compare(self, other):
        raise TypeError("cannot compare classifiers with an ordering operator; use eq(), != or element_of()")

    __gt__ = __ge__ = __le__ = __lt__ = _bad_compare

    @_string_classifiers_only
    def startswith(self, prefix):
        """Filter: True where the label starts with ``prefix``."""
        _expect_str("prefix", prefix)
        return ArrayPredicate(term=self, op=_startswith, opargs=(prefix,))

    @_string_classifiers_only
    def endswith(self, suffix):
        """Filter: True where the label ends with ``suffix``."""
        _expect_str("suffix", suffix)
        return ArrayPredicate(term=self, op=_endswith, opargs=(suffix,))

    @_string_classifiers_only
    def has_substring(self, substring):
        """Filter: True where the label contains ``substring``."""
        _expect_str("substring", substring)
        return ArrayPredicate(term=self, op=_has_substring, opargs=(substring,))

    @_string_classifiers_only
    def matches(self, pattern):
        """Filter: True where the label matches the regular expression ``pattern`` (``re.match``)."""
        _expect_str("pattern", pattern, (str, bytes, re.Pattern))
        return ArrayPredicate(term=self, op=_matches, opargs=(pattern,))

    @_string_classifiers_only
    def relabel(self, relabeler):
        """A classifier with ``relabeler`` (str -> str or None) applied to each label."""
        return Relabel(term=self, relabeler=relabeler)

    def element_of(self, choices):
        """Filter: True where the label is one of ``choices``."""
        try:
            choices = frozenset(choices)
        except Exception as exc:
            raise TypeError(
                f"Expected `choices` to be an iterable of hashable values, but got {choices!r} instead.\n"
                f"This caused the following error: {exc!r}."
            ) from exc
        if self.missing_value in choices:
            raise ValueError(
                f"Found self.missing_value ({self.missing_value!r}) in choices supplied to "
                f"{type(self).__name__}.element_of().\nMissing values have NaN semantics, so the requested "
                "comparison would always produce False.\nUse the isnull() method to check for missing values.\n"
                f"Received choices were {sorted(choices, key=repr)}."
            )
        if self.dtype == int64_dtype:
            if all(isinstance(c, int | np.integer) and not isinstance(c, bool) for c in choices):
                return ArrayPredicate(term=self, op=_int_element_of, opargs=(choices,))
            raise TypeError(
                f"Found non-int in choices for {type(self).__name__}.element_of.\nSupplied choices were {choices}."
            )
        if all(isinstance(c, str | bytes) for c in choices):
            return ArrayPredicate(term=self, op=_label_element_of, opargs=(choices,))
        raise TypeError(
            f"Found non-string in choices for {type(self).__name__}.element_of.\nSupplied choices were {choices}."
        )

    def postprocess(self, data):
        if self.dtype == int64_dtype:
            return data
        if not isinstance(data, LabelArray):
            raise AssertionError(f"Expected a LabelArray, got {type(data)}.")
        return data.as_categorical()

    @classmethod
    def _principal_computable_term_type(cls):
        return Classifier

    def _to_integral(self, output):
        """(int64 labels, null label) for an output of this classifier."""
        if self.dtype == int64_dtype:
            return np.asarray(output), self.missing_value
        if isinstance(output, LabelArray):
            return output.codes, -1
        raise AssertionError(f"Unexpected Classifier output {type(output)}.")

    def peer_count(self, mask=NotSpecified):
        """Factor: for each asset, how many assets (within ``mask``) share its label that day."""
        from rustybt.pipeline.factors import PeerCount

        return PeerCount(inputs=[self], mask=mask)


class Everything(Classifier):
    """A classifier putting every asset (within its mask) in group 0."""

    dtype = int64_dtype
    window_length = 0
    inputs = ()
    missing_value = -1

    def _compute(self, arrays, dates, assets, mask):
        out = _pool.full(mask.shape, self.missing_value, np.int64)
        np.copyto(out, 0, where=np.asarray(mask, dtype=bool))
        return out


class Quantiles(SingleInputMixin, Classifier):
    """Labels 0..bins-1 by quantile of the input each day (``pd.qcut``); -1 where missing or masked."""

    params = ("bins",)
    dtype = int64_dtype
    window_length = 0
    missing_value = -1

    def _compute(self, arrays, dates, assets, mask):
        from rustybt.pipeline.kernels.crosssection import quantiles

        data = np.asarray(arrays[0], dtype=np.float64)
        return quantiles(data, self.params["bins"], mask=mask)

    def graph_repr(self) -> str:
        return f"{type(self).__name__}({self.params['bins']})"


class Relabel(SingleInputMixin, Classifier):
    """A string classifier with a function applied to each label."""

    window_length = 0
    params = ("relabeler",)

    def __new__(cls, term, relabeler):
        if not isinstance(term, Classifier) or term.dtype != categorical_dtype:
            raise TypeError("relabel() needs a string (object-dtype) Classifier")
        return super().__new__(cls, inputs=(term,), dtype=term.dtype, mask=term.mask, relabeler=relabeler)

    def _compute(self, arrays, dates, assets, mask):
        data = arrays[0]
        if not isinstance(data, LabelArray):
            raise NotImplementedError("Relabeling is not currently supported for int-dtype classifiers.")
        result = data.map(self.params["relabeler"])
        result.codes[~mask] = -1
        return result


class CustomClassifier(PositiveWindowLengthMixin, StandardOutputs, CustomTermMixin, Classifier):
    """Base class for user-defined classifiers (``compute(self, today, assets, out, *inputs)``).

    ``dtype`` is int64 (``missing_value`` required) or object (strings: ``out`` is an object array to fill with
    labels).
    """

    def _validate(self) -> None:
        try:
            super()._validate()
        except UnsupportedDataType as exc:
            if self.dtype in FACTOR_DTYPES:
                raise UnsupportedDataType(
                    type(self).__name__, self.dtype, hint="Did you mean to create a CustomFactor?"
                ) from exc
            if self.dtype in FILTER_DTYPES:
                raise UnsupportedDataType(
                    type(self).__name__, self.dtype, hint="Did you mean to create a CustomFilter?"
                ) from exc
            raise


class Latest(LatestMixin, CustomClassifier):
    """The most recent value of an int64 or string column (``BoundColumn.latest``)."""
