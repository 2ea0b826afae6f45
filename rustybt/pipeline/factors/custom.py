"""CustomFactor: user-defined factors, and ``Latest`` (``BoundColumn.latest`` for numeric columns)."""

from __future__ import annotations

from rustybt.pipeline.dtypes import CLASSIFIER_DTYPES, FILTER_DTYPES, float64_dtype
from rustybt.pipeline.errors import UnsupportedDataType
from rustybt.pipeline.factors.factor import Factor, RecarrayField
from rustybt.pipeline.mixins import CustomTermMixin, LatestMixin, PositiveWindowLengthMixin
from rustybt.pipeline.sentinels import NotSpecified

__all__ = ["CustomFactor", "Latest"]


class CustomFactor(PositiveWindowLengthMixin, CustomTermMixin, Factor):
    """Base class for user-defined factors.

    Subclass it and implement ``compute(self, today, assets, out, *inputs, **params)``; declare ``inputs``,
    ``window_length`` (and optionally ``outputs``, ``params``, ``mask``, ``dtype``) as class attributes or pass
    them to the constructor::

        class TenDayRange(CustomFactor):
            inputs = [EquityPricing.high, EquityPricing.low]
            window_length = 10

            def compute(self, today, assets, out, highs, lows):
                out[:] = np.nanmax(highs, axis=0) - np.nanmin(lows, axis=0)

    On each date, ``compute`` receives the date, the sids passing the mask, an output array with one slot per
    such sid, and one ``(window_length, n_sids)`` array per input holding the trailing window with the
    adjustments known on that date applied. With ``outputs = ["a", "b"]``, ``out`` is a record array
    (``out.a[:] = ...``) and ``factor.a`` / ``a, b = factor`` select outputs.

    **Compiled path.** Decorate ``compute`` with ``@numba.njit`` (or set ``jit = True`` on the class) and the
    engine runs the whole date loop in compiled code. ``compute`` then gets ``self=None``, ``today`` as a
    ``datetime64[ns]`` and ``assets`` as an int64 array; it must be nopython-compatible and have one output.
    """

    dtype = float64_dtype

    def _validate(self) -> None:
        try:
            super()._validate()
        except UnsupportedDataType as exc:
            if self.dtype in CLASSIFIER_DTYPES:
                raise UnsupportedDataType(
                    type(self).__name__, self.dtype, hint="Did you mean to create a CustomClassifier?"
                ) from exc
            if self.dtype in FILTER_DTYPES:
                raise UnsupportedDataType(
                    type(self).__name__, self.dtype, hint="Did you mean to create a CustomFilter?"
                ) from exc
            raise

    def __getattribute__(self, name):
        outputs = object.__getattribute__(self, "outputs")
        if outputs is NotSpecified or not isinstance(outputs, tuple):
            return super().__getattribute__(name)
        if name in outputs:
            return RecarrayField(factor=self, attribute=name)
        try:
            return super().__getattribute__(name)
        except AttributeError:
            raise AttributeError(
                f"Instance of {type(self).__name__} has no output named {name!r}. Possible choices are: {outputs}."
            ) from None

    def __iter__(self):
        if self.outputs is NotSpecified:
            raise ValueError(f"{type(self).__name__} does not have multiple outputs.")
        return (RecarrayField(self, attr) for attr in self.outputs)


class Latest(LatestMixin, CustomFactor):
    """The most recent value of a numeric column (``BoundColumn.latest``), adjustments applied."""

    window_length = 1
