"""The outcome of a validation: :class:`Violation` and :class:`ValidationReport` over a bounded violation frame."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from rustybt.data.schema import TIMESTAMP_DTYPE
from rustybt.data.validation.config import RULES
from rustybt.data.validation.messages import message
from rustybt.errors import ValidationError

__all__ = ["ValidationReport", "Violation"]

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
        from rustybt._html import validation_report_html

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
                message=message(rec, values),
                index=rec["index"],
            )
        )
    return out


def _as_utc(value: datetime | date) -> datetime:
    """``value`` as an aware stdlib datetime in UTC (dates at midnight).

    Not :func:`rustybt._utils.to_utc`: that one gives a nanosecond ``pd.Timestamp``, which cannot hold years past
    2262, and the future limit (``now + future_tolerance``) relies on datetime's OverflowError past year 9999.
    """
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_ts(text: str) -> datetime:
    ts = datetime.fromisoformat(text)
    return _as_utc(ts)
