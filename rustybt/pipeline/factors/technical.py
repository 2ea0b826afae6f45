"""Technical-analysis factors (zipline-reloaded's ``factors.technical``), computed by
:mod:`rustybt.pipeline.kernels.technical` and :mod:`rustybt.pipeline.kernels.rolling`."""

from __future__ import annotations

import numpy as np

from rustybt.pipeline.data.equity_pricing import EquityPricing
from rustybt.pipeline.factors.basic import (
    VWAP,
    LinearWeightedMovingAverage,
    MaxDrawdown,
    SimpleMovingAverage,
    WeightedAverageValue,
    _masked,
    exponential_weights,
)
from rustybt.pipeline.factors.custom import CustomFactor
from rustybt.pipeline.kernels import returns as returns_kernels
from rustybt.pipeline.kernels import rolling, technical
from rustybt.pipeline.mixins import MultiOutput, SingleInputMixin

__all__ = [
    "RSI",
    "VWAP",
    "Aroon",
    "BollingerBands",
    "FastStochasticOscillator",
    "IchimokuKinkoHyo",
    "LinearWeightedMovingAverage",
    "MACDSignal",
    "MaxDrawdown",
    "MovingAverageConvergenceDivergenceSignal",
    "RateOfChangePercentage",
    "SimpleMovingAverage",
    "TrueRange",
    "WeightedAverageValue",
]


def _masked_outputs(term, result, mask) -> MultiOutput:
    return MultiOutput({name: _masked(term, getattr(result, name), mask) for name in term.outputs})


class RSI(SingleInputMixin, CustomFactor):
    """Relative Strength Index. **Default inputs:** close; **default window length:** 15."""

    window_length = 15
    inputs = (EquityPricing.close,)
    window_safe = True

    def compute(self, today, assets, out, closes):
        diffs = np.diff(closes, axis=0)
        with np.errstate(all="ignore"):
            ups = np.nanmean(np.clip(diffs, 0, np.inf), axis=0)
            downs = np.abs(np.nanmean(np.clip(diffs, -np.inf, 0), axis=0))
            out[:] = 100 - (100 / (1 + (ups / downs)))

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        return _masked(self, rolling.rsi(aa.data, self.window_length, aa.adjustments), mask)


class BollingerBands(CustomFactor):
    """Bollinger Bands: outputs ``lower``, ``middle`` (nanmean) and ``upper`` (middle +- k * nanstd).

    **Default inputs:** close. Parameters: ``window_length``, ``k``.
    """

    params = ("k",)
    inputs = (EquityPricing.close,)
    outputs = ("lower", "middle", "upper")

    def compute(self, today, assets, out, close, k):
        difference = k * np.nanstd(close, axis=0)
        out.middle = middle = np.nanmean(close, axis=0)
        out.upper = middle + difference
        out.lower = middle - difference

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        res = technical.bollinger_bands(aa.data, self.window_length, float(self.params["k"]), aa.adjustments)
        return _masked_outputs(self, res, mask)


class Aroon(CustomFactor):
    """Aroon indicator: outputs ``down`` and ``up``. **Default inputs:** low, high."""

    inputs = (EquityPricing.low, EquityPricing.high)
    outputs = ("down", "up")

    def compute(self, today, assets, out, lows, highs):
        wl = self.window_length
        out.up = (100 * np.nanargmax(highs, axis=0)) / (wl - 1)
        out.down = (100 * np.nanargmin(lows, axis=0)) / (wl - 1)

    def _vectorized_compute(self, windows, dates, assets, mask):
        low, high = windows
        res = technical.aroon(low.data, high.data, self.window_length, low.adjustments, high.adjustments)
        return _masked_outputs(self, res, mask)


class FastStochasticOscillator(CustomFactor):
    """Fast stochastic oscillator (%K). **Default inputs:** close, low, high; **window length:** 14."""

    inputs = (EquityPricing.close, EquityPricing.low, EquityPricing.high)
    window_safe = True
    window_length = 14

    def compute(self, today, assets, out, closes, lows, highs):
        highest_highs = np.nanmax(highs, axis=0)
        lowest_lows = np.nanmin(lows, axis=0)
        with np.errstate(all="ignore"):
            out[:] = ((closes[-1] - lowest_lows) / (highest_highs - lowest_lows)) * 100

    def _vectorized_compute(self, windows, dates, assets, mask):
        close, low, high = windows
        out = technical.fast_stochastic_oscillator(
            close.data, low.data, high.data, self.window_length, close.adjustments, low.adjustments,
            high.adjustments,
        )  # fmt: skip
        return _masked(self, out, mask)


