"""Simple common factors (zipline-reloaded's ``factors.basic``), each computed by one Numba kernel.

Every class keeps zipline's per-day ``compute`` (numpy, used when a subclass overrides nothing but is run
through the generic path, and as the readable definition) and adds ``_vectorized_compute``, which computes all
dates at once with :mod:`rustybt.pipeline.kernels` and masks the result like zipline's CustomFactor does.
"""

from __future__ import annotations

from numbers import Number

import numpy as np

from rustybt.pipeline._kernels import latest, peer_count
from rustybt.pipeline.data.equity_pricing import EquityPricing
from rustybt.pipeline.factors.custom import CustomFactor
from rustybt.pipeline.kernels import ewm, rolling
from rustybt.pipeline.kernels import returns as returns_kernels
from rustybt.pipeline.mixins import SingleInputMixin

__all__ = [
    "EWMA",
    "EWMSTD",
    "VWAP",
    "AnnualizedVolatility",
    "AverageDollarVolume",
    "Clip",
    "DailyReturns",
    "ExponentialWeightedMovingAverage",
    "ExponentialWeightedMovingStdDev",
    "LinearWeightedMovingAverage",
    "MaxDrawdown",
    "PeerCount",
    "PercentChange",
    "Returns",
    "SimpleMovingAverage",
    "WeightedAverageValue",
    "exponential_weights",
]


