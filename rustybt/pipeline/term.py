"""Base classes of every object in a pipeline's compute graph.

Terms are immutable and **memoized**: constructing a term twice with the same arguments returns the same object,
so shared sub-expressions appear once in the graph and are computed once::

    >>> SimpleMovingAverage(inputs=[EquityPricing.close], window_length=5) is \\
    ...     SimpleMovingAverage(inputs=[EquityPricing.close], window_length=5)
    True

A term's identity is its class plus every constructor argument (domain, dtype, missing value, window safety,
dimensionality, params, inputs, outputs, window length, mask...). Subclasses implement ``_static_identity`` (the
memo key) and ``_init`` (called once per new object) and chain both to ``super()``.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Mapping
from weakref import WeakValueDictionary

import numpy as np

from rustybt.pipeline.domain import GENERIC, Domain, infer_domain
from rustybt.pipeline.dtypes import (
    REPRESENTABLE_DTYPES,
    bool_dtype,
    categorical_dtype,
    coerce_to_dtype,
    datetime64ns_dtype,
    default_missing_value_for_dtype,
    float64_dtype,
    missing_key,
    normalize_dtype,
)
from rustybt.pipeline.errors import (
    DTypeNotSpecified,
    InvalidOutputName,
    NonPipelineInputs,
    NonSliceableTerm,
    NonWindowSafeInput,
    NotDType,
    TermInputsNotSpecified,
    TermOutputsEmpty,
    UnsupportedDType,
    WindowLengthNotSpecified,
)
from rustybt.pipeline.sentinels import NotSpecified

__all__ = [
    "AssetExists",
    "ComputableTerm",
    "InputDates",
    "LoadableTerm",
    "Term",
    "validate_dtype",
]

DOWNSAMPLE_FREQUENCIES = frozenset({"year_start", "quarter_start", "month_start", "week_start"})


class Term(ABC):
    """Base class of everything that can appear in a pipeline's compute graph."""

    dtype = NotSpecified
    missing_value = NotSpecified
    params: tuple | Mapping = ()
    domain = GENERIC
    window_safe = False
    ndim = 2

    _term_cache: WeakValueDictionary = WeakValueDictionary()

    def __new__(
        cls,
        domain=NotSpecified,
        dtype=NotSpecified,
        missing_value=NotSpecified,
        window_safe=NotSpecified,
        ndim=NotSpecified,
        **kwargs,
    ):
        if domain is NotSpecified:
            domain = cls.domain
        if dtype is NotSpecified:
            dtype = cls.dtype
        if missing_value is NotSpecified:
            missing_value = cls.missing_value
        if ndim is NotSpecified:
            ndim = cls.ndim
        if window_safe is NotSpecified:
            window_safe = cls.window_safe

        dtype, missing_value = validate_dtype(cls.__name__, dtype, missing_value)
        params = cls._pop_params(kwargs)

        identity = cls._static_identity(
            domain=domain,
            dtype=dtype,
            missing_value=missing_value,
            window_safe=window_safe,
            ndim=ndim,
            params=params,
            **kwargs,
        )
        try:
            return cls._term_cache[identity]
        except KeyError:
            pass
        except TypeError as exc:
            raise TypeError(f"{cls.__name__} received an unhashable argument: {exc}") from None
        new = (
            super()
            .__new__(cls)
            ._init(
                domain=domain,
                dtype=dtype,
                missing_value=missing_value,
                window_safe=window_safe,
                ndim=ndim,
                params=params,
                **kwargs,
            )
        )
        cls._term_cache[identity] = new
        return new

    def __init__(self, *args, **kwargs):  # noqa: B027
        """No-op: a memoized ``__new__`` may return an existing object; initialization happens in ``_init``."""

    @classmethod
    def _pop_params(cls, kwargs: dict) -> tuple:
        """Take ``cls.params`` out of ``kwargs`` (defaults from a Mapping ``params``); values must be hashable."""
        params = cls.params
        if not isinstance(params, Mapping):
            params = {name: NotSpecified for name in params}
        values = []
        for key, default in params.items():
            value = kwargs.pop(key, default)
            if value is NotSpecified:
                raise TypeError(f"{cls.__name__} expected a keyword parameter {key!r}.")
            try:
                hash(value)
            except TypeError:
                raise TypeError(
                    f"{cls.__name__} expected a hashable value for parameter {key!r}, but got {value!r} instead."
                ) from None
            values.append((key, value))
        return tuple(values)

    @classmethod
    def _static_identity(cls, domain, dtype, missing_value, window_safe, ndim, params):
        return (cls, domain, dtype, missing_key(missing_value), window_safe, ndim, _params_key(params))

    def _init(self, domain, dtype, missing_value, window_safe, ndim, params):
        self.domain = domain
        self.dtype = dtype
        self.missing_value = missing_value
        self.window_safe = window_safe
        self.ndim = ndim
        for name, _ in params:
            if hasattr(self, name):
                raise TypeError(
                    f"Parameter {name!r} conflicts with already-present attribute with value {getattr(self, name)!r}."
                )
        self.params = dict(params)
        self._validated = False
        self._validate()
        if not self._validated:
            raise AssertionError(f"{type(self).__name__}._validate() did not call super()._validate()")
        del self._validated
        return self

    def _validate(self) -> None:
        """Check the term is well formed (subclasses extend and call super)."""
        self._validated = True

    def compute_extra_rows(self, all_dates, start_date, end_date, min_extra_rows: int) -> int:
        """Extra rows to compute before ``start_date`` (at least ``min_extra_rows``; downsampling extends it)."""
        return min_extra_rows

    def __getitem__(self, key):
        from rustybt.assets import Asset

        if not isinstance(key, Asset):
            raise TypeError(
                f"{type(self).__name__}[...] expects an Asset (e.g. finder.retrieve_asset(sid)), got "
                f"{type(key).__name__}"
            )
        if isinstance(self, LoadableTerm):
            raise NonSliceableTerm(self)
        from rustybt.pipeline.mixins import SliceMixin

        return type(self)._with_mixin(SliceMixin)(self, key)

    @property
    @abstractmethod
    def inputs(self):
        """Terms this term is computed from."""

    @property
    @abstractmethod
    def windowed(self) -> bool:
        """Whether the term is a trailing-window computation."""

    @property
    @abstractmethod
    def mask(self):
        """Filter of the (date, asset) pairs this term computes."""

    @property
    @abstractmethod
    def dependencies(self) -> dict:
        """Terms to compute first, mapped to the extra rows of each that this term needs."""

    def graph_repr(self) -> str:
        """Short label for graph drawings."""
        return type(self).__name__

    def recursive_repr(self) -> str:
        """Short repr used inside other terms' reprs."""
        return type(self).__name__


