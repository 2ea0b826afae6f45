"""Technical-analysis window kernels: Bollinger Bands, Aroon, fast stochastic, Ichimoku, True Range, MACD signal.

Formulas follow zipline-reloaded's built-in factors (``zipline.pipeline.factors.technical``) exactly; the few
places where zipline would raise on degenerate input and these kernels return NaN instead are noted per function.

Every kernel takes float64 ``(n_dates, n_assets)`` inputs whose asset columns are contiguous, the window length,
one :class:`~rustybt.pipeline.kernels._adjust.Adjustments` record per input, preallocated F-ordered outputs of
shape ``(n_dates - window_length + 1, n_assets)`` and then its scalar parameters: ``out[i, j]`` is the value for the
window of rows ``[i, i + window_length)`` of asset ``j``, computed on data adjusted with exactly the adjustments
whose ``apply_row <= i + window_length - 1`` (the shared driver of :mod:`rustybt.pipeline.kernels._segments`).

- :mod:`.bands` -- Bollinger Bands;
- :mod:`.ranges` -- Aroon, fast stochastic oscillator, Ichimoku Kinko Hyo, True Range (monotonic deques);
- :mod:`.macd` -- MACD signal.
"""

from rustybt.pipeline.kernels.technical.bands import BollingerBandsResult, bollinger_bands, bollinger_bands_kernel
from rustybt.pipeline.kernels.technical.macd import macd_signal, macd_signal_kernel, macd_signal_window_length
from rustybt.pipeline.kernels.technical.ranges import (
    AroonResult,
    IchimokuKinkoHyoResult,
    aroon,
    aroon_kernel,
    fast_stochastic_oscillator,
    fast_stochastic_oscillator_kernel,
    ichimoku_kinko_hyo,
    ichimoku_kinko_hyo_kernel,
    true_range,
    true_range_kernel,
)

__all__ = [
    "AroonResult",
    "BollingerBandsResult",
    "IchimokuKinkoHyoResult",
    "aroon",
    "aroon_kernel",
    "bollinger_bands",
    "bollinger_bands_kernel",
    "fast_stochastic_oscillator",
    "fast_stochastic_oscillator_kernel",
    "ichimoku_kinko_hyo",
    "ichimoku_kinko_hyo_kernel",
    "macd_signal",
    "macd_signal_kernel",
    "macd_signal_window_length",
    "true_range",
    "true_range_kernel",
]