def _masked(term, out: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """zipline's CustomFactor writes only masked entries; everything else stays ``missing_value``."""
    out = np.asfortranarray(out)
    if not mask.all():  # a tenth of the masked write's cost, and the usual case
        out[~mask] = term.missing_value
    return out


class Returns(CustomFactor):
    """Percent change in close price over ``window_length`` sessions: ``(close[-1] - close[0]) / close[0]``.

    **Default inputs:** ``[EquityPricing.close]``
    """

    inputs = [EquityPricing.close]
    window_safe = True

    def _validate(self) -> None:
        super()._validate()
        if self.window_length < 2:
            raise ValueError(
                f"'Returns' expected a window length of at least 2, but was given {self.window_length}. For daily "
                "returns, use a window length of 2."
            )

    def compute(self, today, assets, out, close):
        out[:] = (close[-1] - close[0]) / close[0]

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        return _masked(self, returns_kernels.returns(aa.data, self.window_length, aa.adjustments), mask)


class PercentChange(SingleInputMixin, CustomFactor):
    """``(new - old) / abs(old)`` over ``window_length`` sessions."""

    window_safe = True

    def _validate(self) -> None:
        super()._validate()
        if self.window_length < 2:
            raise ValueError(
                f"'PercentChange' expected a window length of at least 2, but was given {self.window_length}. "
                "For daily percent change, use a window length of 2."
            )

    def compute(self, today, assets, out, values):
        with np.errstate(divide="ignore", invalid="ignore"):
            out[:] = (values[-1] - values[0]) / abs(values[0])

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        return _masked(self, returns_kernels.percent_change(aa.data, self.window_length, aa.adjustments), mask)


class DailyReturns(Returns):
    """Daily percent change in close price (``Returns`` with ``window_length=2``)."""

    inputs = [EquityPricing.close]
    window_safe = True
    window_length = 2


class SimpleMovingAverage(SingleInputMixin, CustomFactor):
    """Average of the input over the window (``nanmean``)."""

    def compute(self, today, assets, out, data):
        with np.errstate(all="ignore"):
            out[:] = _nanmean(data)

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        return _masked(self, rolling.rolling_mean(aa.data, self.window_length, aa.adjustments), mask)


class WeightedAverageValue(CustomFactor):
    """``nansum(base * weight) / nansum(weight)`` over the window."""

    def compute(self, today, assets, out, base, weight):
        with np.errstate(all="ignore"):
            out[:] = np.nansum(base * weight, axis=0) / np.nansum(weight, axis=0)

    def _vectorized_compute(self, windows, dates, assets, mask):
        base, weight = windows
        out = rolling.weighted_average_value(
            base.data, weight.data, self.window_length, base.adjustments, weight.adjustments
        )
        return _masked(self, out, mask)


class VWAP(WeightedAverageValue):
    """Volume-weighted average price. **Default inputs:** ``[EquityPricing.close, EquityPricing.volume]``"""

    inputs = (EquityPricing.close, EquityPricing.volume)


class MaxDrawdown(SingleInputMixin, CustomFactor):
    """Largest peak-to-trough drop over the window, relative to the trough."""

    def compute(self, today, assets, out, data):
        with np.errstate(all="ignore"):
            drawdowns = np.fmax.accumulate(data, axis=0) - data
            drawdowns[np.isnan(drawdowns)] = -np.inf
            ends = np.argmax(drawdowns, axis=0)
            for i, end in enumerate(ends):
                peak = np.nanmax(data[: end + 1, i]) if not np.all(np.isnan(data[: end + 1, i])) else np.nan
                out[i] = (peak - data[end, i]) / data[end, i]

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        return _masked(self, rolling.max_drawdown(aa.data, self.window_length, aa.adjustments), mask)


class AverageDollarVolume(CustomFactor):
    """``nansum(close * volume) / window_length``. **Default inputs:** close and volume."""

    inputs = [EquityPricing.close, EquityPricing.volume]

    def compute(self, today, assets, out, close, volume):
        out[:] = np.nansum(close * volume, axis=0) / len(close)

    def _vectorized_compute(self, windows, dates, assets, mask):
        close, volume = windows
        out = rolling.average_dollar_volume(
            close.data, volume.data, self.window_length, close.adjustments, volume.adjustments
        )
        return _masked(self, out, mask)


def exponential_weights(length: int, decay_rate: float) -> np.ndarray:
    """``[decay_rate ** length, ..., decay_rate ** 2, decay_rate]`` (oldest row first)."""
    return np.full(length, decay_rate, dtype=np.float64) ** np.arange(length + 1, 1, -1)


class _ExponentialWeightedFactor(SingleInputMixin, CustomFactor):
    """Base of EWMA/EWMSTD: rows weighted by ``decay_rate ** k`` (newest row ``k = 1``)."""

    params = ("decay_rate",)

    def _validate(self) -> None:
        super()._validate()
        rate = self.params["decay_rate"]
        if not isinstance(rate, Number) or not 0.0 < float(rate) <= 1.0:
            raise ValueError(f"{type(self).__name__}: decay_rate must satisfy 0 < decay_rate <= 1, got {rate!r}")

    @classmethod
    def from_span(cls, inputs, window_length, span, **kwargs):
        """``decay_rate = 1 - 2 / (1 + span)`` (pandas' ``span``)."""
        if not isinstance(span, Number):
            raise TypeError(f"{cls.__name__}.from_span() expected a number for span, got {type(span).__name__}")
        if span <= 1:
            raise ValueError(f"`span` must be a positive number. {span} was passed.")
        decay_rate = 1.0 - (2.0 / (1.0 + span))
        return cls(inputs=inputs, window_length=window_length, decay_rate=decay_rate, **kwargs)

    @classmethod
    def from_halflife(cls, inputs, window_length, halflife, **kwargs):
        """``decay_rate = exp(log(0.5) / halflife)`` (pandas' ``halflife``)."""
        if not isinstance(halflife, Number):
            raise TypeError(
                f"{cls.__name__}.from_halflife() expected a number for halflife, got {type(halflife).__name__}"
            )
        if halflife <= 0:
            raise ValueError(f"`span` must be a positive number. {halflife} was passed.")
        decay_rate = float(np.exp(np.log(0.5) / halflife))
        return cls(inputs=inputs, window_length=window_length, decay_rate=decay_rate, **kwargs)

    @classmethod
    def from_center_of_mass(cls, inputs, window_length, center_of_mass, **kwargs):
        """``decay_rate = 1 - 1 / (1 + center_of_mass)`` (pandas' ``com``)."""
        decay_rate = 1.0 - (1.0 / (1.0 + center_of_mass))
        return cls(inputs=inputs, window_length=window_length, decay_rate=decay_rate, **kwargs)


class ExponentialWeightedMovingAverage(_ExponentialWeightedFactor):
    """Exponentially weighted moving average over the window (``np.average`` with exponential weights).

    Also available as ``EWMA``; build it with :meth:`from_span`, :meth:`from_halflife` or
    :meth:`from_center_of_mass`.
    """

    def compute(self, today, assets, out, data, decay_rate):
        out[:] = np.average(data, axis=0, weights=exponential_weights(len(data), decay_rate))

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        out = ewm.exponential_weighted_moving_average(
            aa.data, self.window_length, float(self.params["decay_rate"]), aa.adjustments
        )
        return _masked(self, out, mask)


class ExponentialWeightedMovingStdDev(_ExponentialWeightedFactor):
    """Exponentially weighted (bias-corrected) standard deviation over the window. Also ``EWMSTD``."""

    def compute(self, today, assets, out, data, decay_rate):
        weights = exponential_weights(len(data), decay_rate)
        mean = np.average(data, axis=0, weights=weights)
        variance = np.average((data - mean) ** 2, axis=0, weights=weights)
        squared_weight_sum = np.sum(weights) ** 2
        bias_correction = squared_weight_sum / (squared_weight_sum - np.sum(weights**2))
        out[:] = np.sqrt(variance * bias_correction)

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        out = ewm.exponential_weighted_moving_std(
            aa.data, self.window_length, float(self.params["decay_rate"]), aa.adjustments
        )
        return _masked(self, out, mask)


class LinearWeightedMovingAverage(SingleInputMixin, CustomFactor):
    """Linearly weighted average (newest row weight ``window_length``): ``nansum(x * w) / (n (n + 1) / 2)``."""

    def compute(self, today, assets, out, data):
        ndays = data.shape[0]
        weights = np.arange(1, ndays + 1, dtype=np.float64).reshape(ndays, 1)
        out[:] = np.nansum(data * weights, axis=0) / ((ndays * (ndays + 1)) / 2)

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        out = rolling.linear_weighted_moving_average(aa.data, self.window_length, aa.adjustments)
        return _masked(self, out, mask)


class AnnualizedVolatility(CustomFactor):
    """``nanstd(returns) * annualization_factor ** 0.5`` over the window.

    **Default inputs:** ``[Returns(window_length=2)]``; **default window length:** 252.
    """

    inputs = [Returns(window_length=2)]
    params = {"annualization_factor": 252.0}
    window_length = 252

    def compute(self, today, assets, out, returns, annualization_factor):
        with np.errstate(all="ignore"):
            out[:] = np.nanstd(returns, axis=0) * (annualization_factor**0.5)

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        out = rolling.annualized_volatility(
            aa.data, self.window_length, float(self.params["annualization_factor"]), aa.adjustments
        )
        return _masked(self, out, mask)


class PeerCount(SingleInputMixin, CustomFactor):
    """For each asset, the number of assets (within ``mask``) with the same label of a classifier that day."""

    window_length = 1

    def _validate(self) -> None:
        super()._validate()
        if self.window_length != 1:
            raise ValueError(f"'PeerCount' expected a window length of 1, but was given {self.window_length}.")

    def compute(self, today, assets, out, classifier_values):
        row = classifier_values[0]
        if row.dtype == object:
            labels = np.array([-1 if v is None else hash(v) for v in row], dtype=np.int64)
            null = -1
        else:
            labels, null = row, self.inputs[0].missing_value
        _, inverse, counts = np.unique(labels, return_counts=True, return_inverse=True)
        np.copyto(out, counts[inverse], where=(labels != null))

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        if aa.categories is not None:
            labels, null = aa.data, -1
        else:
            labels, null = latest(aa), self.inputs[0].missing_value
        return _masked(self, peer_count(labels, mask, null), mask)


EWMA = ExponentialWeightedMovingAverage
EWMSTD = ExponentialWeightedMovingStdDev


class Clip(CustomFactor):
    """Values limited to ``[min_bound, max_bound]`` (window length 1)."""

    window_length = 1
    params = ("min_bound", "max_bound")

    def compute(self, today, assets, out, values, min_bound, max_bound):
        np.clip(values[-1], min_bound, max_bound, out=out)

    def _vectorized_compute(self, windows, dates, assets, mask):
        values = latest(windows[0]).astype(np.float64)
        out = np.clip(values, self.params["min_bound"], self.params["max_bound"])
        return _masked(self, out, mask)


def _nanmean(data: np.ndarray) -> np.ndarray:
    count = np.sum(~np.isnan(data), axis=0)
    total = np.nansum(data, axis=0)
    with np.errstate(all="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
