"""Validation of bars on ingest: schema, OHLC relations, temporal consistency, outliers.

:func:`validate_bars` checks a frame in the adapter form (``timestamp``, ``symbol`` or ``sid``,
``open high low close volume`` as Float64, Decimal or decimal strings, optionally the provenance columns
``_source_file`` / ``_source_row``) and returns the rows to keep together with a :class:`ValidationReport`.

Everything runs as whole-frame polars expressions: no Python loop over rows, symbols or sessions. Per-symbol
sequences are computed on the frame sorted by (symbol, timestamp), where "the previous bar of the same
symbol" is a shift plus a symbol-boundary mask.

Rules; an error drops the row in lenient mode, a warning never drops anything:

=========================  ==========  =================================================================
rule                       severity    fires when
=========================  ==========  =================================================================
``null_value``             error       a timestamp, symbol or value is missing (an empty string too)
``not_numeric``            error       a string value does not parse as a number
``nan_value``              error       a value is NaN
``infinite_value``         error       a value is +/-inf
``negative_price``         error       open, high, low or close < 0
``negative_volume``        error       volume < 0
``zero_price``             warning     open, high, low or close == 0
``high_below_low``         error       high < low
``high_below_open_close``  error       high < max(open, close)
``low_above_open_close``   error       low > min(open, close)
``duplicate_timestamp``    error       a later input row has the same symbol and timestamp (lenient mode
                                       keeps the last occurrence)
``unsorted``               error /     the timestamp goes back from the previous input row of the symbol
                           warning     (a warning in lenient mode, which sorts)
``future_timestamp``       error       timestamp > now + ``future_tolerance``
``off_calendar``           warning     a daily bar on a date that is not a session of the calendar
``calendar_gap``           warning     a session without a bar between an asset's first and last daily bar
``price_jump``             warning     ``|close / previous close - 1| > max_abs_return``
``volume_spike``           warning     volume > ``volume_spike_factor`` x the median volume of the asset's
                                       previous 20 bars (at least 5 of them)
=========================  ==========  =================================================================

The sequential checks (``price_jump``, ``volume_spike``, ``calendar_gap``) look at the rows that pass every
row-level check, i.e. the rows lenient mode keeps, so one broken bar does not also show as a jump or a spike.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
import polars as pl

from rustybt.calendars import sessions_in_range
from rustybt.data.resolution import parse_resolution
from rustybt.data.schema import (
    PRICE_COLUMNS,
    SOURCE_FILE_COLUMN,
    SOURCE_ROW_COLUMN,
    TIMESTAMP_DTYPE,
    VALUE_COLUMNS,
)
from rustybt.errors import ConfigError, DataFormatError, ValidationError

__all__ = [
    "RULES",
    "ValidationConfig",
    "ValidationReport",
    "Violation",
    "validate_bars",
]

logger = logging.getLogger(__name__)

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

#: Trailing window (bars) and the fewest prior bars needed for the volume-spike median.
VOLUME_WINDOW = 20
VOLUME_MIN_BARS = 5
# Above this many candidate rows, volume spikes use one rolling median over the frame instead of gathering.
_SPIKE_GATHER_LIMIT = 250_000

_REPORT_VERSION = 1
_EXAMPLES_PER_RULE = 5

# Schema of the violation frame behind a report.
_VIOLATION_SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "severity": pl.String(),
    "symbol": pl.String(),
    "timestamp": TIMESTAMP_DTYPE,
    "field": pl.String(),
    "file": pl.String(),
    "row": pl.Int64(),
    "index": pl.Int64(),  # 0-based position of the bar in the frame given to validate_bars
    "detail": pl.String(),  # JSON object: the values involved
}

# Internal column names (prefixed so they never collide with a caller's columns).
_IDX = "__v_idx"
_ID = "__v_id"
_TS = "__v_ts"
_FILE = "__v_file"
_ROW = "__v_row"
_BAD = "__v_bad"


# ---------------------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------------
# violations and the report
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """One failed check on one bar (or, for ``calendar_gap``, one missing session).

    Attributes
    ----------
    rule, severity
        Rule name (see :data:`RULES`) and ``"error"`` or ``"warning"``.
    symbol
        The asset's symbol (or its sid, as a string).
    timestamp
        The bar's timestamp (UTC); the missing session for ``calendar_gap``; None when the timestamp is null.
    field
        The column at fault (``"high"``, ``"timestamp"``...).
    values
        The values involved, by name.
    file, row
        Source file and 1-based line number (header = line 1) when the frame carried provenance columns.
    message
        A sentence saying where and what.
    index
        0-based position of the bar in the frame given to :func:`validate_bars`.
    """

    rule: str
    severity: str
    symbol: str | None
    timestamp: datetime | None
    field: str | None
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    file: str | None = None
    row: int | None = None
    message: str = ""
    index: int | None = None

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the timestamp as an ISO string)."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "symbol": self.symbol,
            "timestamp": None if self.timestamp is None else self.timestamp.isoformat(),
            "field": self.field,
            "values": self.values,
            "file": self.file,
            "row": self.row,
            "index": self.index,
            "message": self.message,
        }


class ValidationReport:
    """Outcome of :func:`validate_bars`: exact counts per rule plus a bounded frame of violation details.

    The details live in a polars DataFrame (``rule, severity, symbol, timestamp, field, file, row, index,
    detail``), never in a Python list of millions of objects; :class:`Violation` objects are built only when
    asked for (:attr:`errors`, :attr:`warnings`, :meth:`by_rule`).
    """

    def __init__(
        self,
        violations: pl.DataFrame | None = None,
        counts: Mapping[tuple[str, str], int] | None = None,
        *,
        rows_checked: int = 0,
        rows_dropped: int = 0,
        mode: str = "strict",
        max_violations_kept: int = 100_000,
    ) -> None:
        frame = _empty_violations() if violations is None else violations.select(list(_VIOLATION_SCHEMA))
        self._frame = frame.cast(_VIOLATION_SCHEMA)  # type: ignore[arg-type]
        if counts is None:
            counts = {(r, s): n for r, s, n in frame.group_by("rule", "severity").len().iter_rows() if n}
        self._counts: dict[tuple[str, str], int] = {k: int(v) for k, v in counts.items() if v}
        self.rows_checked = int(rows_checked)
        self.rows_dropped = int(rows_dropped)
        self.mode = mode
        self.max_violations_kept = int(max_violations_kept)

    def _repr_html_(self) -> str:
        from rustybt.notebook.reprs import validation_report_html  # lazy: the notebook layer is optional

        return validation_report_html(self)

    # --- counts -----------------------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return self.error_count == 0

    @property
    def error_count(self) -> int:
        """Exact number of error violations."""
        return sum(n for (_, sev), n in self._counts.items() if sev == "error")

    @property
    def warning_count(self) -> int:
        """Exact number of warning violations."""
        return sum(n for (_, sev), n in self._counts.items() if sev == "warning")

    @property
    def truncated(self) -> bool:
        """True when the stored details hold fewer rows than the counts (see ``max_violations_kept``)."""
        return self._frame.height < len(self)

    def counts(self, severity: str | None = None) -> dict[str, int]:
        """Exact violation count per rule (optionally of one severity), most frequent first."""
        out: dict[str, int] = {}
        for (rule, sev), n in self._counts.items():
            if severity is None or sev == severity:
                out[rule] = out.get(rule, 0) + n
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def __len__(self) -> int:
        return sum(self._counts.values())

    # --- details ----------------------------------------------------------------------------------------
    def to_frame(self) -> pl.DataFrame:
        """The stored violation details, errors first, in input order."""
        return self._frame

    @property
    def errors(self) -> list[Violation]:
        """Stored error violations (at most ``max_violations_kept``; see :meth:`to_frame` for bulk use)."""
        return _violations_of(self._frame.filter(pl.col("severity") == "error"))

    @property
    def warnings(self) -> list[Violation]:
        """Stored warning violations (at most ``max_violations_kept``)."""
        return _violations_of(self._frame.filter(pl.col("severity") == "warning"))

    def by_rule(self) -> dict[str, list[Violation]]:
        """Stored violations grouped by rule."""
        out: dict[str, list[Violation]] = {}
        for v in _violations_of(self._frame):
            out.setdefault(v.rule, []).append(v)
        return out

    def first(self, n: int = 5, severity: str | None = None) -> list[Violation]:
        """The first ``n`` stored violations (errors first), optionally of one severity."""
        frame = self._frame if severity is None else self._frame.filter(pl.col("severity") == severity)
        return _violations_of(frame.head(n))

    # --- combining and storing ----------------------------------------------------------------------------
    def merge(self, other: ValidationReport) -> ValidationReport:
        """A report covering both inputs: counts and rows added, details combined within the larger cap."""
        counts = dict(self._counts)
        for key, n in other._counts.items():
            counts[key] = counts.get(key, 0) + n
        cap = max(self.max_violations_kept, other.max_violations_kept)
        frame = _order_violations(pl.concat([self._frame, other._frame], how="vertical"))
        frame = _cap_frame(frame, cap)
        return ValidationReport(
            frame,
            counts,
            rows_checked=self.rows_checked + other.rows_checked,
            rows_dropped=self.rows_dropped + other.rows_dropped,
            mode=self.mode if self.mode == other.mode else "mixed",
            max_violations_kept=cap,
        )

    def to_dict(self, examples_per_rule: int = _EXAMPLES_PER_RULE) -> dict[str, Any]:
        """JSON-safe summary: exact counts plus the first ``examples_per_rule`` violations of each rule."""
        by_sev: dict[str, dict[str, int]] = {"error": {}, "warning": {}}
        for (rule, sev), n in sorted(self._counts.items()):
            by_sev.setdefault(sev, {})[rule] = n
        examples = self._frame.filter(pl.int_range(pl.len()).over("rule") < examples_per_rule)
        return {
            "version": _REPORT_VERSION,
            "mode": self.mode,
            "ok": self.ok,
            "rows_checked": self.rows_checked,
            "rows_dropped": self.rows_dropped,
            "error_count": self.error_count,
            "warning_count": self.warning_count,
            "counts": self.counts(),
            "counts_by_severity": by_sev,
            "max_violations_kept": self.max_violations_kept,
            "examples": [v.to_dict() for v in _violations_of(examples)],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidationReport:
        """Rebuild a report from :meth:`to_dict` output (details limited to the stored examples)."""
        if not data:
            return cls()
        counts: dict[tuple[str, str], int] = {}
        by_sev = data.get("counts_by_severity")
        if by_sev:
            for sev, rules in by_sev.items():
                for rule, n in rules.items():
                    counts[(rule, sev)] = int(n)
        else:  # counts without severities: take each rule's default severity
            for rule, n in dict(data.get("counts", {})).items():
                counts[(rule, RULES.get(rule, "error"))] = int(n)
        rows = []
        for ex in data.get("examples", []):
            ts = ex.get("timestamp")
            rows.append(
                {
                    "rule": ex.get("rule"),
                    "severity": ex.get("severity"),
                    "symbol": ex.get("symbol"),
                    "timestamp": None if ts is None else _parse_ts(ts),
                    "field": ex.get("field"),
                    "file": ex.get("file"),
                    "row": ex.get("row"),
                    "index": ex.get("index"),
                    "detail": json.dumps(ex.get("values") or {}, allow_nan=False),
                }
            )
        frame = pl.DataFrame(rows, schema=_VIOLATION_SCHEMA) if rows else _empty_violations()
        return cls(
            frame,
            counts,
            rows_checked=int(data.get("rows_checked", 0)),
            rows_dropped=int(data.get("rows_dropped", 0)),
            mode=str(data.get("mode", "strict")),
            max_violations_kept=int(data.get("max_violations_kept", 100_000)),
        )

    # --- failing ----------------------------------------------------------------------------------------
    def raise_for_errors(self, context: str = "", *, max_listed: int = 5) -> None:
        """Raise :class:`~rustybt.errors.ValidationError` if there is any error; do nothing otherwise.

        The message names the first ``max_listed`` errors (file, row, symbol, field, timestamp, values) and
        says what to do; the exception's ``report`` attribute is this report.
        """
        if self.ok:
            return
        head = f"{context}: " if context else ""
        rules = ", ".join(f"{rule} x{n:,}" for rule, n in self.counts("error").items())
        lines = [
            f"{head}validation failed: {self.error_count:,} error(s) in {self.rows_checked:,} rows ({rules})"
            + (f"; {self.warning_count:,} warning(s)" if self.warning_count else "")
        ]
        listed = self.first(max_listed, severity="error")
        lines += [f"  - {v.message}" for v in listed]
        if self.error_count > len(listed):
            more = self.error_count - len(listed)
            lines.append(f"  ... and {more:,} more (see the exception's .report.to_frame())")
        lines.append(
            'Fix the source data, or validate with ValidationConfig(mode="lenient") to drop the rows with '
            "errors and keep the rest (they are counted in the report)."
        )
        raise ValidationError("\n".join(lines), report=self)

    # --- display ----------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        def part(sev: str, total: int) -> str:
            word = sev if total == 1 else sev + "s"
            rules = self.counts(sev)
            if not rules:
                return f"{total:,} {word}"
            return f"{total:,} {word} ({', '.join(f'{r} {n:,}' for r, n in rules.items())})"

        state = "ok" if self.ok else "FAILED"
        return (
            f"<ValidationReport {self.mode}: {state}, {self.rows_checked:,} rows checked, "
            f"{self.rows_dropped:,} dropped, {part('error', self.error_count)}, "
            f"{part('warning', self.warning_count)}>"
        )

    def summary(self, examples: int = 3) -> str:
        """Multi-line summary: the one-line repr, then each rule with its count and first examples."""
        lines = [repr(self)]
        grouped = self._frame.filter(pl.int_range(pl.len()).over("rule") < examples)
        by_rule: dict[str, list[Violation]] = {}
        for v in _violations_of(grouped):
            by_rule.setdefault(v.rule, []).append(v)
        for sev in ("error", "warning"):
            for rule, n in self.counts(sev).items():
                lines.append(f"  {sev:<7} {rule:<22} {n:>10,}")
                lines += [f"            {v.message}" for v in by_rule.get(rule, []) if v.severity == sev]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# ---------------------------------------------------------------------------------------------------------
# validate_bars
# ---------------------------------------------------------------------------------------------------------

_NS_PER_DAY = 86_400_000_000_000


@dataclass
class _Check:
    """One vectorized check: a boolean mask plus the values to report for the rows it flags.

    ``prepare`` holds columns the values need that depend on neighbouring rows; they are computed on the
    whole frame before the flagged rows are picked out (only for checks that fired).
    """

    rule: str
    severity: str
    field: str | None
    mask: pl.Expr
    values: dict[str, pl.Expr]
    drops: bool  # an error that drops the row in lenient mode
    prepare: list[pl.Expr] = dataclasses.field(default_factory=list)


@dataclass
class _Calendar:
    """Sessions of a calendar over the data's days, as lookup tables indexed by ``day - first_day``."""

    name: str
    first_day: int
    sessions: pl.Series  # Date, sorted
    cum: pl.Series  # Int64: sessions on or before each day
    on: pl.Series  # Boolean: the day is a session

    def lookup(self, day: pl.Expr, table: pl.Series) -> pl.Expr:
        offset = day - self.first_day
        inside = (offset >= 0) & (offset < table.len())
        return pl.lit(table).gather(pl.when(inside).then(offset))


