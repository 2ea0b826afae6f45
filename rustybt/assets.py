"""Assets and the asset finder.

Every asset has an integer ``sid``, a ``symbol`` valid over ``[start_date, end_date]``, an exchange, a calendar
and an asset class. Subclasses add what their class needs (a future's root symbol and expiry, an option's strike).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from rustybt.errors import SidNotFound, SymbolNotFound

__all__ = [
    "ASSET_CLASSES",
    "Asset",
    "AssetFinder",
    "CryptoPerpetual",
    "CryptoSpot",
    "Equity",
    "ForexPair",
    "Future",
    "Option",
    "asset_from_record",
]


@dataclass(frozen=True, eq=False)
class Asset:
    """A tradable instrument. Equal (and hashed) by ``sid`` alone, like zipline's assets, so assets work as
    DataFrame column labels and dict keys, and compare with plain integers."""

    sid: int
    symbol: str
    exchange: str = ""
    start_date: pd.Timestamp | None = None
    end_date: pd.Timestamp | None = None
    calendar_name: str = "XNYS"
    asset_name: str = ""
    asset_class: ClassVar[str] = "asset"

    def __hash__(self) -> int:
        return hash(self.sid)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Asset):
            return self.sid == other.sid
        if isinstance(other, int | np.integer):
            return self.sid == int(other)
        return NotImplemented

    def __lt__(self, other: object) -> bool:
        return int(self) < int(other)  # type: ignore[call-overload]

    def __int__(self) -> int:
        return self.sid

    def __index__(self) -> int:
        return self.sid

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.sid} [{self.symbol}])"

    def _repr_html_(self) -> str:
        from rustybt._html import asset_html

        return asset_html(self)

    def is_alive_for_session(self, session: pd.Timestamp) -> bool:
        """True if ``session`` lies within the asset's ``[start_date, end_date]``."""
        session = pd.Timestamp(session).tz_localize(None) if pd.Timestamp(session).tzinfo else pd.Timestamp(session)
        start = self.start_date if self.start_date is not None else pd.Timestamp.min
        end = self.end_date if self.end_date is not None else pd.Timestamp.max
        return start <= session <= end

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe dict (dates as ISO strings) with ``asset_class``; inverse of :func:`asset_from_record`."""
        record = {"asset_class": self.asset_class}
        for key, value in asdict(self).items():
            record[key] = value.isoformat() if isinstance(value, pd.Timestamp) else value
        return record


@dataclass(frozen=True, eq=False, repr=False)
class Equity(Asset):
    """A share of stock, an ETF or an index."""

    asset_class: ClassVar[str] = "equity"


@dataclass(frozen=True, eq=False, repr=False)
class CryptoSpot(Asset):
    """A spot crypto pair, e.g. BTC/USDT. Trades 24/7."""

    base: str = ""
    quote: str = ""
    calendar_name: str = "24/7"
    asset_class: ClassVar[str] = "crypto_spot"


@dataclass(frozen=True, eq=False, repr=False)
class CryptoPerpetual(Asset):
    """A perpetual swap, e.g. BTC/USDT:USDT, settled in ``settle``."""

    base: str = ""
    quote: str = ""
    settle: str = ""
    contract_size: float = 1.0
    calendar_name: str = "24/7"
    asset_class: ClassVar[str] = "crypto_perpetual"


@dataclass(frozen=True, eq=False, repr=False)
class Future(Asset):
    """A dated futures contract of family ``root_symbol``."""

    root_symbol: str = ""
    expiration_date: pd.Timestamp | None = None
    auto_close_date: pd.Timestamp | None = None
    first_notice_date: pd.Timestamp | None = None
    multiplier: float = 1.0
    asset_class: ClassVar[str] = "future"


@dataclass(frozen=True, eq=False, repr=False)
class ForexPair(Asset):
    """A currency pair, e.g. EUR/USD."""

    base: str = ""
    quote: str = ""
    calendar_name: str = "24/5"
    asset_class: ClassVar[str] = "forex"


@dataclass(frozen=True, eq=False, repr=False)
class Option(Asset):
    """A listed option on ``underlying``; ``right`` is "call" or "put"."""

    underlying: str = ""
    strike: float = 0.0
    expiration_date: pd.Timestamp | None = None
    right: str = "call"
    multiplier: float = 100.0
    asset_class: ClassVar[str] = "option"


ASSET_CLASSES: dict[str, type[Asset]] = {
    cls.asset_class: cls for cls in (Equity, CryptoSpot, CryptoPerpetual, Future, ForexPair, Option)
}
_DATE_FIELDS = {"start_date", "end_date", "expiration_date", "auto_close_date", "first_notice_date"}


def asset_from_record(record: Mapping[str, Any]) -> Asset:
    """Build the right :class:`Asset` subclass from a dict with an ``asset_class`` key."""
    data = dict(record)
    cls = ASSET_CLASSES.get(str(data.pop("asset_class", "equity")), Equity)
    known = {f for f in cls.__dataclass_fields__}
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            continue
        if key in _DATE_FIELDS and value is not None:
            ts = pd.Timestamp(value)
            value = ts.tz_convert(None) if ts.tzinfo else ts
        kwargs[key] = value
    return cls(**kwargs)


@dataclass
class AssetFinder:
    """Look up assets by sid or by symbol as of a date.

    Parameters
    ----------
    assets
        The assets of one ingestion.
    symbol_history
        Optional extra ``(symbol, sid, start, end)`` validity ranges (a ticker reused by several companies over
        time); by default each asset's own symbol over its lifetime.
    """

    assets: Sequence[Asset]
    symbol_history: Sequence[tuple[str, int, pd.Timestamp | None, pd.Timestamp | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_sid = {a.sid: a for a in self.assets}
        history = list(self.symbol_history) or [(a.symbol, a.sid, a.start_date, a.end_date) for a in self.assets]
        self._by_symbol: dict[str, list[tuple[pd.Timestamp, pd.Timestamp, int]]] = {}
        for symbol, sid, start, end in history:
            key = _norm_symbol(symbol)
            self._by_symbol.setdefault(key, []).append(
                (
                    start if start is not None else pd.Timestamp.min,
                    end if end is not None else pd.Timestamp.max,
                    sid,
                )
            )
        for spans in self._by_symbol.values():
            spans.sort()

    @property
    def sids(self) -> list[int]:
        """All sids, ascending."""
        return sorted(self._by_sid)

    def __len__(self) -> int:
        return len(self._by_sid)

    def __iter__(self):
        return iter(sorted(self.assets, key=int))

    def retrieve_asset(self, sid: int, default_none: bool = False) -> Asset | None:
        """The asset with ``sid``.

        Raises
        ------
        SidNotFound
            Unknown sid (unless ``default_none``).
        """
        asset = self._by_sid.get(int(sid))
        if asset is None and not default_none:
            raise SidNotFound(f"no asset with sid {sid}; known sids: {_preview(self.sids)}")
        return asset

    def retrieve_all(self, sids: Iterable[int], default_none: bool = False) -> list[Asset | None]:
        """:meth:`retrieve_asset` for each sid."""
        return [self.retrieve_asset(s, default_none) for s in sids]

    def lookup_symbol(self, symbol: str, as_of_date: pd.Timestamp | str | None = None) -> Asset:
        """The asset that held ``symbol`` on ``as_of_date`` (or the only/latest holder when no date is given).

        Raises
        ------
        SymbolNotFound
            The symbol is unknown, or no asset held it on that date; the message lists close matches.
        """
        spans = self._by_symbol.get(_norm_symbol(symbol))
        if not spans:
            import difflib

            close = difflib.get_close_matches(_norm_symbol(symbol), list(self._by_symbol), n=5)
            hint = f" Close matches: {', '.join(close)}." if close else ""
            raise SymbolNotFound(f"symbol {symbol!r} not found.{hint}")
        if as_of_date is None:
            return self._by_sid[spans[-1][2]]
        when = pd.Timestamp(as_of_date)
        when = when.tz_convert(None) if when.tzinfo else when
        for start, end, sid in reversed(spans):
            if start <= when <= end:
                return self._by_sid[sid]
        ranges = "; ".join(f"{_fmt(s)}..{_fmt(e)}" for s, e, _ in spans)
        raise SymbolNotFound(f"symbol {symbol!r} was not held by any asset on {when.date()} (held over {ranges})")

    def lookup_symbols(self, symbols: Iterable[str], as_of_date: pd.Timestamp | str | None = None) -> list[Asset]:
        """:meth:`lookup_symbol` for each symbol."""
        return [self.lookup_symbol(s, as_of_date) for s in symbols]

    def lifetimes(self, dates: pd.DatetimeIndex, include_start_date: bool = False) -> pd.DataFrame:
        """Boolean frame (dates x sids): True where the asset existed on that date.

        Follows zipline: with ``include_start_date=False`` an asset is alive from the day *after* its start
        date (pipeline rows for day D know only what existed before D) through its end date.
        """
        dates = pd.DatetimeIndex(dates)
        if dates.tz is not None:
            dates = dates.tz_convert(None)
        sids, starts, ends = self._lifetime_bounds
        d = dates.as_unit("ns").asi8
        if dates.is_monotonic_increasing:
            # each asset is alive over one run of rows: built asset by asset (the transpose of an F-ordered
            # array, as the pipeline engine uses it), with contiguous inner loops
            first = np.searchsorted(d, starts, side="left" if include_start_date else "right")
            stop = np.searchsorted(d, ends, side="right")
            rows = np.arange(len(d))
            alive_t = rows >= first[:, None]
            alive_t &= rows < stop[:, None]
            alive = alive_t.T
        else:
            alive = np.empty((len(dates), len(sids)), dtype=bool, order="F")
            (np.greater_equal if include_start_date else np.greater)(d[:, None], starts[None, :], out=alive)
            alive &= d[:, None] <= ends[None, :]
        return pd.DataFrame(alive, index=dates, columns=pd.Index(sids, dtype="int64"), copy=False)

    @cached_property
    def _lifetime_bounds(self) -> tuple[list[int], np.ndarray, np.ndarray]:
        """Sids (ascending) with their start and end dates as int64 ns (open ends: the int64 extremes)."""
        sids = self.sids
        starts = np.array([_ns(self._by_sid[s].start_date, np.iinfo(np.int64).min) for s in sids], dtype=np.int64)
        ends = np.array([_ns(self._by_sid[s].end_date, np.iinfo(np.int64).max) for s in sids], dtype=np.int64)
        return sids, starts, ends

    def group_by_class(self, sids: Iterable[int]) -> dict[str, list[int]]:
        """Sids grouped by asset class (used by dispatching readers)."""
        groups: dict[str, list[int]] = {}
        for sid in sids:
            groups.setdefault(self.retrieve_asset(sid).asset_class, []).append(int(sid))
        return groups


def _norm_symbol(symbol: str) -> str:
    return str(symbol).strip().upper()


def _ns(ts: pd.Timestamp | None, default: int) -> int:
    return default if ts is None else int(pd.Timestamp(ts).value)


def _fmt(ts: pd.Timestamp) -> str:
    return "..." if ts in (pd.Timestamp.min, pd.Timestamp.max) else str(ts.date())


def _preview(items: Sequence[int], n: int = 10) -> str:
    head = ", ".join(map(str, items[:n]))
    return head + (f", ... ({len(items)} in all)" if len(items) > n else "")
