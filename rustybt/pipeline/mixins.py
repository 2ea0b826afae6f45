"""Mixins shared by Factor, Filter and Classifier: validation rules, the custom-term compute loop, and the
"universal" wrappers (alias, downsample, slice, if_else, constant) that exist once per principal type.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pandas as pd

from rustybt.pipeline._driver import _shape_hint, is_numba_function, run_jitted_compute
from rustybt.pipeline.dtypes import bool_dtype, categorical_dtype
from rustybt.pipeline.errors import (
    CustomTermComputeError,
    NoFurtherDataError,
    NonExistentAssetInTimeFrame,
    UnsupportedDataType,
    WindowLengthNotPositive,
)
from rustybt.pipeline.labelarray import LabelArray, labelarray_where
from rustybt.pipeline.sentinels import NotSpecified
from rustybt.pipeline.term import Term

__all__ = [
    "AliasedMixin",
    "ConstantMixin",
    "CustomTermMixin",
    "DownsampledMixin",
    "IfElseMixin",
    "LatestMixin",
    "MultiOutput",
    "PositiveWindowLengthMixin",
    "RestrictedDTypeMixin",
    "SingleInputMixin",
    "SliceMixin",
    "StandardOutputs",
    "UniversalMixin",
    "select_sampling_indices",
]


class MultiOutput:
    """The result of a multiple-output term: one 2-D array per output name.

    ``result["alpha"]`` is a field; ``result[rows]`` slices every field by rows.
    """

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = dict(fields)

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.fields[key]
        return MultiOutput({k: v[key] for k, v in self.fields.items()})

    @property
    def shape(self) -> tuple[int, ...]:
        return next(iter(self.fields.values())).shape

    def __repr__(self) -> str:
        return f"MultiOutput({list(self.fields)}, shape={self.shape})"


# ---------------------------------------------------------------------------------------------------------------
# validation mixins
# ---------------------------------------------------------------------------------------------------------------


class PositiveWindowLengthMixin(Term):
    """The term must have ``window_length >= 1``."""

    def _validate(self) -> None:
        super()._validate()
        if not self.windowed:
            raise WindowLengthNotPositive(type(self).__name__, self.window_length)


class SingleInputMixin(Term):
    """The term takes exactly one input."""

    def _validate(self) -> None:
        super()._validate()
        if len(self.inputs) != 1:
            raise ValueError(f"{type(self).__name__} expects only one input, but received {len(self.inputs)} instead.")


class StandardOutputs(Term):
    """The term may not declare multiple ``outputs``."""

    def _validate(self) -> None:
        super()._validate()
        if self.outputs is not NotSpecified:
            raise ValueError(
                f"{type(self).__name__} does not support custom outputs, but received custom outputs={self.outputs}."
            )


class RestrictedDTypeMixin(Term):
    """The term's dtype must be in ``ALLOWED_DTYPES``."""

    ALLOWED_DTYPES: Any = NotSpecified

    def _validate(self) -> None:
        super()._validate()
        if self.dtype not in self.ALLOWED_DTYPES:
            raise UnsupportedDataType(type(self).__name__, self.dtype)


# ---------------------------------------------------------------------------------------------------------------
# custom terms
# ---------------------------------------------------------------------------------------------------------------

_JITTED: dict[object, object] = {}


def _vectorized_for(cls) -> Any:
    """The ``_vectorized_compute`` of the nearest built-in ancestor, if ``cls`` still uses that ancestor's
    ``compute`` (a subclass overriding ``compute`` gets the generic path)."""
    for klass in cls.__mro__:
        fn = klass.__dict__.get("_vectorized_compute")
        if fn is not None:
            return fn if getattr(cls, "compute", None) is getattr(klass, "compute", None) else None
    return None


