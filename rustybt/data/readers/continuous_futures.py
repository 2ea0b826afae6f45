"""Continuous futures: one price series stitched from the successive contracts of a futures family.

A :class:`ContinuousFuture` names a chain (root symbol, ``offset`` from the primary contract, roll style,
adjustment style) over one pinned :class:`~rustybt.data.readers.DataPortal`. The semantics follow
zipline-reloaded's (``assets/roll_finder.py``, ``data/history_loader.py``):

Chain
    The root's contracts (:class:`~rustybt.assets.Future` assets with ``root_symbol``, ``expiration_date`` and
    ``auto_close_date``) ordered by expiration date (then auto-close date, then symbol).

Calendar roll
    On session ``s`` the primary contract is the first contract of the chain whose ``auto_close_date`` is after
    ``s``: from a contract's auto-close date on, the next contract is the primary one. After the last contract
    auto-closes there is nothing to roll into and it stays primary.

Volume roll
    Walking forward over the bundle's sessions from the calendar primary of the first session, the primary
    contract ``F`` hands over to the next contract ``B`` on the first session ``s`` whose *previous* session
    saw more volume in ``B`` than in ``F`` (a contract without a bar traded 0), and at the latest on ``F``'s
    auto-close date (the calendar rule). A roll is never undone: once the volume moved, later days on which
    ``F`` out-trades ``B`` again do not roll back (zipline's docstring rule, "treat the first switch as the
    roll").

Offset
    ``offset=k`` takes the contract ``k`` places after the primary one in the chain, if it has started trading
    by that session (zipline's ``contract_at_offset``); otherwise there is no contract that session.

Adjustment
    At a roll on session ``r`` from contract ``F`` to ``B``, with ``f`` and ``b`` their last closes at or before
    the session before ``r``: ``'mul'`` multiplies every earlier row by ``b / f``, ``'add'`` adds ``b - f``;
    several rolls compound (products of ratios, sums of differences). ``None`` leaves the stitched prices raw.
    Open, high, low, close and price are adjusted; volume never. Adjustments are taken as of the window's end:
    a roll after ``end_dt`` never changes the window (no lookahead), and every roll decision uses only data of
    sessions before it.

Only daily bundles are supported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rustybt._utils import to_utc
from rustybt.assets import Future
from rustybt.errors import (
    InvalidArgument,
    LookaheadError,
    NoDataBeforeDate,
    NoDataOnDate,
    ResolutionError,
    SymbolNotFound,
)

if TYPE_CHECKING:
    from rustybt.data.readers.data_portal import DataPortal

__all__ = [
    "ADJUSTMENT_STYLES",
    "CONTINUOUS_FIELDS",
    "ROLL_STYLES",
    "ContinuousFuture",
    "continuous_future",
    "current_chain",
    "futures_chain",
]

log = logging.getLogger(__name__)

ROLL_STYLES: tuple[str, ...] = ("calendar", "volume")
ADJUSTMENT_STYLES: tuple[str | None, ...] = ("mul", "add", None)
#: Fields of :meth:`ContinuousFuture.history`; ``contract`` gives the active :class:`Future` of each session.
CONTINUOUS_FIELDS: tuple[str, ...] = ("open", "high", "low", "close", "volume", "price", "contract")
_ADJUSTED_FIELDS = frozenset({"open", "high", "low", "close", "price"})


# --- chains ---------------------------------------------------------------------------------------------------


def futures_chain(portal: DataPortal, root_symbol: str) -> list[Future]:
    """Every contract of ``root_symbol`` in the portal's bundle, ordered by expiration.

    Raises
    ------
    SymbolNotFound
        No future of the bundle has that root symbol; the message lists the roots it has.
    InvalidArgument
        A contract of the root has no ``expiration_date`` or ``auto_close_date``.
    """
    root = _norm_root(root_symbol)
    futures = [a for a in portal.asset_finder if isinstance(a, Future)]
    chain = [f for f in futures if f.root_symbol.strip().upper() == root]
    if not chain:
        roots = sorted({f.root_symbol.strip().upper() for f in futures if f.root_symbol})
        known = ", ".join(roots) if roots else "none (the bundle holds no futures with a root symbol)"
        raise SymbolNotFound(
            f"no futures with root symbol {root_symbol!r} in bundle {portal.bundle.name!r}; known roots: {known}"
        )
    undated = [f.symbol for f in chain if f.expiration_date is None or f.auto_close_date is None]
    if undated:
        raise InvalidArgument(
            f"contract(s) {', '.join(sorted(undated))} of root {root!r} in bundle {portal.bundle.name!r} have no "
            "expiration_date or auto_close_date; ingest them with FuturesCSVAdapter (a contracts file) or an "
            "adapter that records contract dates"
        )
    return sorted(chain, key=lambda f: (_ns(f.expiration_date), _ns(f.auto_close_date), f.symbol))


def current_chain(portal: DataPortal, root_symbol: str, session: pd.Timestamp | str) -> list[Future]:
    """Contracts of ``root_symbol`` alive on ``session``, ordered by expiration.

    Alive means trading (``start_date <= session <= end_date``) and not yet auto-closed
    (``session < auto_close_date``). ``session`` snaps back to the last session at or before it, as in the
    DataPortal (naive values are UTC; after the portal's clock raises :class:`~rustybt.errors.LookaheadError`).
    """
    chain = futures_chain(portal, root_symbol)
    label = _snap(portal, session)
    return [f for f in chain if _alive(f, label)]


def continuous_future(
    portal: DataPortal,
    root_symbol: str,
    offset: int = 0,
    roll: str = "calendar",
    adjustment: str | None = "mul",
) -> ContinuousFuture:
    """A :class:`ContinuousFuture` over ``portal`` (see the module docstring for the rules).

    Parameters
    ----------
    portal
        A DataPortal over a daily bundle holding the root's contracts.
    root_symbol
        The family, e.g. ``"XF"`` (case-insensitive).
    offset
        0 for the primary contract, 1 for the next one, ...
    roll
        ``"calendar"`` (at the primary's auto-close date) or ``"volume"`` (when the next contract out-trades it,
        at the latest on the auto-close date).
    adjustment
        ``"mul"`` (ratio back-adjustment), ``"add"`` (difference back-adjustment) or None (raw stitched prices).

    Raises
    ------
    SymbolNotFound
        Unknown root symbol (the message lists the known roots).
    InvalidArgument
        Unknown roll or adjustment style, a negative offset, or an offset beyond the chain.
    ResolutionError
        The portal's bundle is not daily.
    """
    return ContinuousFuture(portal, root_symbol, offset=offset, roll=roll, adjustment=adjustment)


# --- the continuous future ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Schedule:
    """Which contract is active on every session of the bundle, and the rolls between them."""

    labels: np.ndarray  # int64 ns, the bundle's sessions (midnight UTC)
    primary: np.ndarray  # chain index of the primary contract per session
    active: np.ndarray  # chain index of the contract at the offset per session, -1 where none
    roll_pos: np.ndarray  # session positions of rolls
    roll_from: np.ndarray  # chain index rolled out of
    roll_to: np.ndarray  # chain index rolled into
    ratio: np.ndarray  # back close / front close on the session before the roll (1.0 if unknown)
    diff: np.ndarray  # back close - front close on the session before the roll (0.0 if unknown)


@dataclass(frozen=True, eq=False)
class ContinuousFuture:
    """A futures chain seen as one instrument: the active contract per session and a stitched price history.

    Build one with :func:`continuous_future` (or ``DataPortal.continuous_future``). Equal and hashed by bundle,
    ingestion, root symbol, offset, roll and adjustment, so it can key a dict or name a Series.
    """

    portal: DataPortal = field(repr=False)
    root_symbol: str
    offset: int = 0
    roll: str = "calendar"
    adjustment: str | None = "mul"

    def __post_init__(self) -> None:
        if self.roll not in ROLL_STYLES:
            raise InvalidArgument(f"unknown roll style {self.roll!r}; use one of {', '.join(map(repr, ROLL_STYLES))}")
        if self.adjustment not in ADJUSTMENT_STYLES:
            raise InvalidArgument(
                f"unknown adjustment style {self.adjustment!r}; use one of 'mul', 'add' or None (raw prices)"
            )
        if isinstance(self.offset, bool) or not isinstance(self.offset, int | np.integer) or self.offset < 0:
            raise InvalidArgument(f"offset must be a non-negative integer (0 = primary contract), got {self.offset!r}")
        if self.portal.resolution.is_intraday:
            raise ResolutionError(
                f"continuous futures need daily bars; bundle {self.portal.bundle.name!r} stores "
                f"{self.portal.resolution} bars"
            )
        object.__setattr__(self, "offset", int(self.offset))
        object.__setattr__(self, "root_symbol", _norm_root(self.root_symbol))
        chain = self.chain  # unknown root -> SymbolNotFound
        if self.offset >= len(chain):
            raise InvalidArgument(
                f"offset {self.offset} is beyond the chain of {self.root_symbol!r}: it has {len(chain)} contract(s) "
                f"({', '.join(f.symbol for f in chain)}), so the offset must be at most {len(chain) - 1}"
            )

    # --- identity --------------------------------------------------------------------------------------------
    @property
    def _key(self) -> tuple[Any, ...]:
        bundle = self.portal.bundle
        return (bundle.name, bundle.ingestion_id, self.root_symbol, self.offset, self.roll, self.adjustment)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContinuousFuture):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return (
            f"ContinuousFuture({self.root_symbol!r}, offset={self.offset}, roll={self.roll!r}, "
            f"adjustment={self.adjustment!r}, bundle={self.portal.bundle.name!r})"
        )

    def _repr_html_(self) -> str:
        from rustybt._html import continuous_future_html  # the same view with or without %load_ext rustybt

        return continuous_future_html(self)

    # --- chain -----------------------------------------------------------------------------------------------
    @cached_property
    def chain(self) -> tuple[Future, ...]:
        """Every contract of the root in the bundle, ordered by expiration."""
        return tuple(futures_chain(self.portal, self.root_symbol))

    def current_chain(self, session: pd.Timestamp | str) -> list[Future]:
        """Contracts of the root alive on ``session`` (see :func:`current_chain`)."""
        label = _snap(self.portal, session)
        return [f for f in self.chain if _alive(f, label)]

    # --- which contract --------------------------------------------------------------------------------------
    def contract_at(self, session: pd.Timestamp | str) -> Future:
        """The contract active on ``session`` (snapped back to a session, as in the DataPortal).

        Raises
        ------
        NoDataOnDate
            No contract at this offset on that session (it has not started trading, or the chain ran out).
        """
        label = _snap(self.portal, session)
        sched = self._schedule
        k = int(np.searchsorted(sched.labels, label))
        a = int(sched.active[k])
        if a < 0:
            day = pd.Timestamp(label, tz="UTC").date()
            primary = self.chain[int(sched.primary[k])]
            raise NoDataOnDate(
                f"{self!r} has no contract on {day}: the primary contract is {primary.symbol}, and the chain has no "
                f"contract {self.offset} place(s) after it, or that contract has not started trading yet"
            )
        return self.chain[a]

    def roll_dates(
        self, start: pd.Timestamp | str | None = None, end: pd.Timestamp | str | None = None
    ) -> list[tuple[pd.Timestamp, Future, Future]]:
        """Rolls with session in ``[start, end]``: ``(session, from_contract, to_contract)``, oldest first.

        ``session`` is the first session of ``to_contract`` (midnight UTC). Defaults: the bundle's first session,
        and its last one (or the portal's clock when set). Bounds outside the bundle's data are fine; an ``end``
        after the portal's clock raises :class:`~rustybt.errors.LookaheadError`.
        """
        sched = self._schedule
        clock = self.portal.clock
        if end is None:
            hi = int(sched.labels[-1]) if clock is None else to_utc(clock).value
        else:
            end_ts = to_utc(end)
            if clock is not None and end_ts > clock:
                raise LookaheadError(f"asked for rolls until {end_ts}, after the simulation clock {clock}")
            hi = end_ts.value
        lo = int(sched.labels[0]) if start is None else to_utc(start).normalize().value
        out = []
        for p, f, t in zip(sched.roll_pos, sched.roll_from, sched.roll_to, strict=True):
            label = int(sched.labels[p])
            if lo <= label <= hi:
                out.append((pd.Timestamp(label, tz="UTC"), self.chain[int(f)], self.chain[int(t)]))
        return out

    # --- prices ----------------------------------------------------------------------------------------------
    def history(self, end_dt: pd.Timestamp | str, bar_count: int, field: str = "price") -> pd.Series:
        """The last ``bar_count`` sessions ending at ``end_dt`` of the stitched series, adjusted as of ``end_dt``.

        Each session takes ``field`` from the contract active on it. ``price`` is the close, or the active
        contract's last close before the session when it did not trade; ``open high low close`` are NaN and
        ``volume`` 0 on such a session (as in the DataPortal); ``contract`` gives the active :class:`Future`
        (None where there is none). Price fields are adjusted for the rolls in the window that happened at or
        before ``end_dt`` (see the module docstring); volume and contract are never adjusted.

        Raises
        ------
        InvalidArgument
            Unknown field, or ``bar_count`` not a positive integer.
        NoDataBeforeDate
            The window starts before the bundle's first session.
        """
        if field not in CONTINUOUS_FIELDS:
            raise InvalidArgument(f"unknown field {field!r}; use one of {', '.join(CONTINUOUS_FIELDS)}")
        if isinstance(bar_count, bool) or not isinstance(bar_count, int | np.integer) or bar_count <= 0:
            raise InvalidArgument(f"bar_count must be a positive integer, got {bar_count!r}")
        end_label = _snap(self.portal, end_dt)
        sched = self._schedule
        i_end = int(np.searchsorted(sched.labels, end_label))
        i0 = i_end - int(bar_count) + 1
        if i0 < 0:
            raise NoDataBeforeDate(
                f"a {bar_count}-bar window ending {pd.Timestamp(end_label, tz='UTC')} starts {-i0} session(s) "
                f"before the first bar of bundle {self.portal.bundle.name!r}"
            )
        labels = sched.labels[i0 : i_end + 1]
        active = sched.active[i0 : i_end + 1]
        index = pd.DatetimeIndex(labels.view("datetime64[ns]")).tz_localize("UTC")
        if field == "contract":
            return pd.Series([self.chain[a] if a >= 0 else None for a in active], index=index, name=self, dtype=object)
        values = self._stitch(labels, active, field)
        if field in _ADJUSTED_FIELDS and self.adjustment is not None:
            self._adjust(values, i0, i_end)
        return pd.Series(values, index=index, name=self)

    def _stitch(self, labels: np.ndarray, active: np.ndarray, field: str) -> np.ndarray:
        loader = self.portal.history_loader
        base = "close" if field == "price" else field
        out = np.full(len(labels), np.nan)
        for a in np.unique(active[active >= 0]):
            rows = np.flatnonzero(active == a)
            sid = self.chain[int(a)].sid
            s = loader.series(sid, base)
            pos = np.searchsorted(s.ts, labels[rows])
            clipped = np.minimum(pos, max(len(s.ts) - 1, 0))
            hit = (pos < len(s.ts)) & (s.ts[clipped] == labels[rows]) if len(s.ts) else np.zeros(len(rows), bool)
            out[rows[hit]] = s.values[clipped[hit]]
            if field == "price":
                for r in rows[np.isnan(out[rows])]:
                    found = loader.last_before(sid, "close", int(labels[r]))
                    if found is not None:
                        out[r] = found[1]
        if field == "volume":
            out[np.isnan(out)] = 0.0
        return out

    def _adjust(self, values: np.ndarray, i0: int, i_end: int) -> None:
        """Apply, in place, the rolls at sessions in (i0, i_end] to the window's rows before each roll."""
        sched = self._schedule
        inside = (sched.roll_pos > i0) & (sched.roll_pos <= i_end)
        for p, ratio, diff in zip(sched.roll_pos[inside], sched.ratio[inside], sched.diff[inside], strict=True):
            rows = slice(0, int(p) - i0)
            if self.adjustment == "mul":
                values[rows] *= ratio
            else:
                values[rows] += diff

    # --- the schedule ----------------------------------------------------------------------------------------
    @cached_property
    def _schedule(self) -> _Schedule:
        reader = self.portal.reader
        labels = reader.labels(reader.first_trading_day, reader.last_available_dt).asi8.astype(np.int64)
        chain = self.chain
        n = len(chain)
        acd = np.array([_ns(f.auto_close_date) for f in chain], dtype=np.int64)
        start = np.array([_ns(f.start_date) if f.start_date is not None else np.iinfo(np.int64).min for f in chain])
        primary = np.empty(len(labels), dtype=np.int64)
        volumes: dict[int, np.ndarray] = {}

        def volume(c: int) -> np.ndarray:
            if c not in volumes:
                volumes[c] = self._aligned(chain[c].sid, "volume", labels, fill=0.0)
            return volumes[c]

        p = 0
        for k, t in enumerate(labels):
            while p < n - 1 and acd[p] <= t:  # auto-closed: the calendar rule (and the volume rule's deadline)
                p += 1
            if self.roll == "volume" and k > 0 and p < n - 1 and volume(p + 1)[k - 1] > volume(p)[k - 1]:
                p += 1
            primary[k] = p
        active = primary + self.offset
        valid = active < n
        valid[valid] &= start[active[valid]] <= labels[valid]
        active = np.where(valid, active, -1)
        change = np.flatnonzero((active[1:] != active[:-1]) & (active[1:] >= 0) & (active[:-1] >= 0)) + 1
        roll_from, roll_to = active[change - 1], active[change]
        ratio = np.ones(len(change))
        diff = np.zeros(len(change))
        loader = self.portal.history_loader
        for j, (pos, f, b) in enumerate(zip(change, roll_from, roll_to, strict=True)):
            prev = int(labels[pos - 1])
            front = loader.last_before(chain[int(f)].sid, "close", prev)
            back = loader.last_before(chain[int(b)].sid, "close", prev)
            if front is None or back is None or front[1] == 0:
                log.debug("%r: no closes of both contracts before the roll at %s; not adjusted", self, labels[pos])
                continue
            ratio[j] = back[1] / front[1]
            diff[j] = back[1] - front[1]
        return _Schedule(labels, primary, active, change, roll_from, roll_to, ratio, diff)

    def _aligned(self, sid: int, field: str, labels: np.ndarray, fill: float) -> np.ndarray:
        s = self.portal.history_loader.series(sid, field)
        out = np.full(len(labels), fill)
        if len(s.ts) == 0:
            return out
        pos = np.searchsorted(labels, s.ts)
        clipped = np.minimum(pos, len(labels) - 1)
        ok = (pos < len(labels)) & (labels[clipped] == s.ts) & ~np.isnan(s.values)
        out[clipped[ok]] = s.values[ok]
        return out


# --- helpers --------------------------------------------------------------------------------------------------


def _norm_root(root_symbol: str) -> str:
    if not isinstance(root_symbol, str) or not root_symbol.strip():
        raise InvalidArgument(f"root_symbol must be a non-empty string, got {root_symbol!r}")
    return root_symbol.strip().upper()


def _ns(value: pd.Timestamp | None) -> int:
    """A (naive = UTC) date as int64 ns; None sorts last."""
    if value is None:
        return int(np.iinfo(np.int64).max)
    return int(to_utc(value).value)


def _snap(portal: DataPortal, dt: pd.Timestamp | str) -> int:
    """The session label (int ns) at or before ``dt``, with the portal's range checks and lookahead guard."""
    return portal._snap(dt)


def _alive(contract: Future, label: int) -> bool:
    start = _ns(contract.start_date) if contract.start_date is not None else np.iinfo(np.int64).min
    end = _ns(contract.end_date)
    return start <= label <= end and label < _ns(contract.auto_close_date)