def validate_bars(
    frame: pl.DataFrame,
    *,
    calendar: str | None = None,
    resolution: str = "1d",
    config: ValidationConfig | None = None,
    now: datetime | None = None,
) -> tuple[pl.DataFrame, ValidationReport]:
    """Check bars and return the rows to keep with a report of every violation.

    Parameters
    ----------
    frame
        Bars in the adapter form: ``timestamp`` (Datetime, UTC), ``symbol`` (String) or ``sid`` (Int64),
        ``open high low close volume`` (Float64, Decimal or decimal String), optionally ``_source_file`` and
        ``_source_row`` so violations name the file and line.
    calendar
        Trading calendar name (``"XNYS"``, ``"24/7"``...) for the ``off_calendar`` and ``calendar_gap`` checks
        of daily bars; defaults to ``config.calendar``; None skips them.
    resolution
        Bar resolution (``"1d"``, ``"1h"``...). Calendar checks apply to daily bars only.
    config
        What to check and the mode; defaults to ``ValidationConfig()`` (strict).
    now
        The current time for ``future_timestamp`` (default: the clock); naive values are taken as UTC.

    Returns
    -------
    (pl.DataFrame, ValidationReport)
        The kept rows with their original columns and dtypes, sorted by (symbol, timestamp): every row in
        strict mode, the rows without errors in lenient mode. The report counts every violation exactly.

    Raises
    ------
    DataFormatError
        A required column is missing, or a column has a type that cannot hold the data (the message names the
        column and, if known, the file). Strict mode raises nothing else: call
        :meth:`ValidationReport.raise_for_errors` to fail on errors.
    CalendarError
        Unknown calendar name.
    """
    clock = _Stopwatch()
    config = config or ValidationConfig()
    res = parse_resolution(resolution)
    calendar = calendar if calendar is not None else config.calendar
    lenient = config.mode == "lenient"
    now_utc = _as_utc(now) if now is not None else datetime.now(UTC)

    id_col = _check_columns(frame)
    n = frame.height
    has_file = SOURCE_FILE_COLUMN in frame.columns
    has_row = SOURCE_ROW_COLUMN in frame.columns

    # ---- working frame: row index, identifier, UTC timestamp, float values, provenance ---------------------
    floats, raw_strings = _float_exprs(frame)
    carried = _carried_columns(frame, id_col, raw_strings)
    work = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(_IDX),
        _identifier_expr(frame, id_col).alias(_ID),
        _timestamp_expr(frame).alias(_TS),
        *[expr.alias(_f(c)) for c, expr in floats.items()],
        *[pl.col(c).alias(_raw(c)) for c in raw_strings],
        (pl.col(SOURCE_FILE_COLUMN).cast(pl.String) if has_file else pl.lit(None, pl.String)).alias(_FILE),
        (pl.col(SOURCE_ROW_COLUMN).cast(pl.Int64) if has_row else pl.lit(None, pl.Int64)).alias(_ROW),
        *[pl.col(c).alias(name) for c, name in carried.items() if name.startswith("__v_keep_")],
    )
    clock.mark("prepare")

    # ---- order by (identifier, timestamp); duplicates keep their input order ------------------------------
    perm, previous = _sort_permutation(work)
    has_unsorted = previous is not None
    if has_unsorted:  # the timestamp goes back from the previous input row of the same symbol
        work = work.with_columns(
            (pl.col(_TS) < previous).fill_null(False).alias("__v_unsorted"), previous.alias("__v_prev_input_ts")
        )
    if perm is not None:
        work = work[perm]
    clock.mark("order")

    limit = _future_limit(now_utc, config.future_tolerance)
    cal = _calendar_tables(work, calendar, res, limit) if calendar else None
    if cal is not None:
        day = pl.col(_TS).cast(pl.Int64) // _NS_PER_DAY
        work = work.with_columns(cal.lookup(day, cal.on).alias("__v_on_session"))
    clock.mark("calendar")

    # ---- row-level checks: counts in one pass, skipping what the column statistics rule out ---------------
    checks = _row_checks(
        id_col,
        raw_strings,
        now_utc,
        limit,
        lenient=lenient,
        unsorted=has_unsorted,
        calendar=cal.name if cal is not None else None,
    )
    checks = _possible(checks, work, raw_strings, limit)
    counts_row = _count(work, checks)
    bad_masks = [c.mask for c, k in zip(checks, counts_row, strict=True) if k and c.drops]
    bad = (
        work.select(pl.any_horizontal([m.fill_null(False) for m in bad_masks]).alias(_BAD)).to_series()
        if bad_masks
        else None
    )
    n_bad = int(bad.sum()) if bad is not None else 0
    clock.mark("row checks")

    # ---- sequential checks on the rows that pass (the rows lenient mode keeps) -----------------------------
    if n_bad:
        needed = [_IDX, _ID, _TS, _f("close"), _f("volume"), _FILE, _ROW]
        good = work.select([*needed, *(["__v_on_session"] if cal is not None else [])]).filter(~bad)
    else:
        good = work
    seq_checks = _sequence_checks(config)
    counts_seq = _count(good, seq_checks)
    spikes = _volume_spikes(good, float(config.volume_spike_factor)) if config.volume_spike_factor else None
    clock.mark("sequence checks")
    gaps = _gap_rows(good, cal) if cal is not None and config.check_gaps else None
    clock.mark("gaps")

    # ---- details within the cap, counts exact ----------------------------------------------------------
    all_checks = [*checks, *seq_checks]
    all_counts = [*counts_row, *counts_seq]
    specials = [
        ("volume_spike", spikes.height if spikes is not None else 0),
        ("calendar_gap", int(gaps.get_column("gap").sum()) if gaps is not None and gaps.height else 0),
    ]
    alloc = _allocate(
        [*all_counts, *(k for _, k in specials)],
        [*(c.severity for c in all_checks), *(RULES[r] for r, _ in specials)],
        config.max_violations_kept,
    )
    parts: list[pl.DataFrame] = []
    counts: dict[tuple[str, str], int] = {}
    for i, (check, k) in enumerate(zip(all_checks, all_counts, strict=True)):
        if not k:
            continue
        key = (check.rule, check.severity)
        counts[key] = counts.get(key, 0) + k
        if alloc[i]:
            source = work if i < len(checks) else good
            parts.append(_detail(source, check, alloc[i]))
    for (rule, k), take in zip(specials, alloc[len(all_checks) :], strict=True):
        if k:
            counts[(rule, RULES[rule])] = k
        if k and take:
            if rule == "volume_spike" and spikes is not None:
                parts.append(_spike_detail(good, spikes, float(config.volume_spike_factor or 0), take))
            elif rule == "calendar_gap" and gaps is not None and cal is not None:
                parts.append(_gap_detail(gaps, cal, take))
    violations = _order_violations(pl.concat(parts, how="vertical")) if parts else _empty_violations()
    clock.mark("details")

    # ---- the frame to return: original columns and dtypes, sorted, bad rows dropped in lenient mode -------
    if (lenient and n_bad) or perm is not None:
        # the working frame already holds every column, reordered: no second gather from the input
        kept = work.filter(~bad) if lenient and n_bad else work
        out = kept.select([pl.col(carried[c]).alias(c) for c in frame.columns])
    else:
        out = frame
    report = ValidationReport(
        violations,
        counts,
        rows_checked=n,
        rows_dropped=n_bad if lenient else 0,
        mode=config.mode,
        max_violations_kept=config.max_violations_kept,
    )
    clock.mark("output")
    logger.log(
        logging.INFO if len(report) else logging.DEBUG,
        "validated %d rows in %.3fs (%s): %d errors, %d warnings, %d rows dropped",
        n,
        clock.total(),
        config.mode,
        report.error_count,
        report.warning_count,
        report.rows_dropped,
    )
    logger.debug("validation stages: %s", clock)
    return out, report


