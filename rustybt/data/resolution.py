"""Bar resolutions the catalog stores: 1m 5m 15m 30m 1h 2h 4h 1d 1w 1M."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from rustybt.errors import ResolutionError

__all__ = ["RESOLUTIONS", "Resolution", "parse_resolution"]


@dataclass(frozen=True, order=True)
class Resolution:
    """A bar resolution. Ordered by its nominal length, so ``Resolution('1m') < Resolution('1d')``.

    Attributes
    ----------
    nominal_seconds
        Length used for ordering; a month counts as 31 days, a week as 7.
    name
        The canonical spelling (``"1m"``, ``"1h"``, ``"1d"``, ``"1w"``, ``"1M"``).
    """

    nominal_seconds: int
    name: str

    @property
    def is_intraday(self) -> bool:
        """True for resolutions finer than a session (minutes and hours)."""
        return self.nominal_seconds < 86_400

    @property
    def timedelta(self) -> pd.Timedelta:
        """Fixed length of an intraday bar (not defined for 1d, 1w, 1M)."""
        if not self.is_intraday:
            raise ResolutionError(f"{self.name} bars have no fixed length; they follow the calendar's sessions")
        return pd.Timedelta(seconds=self.nominal_seconds)

    @property
    def data_frequency(self) -> str:
        """zipline's vocabulary: ``"minute"`` for intraday, ``"daily"`` otherwise."""
        return "minute" if self.is_intraday else "daily"

    def __str__(self) -> str:
        return self.name


_UNITS = {"m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, "M": 31 * 86_400}
RESOLUTIONS: tuple[str, ...] = ("1m", "5m", "15m", "30m", "1h", "2h", "4h", "1d", "1w", "1M")
_ALIASES = {
    "minute": "1m",
    "1min": "1m",
    "1t": "1m",
    "hour": "1h",
    "60m": "1h",
    "daily": "1d",
    "day": "1d",
    "d": "1d",
    "1D": "1d",
    "weekly": "1w",
    "1W": "1w",
    "monthly": "1M",
    "1mo": "1M",
}


def parse_resolution(value: str | Resolution) -> Resolution:
    """Parse ``value`` into a :class:`Resolution`.

    Accepts the canonical names plus common aliases (``"daily"``, ``"minute"``, ``"1min"``, ``"1D"``...).

    Raises
    ------
    ResolutionError
        Unknown resolution; the message lists the supported ones.
    """
    if isinstance(value, Resolution):
        return value
    if isinstance(value, str):
        return _parse_name(value)  # memoized: hot paths (history) pass the same few strings again and again
    return _parse(value)


@lru_cache(maxsize=64)
def _parse_name(value: str) -> Resolution:
    return _parse(value)


def _parse(value) -> Resolution:
    text = str(value).strip()
    text = _ALIASES.get(text, _ALIASES.get(text.lower(), text) if text != "1M" else text)
    if text not in RESOLUTIONS:
        raise ResolutionError(f"unknown resolution {value!r}; supported: {', '.join(RESOLUTIONS)}")
    count, unit = int(text[:-1]), text[-1]
    return Resolution(count * _UNITS[unit], text)
