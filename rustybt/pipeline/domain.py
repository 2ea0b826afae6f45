"""Pipeline domains: the calendar that labels a pipeline's rows and the assets that form its columns.

A concrete :class:`Domain` is a trading calendar (``exchange_calendars`` name) plus, optionally, a country code and
the asset classes it covers. :data:`US_EQUITIES` (XNYS equities) and :data:`CRYPTO` (crypto on the ``24/7``
calendar) are built in; ``Domain("XLON", "GB")`` makes any other. :data:`GENERIC` is the domain of terms that can
run anywhere; a pipeline needs a concrete domain (from its terms, its ``domain=`` or the engine's default).

RustyBT assets carry a calendar rather than zipline's country code, so an asset belongs to a domain when its
asset class is one of the domain's classes and its calendar is the domain's calendar (aliases resolved, so an
asset on ``NASDAQ`` belongs to an ``XNYS`` domain). An asset that has a ``country_code`` attribute must also
match the domain's country.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import pandas as pd

from rustybt.pipeline.errors import AmbiguousDomain

__all__ = ["CRYPTO", "GENERIC", "US_EQUITIES", "Domain", "GenericDomain", "infer_domain"]


@lru_cache(maxsize=64)
def _canonical_calendar(name: str) -> str:
    try:
        import exchange_calendars as xcals

        return xcals.resolve_alias(name)
    except Exception:
        return name


@lru_cache(maxsize=32)
def _sessions(calendar_name: str) -> pd.DatetimeIndex:
    from rustybt.calendars import calendar_sessions

    return calendar_sessions(calendar_name)


class Domain:
    """A concrete pipeline domain.

    Parameters
    ----------
    calendar_name
        ``exchange_calendars`` name of the calendar whose sessions label the rows (e.g. ``"XNYS"``, ``"24/7"``).
    country
        Optional ISO-3166 country code (checked only against assets that carry a ``country_code``).
    asset_classes
        Asset classes (``Asset.asset_class``: ``"equity"``, ``"crypto_spot"``...) the domain covers; ``None`` =
        every class.
    name
        Display name.
    """

    def __init__(
        self,
        calendar_name: str,
        country: str | None = None,
        *,
        asset_classes: Iterable[str] | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(calendar_name, str) or not calendar_name:
            raise TypeError(f"Domain expects a calendar name (str), got {calendar_name!r}")
        self.calendar_name = calendar_name
        self._country = country
        self.asset_classes = None if asset_classes is None else frozenset(asset_classes)
        self.name = name

    # --- identity -------------------------------------------------------------------------------------------------
    def _key(self):
        return (_canonical_calendar(self.calendar_name), self._country, self.asset_classes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Domain) or isinstance(other, GenericDomain):
            return NotImplemented if not isinstance(other, Domain) else False
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        if self.name:
            return self.name
        args = [repr(self.calendar_name)]
        if self._country is not None:
            args.append(repr(self._country))
        return f"Domain({', '.join(args)})"

    # --- interface ------------------------------------------------------------------------------------------------
    @property
    def country_code(self) -> str | None:
        return self._country

    @property
    def calendar(self):
        from rustybt.calendars import get_calendar

        return get_calendar(self.calendar_name)

    def sessions(self) -> pd.DatetimeIndex:
        """All sessions of the domain's calendar (tz-naive)."""
        return _sessions(self.calendar_name)

    all_sessions = sessions

    def includes(self, asset) -> bool:
        """Whether ``asset`` is one of this domain's assets."""
        if self.asset_classes is not None and getattr(asset, "asset_class", None) not in self.asset_classes:
            return False
        cal = getattr(asset, "calendar_name", None)
        if cal and _canonical_calendar(cal) != _canonical_calendar(self.calendar_name):
            return False
        code = getattr(asset, "country_code", None)
        return not (code and self._country and code != self._country)

    def roll_forward(self, dt) -> pd.Timestamp:
        """The first session on or after ``dt``."""
        dt = _naive(dt)
        sessions = self.sessions()
        pos = sessions.searchsorted(dt)
        if pos >= len(sessions):
            raise ValueError(
                f"Date {dt.date()} was past the last session for domain {self!r}. "
                f"The last session for this domain is {sessions[-1].date()}."
            )
        return sessions[pos]


class GenericDomain(Domain):
    """The domain of terms that can run on any concrete domain (singleton :data:`GENERIC`)."""

    _instance: GenericDomain | None = None

    def __new__(cls) -> GenericDomain:
        if cls._instance is None:
            cls._instance = object.__new__(cls)
        return cls._instance

    def __init__(self) -> None:
        self.calendar_name = ""
        self._country = None
        self.asset_classes = None
        self.name = "GENERIC"

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return hash("GENERIC-domain")

    def __repr__(self) -> str:
        return "GENERIC"

    def sessions(self) -> pd.DatetimeIndex:
        raise NotImplementedError("Can't get sessions for generic domain.")

    all_sessions = sessions

    @property
    def country_code(self):
        raise NotImplementedError("Can't get country code for generic domain.")

    def includes(self, asset) -> bool:
        return True


GENERIC = GenericDomain()
US_EQUITIES = Domain("XNYS", "US", asset_classes=("equity",), name="US_EQUITIES")
CRYPTO = Domain("24/7", None, asset_classes=("crypto_spot", "crypto_perpetual"), name="CRYPTO")


def infer_domain(terms) -> Domain:
    """The single concrete domain among ``terms`` (GENERIC if none); AmbiguousDomain if several."""
    domains = {t.domain for t in terms}
    domains.discard(GENERIC)
    if not domains:
        return GENERIC
    if len(domains) == 1:
        return domains.pop()
    raise AmbiguousDomain(sorted(domains, key=repr))


def _naive(dt) -> pd.Timestamp:
    ts = pd.Timestamp(dt)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    return ts
