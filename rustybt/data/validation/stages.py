""":func:`validate_bars`: the working frame, its order, the calendar, the checks and the report, as stages in turn.

Each stage reads what earlier stages left on one :class:`_Run` and adds its own part; :data:`STAGES` lists them in
order, and the debug log times each one.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from rustybt.data.resolution import parse_resolution
from rustybt.data.schema import SOURCE_FILE_COLUMN, SOURCE_ROW_COLUMN
from rustybt.data.validation.config import RULES, ValidationConfig
from rustybt.data.validation.details import _detail, _gap_detail, _spike_detail
from rustybt.data.validation.frame import (
    _BAD,
    _FILE,
    _ID,
    _IDX,
    _NS_PER_DAY,
    _ROW,
    _TS,
    _Calendar,
    _calendar_tables,
    _carried_columns,
    _check_columns,
    _f,
    _float_exprs,
    _future_limit,
    _identifier_expr,
    _raw,
    _sort_permutation,
    _timestamp_expr,
)
from rustybt.data.validation.report import (
    ValidationReport,
    _allocate,
    _as_utc,
    _empty_violations,
    _order_violations,
)
from rustybt.data.validation.rules import (
    _Check,
    _count,
    _gap_rows,
    _possible,
    _row_checks,
    _sequence_checks,
    _volume_spikes,
)

__all__ = ["STAGES", "validate_bars"]

logger = logging.getLogger(__name__)


@dataclass
class _Run:
    """One validation in progress: the input and settings, then what each stage adds."""

    frame: pl.DataFrame
    config: ValidationConfig
    resolution: Any
    calendar: str | None
    now: datetime
    # prepare
    id_col: str = ""
    raw_strings: list[str] = dataclasses.field(default_factory=list)
    carried: dict[str, str] = dataclasses.field(default_factory=dict)
    work: pl.DataFrame = dataclasses.field(default_factory=pl.DataFrame)
    # order
    perm: pl.Series | None = None
    has_unsorted: bool = False
    # calendar
    limit: datetime | None = None
    cal: _Calendar | None = None
    # row checks
    checks: list[_Check] = dataclasses.field(default_factory=list)
    counts_row: list[int] = dataclasses.field(default_factory=list)
    bad: pl.Series | None = None
    n_bad: int = 0
    # sequence checks and gaps
    good: pl.DataFrame = dataclasses.field(default_factory=pl.DataFrame)
    seq_checks: list[_Check] = dataclasses.field(default_factory=list)
    counts_seq: list[int] = dataclasses.field(default_factory=list)
    spikes: pl.DataFrame | None = None
    gaps: pl.DataFrame | None = None
    # details
    violations: pl.DataFrame | None = None
    counts: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)

    @property
    def lenient(self) -> bool:
        return self.config.mode == "lenient"


def _prepare(run: _Run) -> None:
    """The working frame: row index, identifier, UTC timestamp, float values, provenance."""
    frame = run.frame
    run.id_col = _check_columns(frame)
    has_file = SOURCE_FILE_COLUMN in frame.columns
    has_row = SOURCE_ROW_COLUMN in frame.columns
    floats, run.raw_strings = _float_exprs(frame)
    run.carried = _carried_columns(frame, run.id_col, run.raw_strings)
    run.work = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(_IDX),
        _identifier_expr(frame, run.id_col).alias(_ID),
        _timestamp_expr(frame).alias(_TS),
        *[expr.alias(_f(c)) for c, expr in floats.items()],
        *[pl.col(c).alias(_raw(c)) for c in run.raw_strings],
        (pl.col(SOURCE_FILE_COLUMN).cast(pl.String) if has_file else pl.lit(None, pl.String)).alias(_FILE),
        (pl.col(SOURCE_ROW_COLUMN).cast(pl.Int64) if has_row else pl.lit(None, pl.Int64)).alias(_ROW),
        *[pl.col(c).alias(name) for c, name in run.carried.items() if name.startswith("__v_keep_")],
    )


def _order(run: _Run) -> None:
    """Order by (identifier, timestamp); duplicates keep their input order."""
    perm, previous = _sort_permutation(run.work)
    run.has_unsorted = previous is not None
    if run.has_unsorted:  # the timestamp goes back from the previous input row of the same symbol
        run.work = run.work.with_columns(
            (pl.col(_TS) < previous).fill_null(False).alias("__v_unsorted"), previous.alias("__v_prev_input_ts")
        )
    if perm is not None:
        run.work = run.work[perm]
    run.perm = perm
    _flag_rows_out_of_file_order(run)


def _flag_rows_out_of_file_order(run: _Run) -> None:
    """Rows an adapter already sorted are still unsorted in their file: in (symbol, time) order, a row whose next
    bar of the same symbol and file comes from an earlier line went back in time when the file was read."""
    rows = run.work.get_column(_ROW)
    if rows.null_count() == rows.len() or run.work.height < 2:
        return
    later_same = (pl.col(_ID) == pl.col(_ID).shift(-1)) & (
        pl.col(_FILE).fill_null("") == pl.col(_FILE).shift(-1).fill_null("")
    )
    inverted = (later_same & (pl.col(_ROW) > pl.col(_ROW).shift(-1))).fill_null(False)
    if not run.work.select(inverted.any()).item():
        return
    if run.has_unsorted:
        run.work = run.work.with_columns(
            (pl.col("__v_unsorted") | inverted).alias("__v_unsorted"),
            pl.when(inverted)
            .then(pl.col(_TS).shift(-1))
            .otherwise(pl.col("__v_prev_input_ts"))
            .alias("__v_prev_input_ts"),
        )
    else:
        run.work = run.work.with_columns(
            inverted.alias("__v_unsorted"), pl.when(inverted).then(pl.col(_TS).shift(-1)).alias("__v_prev_input_ts")
        )
    run.has_unsorted = True


def _attach_calendar(run: _Run) -> None:
    """The future limit, and the calendar's sessions over the data (daily bars only)."""
    run.limit = _future_limit(run.now, run.config.future_tolerance)
    run.cal = _calendar_tables(run.work, run.calendar, run.resolution, run.limit) if run.calendar else None
    if run.cal is not None:
        day = pl.col(_TS).cast(pl.Int64) // _NS_PER_DAY
        run.work = run.work.with_columns(run.cal.lookup(day, run.cal.on).alias("__v_on_session"))