# ---------------------------------------------------------------------------------------------------------
# input checks and the working frame
# ---------------------------------------------------------------------------------------------------------


def _files_of(frame: pl.DataFrame) -> str:
    if SOURCE_FILE_COLUMN not in frame.columns or frame.height == 0:
        return ""
    files = frame.get_column(SOURCE_FILE_COLUMN).drop_nulls().unique(maintain_order=True).head(4).to_list()
    if not files:
        return ""
    shown = ", ".join(str(f) for f in files[:3]) + (", ..." if len(files) > 3 else "")
    return f" (file {shown})"


def _check_columns(frame: pl.DataFrame) -> str:
    if not isinstance(frame, pl.DataFrame):
        raise DataFormatError(f"validate_bars needs a polars DataFrame, not {type(frame).__name__}")
    cols = frame.columns
    expected = "timestamp, symbol (or sid), open, high, low, close, volume"
    if "symbol" in cols:
        id_col = "symbol"
    elif "sid" in cols:
        id_col = "sid"
    else:
        raise DataFormatError(
            f"bars are missing the required column 'symbol' (or 'sid'){_files_of(frame)}; "
            f"columns present: {cols}. Bars need the columns {expected}: rename the source's columns in the "
            "adapter."
        )
    for col in ("timestamp", *VALUE_COLUMNS):
        if col not in cols:
            raise DataFormatError(
                f"bars are missing the required column {col!r}{_files_of(frame)}; columns present: {cols}. "
                f"Bars need the columns {expected}: rename the source's columns in the adapter."
            )
    return id_col


