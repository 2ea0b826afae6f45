"""Reading CSV bytes into adapter-form bars: a cheap scan, polars batches for clean files, a line-by-line reading
that names the bad line, missing values, adjustments."""

from __future__ import annotations

import csv
import io
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl

from rustybt.data.adapters.base import ADJUSTMENT_SCHEMA
from rustybt.data.adapters.csv.dates import (
    _FORMAT_REGEXES,
    _FORMATS,
    _DateFormat,
    _first_row,
    _parse_expr,
    _to_utc,
    _with_timestamps,
)
from rustybt.data.adapters.csv.layout import _Layout, _resolve_layout, _sniff_delimiter
from rustybt.data.adapters.csv.options import _Options
from rustybt.data.schema import (
    PRICE_COLUMNS,
    SOURCE_FILE_COLUMN,
    SOURCE_ROW_COLUMN,
    VALUE_COLUMNS,
)
from rustybt.errors import AdapterError, DataFormatError

log = logging.getLogger(__name__)

_T = TypeVar("_T")


_MISSING_TEXT = r"(?i)^(?:|na|n/a|nan|null|none|-)$"
_NUMBER_TEXT = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


_BATCH_FILES = 32  # similar files parsed by one polars call


@dataclass
class _Scan:
    """A cheap look at one file's bytes: its layout, and whether polars' row i is surely line i + 2."""

    path: Path
    data: bytes
    delimiter: str
    layout: _Layout
    rows: int = 0  # data rows, when `clean`
    clean: bool = False  # no quotes, no blank or ragged lines
    first_format: _DateFormat | None = None  # a format fitting the first row (clean files only)


@dataclass
class _FileResult:
    bars: pl.DataFrame
    adjustments: pl.DataFrame | None = None


@dataclass
class _ColumnFileResult:
    """One symbol-column file: bars per symbol, errors per symbol, or an error for the whole file."""

    bars: dict[str, pl.DataFrame] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)
    file_error: Exception | None = None


# --- the adapter -----------------------------------------------------------------------------------------