def _check_rows(run: _Run) -> None:
    """Row-level checks: counts in one pass, skipping what the column statistics rule out."""
    checks = _row_checks(
        run.id_col,
        run.raw_strings,
        run.now,
        run.limit,
        lenient=run.lenient,
        unsorted=run.has_unsorted,
        calendar=run.cal.name if run.cal is not None else None,
    )
    run.checks = _possible(checks, run.work, run.raw_strings, run.limit)
    run.counts_row = _count(run.work, run.checks)
    bad_masks = [c.mask for c, k in zip(run.checks, run.counts_row, strict=True) if k and c.drops]
    if bad_masks:
        run.bad = run.work.select(pl.any_horizontal([m.fill_null(False) for m in bad_masks]).alias(_BAD)).to_series()
    run.n_bad = int(run.bad.sum()) if run.bad is not None else 0


def _check_sequences(run: _Run) -> None:
    """Sequential checks on the rows that pass (the rows lenient mode keeps)."""
    if run.n_bad:
        needed = [_IDX, _ID, _TS, _f("close"), _f("volume"), _FILE, _ROW]
        extra = ["__v_on_session"] if run.cal is not None else []
        run.good = run.work.select([*needed, *extra]).filter(~run.bad)
    else:
        run.good = run.work
    run.seq_checks = _sequence_checks(run.config)
    run.counts_seq = _count(run.good, run.seq_checks)
    factor = run.config.volume_spike_factor
    run.spikes = _volume_spikes(run.good, float(factor)) if factor else None