def _identifier_expr(frame: pl.DataFrame, id_col: str) -> pl.Expr:
    """The symbol (String) or sid (integer) column; other types (Categorical...) compare as strings."""
    dtype = frame.schema[id_col]
    return pl.col(id_col) if dtype == pl.String or dtype.is_integer() else pl.col(id_col).cast(pl.String)


def _timestamp_expr(frame: pl.DataFrame) -> pl.Expr:
    dtype = frame.schema["timestamp"]
    col = pl.col("timestamp")
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            col = col.dt.replace_time_zone("UTC")
        elif dtype.time_zone != "UTC":
            col = col.dt.convert_time_zone("UTC")
        return col.dt.cast_time_unit("ns") if dtype.time_unit != "ns" else col
    if dtype == pl.Date:
        return col.cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    raise DataFormatError(
        f"column 'timestamp' has dtype {dtype}{_files_of(frame)}; it must be a Datetime (UTC) or a Date. "
        "Parse the dates in the adapter."
    )


def _float_exprs(frame: pl.DataFrame) -> tuple[dict[str, pl.Expr], list[str]]:
    """A Float64 expression for each value column, and the columns that were strings."""
    exprs: dict[str, pl.Expr] = {}
    strings: list[str] = []
    for col in VALUE_COLUMNS:
        dtype = frame.schema[col]
        if dtype == pl.Float64:
            exprs[col] = pl.col(col)
        elif dtype == pl.String:
            exprs[col] = pl.col(col).str.strip_chars().cast(pl.Float64, strict=False)
            strings.append(col)
        elif dtype.is_numeric() or dtype == pl.Null:  # integers, Float32, Decimal
            exprs[col] = pl.col(col).cast(pl.Float64)
        else:
            raise DataFormatError(
                f"column {col!r} has dtype {dtype}{_files_of(frame)}; values must be numbers "
                "(Float64, Decimal or decimal strings)."
            )
    return exprs, strings


def _f(col: str) -> str:
    return f"__v_f_{col}"