class CustomTermMixin(Term):
    """User-defined windowed terms: ``compute(self, today, assets, out, *inputs, **params)`` once per date.

    Three ways to run, chosen per class:

    1. built-in terms (SimpleMovingAverage, RSI...) define ``_vectorized_compute`` and run one Numba kernel over
       all dates and assets (unless a subclass overrides ``compute``);
    2. if ``compute`` is a Numba function (``@numba.njit``) or the class sets ``jit = True``, the date loop runs
       in compiled code (see :mod:`rustybt.pipeline._driver`);
    3. otherwise ``compute`` is called from Python once per date, exactly as in zipline: ``today`` is a
       ``pd.Timestamp``, ``assets`` the sids passing the mask that day, ``out`` a 1-D array with one slot per such
       asset (a record array for multiple outputs), and each input a ``(window_length, n_assets)`` array of
       point-in-time adjusted values (single-column inputs are not masked).
    """

    ctx = None
    jit = False

    def __new__(
        cls,
        inputs=NotSpecified,
        outputs=NotSpecified,
        window_length=NotSpecified,
        mask=NotSpecified,
        dtype=NotSpecified,
        missing_value=NotSpecified,
        ndim=NotSpecified,
        **kwargs,
    ):
        allowed = set(cls.params) | {"domain", "window_safe"}
        unexpected = set(kwargs) - allowed
        if unexpected:
            raise TypeError(
                f"{cls.__name__} received unexpected keyword arguments { {k: kwargs[k] for k in sorted(unexpected)} }"
            )
        return super().__new__(
            cls,
            inputs=inputs,
            outputs=outputs,
            window_length=window_length,
            mask=mask,
            dtype=dtype,
            missing_value=missing_value,
            ndim=ndim,
            **kwargs,
        )

    def compute(self, today, assets, out, *arrays):
        """Override with a function writing one value per asset into ``out``."""
        raise NotImplementedError(f"{type(self).__name__} must define a compute method")

    # --- dispatch --------------------------------------------------------------------------------------------
    def _numba_compute(self):
        cls = type(self)
        static = inspect.getattr_static(cls, "compute")
        if isinstance(static, staticmethod | classmethod):
            static = static.__func__
        if is_numba_function(static):
            return static
        if getattr(cls, "jit", False) and inspect.isfunction(static):
            jitted = _JITTED.get(static)
            if jitted is None:
                from numba import njit

                jitted = _JITTED[static] = njit(nogil=True)(static)
            return jitted
        return None

    def _compute(self, windows, dates, assets, mask, rows=None):
        vectorized = _vectorized_for(type(self))
        if vectorized is not None:
            return vectorized(self, windows, dates, assets, mask)
        compiled = self._numba_compute()
        if compiled is not None:
            return run_jitted_compute(self, compiled, windows, dates, assets, mask)
        return self._compute_python(windows, dates, assets, mask, rows)

    # --- the Python path -------------------------------------------------------------------------------------
    def _allocate_output(self, windows, shape):
        missing = self.missing_value
        if self.outputs is not NotSpecified:
            out = np.recarray(shape, formats=[self.dtype.str] * len(self.outputs), names=list(self.outputs))
            out[:] = missing
            return out
        if self.dtype == categorical_dtype:
            out = np.empty(shape, dtype=object)
            out[:] = missing
            return out
        return np.full(shape, missing, dtype=self.dtype)

    def _finalize_output(self, out):
        if self.outputs is not NotSpecified:
            return MultiOutput({name: np.asfortranarray(np.asarray(out[name])) for name in self.outputs})
        if self.dtype == categorical_dtype:
            return LabelArray.from_values(out, self.missing_value)
        return np.asfortranarray(out)

    def _compute_python(self, windows, dates, assets, mask, rows=None):
        n = len(dates)
        one_d = self.ndim == 1
        shape = (n, 1) if one_d else mask.shape
        out = self._allocate_output(windows, shape)
        iters = [w.traverse(self.window_length) for w in windows]
        wanted = None if rows is None else set(int(r) for r in rows)
        params = self.params
        compute = self.compute
        assets = pd.Index(np.asarray(assets, dtype=np.int64))
        all_true = np.ones(1, dtype=bool)
        for idx in range(n):
            frames = [next(it) for it in iters]
            if wanted is not None and idx not in wanted:
                continue
            row_mask = mask[idx]
            out_mask = all_true if one_d else row_mask
            out_row = out[idx][out_mask]
            inputs = [f if f.shape[1] == 1 else f[:, row_mask] for f in frames]
            date = dates[idx]
            try:
                if self.ctx is not None:
                    with self.ctx:
                        compute(date, assets[row_mask], out_row, *inputs, **params)
                else:
                    compute(date, assets[row_mask], out_row, *inputs, **params)
                out[idx][out_mask] = out_row
            except CustomTermComputeError:
                raise
            except Exception as exc:
                raise CustomTermComputeError(
                    f"{type(self).__name__}.compute failed on {pd.Timestamp(date).date()}: "
                    f"{exc.__class__.__name__}: {exc}" + _shape_hint(exc)
                ) from exc
        return self._finalize_output(out)

    def graph_repr(self) -> str:
        return f"{type(self).__name__}:\\l  window_length: {self.window_length}\\l"