class AssetExists(Term):
    """Pseudo-filter: True where an asset existed on a date (the engine's root mask, from asset lifetimes).

    It is the default ``mask`` of every term.
    """

    dtype = bool_dtype
    dataset = None
    inputs = ()
    dependencies: dict = {}
    mask = None
    windowed = False
    window_safe = True

    def __repr__(self) -> str:
        return "AssetExists()"

    graph_repr = __repr__
    recursive_repr = __repr__

    def _compute(self, *args, **kwargs):
        raise NotImplementedError("AssetExists cannot be computed directly; the engine provides it.")


class InputDates(Term):
    """1-D term holding the row labels (dates) of a computation; provided by the engine."""

    ndim = 1
    dataset = None
    dtype = datetime64ns_dtype
    inputs = ()
    dependencies: dict = {}
    mask = None
    windowed = False
    window_safe = True

    def __repr__(self) -> str:
        return "InputDates()"

    graph_repr = __repr__

    def _compute(self, *args, **kwargs):
        raise NotImplementedError("InputDates cannot be computed directly; the engine provides it.")


class LoadableTerm(Term):
    """A term read by a :class:`~rustybt.pipeline.loaders.base.PipelineLoader` (base of BoundColumn)."""

    windowed = False
    inputs = ()

    @property
    def dependencies(self) -> dict:
        return {self.mask: 0}

    def specialize(self, domain: Domain):
        return self

    def unspecialize(self):
        return self