def _raw(col: str) -> str:
    return f"__v_raw_{col}"


def _fc(col: str) -> pl.Expr:
    return pl.col(_f(col))


def _carried_columns(frame: pl.DataFrame, id_col: str, raw_strings: Sequence[str]) -> dict[str, str]:
    """For each input column, the working-frame column that carries it unchanged to the output."""
    schema = frame.schema
    same: dict[str, str] = {}
    if schema[id_col] == pl.String or schema[id_col].is_integer():
        same[id_col] = _ID
    for col in VALUE_COLUMNS:
        if col in raw_strings:
            same[col] = _raw(col)
        elif schema[col] == pl.Float64:
            same[col] = _f(col)
    if schema["timestamp"] == TIMESTAMP_DTYPE:
        same["timestamp"] = _TS
    if schema.get(SOURCE_FILE_COLUMN) == pl.String:
        same[SOURCE_FILE_COLUMN] = _FILE
    if schema.get(SOURCE_ROW_COLUMN) == pl.Int64:
        same[SOURCE_ROW_COLUMN] = _ROW
    return {c: same.get(c, f"__v_keep_{i}") for i, c in enumerate(frame.columns)}


def _sort_permutation(work: pl.DataFrame) -> tuple[pl.Series | None, pl.Series | None]:
    """Row order by (identifier, timestamp, input position), and where the input goes back in time.

    Returns ``(perm, previous)``: ``perm`` is None when the rows are in that order already; ``previous`` (in
    input order) is the timestamp of the previous input row of the same symbol, or None when no symbol's
    timestamps go backwards in the input.

    Two fast paths cover what adapters emit: rows already sorted (a few vectorized comparisons), and one
    contiguous, time-sorted block per symbol in another symbol order (the blocks are reordered). Anything
    else is sorted on one Int64 key, symbol rank x time span + time offset, with a stable sort so that
    duplicates keep their input order.
    """
    ident, ts = pl.col(_ID), pl.col(_TS)
    n = work.height
    change = (ident != ident.shift(1)).fill_null(True)
    probe = work.select(
        ((ts >= ts.shift(1)) | change).slice(1).fill_null(False).all().alias("time_sorted"),
        (ts >= ts.shift(1)).slice(1).fill_null(False).all().alias("all_time_sorted"),
        ((ident > ident.shift(1)) | ~change).slice(1).fill_null(False).all().alias("ident_sorted"),
        ((ident.null_count() == 0) & (ts.null_count() == 0)).alias("no_nulls"),
    ).row(0, named=True)
    if probe["no_nulls"] and probe["time_sorted"]:
        if probe["ident_sorted"]:
            return None, None
        blocks = work.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("start"), ident.alias("id"), change.alias("new")
        ).filter("new")
        if blocks.get_column("id").n_unique() == blocks.height:  # one block per symbol
            blocks = blocks.with_columns(pl.col("start").shift(-1, fill_value=n).alias("end")).sort("id")
            return blocks.select(pl.int_ranges("start", "end").explode()).to_series(), None

    uniques = work.get_column(_ID).drop_nulls().unique().sort()
    code = ident.replace_strict(uniques, pl.int_range(uniques.len(), dtype=pl.Int64, eager=True))
    staged = work.select(code.alias("code"), ts.cast(pl.Int64).alias("t"))
    offset, span = _time_offsets(staged.get_column("t"))
    if offset is not None and uniques.len() * span < 2**62:
        key = pl.col("code") * span + offset
    else:  # timestamps too fine for one key: rank them (ties stay in input order, the sort is stable)
        key = pl.col("code") * 2**32 + pl.col("t").rank("dense").cast(pl.Int64)
    perm = staged.select(pl.arg_sort_by(key.fill_null(2**63 - 1), maintain_order=True)).to_series()
    if probe["all_time_sorted"] and probe["no_nulls"]:  # e.g. all symbols of a day, day by day
        return perm, None
    previous = staged.select(pl.col("t").shift(1).over("code")).to_series()
    backwards = bool((staged.get_column("t") < previous).any())
    return perm, previous.cast(TIMESTAMP_DTYPE) if backwards else None


def _time_offsets(t: pl.Series) -> tuple[pl.Expr | None, int]:
    """``(t - min) // unit`` for the coarsest unit (day ... ns) dividing every offset, and the span in units."""
    lo, hi = t.min(), t.max()
    if lo is None or hi is None:
        return None, 0
    for unit in (_NS_PER_DAY, 3_600_000_000_000, 60_000_000_000, 1_000_000_000, 1_000_000, 1_000):
        if ((t - lo) % unit == 0).all():
            return (pl.col("t") - lo) // unit, (hi - lo) // unit + 1
    return pl.col("t") - lo, hi - lo + 1


def _future_limit(now: datetime, tolerance: timedelta) -> datetime | None:
    """Latest acceptable timestamp, or None when the tolerance reaches past what a ns timestamp can hold."""
    try:
        limit = now + tolerance
    except OverflowError:
        return None
    return limit if limit.year < 2262 else None