class LatestMixin(SingleInputMixin):
    """``BoundColumn.latest``: the most recent value of the input (window length 1, adjustments applied)."""

    window_length = 1

    def compute(self, today, assets, out, data):
        out[:] = data[-1]

    def _vectorized_compute(self, windows, dates, assets, mask):
        from rustybt.pipeline._kernels import latest

        aa = windows[0]
        if aa.categories is not None:
            codes = np.array(aa.data, order="F", copy=True)
            codes[~mask] = -1
            return LabelArray(codes, aa.categories, self.missing_value)
        out = latest(aa)
        if out.dtype != self.dtype:
            out = out.astype(self.dtype)
        out[~mask] = self.missing_value
        return out

    def _validate(self) -> None:
        super()._validate()
        if self.inputs[0].dtype != self.dtype:
            raise TypeError(
                f"{type(self).__name__} expected an input of dtype {self.dtype}, but got {self.inputs[0].dtype} "
                "instead."
            )

    def graph_repr(self) -> str:
        return "Latest"


# ---------------------------------------------------------------------------------------------------------------
# universal mixins
# ---------------------------------------------------------------------------------------------------------------


class UniversalMixin(Term):
    """A wrapper that needs one subclass per principal type (Factor, Filter, Classifier)."""

    _UNIVERSAL_MIXIN_SUBTYPES: dict = {}

    @staticmethod
    def _universal_mixin_type():
        raise NotImplementedError

    @staticmethod
    def _universal_mixin_specialization_name(principal_type) -> str:
        raise NotImplementedError

    @classmethod
    def universal_mixin_specialization(cls, principal_type):
        mixin = cls._universal_mixin_type()
        key = (mixin, principal_type)
        try:
            return cls._UNIVERSAL_MIXIN_SUBTYPES[key]
        except KeyError:
            new_type = type(
                mixin._universal_mixin_specialization_name(principal_type),
                (mixin, principal_type),
                {"__module__": principal_type.__module__},
            )
            cls._UNIVERSAL_MIXIN_SUBTYPES[key] = new_type
            return new_type


class AliasedMixin(SingleInputMixin, UniversalMixin):
    """``term.alias(name)``."""

    def __new__(cls, term, name):
        return super().__new__(
            cls,
            inputs=(term,),
            outputs=term.outputs,
            window_length=0,
            name=name,
            dtype=term.dtype,
            missing_value=term.missing_value,
            ndim=term.ndim,
            window_safe=term.window_safe,
        )

    def _init(self, name, **kwargs):
        self.name = name
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, name, **kwargs):
        return (super()._static_identity(**kwargs), name)

    def _compute(self, inputs, dates, assets, mask):
        return inputs[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inputs[0].recursive_repr()}, name={self.name!r})"

    def graph_repr(self) -> str:
        return self.name

    @staticmethod
    def _universal_mixin_type():
        return AliasedMixin

    @staticmethod
    def _universal_mixin_specialization_name(principal_type) -> str:
        return "Aliased" + principal_type.__name__


def select_sampling_indices(dates: pd.DatetimeIndex, frequency: str) -> np.ndarray:
    """Row 0 plus every row whose year/quarter/month/ISO week differs from the previous row's."""
    dates = pd.DatetimeIndex(dates)
    if frequency == "year_start":
        periods = np.asarray(dates.year)
    elif frequency == "quarter_start":
        periods = np.asarray(dates.quarter)
    elif frequency == "month_start":
        periods = np.asarray(dates.month)
    elif frequency == "week_start":
        periods = np.asarray(dates.isocalendar().week, dtype=np.int64)
    else:
        raise ValueError(f"unknown downsampling frequency {frequency!r}")
    if len(periods) == 0:
        return np.empty(0, dtype=np.int64)
    changed = np.flatnonzero(periods[1:] != periods[:-1]) + 1
    return np.concatenate(([0], changed)).astype(np.int64)