def _find_gaps(run: _Run) -> None:
    """Sessions without a bar between an asset's first and last daily bar."""
    run.gaps = _gap_rows(run.good, run.cal) if run.cal is not None and run.config.check_gaps else None


def _collect_details(run: _Run) -> None:
    """Exact counts per (rule, severity), and the violation rows within ``max_violations_kept``."""
    spikes, gaps, cal = run.spikes, run.gaps, run.cal
    all_checks = [*run.checks, *run.seq_checks]
    all_counts = [*run.counts_row, *run.counts_seq]
    specials = [
        ("volume_spike", spikes.height if spikes is not None else 0),
        ("calendar_gap", int(gaps.get_column("gap").sum()) if gaps is not None and gaps.height else 0),
    ]
    alloc = _allocate(
        [*all_counts, *(k for _, k in specials)],
        [*(c.severity for c in all_checks), *(RULES[r] for r, _ in specials)],
        run.config.max_violations_kept,
    )
    parts: list[pl.DataFrame] = []
    counts: dict[tuple[str, str], int] = {}
    for i, (check, k) in enumerate(zip(all_checks, all_counts, strict=True)):
        if not k:
            continue
        key = (check.rule, check.severity)
        counts[key] = counts.get(key, 0) + k
        if alloc[i]:
            source = run.work if i < len(run.checks) else run.good
            parts.append(_detail(source, check, alloc[i]))
    for (rule, k), take in zip(specials, alloc[len(all_checks) :], strict=True):
        if k:
            counts[(rule, RULES[rule])] = k
        if k and take:
            if rule == "volume_spike" and spikes is not None:
                parts.append(_spike_detail(run.good, spikes, float(run.config.volume_spike_factor or 0), take))
            elif rule == "calendar_gap" and gaps is not None and cal is not None:
                parts.append(_gap_detail(gaps, cal, take))
    run.violations = _order_violations(pl.concat(parts, how="vertical")) if parts else _empty_violations()
    run.counts = counts


#: The stages of :func:`validate_bars`, in order, by the name the debug log times them under.
STAGES: tuple[tuple[str, Callable[[_Run], None]], ...] = (
    ("prepare", _prepare),
    ("order", _order),
    ("calendar", _attach_calendar),
    ("row checks", _check_rows),
    ("sequence checks", _check_sequences),
    ("gaps", _find_gaps),
    ("details", _collect_details),
)


def _output(run: _Run) -> tuple[pl.DataFrame, ValidationReport]:
    """The frame to return (original columns and dtypes, sorted, bad rows dropped in lenient mode) and the report."""
    frame, lenient, n_bad = run.frame, run.lenient, run.n_bad
    if (lenient and n_bad) or run.perm is not None:
        # the working frame already holds every column, reordered: no second gather from the input
        kept = run.work.filter(~run.bad) if lenient and n_bad else run.work
        out = kept.select([pl.col(run.carried[c]).alias(c) for c in frame.columns])
    else:
        out = frame
    report = ValidationReport(
        run.violations,
        run.counts,
        rows_checked=frame.height,
        rows_dropped=n_bad if lenient else 0,
        mode=run.config.mode,
        max_violations_kept=run.config.max_violations_kept,
    )
    return out, report


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
    run = _Run(
        frame=frame,
        config=config,
        resolution=parse_resolution(resolution),
        calendar=calendar if calendar is not None else config.calendar,
        now=_as_utc(now) if now is not None else datetime.now(UTC),
    )
    for name, stage in STAGES:
        stage(run)
        clock.mark(name)
    out, report = _output(run)
    clock.mark("output")
    logger.log(
        logging.INFO if len(report) else logging.DEBUG,
        "validated %d rows in %.3fs (%s): %d errors, %d warnings, %d rows dropped",
        frame.height,
        clock.total(),
        config.mode,
        report.error_count,
        report.warning_count,
        report.rows_dropped,
    )
    logger.debug("validation stages: %s", clock)
    return out, report


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