def _calendar_tables(work: pl.DataFrame, calendar: str, res: Any, limit: datetime | None) -> _Calendar | None:
    """Lookup tables of ``calendar`` over the days of the data (daily bars only; future bars ignored)."""
    if res.name != "1d":
        logger.debug("calendar checks skipped: they apply to daily bars, not %s", res.name)
        return None
    day = pl.col(_TS).cast(pl.Int64) // _NS_PER_DAY
    ts = pl.col(_TS) if limit is None else pl.when(pl.col(_TS) <= limit).then(pl.col(_TS))
    bounds = work.select(day.min().alias("lo"), (ts.max().cast(pl.Int64) // _NS_PER_DAY).alias("hi")).row(0)
    lo, hi = bounds
    if lo is None or hi is None or hi < lo:
        return None
    epoch = date(1970, 1, 1)
    idx = sessions_in_range(calendar, epoch + timedelta(days=lo), epoch + timedelta(days=hi))
    session_days = np.asarray(idx.values.astype("datetime64[D]").astype(np.int64))
    days = np.arange(lo, hi + 1, dtype=np.int64)
    cum = np.searchsorted(session_days, days, side="right").astype(np.int64)
    on = np.isin(days, session_days)
    return _Calendar(
        name=calendar,
        first_day=int(lo),
        sessions=pl.Series("session", session_days.astype("datetime64[D]"), dtype=pl.Date),
        cum=pl.Series("cum", cum),
        on=pl.Series("on", on),
    )


# ---------------------------------------------------------------------------------------------------------
# the checks
# ---------------------------------------------------------------------------------------------------------


def _row_checks(
    id_col: str,
    raw_strings: Sequence[str],
    now: datetime,
    limit: datetime | None,
    *,
    lenient: bool,
    unsorted: bool,
    calendar: str | None,
) -> list[_Check]:
    checks: list[_Check] = []
    ts = pl.col(_TS)

    def add(rule: str, fld: str | None, mask: pl.Expr, values: dict[str, pl.Expr], severity: str = "") -> None:
        sev = severity or RULES[rule]
        checks.append(_Check(rule, sev, fld, mask, values, drops=sev == "error" and rule != "unsorted"))

    add("null_value", "timestamp", ts.is_null(), {"timestamp": pl.lit(None)})
    add("null_value", id_col, pl.col(_ID).is_null(), {id_col: pl.lit(None)})
    for col in VALUE_COLUMNS:
        if col in raw_strings:
            raw = pl.col(_raw(col))
            blank = raw.is_null() | (raw.str.strip_chars() == "")
            add("null_value", col, blank, {col: pl.lit(None)})
            add("not_numeric", col, ~blank & _fc(col).is_null(), {col: raw})
        else:
            add("null_value", col, _fc(col).is_null(), {col: pl.lit(None)})
    for col in VALUE_COLUMNS:
        add("nan_value", col, _fc(col).is_nan(), {col: pl.lit("NaN")})
        sign = pl.when(_fc(col) > 0).then(pl.lit("inf")).otherwise(pl.lit("-inf"))
        add("infinite_value", col, _fc(col).is_infinite(), {col: sign})
    fin = {c: _fc(c).is_finite() for c in VALUE_COLUMNS}
    for col in PRICE_COLUMNS:
        add("negative_price", col, fin[col] & (_fc(col) < 0), {col: _fc(col)})
    add("negative_volume", "volume", fin["volume"] & (_fc("volume") < 0), {"volume": _fc("volume")})
    for col in PRICE_COLUMNS:
        add("zero_price", col, _fc(col) == 0, {col: _fc(col)})

    o, h, lo, c = _fc("open"), _fc("high"), _fc("low"), _fc("close")
    add("high_below_low", "high", fin["high"] & fin["low"] & (h < lo), {"high": h, "low": lo})
    all_fin = fin["open"] & fin["high"] & fin["low"] & fin["close"]
    add(
        "high_below_open_close",
        "high",
        all_fin & (h < pl.max_horizontal(o, c)),
        {"open": o, "high": h, "close": c},
    )
    add(
        "low_above_open_close",
        "low",
        all_fin & (lo > pl.min_horizontal(o, c)),
        {"open": o, "low": lo, "close": c},
    )

    # duplicates: rows are ordered (id, timestamp, input order); a row followed by the same key is not the last
    nxt_same = (pl.col(_ID) == pl.col(_ID).shift(-1)) & (ts == ts.shift(-1))
    kept_pos = pl.when(~nxt_same.fill_null(False)).then(pl.int_range(pl.len())).backward_fill()
    add(
        "duplicate_timestamp",
        "timestamp",
        nxt_same,
        {"timestamp": ts, "kept_index": pl.col("__v_kept_idx"), "kept_row": pl.col("__v_kept_row")},
    )
    checks[-1].prepare = [
        pl.col(_IDX).gather(kept_pos).alias("__v_kept_idx"),
        pl.col(_ROW).gather(kept_pos).alias("__v_kept_row"),
    ]
    if unsorted:
        add(
            "unsorted",
            "timestamp",
            pl.col("__v_unsorted"),
            {"timestamp": ts, "previous_timestamp": pl.col("__v_prev_input_ts")},
            severity="warning" if lenient else "error",
        )
    if limit is not None:
        add(
            "future_timestamp",
            "timestamp",
            ts > pl.lit(limit).cast(TIMESTAMP_DTYPE),
            {"timestamp": ts, "now": pl.lit(now).cast(TIMESTAMP_DTYPE)},
        )
    if calendar is not None:
        add(
            "off_calendar",
            "timestamp",
            pl.col("__v_on_session").not_(),
            {"date": ts.dt.date(), "calendar": pl.lit(calendar)},
        )
    return checks


def _possible(checks: list[_Check], work: pl.DataFrame, raw_strings: Sequence[str], limit: datetime | None):
    """Drop the checks that the columns' statistics (one cheap pass) show cannot fire."""
    stats_exprs = [pl.col(_TS).null_count().alias("ts_nulls"), pl.col(_ID).null_count().alias("id_nulls")]
    stats_exprs.append(pl.col(_TS).max().alias("ts_max"))
    for col in VALUE_COLUMNS:
        stats_exprs += [
            _fc(col).null_count().alias(f"{col}_nulls"),
            _fc(col).is_nan().any().alias(f"{col}_nan"),
            _fc(col).min().alias(f"{col}_min"),
            _fc(col).max().alias(f"{col}_max"),
        ]
    st = work.select(stats_exprs).row(0, named=True)
    inf = math.inf

    def impossible(check: _Check) -> bool:
        rule, col = check.rule, check.field
        if rule == "null_value":
            return st.get(f"{col}_nulls", st["ts_nulls"] if col == "timestamp" else st["id_nulls"]) == 0
        if rule == "not_numeric":
            return st[f"{col}_nulls"] == 0
        if rule == "nan_value":
            return not st[f"{col}_nan"]
        lo, hi = st.get(f"{col}_min"), st.get(f"{col}_max")
        if rule == "infinite_value":
            return lo is not None and hi is not None and -inf < lo and hi < inf
        if rule in ("negative_price", "negative_volume"):
            return lo is None or lo >= 0
        if rule == "zero_price":
            return lo is None or lo > 0
        if rule == "future_timestamp":
            return st["ts_max"] is None or limit is None or st["ts_max"] <= limit
        return False

    return [c for c in checks if not impossible(c)]


def _count(frame: pl.DataFrame, checks: Sequence[_Check]) -> list[int]:
    if not checks:
        return []
    row = frame.select([c.mask.fill_null(False).sum().alias(f"c{i}") for i, c in enumerate(checks)]).row(0)
    return [int(k or 0) for k in row]


def _same_prev() -> pl.Expr:
    return (pl.col(_ID) == pl.col(_ID).shift(1)).fill_null(False)


def _sequence_checks(config: ValidationConfig) -> list[_Check]:
    if config.max_abs_return is None:
        return []
    prev = pl.when(_same_prev()).then(_fc("close").shift(1))
    ret = _fc("close") / prev - 1
    return [
        _Check(
            "price_jump",
            "warning",
            "close",
            (prev > 0) & (ret.abs() > config.max_abs_return),
            {
                "previous_close": pl.col("__v_prev_close"),
                "close": _fc("close"),
                "return": _fc("close") / pl.col("__v_prev_close") - 1,
                "threshold": pl.lit(float(config.max_abs_return)),
            },
            drops=False,
            prepare=[prev.alias("__v_prev_close")],
        )
    ]


def _volume_spikes(good: pl.DataFrame, factor: float) -> pl.DataFrame:
    """Positions (in ``good``) of volume spikes, with the median each was compared to (columns ``p``, ``m``).

    A volume can only exceed ``factor`` times its window's median if it exceeds ``factor`` times the window's
    minimum, and a rolling minimum is cheap: the median is computed only for those candidates, by gathering
    their windows and taking the medians in one group-by. When the candidates are many (zero-volume bars make
    the minimum 0), one rolling median per symbol over the whole frame is cheaper.
    """
    vol = _fc("volume")
    pos = pl.int_range(pl.len(), dtype=pl.Int64)
    start = pl.when(~_same_prev()).then(pos).forward_fill()
    # a window reaching into the previous symbol only lowers the minimum: still a superset of the candidates
    window_min = vol.shift(1).rolling_min(VOLUME_WINDOW, min_samples=1)
    cand = good.select(
        pos.alias("p"), start.alias("s"), (vol > factor * window_min).fill_null(False).alias("c")
    ).filter(pl.col("c") & (pl.col("p") - pl.col("s") >= VOLUME_MIN_BARS))
    volumes = good.get_column(_f("volume"))
    if cand.height == 0:
        return pl.DataFrame(schema={"p": pl.Int64, "m": pl.Float64})
    if cand.height > _SPIKE_GATHER_LIMIT:
        median = vol.shift(1).rolling_median(VOLUME_WINDOW, min_samples=VOLUME_MIN_BARS).over(_ID)
        medians = good.select(pos.alias("p"), median.alias("m")).join(cand.select("p"), on="p", how="semi")
    else:
        w0 = pl.max_horizontal(pl.col("s"), pl.col("p") - VOLUME_WINDOW)
        windows = cand.select("p", pl.int_ranges(w0, "p").alias("j")).explode("j")
        medians = (
            windows.with_columns(volumes.gather(windows.get_column("j")).alias("v"))
            .group_by("p")
            .agg(pl.col("v").median().alias("m"))
            .sort("p")
        )
    current = volumes.gather(medians.get_column("p"))
    return medians.filter((pl.col("m") > 0) & (current > factor * pl.col("m")))


def _gap_rows(good: pl.DataFrame, cal: _Calendar) -> pl.DataFrame:
    """One row per gap: the days of the bars on both sides and the session indices missing between them.

    With ``cum(d)`` the number of sessions on or before day ``d``, the sessions strictly between bars on days
    ``a < b`` have the indices ``cum(a) .. cum(b) - on(b) - 1``, whether or not ``a`` and ``b`` are sessions.
    """
    day = pl.col(_TS).cast(pl.Int64) // _NS_PER_DAY
    same = _same_prev()
    return (
        good.select(
            _ID,
            _FILE,
            day.alias("day"),
            cal.lookup(day, cal.cum).alias("cum"),
            cal.lookup(day, cal.on).cast(pl.Int64).alias("on"),
        )
        .filter(pl.col("cum").is_not_null())
        .with_columns(
            pl.when(same).then(pl.col("cum").shift(1)).alias("from"),
            pl.when(same).then(pl.col("day").shift(1)).alias("prev_day"),
            (pl.col("cum") - pl.col("on")).alias("to"),
        )
        .with_columns((pl.col("to") - pl.col("from")).alias("gap"))
        .filter(pl.col("gap") > 0)
        .select(_ID, _FILE, "prev_day", "day", "from", "to", "gap")
    )


# ---------------------------------------------------------------------------------------------------------
# details
# ---------------------------------------------------------------------------------------------------------


def _allocate(counts: Sequence[int], severities: Sequence[str], cap: int) -> list[int]:
    """Share ``cap`` detail rows between checks fairly (errors first), never more than each one's count."""
    alloc = [0] * len(counts)
    remaining = cap
    for sev in ("error", "warning"):
        active = [i for i, k in enumerate(counts) if k and severities[i] == sev]
        while active and remaining > 0:
            share = max(remaining // len(active), 1)
            still = []
            for i in active:
                take = min(share, counts[i] - alloc[i], remaining)
                alloc[i] += take
                remaining -= take
                if alloc[i] < counts[i]:
                    still.append(i)
                if remaining == 0:
                    break
            active = still
    return alloc


def _json_values(values: Mapping[str, pl.Expr]) -> pl.Expr:
    return pl.struct([expr.alias(name) for name, expr in values.items()]).struct.json_encode()


def _detail_columns(rule: str, severity: str, field_name: str | None, values: Mapping[str, pl.Expr]) -> list[pl.Expr]:
    return [
        pl.lit(rule).alias("rule"),
        pl.lit(severity).alias("severity"),
        pl.col(_ID).cast(pl.String).alias("symbol"),
        pl.col(_TS).alias("timestamp"),
        pl.lit(field_name, pl.String).alias("field"),
        pl.col(_FILE).alias("file"),
        pl.col(_ROW).alias("row"),
        pl.col(_IDX).alias("index"),
        _json_values(values).alias("detail"),
    ]


def _detail(source: pl.DataFrame, check: _Check, limit: int) -> pl.DataFrame:
    if check.prepare:  # values that look at neighbouring rows: computed before the flagged rows are picked
        source = source.with_columns(check.prepare)
    rows = source.filter(check.mask.fill_null(False)).head(limit)
    return rows.select(_detail_columns(check.rule, check.severity, check.field, check.values))


def _spike_detail(good: pl.DataFrame, spikes: pl.DataFrame, factor: float, limit: int) -> pl.DataFrame:
    head = spikes.head(limit)
    rows = good[head.get_column("p")].with_columns(head.get_column("m").alias("__v_median_volume"))
    values = {
        "volume": _fc("volume"),
        "median_volume": pl.col("__v_median_volume"),
        "factor": pl.lit(factor),
    }
    return rows.select(_detail_columns("volume_spike", RULES["volume_spike"], "volume", values))


def _gap_detail(gaps: pl.DataFrame, cal: _Calendar, limit: int) -> pl.DataFrame:
    """One violation per missing session, for the first gaps up to ``limit`` rows."""
    head = gaps.filter((pl.col("gap").cum_sum() - pl.col("gap")) < limit)
    rows = head.with_columns(pl.int_ranges("from", "to").alias("j")).explode("j").head(limit)
    rows = rows.with_columns(cal.sessions.gather(rows.get_column("j")).alias("session"))
    epoch = pl.lit(date(1970, 1, 1))
    return rows.select(
        pl.lit("calendar_gap").alias("rule"),
        pl.lit("warning").alias("severity"),
        pl.col(_ID).cast(pl.String).alias("symbol"),
        pl.col("session").cast(pl.Datetime("ns")).dt.replace_time_zone("UTC").alias("timestamp"),
        pl.lit("timestamp").alias("field"),
        pl.col(_FILE).alias("file"),
        pl.lit(None, pl.Int64).alias("row"),
        pl.lit(None, pl.Int64).alias("index"),
        _json_values(
            {
                "session": pl.col("session"),
                "previous_bar": epoch + pl.duration(days=pl.col("prev_day")),
                "next_bar": epoch + pl.duration(days=pl.col("day")),
                "missing_sessions": pl.col("gap"),
                "calendar": pl.lit(cal.name),
            }
        ).alias("detail"),
    )


def _empty_violations() -> pl.DataFrame:
    return pl.DataFrame(schema=_VIOLATION_SCHEMA)


def _order_violations(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(
        pl.col("severity") != "error",
        "index",
        "symbol",
        "timestamp",
        "rule",
        nulls_last=True,
        maintain_order=True,
    )


def _cap_frame(frame: pl.DataFrame, cap: int) -> pl.DataFrame:
    if frame.height <= cap:
        return frame
    per_rule = frame.group_by("rule", "severity", maintain_order=True).len()
    keys = list(per_rule.select("rule", "severity").iter_rows())
    alloc = _allocate(per_rule.get_column("len").to_list(), [s for _, s in keys], cap)
    limits = pl.DataFrame(
        {"rule": [r for r, _ in keys], "severity": [s for _, s in keys], "__limit": alloc},
        schema={"rule": pl.String, "severity": pl.String, "__limit": pl.Int64},
    )
    return (
        frame.join(limits, on=["rule", "severity"], how="left", maintain_order="left")
        .filter(pl.int_range(pl.len()).over("rule", "severity") < pl.col("__limit"))
        .drop("__limit")
    )


def _violations_of(frame: pl.DataFrame) -> list[Violation]:
    out = []
    for rec in frame.iter_rows(named=True):
        values = json.loads(rec["detail"]) if rec["detail"] else {}
        out.append(
            Violation(
                rule=rec["rule"],
                severity=rec["severity"],
                symbol=rec["symbol"],
                timestamp=rec["timestamp"],
                field=rec["field"],
                values=values,
                file=rec["file"],
                row=rec["row"],
                message=_message(rec, values),
                index=rec["index"],
            )
        )
    return out


def _fmt_ts(ts: datetime | None) -> str:
    if ts is None:
        return "(no timestamp)"
    if ts.hour == ts.minute == ts.second == ts.microsecond == 0:
        return ts.date().isoformat()
    return ts.isoformat().replace("+00:00", "Z")


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and value.endswith("+00:00"):
        try:
            return _fmt_ts(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def _message(rec: Mapping[str, Any], v: Mapping[str, Any]) -> str:
    rule, fld = rec["rule"], rec["field"]
    where = []
    if rec.get("file"):
        where.append(f"{rec['file']}" + (f" row {rec['row']}" if rec.get("row") is not None else ""))
    elif rec.get("row") is not None:
        where.append(f"row {rec['row']}")
    elif rec.get("index") is not None:
        where.append(f"frame index {rec['index']}")
    where.append(f"symbol {rec['symbol']}" if rec.get("symbol") is not None else "(no symbol)")
    where.append(_fmt_ts(rec.get("timestamp")))
    if fld:
        where.append(f"field {fld}")
    g = {k: _fmt_value(x) for k, x in v.items()}
    what: str
    if rule == "null_value":
        what = f"{fld} is missing (null or empty)"
    elif rule == "not_numeric":
        what = f"{fld} value {v.get(fld)!r} is not a number"
    elif rule == "nan_value":
        what = f"{fld} is NaN"
    elif rule == "infinite_value":
        what = f"{fld} is {v.get(fld)}"
    elif rule == "negative_price":
        what = f"{fld} price {g.get(fld)} is negative"
    elif rule == "negative_volume":
        what = f"volume {g.get('volume')} is negative"
    elif rule == "zero_price":
        what = f"{fld} price is zero"
    elif rule == "high_below_low":
        what = f"high {g.get('high')} is below low {g.get('low')}"
    elif rule == "high_below_open_close":
        what = f"high {g.get('high')} is below max(open {g.get('open')}, close {g.get('close')})"
    elif rule == "low_above_open_close":
        what = f"low {g.get('low')} is above min(open {g.get('open')}, close {g.get('close')})"
    elif rule == "duplicate_timestamp":
        kept_row = v.get("kept_row")
        later = f"row {kept_row}" if kept_row is not None else f"frame index {v.get('kept_index')}"
        what = f"duplicate bar: {later} has the same symbol and timestamp (lenient mode keeps that last one)"
    elif rule == "unsorted":
        what = f"timestamp goes back from {g.get('previous_timestamp')} (the symbol's previous row)"
    elif rule == "future_timestamp":
        what = f"timestamp is in the future (now is {g.get('now')})"
    elif rule == "off_calendar":
        what = f"{g.get('date')} is not a session of {v.get('calendar')}"
    elif rule == "calendar_gap":
        what = (
            f"no valid bar for {v.get('calendar')} session {g.get('session')} "
            f"({v.get('missing_sessions')} session(s) missing between the bars of {g.get('previous_bar')} "
            f"and {g.get('next_bar')})"
        )
    elif rule == "price_jump":
        ret = v.get("return")
        pct = f"{ret:+.1%}" if isinstance(ret, float) else "?"
        what = (
            f"close moved {pct} from {g.get('previous_close')} to {g.get('close')} "
            f"(threshold {v.get('threshold')}): an unadjusted split or a bad tick?"
        )
    elif rule == "volume_spike":
        vol, med = v.get("volume"), v.get("median_volume")
        numbers = isinstance(vol, int | float) and isinstance(med, int | float) and med
        ratio = f"{vol / med:.1f}x" if numbers else "?"
        what = f"volume {g.get('volume')} is {ratio} the median {g.get('median_volume')} of the previous bars"
    else:
        what = ", ".join(f"{k}={x}" for k, x in g.items())
    return f"{rule} [{rec['severity']}] at {', '.join(where)}: {what}"


# ---------------------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------------------


def _as_utc(value: datetime | date) -> datetime:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_ts(text: str) -> datetime:
    ts = datetime.fromisoformat(text)
    return _as_utc(ts)


class _Stopwatch:
    """Wall time per stage, for the debug log."""

    def __init__(self) -> None:
        self._start = self._last = time.perf_counter()
        self._stages: list[tuple[str, float]] = []

    def mark(self, stage: str) -> None:
        now = time.perf_counter()
        self._stages.append((stage, now - self._last))
        self._last = now

    def total(self) -> float:
        return time.perf_counter() - self._start

    def __str__(self) -> str:
        return ", ".join(f"{name} {secs * 1000:.0f} ms" for name, secs in self._stages)