class DownsampledMixin(StandardOutputs, UniversalMixin):
    """``term.downsample(frequency)``: compute on the first session of each period, forward-fill in between."""

    window_safe = False

    def __new__(cls, term, frequency):
        if not isinstance(term, Term):
            raise TypeError(f"downsample expects a Term, got {type(term).__name__}")
        return super().__new__(
            cls,
            inputs=term.inputs,
            outputs=term.outputs,
            window_length=term.window_length,
            mask=term.mask,
            frequency=frequency,
            wrapped_term=term,
            dtype=term.dtype,
            missing_value=term.missing_value,
            ndim=term.ndim,
        )

    def _init(self, frequency, wrapped_term, **kwargs):
        self._frequency = frequency
        self._wrapped_term = wrapped_term
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, frequency, wrapped_term, **kwargs):
        return (super()._static_identity(**kwargs), frequency, wrapped_term)

    def compute_extra_rows(self, all_dates, start_date, end_date, min_extra_rows: int) -> int:
        try:
            pos = all_dates.get_loc(start_date)
        except KeyError:
            raise ValueError(f"Pipeline start_date {start_date} is not in calendar.") from None
        current = pos - min_extra_rows
        if current < 0:
            raise NoFurtherDataError.from_lookback_window(
                first_date=all_dates[0], lookback_start=start_date, lookback_length=min_extra_rows, available=pos
            )
        candidates = all_dates[: current + 1]
        choices = select_sampling_indices(candidates, self._frequency)
        new_start = int(choices[-1])
        return min_extra_rows + (current - new_start)

    def _compute(self, inputs, dates, assets, mask):
        samples = select_sampling_indices(dates, self._frequency)
        wrapped = self._wrapped_term
        if isinstance(wrapped, CustomTermMixin):
            full = wrapped._compute(inputs, dates, assets, mask, rows=samples)
        else:
            full = wrapped._compute(inputs, dates, assets, mask)
        take = samples[np.searchsorted(samples, np.arange(len(dates)), side="right") - 1]
        result = full[take]
        return np.asfortranarray(result) if isinstance(result, np.ndarray) else result

    def graph_repr(self) -> str:
        return f"{self._wrapped_term.graph_repr()}.downsample({self._frequency!r})"

    @staticmethod
    def _universal_mixin_type():
        return DownsampledMixin

    @staticmethod
    def _universal_mixin_specialization_name(principal_type) -> str:
        return "Downsampled" + principal_type.__name__


class SliceMixin(UniversalMixin):
    """``term[asset]``: the single column of ``term`` for ``asset`` (a 1-D term)."""

    def __new__(cls, term, asset):
        return super().__new__(
            cls,
            asset=asset,
            inputs=[term],
            window_length=0,
            mask=term.mask,
            dtype=term.dtype,
            missing_value=term.missing_value,
            window_safe=term.window_safe,
            ndim=1,
        )

    def _init(self, asset, **kwargs):
        self._asset = asset
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, asset, **kwargs):
        return (super()._static_identity(**kwargs), asset)

    def __repr__(self) -> str:
        return f"{self.inputs[0].recursive_repr()}[{self._asset!r}]"

    def _compute(self, windows, dates, assets, mask):
        sids = np.asarray(assets, dtype=np.int64)
        col = int(np.searchsorted(sids, self._asset.sid))
        if col >= len(sids) or sids[col] != self._asset.sid:
            raise NonExistentAssetInTimeFrame(
                asset=self._asset,
                start_date=dates[0] if len(dates) else None,
                end_date=dates[-1] if len(dates) else None,
            )
        return windows[0][:, [col]]

    @property
    def asset(self):
        return self._asset

    @staticmethod
    def _universal_mixin_type():
        return SliceMixin

    @staticmethod
    def _universal_mixin_specialization_name(principal_type) -> str:
        return principal_type.__name__ + "Slice"


class IfElseMixin(UniversalMixin):
    """``condition.if_else(if_true, if_false)``."""

    window_length = 0

    def __new__(cls, condition, if_true, if_false):
        if condition.dtype != bool_dtype:
            raise TypeError(f"if_else condition must be a Filter (bool), got dtype {condition.dtype}")
        return super().__new__(
            cls,
            inputs=[condition, if_true, if_false],
            dtype=if_true.dtype,
            ndim=if_true.ndim,
            missing_value=if_true.missing_value,
            window_safe=all((condition.window_safe, if_true.window_safe, if_false.window_safe)),
            outputs=if_true.outputs,
        )

    def _compute(self, inputs, dates, assets, mask):
        cond, a, b = inputs
        if self.dtype == categorical_dtype:
            return labelarray_where(cond, a, b)
        return np.asfortranarray(np.where(cond, a, b))

    @staticmethod
    def _universal_mixin_type():
        return IfElseMixin

    @staticmethod
    def _universal_mixin_specialization_name(principal_type) -> str:
        return "IfElse" + principal_type.__name__


class ConstantMixin(StandardOutputs, UniversalMixin):
    """A term producing one constant everywhere (used by ``fillna`` with a scalar)."""

    window_length = 0
    inputs = ()
    params = ("const",)

    def _compute(self, inputs, dates, assets, mask):
        const = self.params["const"]
        if self.dtype == categorical_dtype:
            return LabelArray(np.zeros(mask.shape, dtype=np.int64, order="F"), [const], self.missing_value)
        return np.full(mask.shape, const, dtype=self.dtype, order="F")

    @staticmethod
    def _universal_mixin_type():
        return ConstantMixin

    @staticmethod
    def _universal_mixin_specialization_name(principal_type) -> str:
        return "Constant" + principal_type.__name__