class ComputableTerm(Term):
    """A term computed from ``inputs`` (base of Factor, Filter and Classifier)."""

    inputs = NotSpecified
    outputs = NotSpecified
    window_length = NotSpecified
    mask = NotSpecified
    domain = NotSpecified

    def __new__(
        cls,
        inputs=inputs,
        outputs=outputs,
        window_length=window_length,
        mask=mask,
        domain=domain,
        **kwargs,
    ):
        if inputs is NotSpecified:
            inputs = cls.inputs
        if inputs is not NotSpecified:
            if isinstance(inputs, Term):
                raise TypeError(
                    f"{cls.__name__} expects inputs to be a list or tuple of terms, got a single "
                    f"{type(inputs).__name__}; write inputs=[{inputs!r}]"
                )
            inputs = tuple(inputs)
            non_terms = [t for t in inputs if not isinstance(t, Term)]
            if non_terms:
                raise NonPipelineInputs(cls.__name__, non_terms)
            if domain is NotSpecified:
                domain = infer_domain(inputs)
        if outputs is NotSpecified:
            outputs = cls.outputs
        if outputs is not NotSpecified:
            if isinstance(outputs, str):
                outputs = (outputs,)
            outputs = tuple(outputs)
        if mask is NotSpecified:
            mask = cls.mask
        if mask is NotSpecified:
            mask = AssetExists()
        if window_length is NotSpecified:
            window_length = cls.window_length
        if domain is NotSpecified:
            domain = GENERIC
        return super().__new__(
            cls,
            inputs=inputs,
            outputs=outputs,
            mask=mask,
            window_length=window_length,
            domain=domain,
            **kwargs,
        )

    def _init(self, inputs, outputs, window_length, mask, **kwargs):
        self.inputs = inputs
        self.outputs = outputs
        self.window_length = window_length
        self.mask = mask
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, inputs, outputs, window_length, mask, **kwargs):
        return (super()._static_identity(**kwargs), inputs, outputs, window_length, mask)

    def _validate(self) -> None:
        super()._validate()
        name = type(self).__name__
        if self.inputs is NotSpecified:
            raise TermInputsNotSpecified(name)
        if not isinstance(self.domain, Domain):
            raise TypeError(f"Expected {name}.domain to be an instance of Domain, but got {type(self.domain)}.")
        if self.outputs is not NotSpecified:
            if not self.outputs:
                raise TermOutputsEmpty(name)
            disallowed = sorted({a for a in dir(ComputableTerm) if not a.startswith("_")} | {"compute"})
            for output in self.outputs:
                if not isinstance(output, str) or output.startswith("_") or output in disallowed:
                    raise InvalidOutputName(output, name, disallowed)
        if self.window_length is NotSpecified:
            raise WindowLengthNotSpecified(name)
        try:
            operator.index(self.window_length)
        except TypeError:
            raise TypeError(
                f"{name} expected an integer window_length, got {type(self.window_length).__name__} "
                f"{self.window_length!r}"
            ) from None
        if self.mask is NotSpecified:
            raise AssertionError(f"{self!r} has no mask")
        if self.window_length > 1:
            for child in self.inputs:
                if not child.window_safe:
                    raise NonWindowSafeInput(parent=self, child=child)

    def _compute(self, inputs, dates, assets, mask):
        """Compute the term over all rows at once (see :mod:`rustybt.pipeline.engine` for the contract)."""
        raise NotImplementedError(f"{type(self).__name__}._compute")

    @classmethod
    @abstractmethod
    def _principal_computable_term_type(cls):
        """Factor, Filter or Classifier."""

    @property
    def windowed(self) -> bool:
        return self.window_length is not NotSpecified and self.window_length > 0

    @property
    def dependencies(self) -> dict:
        extra = max(0, self.window_length - 1)
        out = {term: extra for term in self.inputs}
        out[self.mask] = max(out.get(self.mask, 0), 0)
        return out

    def postprocess(self, data):
        """Turn the screened 1-D result into the output column's values."""
        return data

    def downsample(self, frequency: str):
        """A term computing ``self`` only on the first session of each period and forward-filling in between.

        ``frequency`` is one of ``'year_start'``, ``'quarter_start'``, ``'month_start'``, ``'week_start'``.
        """
        if frequency not in DOWNSAMPLE_FREQUENCIES:
            raise ValueError(
                f"{type(self).__name__}.downsample() expected frequency to be one of "
                f"{sorted(DOWNSAMPLE_FREQUENCIES)}, but got {frequency!r}."
            )
        from rustybt.pipeline.mixins import DownsampledMixin

        return type(self)._with_mixin(DownsampledMixin)(term=self, frequency=frequency)

    def alias(self, name: str):
        """``self`` under a name (shown in graphs and reprs)."""
        from rustybt.pipeline.mixins import AliasedMixin

        return type(self)._with_mixin(AliasedMixin)(term=self, name=name)

    def isnull(self):
        """Filter: True where ``self`` is missing."""
        if self.dtype == bool_dtype:
            raise TypeError("isnull() is not supported for Filters")
        from rustybt.pipeline.filters import NullFilter

        if self.dtype == float64_dtype:
            return self.isnan()
        return NullFilter(self)

    def notnull(self):
        """Filter: True where ``self`` is not missing."""
        if self.dtype == bool_dtype:
            raise TypeError("notnull() is not supported for Filters")
        from rustybt.pipeline.filters import NotNullFilter

        return NotNullFilter(self)

    def fillna(self, fill_value):
        """A term equal to ``self`` with missing values replaced by ``fill_value`` (a scalar or a term)."""
        if self.dtype == bool_dtype:
            raise TypeError("fillna() is not supported for Filters")
        if isinstance(fill_value, LoadableTerm):
            raise TypeError(f"Can't use expression {fill_value!r} as a fill value. Did you mean to append '.latest'?")
        if isinstance(fill_value, ComputableTerm):
            if_false = fill_value
        else:
            try:
                fill_value = coerce_to_dtype(fill_value, self.dtype)
            except TypeError as exc:
                raise TypeError(
                    f"Fill value {fill_value!r} is not a valid choice for term {type(self).__name__} with dtype "
                    f"{self.dtype}.\n\nCoercion attempt failed with: {exc}"
                ) from None
            from rustybt.pipeline.mixins import ConstantMixin

            if_false = type(self)._with_mixin(ConstantMixin)(
                const=fill_value, dtype=self.dtype, missing_value=self.missing_value
            )
        return self.notnull().if_else(if_true=self, if_false=if_false)

    def __repr__(self) -> str:
        inputs = ", ".join(i.recursive_repr() for i in self.inputs)
        return f"{type(self).__name__}([{inputs}], {self.window_length})"

    def recursive_repr(self) -> str:
        return type(self).__name__ + "(...)"

    @classmethod
    def _with_mixin(cls, mixin_type):
        return mixin_type.universal_mixin_specialization(cls._principal_computable_term_type())


def validate_dtype(termname: str, dtype, missing_value):
    """Check ``dtype`` is representable and ``missing_value`` fits it; fill the default missing value."""
    if dtype is NotSpecified:
        raise DTypeNotSpecified(termname)
    try:
        dtype = normalize_dtype(dtype)
    except TypeError:
        raise NotDType(termname, dtype) from None
    if dtype not in REPRESENTABLE_DTYPES:
        raise UnsupportedDType(termname, dtype)
    if missing_value is NotSpecified:
        missing_value = default_missing_value_for_dtype(dtype)
    try:
        if dtype == categorical_dtype:
            coerce_to_dtype(missing_value, dtype)
        else:
            missing_value = coerce_to_dtype(missing_value, dtype)
    except TypeError as exc:
        raise TypeError(
            f"Missing value {missing_value!r} is not a valid choice for term {termname} with dtype {dtype}.\n\n"
            f"Coercion attempt failed with: {exc}"
        ) from None
    if isinstance(missing_value, np.generic) and dtype != datetime64ns_dtype:
        missing_value = missing_value.item() if dtype != float64_dtype else float(missing_value)
    return dtype, missing_value


def _params_key(params: tuple) -> tuple:
    return tuple((k, missing_key(v)) for k, v in params)