class IchimokuKinkoHyo(CustomFactor):
    """Ichimoku cloud: ``tenkan_sen``, ``kijun_sen``, ``senkou_span_a``, ``senkou_span_b``, ``chikou_span``.

    **Default inputs:** high, low, close; **window length:** 52.
    """

    params = {"tenkan_sen_length": 9, "kijun_sen_length": 26, "chikou_span_length": 26}
    inputs = (EquityPricing.high, EquityPricing.low, EquityPricing.close)
    outputs = ("tenkan_sen", "kijun_sen", "senkou_span_a", "senkou_span_b", "chikou_span")
    window_length = 52

    def _validate(self) -> None:
        super()._validate()
        for k, v in self.params.items():
            if v > self.window_length:
                raise ValueError(f"{k} must be <= the window_length: {v} > {self.window_length}")

    def compute(self, today, assets, out, high, low, close, tenkan_sen_length, kijun_sen_length, chikou_span_length):
        out.tenkan_sen = tenkan = (high[-tenkan_sen_length:].max(axis=0) + low[-tenkan_sen_length:].min(axis=0)) / 2
        out.kijun_sen = kijun = (high[-kijun_sen_length:].max(axis=0) + low[-kijun_sen_length:].min(axis=0)) / 2
        out.senkou_span_a = (tenkan + kijun) / 2
        out.senkou_span_b = (high.max(axis=0) + low.min(axis=0)) / 2
        out.chikou_span = close[chikou_span_length]

    def _vectorized_compute(self, windows, dates, assets, mask):
        high, low, close = windows
        p = self.params
        res = technical.ichimoku_kinko_hyo(
            high.data, low.data, close.data, self.window_length, p["tenkan_sen_length"], p["kijun_sen_length"],
            p["chikou_span_length"], high.adjustments, low.adjustments, close.adjustments,
        )  # fmt: skip
        return _masked_outputs(self, res, mask)


class RateOfChangePercentage(CustomFactor):
    """``((price - price n sessions ago) / price n sessions ago) * 100`` (no default inputs or window)."""

    def compute(self, today, assets, out, close):
        with np.errstate(all="ignore"):
            out[:] = ((close[-1] - close[0]) / close[0]) * 100

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        out = returns_kernels.rate_of_change_percentage(aa.data, self.window_length, aa.adjustments)
        return _masked(self, out, mask)


class TrueRange(CustomFactor):
    """True range: max(high - low, |high - prev close|, |low - prev close|). **Window length:** 2."""

    inputs = (EquityPricing.high, EquityPricing.low, EquityPricing.close)
    window_length = 2

    def compute(self, today, assets, out, highs, lows, closes):
        high_to_low = highs[1:] - lows[1:]
        high_to_prev_close = np.abs(highs[1:] - closes[:-1])
        low_to_prev_close = np.abs(lows[1:] - closes[:-1])
        out[:] = np.nanmax(np.dstack((high_to_low, high_to_prev_close, low_to_prev_close)), 2)

    def _vectorized_compute(self, windows, dates, assets, mask):
        if self.window_length != 2:
            return self._compute_python(windows, dates, assets, mask)
        high, low, close = windows
        out = technical.true_range(high.data, low.data, close.data, high.adjustments, low.adjustments,
                                   close.adjustments)  # fmt: skip
        return _masked(self, out, mask)


class MovingAverageConvergenceDivergenceSignal(CustomFactor):
    """MACD signal line: EWMA(signal_period) of EWMA(fast_period) - EWMA(slow_period) of close.

    The window length is ``slow_period + signal_period - 1`` (not a parameter). Also ``MACDSignal``.
    """

    inputs = (EquityPricing.close,)
    params = ("fast_period", "slow_period", "signal_period")

    def __new__(cls, fast_period=12, slow_period=26, signal_period=9, *args, **kwargs):
        for name, value in (
            ("fast_period", fast_period),
            ("slow_period", slow_period),
            ("signal_period", signal_period),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"MACDSignal() expected {name} to be an integer >= 1, got {value!r}")
        if slow_period <= fast_period:
            raise ValueError(
                "'slow_period' must be greater than 'fast_period', but got\n"
                f"slow_period={slow_period}, fast_period={fast_period}"
            )
        return super().__new__(
            cls,
            *args,
            fast_period=fast_period,
            slow_period=slow_period,
            signal_period=signal_period,
            window_length=slow_period + signal_period - 1,
            **kwargs,
        )

    @staticmethod
    def _ewma(data, length):
        decay_rate = 1.0 - (2.0 / (1.0 + length))
        return np.average(data, axis=1, weights=exponential_weights(length, decay_rate))

    def compute(self, today, assets, out, close, fast_period, slow_period, signal_period):
        def rolling_window(a, length):
            return np.lib.stride_tricks.sliding_window_view(a, length, axis=0)

        slow = self._ewma(np.moveaxis(rolling_window(close, slow_period), 2, 1), slow_period)
        fast = self._ewma(np.moveaxis(rolling_window(close, fast_period), 2, 1)[-signal_period:], fast_period)
        macd = fast - slow
        out[:] = self._ewma(macd.T, signal_period)

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        p = self.params
        out = technical.macd_signal(aa.data, p["fast_period"], p["slow_period"], p["signal_period"], aa.adjustments)
        return _masked(self, out, mask)


MACDSignal = MovingAverageConvergenceDivergenceSignal