def _ordered_map(fn: Callable[[Any], _T], items: Iterable[Any], n_workers: int) -> Iterator[_T]:
    """``map`` over a thread pool with at most 2 * n_workers tasks in flight, results in input order."""
    workers = max(1, int(n_workers))
    if workers == 1:
        for item in items:
            yield fn(item)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rustybt-csv")
    pending: deque[Future[_T]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_one(path: Path, symbol: str | None, options: _Options, scan: _Scan | None = None) -> _FileResult | Exception:
    try:
        return _read_file(path, symbol, options, scan)
    except Exception as exc:
        return exc


def _read_files(jobs: Sequence[tuple[Path, str]], options: _Options) -> dict[Path, _FileResult | Exception]:
    """Read one-symbol files: clean files sharing a layout in polars batches, the others one by one.

    Batching is only a speed-up: a file that any check flags is re-read alone by :func:`_read_file`, which
    handles missing values and names the line of an error, so both routes give the same result.
    """
    results: dict[Path, _FileResult | Exception] = {}
    groups: dict[tuple[str, tuple[str, ...], str], list[tuple[_Scan, str]]] = {}
    for path, symbol in jobs:
        try:
            scan = _scan(path, options)
        except Exception as exc:
            results[path] = exc
            continue
        if scan.clean and scan.first_format is not None:
            key = (scan.delimiter, scan.layout.header, scan.first_format.label)
            groups.setdefault(key, []).append((scan, symbol))
        else:
            results[path] = _read_one(path, symbol, options, scan)
    for members in groups.values():
        for i in range(0, len(members), _BATCH_FILES):
            results.update(_read_batch(members[i : i + _BATCH_FILES], options))
    return results


def _read_batch(members: list[tuple[_Scan, str]], options: _Options) -> dict[Path, _FileResult | Exception]:
    """Parse clean files with one header and first-row date format together; flagged files go one by one."""
    scans = [scan for scan, _ in members]
    layout, fmt = scans[0].layout, scans[0].first_format
    assert fmt is not None
    rows = [scan.rows for scan in scans]
    try:
        frame = pl.read_csv(
            [scan.data for scan in scans],
            separator=scans[0].delimiter,
            has_header=True,
            infer_schema=False,
            quote_char='"',
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError:
        frame = None
    if frame is None or frame.height != sum(rows) or frame.width != layout.ncols:
        return {scan.path: _read_one(scan.path, sym, options, scan) for scan, sym in members}
    frame = frame.with_columns(
        pl.Series("_file", np.repeat(np.arange(len(scans), dtype=np.int64), rows)),
        pl.Series(SOURCE_ROW_COLUMN, np.concatenate([np.arange(2, n + 2, dtype=np.int64) for n in rows])),
    )
    checked = _check_batch(frame, layout, fmt, options)
    flagged = sorted(set(checked.filter(pl.col("_bad")).get_column("_file").unique().to_list()))
    results: dict[Path, _FileResult | Exception] = {
        scans[i].path: _read_one(scans[i].path, members[i][1], options, scans[i]) for i in flagged
    }
    good = [i for i in range(len(scans)) if i not in set(flagged)]
    if not good:
        return results
    if flagged:
        checked = checked.filter(~pl.col("_file").is_in(flagged))
    if checked.get_column("_unsorted").any():
        checked = checked.sort("_file", "timestamp", maintain_order=True)
    adjustments = _batch_adjustments(checked, members) if options.adjustments else {}
    bars = checked.select("timestamp", *VALUE_COLUMNS, SOURCE_ROW_COLUMN)
    offset = 0
    for i in good:
        (scan, symbol), part = members[i], bars.slice(offset, rows[i])
        offset += rows[i]
        part = part.select(
            "timestamp",
            pl.lit(symbol, dtype=pl.String).alias("symbol"),
            *VALUE_COLUMNS,
            pl.lit(str(scan.path), dtype=pl.String).alias(SOURCE_FILE_COLUMN),
            SOURCE_ROW_COLUMN,
        )
        adj = adjustments.get(i, pl.DataFrame(schema=ADJUSTMENT_SCHEMA)) if options.adjustments else None
        results[scan.path] = _FileResult(bars=part, adjustments=adj)
    return results


def _batch_adjustments(checked: pl.DataFrame, members: list[tuple[_Scan, str]]) -> dict[int, pl.DataFrame]:
    """Adjustments of each file of a checked batch, by file index."""
    events = checked.filter(
        pl.any_horizontal(
            [pl.col(c).cast(pl.Float64) != none for c, none in (("dividend", 0.0), ("split", 1.0)) if c in checked]
        )
    )
    index = list(range(len(members)))
    events = events.with_columns(
        pl.col("_file").replace_strict(index, [sym for _, sym in members], return_dtype=pl.String).alias("symbol")
    )
    found = _adjustments(events, members[0][0].path, keep=("_file",))
    return {int(k[0]): v.drop("_file") for k, v in found.partition_by("_file", as_dict=True).items()}


def _check_batch(frame: pl.DataFrame, layout: _Layout, fmt: _DateFormat, options: _Options) -> pl.DataFrame:
    """Parse timestamps and flag (``_bad``) every row that a strict reading might not take as it is.

    A value passes when polars reads it as a finite float: that grammar is the number pattern of the strict
    reading (plus inf/nan, which ``is_finite`` rejects), at a fraction of a regex's cost.
    """
    texts = [_raw_text(layout, name) for name in ("timestamp", *VALUE_COLUMNS)]
    ok = [_finite(name).fill_null(False) for name in VALUE_COLUMNS]
    for name, idx in (("dividend", layout.dividend), ("split", layout.split)):
        if idx is not None:
            texts.append(pl.nth(idx).alias(name))
            valid = (
                _finite(name) & (pl.col(name).cast(pl.Float64, strict=False) > 0) if name == "split" else _finite(name)
            )
            ok.append(pl.col(name).is_null() | valid.fill_null(False))
    utc = _to_utc(_parse_expr(fmt, by="_file"), fmt, options)
    same_file = pl.col("_file") == pl.col("_file").shift()
    return (
        frame.lazy()
        .select(*texts, "_file", SOURCE_ROW_COLUMN)
        .with_columns(utc.alias("_utc"))
        .with_columns(
            (~pl.all_horizontal(*ok, pl.col("_utc").is_not_null())).alias("_bad"),
            ((pl.col("_utc").diff() < 0) & same_file).fill_null(False).alias("_unsorted"),
        )
        .drop("timestamp")
        .rename({"_utc": "timestamp"})
        .collect()
    )


def _finite(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64, strict=False).is_finite()


def _raw_text(layout: _Layout, name: str) -> pl.Expr:
    """A field's text exactly as polars read it (no cleaning: anything unusual is flagged instead)."""
    if name == "timestamp":
        parts = [pl.nth(i) for i in layout.timestamp]
        expr = parts[0] if len(parts) == 1 else pl.concat_str(parts, separator=" ")
        return expr.alias(name)
    idx = layout.values[name]
    return (pl.nth(idx) if idx is not None else pl.lit("0", dtype=pl.String)).alias(name)


# --- reading one file ------------------------------------------------------------------------------------


def _read_file(path: Path, symbol: str | None, options: _Options, scan: _Scan | None = None) -> _FileResult:
    """Parse one file into adapter-form bars (plus its adjustments when asked for), naming any bad line."""
    scan = scan or _scan(path, options)
    raw = _read_raw(scan.data, scan.delimiter, scan.layout, path)
    return _normalise(raw, scan.layout, path, symbol, options)


def _read_column_file(path: Path, options: _Options) -> _ColumnFileResult:
    """Parse a file with a symbol column; on a data error, retry per symbol to pin the error on one."""
    try:
        scan = _scan(path, options)
        layout = scan.layout
        raw = _read_raw(scan.data, scan.delimiter, layout, path)
    except Exception as exc:
        return _ColumnFileResult(file_error=exc)
    try:
        parsed = _normalise(raw, layout, path, None, options)
    except DataFormatError as first_error:
        return _diagnose_by_symbol(raw, layout, path, options, first_error)
    except Exception as exc:
        return _ColumnFileResult(file_error=exc)
    return _ColumnFileResult(bars=_split_by_symbol(parsed.bars))


def _diagnose_by_symbol(
    raw: pl.DataFrame, layout: _Layout, path: Path, options: _Options, first_error: DataFormatError
) -> _ColumnFileResult:
    result = _ColumnFileResult()
    if raw.get_column("symbol").null_count() and options.missing != "skip":
        result.file_error = first_error
        return result
    for (sym,), group in raw.filter(pl.col("symbol").is_not_null()).partition_by("symbol", as_dict=True).items():
        try:
            result.bars[str(sym)] = _normalise(group, layout, path, None, options).bars
        except DataFormatError as exc:
            result.errors[str(sym)] = exc
    if not result.errors:  # the error did not come back per symbol (e.g. mixed formats across symbols)
        result.bars.clear()
        result.file_error = first_error
    return result


def _split_by_symbol(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    return {str(key[0]): part for key, part in frame.partition_by("symbol", as_dict=True).items()}


def _read_symbol_values(path: Path, options: _Options) -> set[str]:
    scan = _scan(path, options)
    raw = _read_raw(scan.data, scan.delimiter, scan.layout, path)
    return set(raw.get_column("symbol").drop_nulls().unique().to_list())


def _scan(path: Path, options: _Options) -> _Scan:
    """Read ``path`` and find its delimiter, header layout and structure, without parsing the rows."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AdapterError(f"csv: cannot read {path}: {exc}", source=str(path)) from exc
    if not data or data.isspace():
        raise DataFormatError(f"{path}: the file is empty; expected a header line and rows of bars")
    head = [
        line.decode("utf-8-sig" if i == 0 else "utf-8", errors="replace").rstrip("\r")
        for i, line in enumerate(data[:65536].split(b"\n", 5)[:5])
    ]
    if not head[0].strip():
        raise DataFormatError(f"{path}, line 1: the header line is blank; the first line must name the columns")
    delimiter = options.delimiter or _sniff_delimiter(head, path)
    header = tuple(h.strip() for h in next(csv.reader([head[0]], delimiter=delimiter)))
    scan = _Scan(path, data, delimiter, _resolve_layout(header, path, options))
    if b'"' not in data:
        lines, separators = _count_bytes(data, ord("\n"), ord(delimiter)) if delimiter.isascii() else (0, -1)
        lines += 0 if data.endswith(b"\n") else 1
        scan.rows = lines - 1
        scan.clean = scan.rows > 0 and separators == (scan.layout.ncols - 1) * lines
    if scan.clean and len(head) > 1:
        scan.first_format = _first_row_format(head[1], scan, options)
    return scan


def _count_bytes(data: bytes, *values: int) -> tuple[int, ...]:
    """How often each byte value occurs in ``data`` (numpy: ~10x faster than ``bytes.count``)."""
    array = np.frombuffer(data, dtype=np.uint8)
    return tuple(int(np.count_nonzero(array == value)) for value in values)


def _first_row_format(line: str, scan: _Scan, options: _Options) -> _DateFormat | None:
    if options.date_format is not None:
        return options.date_format
    fields = line.split(scan.delimiter)
    if len(fields) != scan.layout.ncols:
        return None
    text = " ".join(fields[i] for i in scan.layout.timestamp)
    return next((f for f in _FORMATS if _FORMAT_REGEXES[f.label].match(text)), None)


def _read_raw(data: bytes, delimiter: str, layout: _Layout, path: Path) -> pl.DataFrame:
    """Every needed field as cleaned text (missing -> null) plus ``_source_row``.

    The fast path trusts polars when the file has no quotes and its delimiter count proves that every line is
    a complete row (polars itself rejects over-long rows); otherwise the file is re-read with the csv module.
    """
    try:
        frame = pl.read_csv(
            data,
            separator=delimiter,
            has_header=True,
            infer_schema=False,
            quote_char='"',
            raise_if_empty=False,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError as exc:
        log.debug("csv: %s: polars could not parse it (%s); diagnosing line by line", path, exc)
        frame = _read_raw_slow(data, delimiter, layout, path, cause=exc)
    else:
        complete = (
            frame.width == layout.ncols
            and b'"' not in data
            and data.count(delimiter.encode()) == (layout.ncols - 1) * (frame.height + 1)
        )
        if complete:
            frame = frame.with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias(SOURCE_ROW_COLUMN))
        else:
            log.debug("csv: %s has quotes, blank or ragged lines; reading it line by line", path)
            frame = _read_raw_slow(data, delimiter, layout, path)
    if frame.height == 0:
        raise DataFormatError(f"{path}: the header has no rows of data under it")
    return _extract(frame, layout)


def _read_raw_slow(
    data: bytes, delimiter: str, layout: _Layout, path: Path, cause: Exception | None = None
) -> pl.DataFrame:
    """The csv module's reading: exact line numbers, blank lines skipped, ragged rows named."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFormatError(
            f"{path}, line {line}: not UTF-8 text ({exc.reason}); re-save the file as UTF-8"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: list[list[str]] = [[] for _ in range(layout.ncols)]
    rows: list[int] = []
    try:
        next(reader)
        last = reader.line_num
        for record in reader:
            start, last = last + 1, reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if len(record) != layout.ncols:
                raise DataFormatError(
                    f"{path}, line {start}: {len(record)} field(s), but the header (line 1) has "
                    f"{layout.ncols}: {', '.join(layout.header)}"
                )
            for col, value in zip(columns, record, strict=True):
                col.append(value)
            rows.append(start)
    except csv.Error as exc:
        raise DataFormatError(f"{path}, line {reader.line_num}: {exc}") from None
    if cause is not None and not rows:
        raise DataFormatError(f"{path}: cannot parse the file: {cause}") from cause
    frame = pl.DataFrame(
        {f"c{i}": col for i, col in enumerate(columns)},
        schema={f"c{i}": pl.String for i in range(layout.ncols)},
    )
    return frame.with_columns(pl.Series(SOURCE_ROW_COLUMN, rows, dtype=pl.Int64))


def _clean(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars()
    return pl.when(text.str.contains(_MISSING_TEXT)).then(None).otherwise(text)


def _extract(frame: pl.DataFrame, layout: _Layout) -> pl.DataFrame:
    if len(layout.timestamp) == 2:
        ts = pl.concat_str([_clean(pl.nth(i)) for i in layout.timestamp], separator=" ")
    else:
        ts = _clean(pl.nth(layout.timestamp[0]))
    exprs = [ts.alias("timestamp")]
    if layout.symbol is not None:
        exprs.append(_clean(pl.nth(layout.symbol)).alias("symbol"))
    for name in VALUE_COLUMNS:
        idx = layout.values[name]
        exprs.append((_clean(pl.nth(idx)) if idx is not None else pl.lit("0", dtype=pl.String)).alias(name))
    for name, idx in (("dividend", layout.dividend), ("split", layout.split)):
        if idx is not None:
            exprs.append(_clean(pl.nth(idx)).alias(name))
    exprs.append(pl.col(SOURCE_ROW_COLUMN))
    return frame.select(exprs)


# --- from text to bars -----------------------------------------------------------------------------------


def _normalise(raw: pl.DataFrame, layout: _Layout, path: Path, symbol: str | None, options: _Options) -> _FileResult:
    keys = ["timestamp", *(["symbol"] if "symbol" in raw.columns else [])]
    numeric = [c for c in (*VALUE_COLUMNS, "dividend", "split") if c in raw.columns]
    checks = raw.select(
        *[pl.col(c).null_count().alias(f"null:{c}") for c in (*keys, *VALUE_COLUMNS)],
        *[(pl.col(c).is_not_null() & ~pl.col(c).str.contains(_NUMBER_TEXT)).any().alias(f"bad:{c}") for c in numeric],
    ).row(0, named=True)
    for c in numeric:
        if checks[f"bad:{c}"]:
            _raise_not_a_number(raw, c, layout, path)
    frame = raw
    if any(checks[f"null:{k}"] for k in keys):
        frame = _drop_missing_keys(frame, keys, layout, path, options.missing)
    value_nulls = any(checks[f"null:{c}"] for c in VALUE_COLUMNS)
    if value_nulls and options.missing == "fail":
        _raise_missing(frame, VALUE_COLUMNS, layout, path, hint=True)
    if value_nulls and options.missing == "skip":
        before = frame.height
        frame = frame.drop_nulls(list(VALUE_COLUMNS))
        log.info("csv: %s: skipped %d row(s) with missing values", path, before - frame.height)
    frame = _with_timestamps(frame, layout, path, options)
    if symbol is not None:
        frame = frame.with_columns(pl.lit(symbol, dtype=pl.String).alias("symbol"))
    frame = frame.sort("symbol", "timestamp", maintain_order=True)
    if value_nulls and options.missing == "ffill":
        frame = _forward_fill(frame, layout, path)
    bars = frame.select(
        "timestamp",
        "symbol",
        *VALUE_COLUMNS,
        pl.lit(str(path), dtype=pl.String).alias(SOURCE_FILE_COLUMN),
        SOURCE_ROW_COLUMN,
    )
    adjustments = _adjustments(frame, path) if options.adjustments else None
    return _FileResult(bars=bars, adjustments=adjustments)


def _raise_not_a_number(raw: pl.DataFrame, name: str, layout: _Layout, path: Path) -> None:
    row = _first_row(raw, pl.col(name).is_not_null() & ~pl.col(name).str.contains(_NUMBER_TEXT))
    raise DataFormatError(
        f"{path}, line {row[SOURCE_ROW_COLUMN]}, field {name!r} (column {layout.column_of(name)!r}): "
        f"{row[name]!r} is not a number"
    )


def _raise_missing(frame: pl.DataFrame, names: Sequence[str], layout: _Layout, path: Path, *, hint: bool) -> None:
    row = _first_row(frame, pl.any_horizontal([pl.col(n).is_null() for n in names]))
    name = next(n for n in names if row[n] is None)
    advice = "; pass missing='skip' to drop such rows or missing='ffill' to fill them" if hint else ""
    raise DataFormatError(
        f"{path}, line {row[SOURCE_ROW_COLUMN]}, field {name!r} (column {layout.column_of(name)!r}): "
        f"the value is missing{advice}"
    )


def _drop_missing_keys(frame: pl.DataFrame, keys: list[str], layout: _Layout, path: Path, missing: str) -> pl.DataFrame:
    if missing != "skip":  # a row without a time (or symbol) cannot be placed, not even by ffill
        row = _first_row(frame, pl.any_horizontal([pl.col(k).is_null() for k in keys]))
        name = next(k for k in keys if row[k] is None)
        raise DataFormatError(
            f"{path}, line {row[SOURCE_ROW_COLUMN]}, field {name!r} (column {layout.column_of(name)!r}): "
            "the value is missing and cannot be filled; pass missing='skip' to drop such rows"
        )
    before = frame.height
    frame = frame.drop_nulls(keys)
    log.info("csv: %s: skipped %d row(s) without a %s", path, before - frame.height, " or ".join(keys))
    return frame


def _forward_fill(frame: pl.DataFrame, layout: _Layout, path: Path) -> pl.DataFrame:
    filled = frame.with_columns(
        *[pl.col(c).forward_fill().over("symbol") for c in PRICE_COLUMNS],
        pl.col("volume").fill_null("0"),
    )
    if any(filled.get_column(c).null_count() for c in PRICE_COLUMNS):
        row = _first_row(filled, pl.any_horizontal([pl.col(c).is_null() for c in PRICE_COLUMNS]))
        name = next(c for c in PRICE_COLUMNS if row[c] is None)
        raise DataFormatError(
            f"{path}, line {row[SOURCE_ROW_COLUMN]}, field {name!r} (column {layout.column_of(name)!r}): the "
            f"value is missing and no earlier bar of {row['symbol']} has one to fill it from"
        )
    return filled


def _adjustments(frame: pl.DataFrame, path: Path, keep: Sequence[str] = ()) -> pl.DataFrame:
    """Split (ratio 1/s for a ``split`` value s != 1) and dividend (``dividend`` != 0) rows of ``frame``.

    ``keep`` names extra columns to carry along (a batch's file index).
    """
    schema = {**ADJUSTMENT_SCHEMA, **{name: frame.schema[name] for name in keep}}
    parts = []
    if "split" in frame.columns:
        splits = frame.with_columns(pl.col("split").cast(pl.Float64)).filter(pl.col("split") != 1.0)
        if (splits.get_column("split") <= 0).any():
            row = _first_row(splits, pl.col("split") <= 0)
            raise DataFormatError(
                f"{path}, line {row[SOURCE_ROW_COLUMN]}, field 'split': {row['split']} is not a split ratio "
                "(it must be positive; 1 means no split)"
            )
        ratio, amount = 1.0 / pl.col("split"), pl.lit(None, dtype=pl.Float64)
        parts.append(_adjustment_rows(splits, "split", ratio, amount, keep))
    if "dividend" in frame.columns:
        dividends = frame.with_columns(pl.col("dividend").cast(pl.Float64)).filter(pl.col("dividend") != 0.0)
        ratio, amount = pl.lit(None, dtype=pl.Float64), pl.col("dividend")
        parts.append(_adjustment_rows(dividends, "dividend", ratio, amount, keep))
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat([part.cast(schema) for part in parts]).sort("effective_date", "kind")  # type: ignore[arg-type]


def _adjustment_rows(
    frame: pl.DataFrame, kind: str, ratio: pl.Expr, amount: pl.Expr, keep: Sequence[str]
) -> pl.DataFrame:
    return frame.select(
        "symbol",
        pl.lit(kind, dtype=pl.String).alias("kind"),
        pl.col("timestamp").alias("effective_date"),
        ratio.alias("ratio"),
        amount.alias("amount"),
        *keep,
    )
