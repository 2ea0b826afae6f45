"""What :func:`~rustybt.data.validation.validate_bars` checks: :data:`RULES` and :class:`ValidationConfig`."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal

from rustybt.errors import ConfigError

__all__ = ["RULES", "Mode", "ValidationConfig"]

Mode = Literal["strict", "lenient"]

#: Every rule and its severity (``unsorted`` is an error in strict mode and a warning in lenient mode).
RULES: dict[str, str] = {
    "null_value": "error",
    "not_numeric": "error",
    "nan_value": "error",
    "infinite_value": "error",
    "negative_price": "error",
    "negative_volume": "error",
    "zero_price": "warning",
    "high_below_low": "error",
    "high_below_open_close": "error",
    "low_above_open_close": "error",
    "duplicate_timestamp": "error",
    "unsorted": "error",
    "future_timestamp": "error",
    "off_calendar": "warning",
    "calendar_gap": "warning",
    "price_jump": "warning",
    "volume_spike": "warning",
}


@dataclass(frozen=True)
class ValidationConfig:
    """What :func:`validate_bars` checks and how it treats failures.

    Parameters
    ----------
    mode
        ``"strict"``: nothing is dropped and the caller decides what to do with a report that is not
        ``ok`` (the catalog refuses the ingest). ``"lenient"``: rows with any error are dropped and counted,
        the frame is sorted if it was not, duplicates keep their last occurrence.
    max_abs_return
        A close that moves more than this fraction from the previous close of the same asset is a
        ``price_jump`` warning (unadjusted splits, bad ticks). ``None`` turns the check off.
    volume_spike_factor
        A volume above this multiple of the median volume of the asset's previous 20 bars is a
        ``volume_spike`` warning. ``None`` turns the check off.
    future_tolerance
        Timestamps later than now plus this are ``future_timestamp`` errors.
    check_gaps
        Report sessions of the calendar that have no bar between an asset's first and last daily bar
        (``calendar_gap`` warnings).
    max_violations_kept
        Most violation rows the report stores in detail; the counts stay exact. The room is shared fairly
        between the rules that fired, errors first.
    calendar
        Calendar used when :func:`validate_bars` is not given one (``None``: no calendar checks then).
    """

    mode: Mode = "strict"
    max_abs_return: float | None = 0.5
    volume_spike_factor: float | None = 20.0
    future_tolerance: timedelta = timedelta(0)
    check_gaps: bool = True
    max_violations_kept: int = 100_000
    calendar: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("strict", "lenient"):
            raise ConfigError(f"validation mode must be 'strict' or 'lenient', not {self.mode!r}")
        for name in ("max_abs_return", "volume_spike_factor"):
            value = getattr(self, name)
            positive = isinstance(value, int | float) and math.isfinite(value) and value > 0
            if value is not None and not positive:
                raise ConfigError(f"ValidationConfig.{name} must be a positive number or None, not {value!r}")
        if not isinstance(self.future_tolerance, timedelta):
            raise ConfigError(
                f"ValidationConfig.future_tolerance must be a datetime.timedelta, not {self.future_tolerance!r}"
            )
        if not isinstance(self.max_violations_kept, int) or self.max_violations_kept < 0:
            raise ConfigError(
                f"ValidationConfig.max_violations_kept must be an int >= 0, not {self.max_violations_kept!r}"
            )

    @classmethod
    def stocks(cls, **overrides: Any) -> ValidationConfig:
        """Preset for exchange-traded equities (daily bars on an exchange calendar).

        ``max_abs_return=0.4``: an unadjusted 2:1 split shows as a move of about -50%, which a 0.5 threshold
        misses whenever the stock also rose that day; real one-day moves beyond 40% are rare for listed stocks
        and worth a look when they happen. ``volume_spike_factor=20``: index rebalancing and earnings days
        reach 5-10x the median volume, so 20x points at unit errors (shares vs. lots) rather than news.
        Calendar gaps are checked; pass the exchange's calendar (``"XNYS"``...) to :func:`validate_bars`.
        """
        return replace(cls(max_abs_return=0.4, volume_spike_factor=20.0, check_gaps=True), **overrides)

    @classmethod
    def crypto(cls, **overrides: Any) -> ValidationConfig:
        """Preset for crypto markets (24/7 trading, many venues, no circuit breakers).

        ``max_abs_return=0.75``: coins move 30-50% in a bar on listings and news without anything being
        wrong, so a stock-like threshold would bury the report in real moves; 75% still catches the usual
        data faults, a shifted decimal point or a change of quote unit, in both directions (x10 is +900%,
        /10 is -90%). ``volume_spike_factor=50``: crypto volume is heavy-tailed (liquidation cascades and
        listing days reach 10-30x the median). ``calendar="24/7"``: every day is a session, so ``calendar_gap`` reports
        missing daily candles (exchange outages, pagination holes) and ``off_calendar`` never fires.
        ``future_tolerance`` of one minute absorbs the skew between the exchange's clock and ours on the
        candle that is still forming.
        """
        base = cls(
            max_abs_return=0.75,
            volume_spike_factor=50.0,
            check_gaps=True,
            future_tolerance=timedelta(minutes=1),
            calendar="24/7",
        )
        return replace(base, **overrides)
