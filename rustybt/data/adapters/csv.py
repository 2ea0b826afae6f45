"""CSV files as a bar source: one file per symbol, one file with a symbol column, or zipline's csvdir layout.

Reading
    Files are parsed by polars (multi-threaded, GIL released) with every column read as text, so prices reach
    the catalog as the exact decimal text of the file. Only when a file looks structurally odd (quotes, blank
    lines, rows with the wrong number of fields) is it re-read line by line with the :mod:`csv` module, to
    name the exact line of the problem and to keep line numbers exact.

Columns
    Recognised case-insensitively, ignoring spaces, ``_``, ``-``, ``.`` and ``<>``: ``timestamp``/
    ``datetime``/``ts``, or ``date`` (plus an optional separate ``time`` column), or ``time`` alone;
    ``open``/``o``; ``high``/``h``; ``low``/``l``; ``close``/``c``/``last``; ``volume``/``vol``/``v``.
    Adjusted columns (``Adj Close``...) are never picked silently: map one with
    ``columns={"close": "Adj Close"}`` to use it.

Timestamps
    The format is detected per file: ISO dates, ISO datetimes (``T`` or space, optional fraction, optional
    ``Z``/``+hh:mm`` offset), ``%Y%m%d``, ``%Y/%m/%d``, ``%m/%d/%Y`` (``%d/%m/%Y`` when only that parses),
    ``%d.%m.%Y``, ``%Y.%m.%d`` (each optionally followed by a time), and integer epochs whose unit is taken
    from the magnitude of the largest value (< 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, else
    nanoseconds). Naive times are local times in ``timezone`` (default UTC); values with an offset and epochs
    are absolute. Daily (and coarser) bars get the session date at midnight UTC: the date as written for naive
    values, the date in ``timezone`` for absolute ones.

Output
    ``timestamp`` Datetime(ns, UTC), ``symbol``, ``open high low close volume`` as the stripped text of the
    file, ``_source_file`` and ``_source_row`` (1-based line number, header = line 1), sorted by
    (symbol, timestamp).
"""

from __future__ import annotations

import csv
import glob
import io
import logging
import math
import os
import re
import zoneinfo
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
import polars as pl

from rustybt.data.adapters.base import ADJUSTMENT_SCHEMA, AdapterMetadata, BarAdapter, SymbolBars
from rustybt.data.resolution import RESOLUTIONS, parse_resolution
from rustybt.data.schema import (
    PRICE_COLUMNS,
    SOURCE_FILE_COLUMN,
    SOURCE_ROW_COLUMN,
    TIMESTAMP_DTYPE,
    VALUE_COLUMNS,
)
from rustybt.errors import AdapterError, ConfigError, DataFormatError, ResolutionError, SymbolNotFound

__all__ = ["CSVAdapter"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

MISSING_STRATEGIES: tuple[str, ...] = ("fail", "skip", "ffill")
_DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_MAPPABLE = ("timestamp", "date", "time", *VALUE_COLUMNS, "dividend", "split")
_NULLABLE_MAPPINGS = ("volume", "dividend", "split")  # may be mapped to None: no such column
_ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "datetime", "ts", "opentime"),
    "date": ("date", "tradedate"),
    "time": ("time",),
    "open": ("open", "o", "openprice"),
    "high": ("high", "h", "highprice"),
    "low": ("low", "l", "lowprice"),
    "close": ("close", "c", "closeprice", "last", "lastprice"),
    "volume": ("volume", "vol", "v"),
}
_NAME_NOISE = re.compile(r"[\s_\-.<>]")
_MISSING_TEXT = r"(?i)^(?:|na|n/a|nan|null|none|-)$"
_NUMBER_TEXT = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_EPOCH_FORMATS = {"epoch": None, "epoch_s": "s", "epoch_ms": "ms", "epoch_us": "us", "epoch_ns": "ns"}
_SAMPLE_SIZE = 20
_BATCH_FILES = 32  # similar files parsed by one polars call
_NS_PER_UNIT = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "timestamp": TIMESTAMP_DTYPE,
    "symbol": pl.String(),
    **{c: pl.String() for c in VALUE_COLUMNS},
    SOURCE_FILE_COLUMN: pl.String(),
    SOURCE_ROW_COLUMN: pl.Int64(),
}


# --- timestamp formats -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DateFormat:
    """One timestamp format: a full-match regex guarding a polars/chrono ``strptime`` format, or an epoch."""

    label: str
    regex: str | None  # None: trust the (user-given) format without a shape check
    strptime: str | None  # None: integer epoch
    aware: bool = False  # the text carries its UTC offset
    epoch_unit: str | None = None  # fixed epoch unit; None with strptime None: decided by magnitude

    @property
    def is_epoch(self) -> bool:
        return self.strptime is None


def _build_formats() -> tuple[_DateFormat, ...]:
    dates = (
        ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
        ("%Y%m%d", r"\d{8}"),
        ("%Y/%m/%d", r"\d{4}/\d{1,2}/\d{1,2}"),
        ("%m/%d/%Y", r"\d{1,2}/\d{1,2}/\d{4}"),
        ("%d/%m/%Y", r"\d{1,2}/\d{1,2}/\d{4}"),
        ("%d.%m.%Y", r"\d{1,2}\.\d{1,2}\.\d{4}"),
        ("%Y.%m.%d", r"\d{4}\.\d{1,2}\.\d{1,2}"),
    )
    clocks = (("%H:%M:%S%.f", r"\d{1,2}:\d{2}:\d{2}(?:\.\d{1,9})?"), ("%H:%M", r"\d{1,2}:\d{2}"))
    offsets = (("", "", False), ("%#z", r"(?:Z|[+-]\d{2}:?\d{2})", True))
    formats = []
    for dfmt, dre in dates:
        formats.append(_DateFormat(dfmt, f"^{dre}$", dfmt))
        for sep in ("T", " "):
            for cfmt, cre in clocks:
                for zfmt, zre, aware in offsets:
                    fmt = f"{dfmt}{sep}{cfmt}{zfmt}"
                    formats.append(_DateFormat(fmt, f"^{dre}{sep}{cre}{zre}$", fmt, aware))
    formats.append(_DateFormat("epoch", r"^-?\d+$", None, aware=True))
    return tuple(formats)


_FORMATS = _build_formats()
_FORMAT_REGEXES = {f.label: re.compile(f.regex) for f in _FORMATS if f.regex}


def _user_format(date_format: str) -> _DateFormat:
    if date_format in _EPOCH_FORMATS:
        return _DateFormat(date_format, r"^-?\d+$", None, aware=True, epoch_unit=_EPOCH_FORMATS[date_format])
    aware = re.search(r"%[#:]*z", date_format) is not None
    return _DateFormat(date_format, None, date_format, aware)


def _epoch_multiplier(ints: pl.Expr, unit: str | None, by: str | None) -> pl.Expr:
    """Nanoseconds per epoch unit: ``unit``, or by the magnitude of the largest value (of each ``by`` group).

    Seconds stay below 1e11 until the year 5138, milliseconds below 1e14, microseconds below 1e17.
    """
    if unit is not None:
        return pl.lit(_NS_PER_UNIT[unit], dtype=pl.Int64)
    largest = ints.abs().max()
    if by is not None:
        largest = largest.over(by)
    return (
        pl.when(largest < 10**11)
        .then(pl.lit(10**9, dtype=pl.Int64))
        .when(largest < 10**14)
        .then(pl.lit(10**6, dtype=pl.Int64))
        .when(largest < 10**17)
        .then(pl.lit(10**3, dtype=pl.Int64))
        .otherwise(pl.lit(1, dtype=pl.Int64))
    )


# --- configuration ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where each field lives in a file's columns (0-based indices into the header)."""

    ncols: int
    header: tuple[str, ...]
    timestamp: tuple[int, ...]  # one column, or (date, time) to join with a space
    values: dict[str, int | None]  # None: no such column (volume mapped to None) -> "0"
    symbol: int | None = None
    dividend: int | None = None
    split: int | None = None

    def column_of(self, name: str) -> str:
        """The file's column name(s) behind field ``name``, for messages."""
        if name == "timestamp":
            return "+".join(self.header[i] for i in self.timestamp)
        idx = {"symbol": self.symbol, "dividend": self.dividend, "split": self.split}.get(name, self.values.get(name))
        return self.header[idx] if idx is not None else "(none)"


@dataclass(frozen=True)
class _Options:
    """Everything a file read needs; shared by all files of one resolution."""

    delimiter: str | None
    columns: Mapping[str, str | None]
    date_format: _DateFormat | None
    timezone: str
    missing: str
    daily: bool
    symbol_column: str | None
    adjustments: bool  # read dividend / split columns (csvdir, or mapped explicitly)


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


class CSVAdapter(BarAdapter):
    """Bars from CSV files.

    Parameters
    ----------
    paths
        A file, a directory (every ``*.csv`` in it, sorted), a glob pattern, or a list of these.
    symbol
        Symbol of every file; default: each file's stem, upper-cased (``aapl.csv`` -> ``AAPL``).
    symbol_column
        Name of a column holding the symbol (one file, many symbols). Excludes ``symbol``.
    columns
        ``{field: file column}`` for fields the recognition misses or should not pick; fields are
        ``timestamp``, ``date`` and ``time`` (joined with a space), ``open high low close volume``,
        ``dividend``, ``split``.
        ``{"volume": None}`` declares that the files have no volume (it becomes 0).
    delimiter
        Field separator; default: detected from the header among ``,`` ``;`` tab ``|``.
    date_format
        polars/chrono ``strptime`` format, or ``"epoch"``, ``"epoch_s"``, ``"epoch_ms"``, ``"epoch_us"``,
        ``"epoch_ns"``; default: detected per file.
    timezone
        IANA zone of naive timestamps (converted to UTC); ignored for values with an offset and for epochs.
    missing
        ``"fail"`` (error naming file, line and field), ``"skip"`` (drop the row) or ``"ffill"`` (take the
        previous bar's value of the same symbol; a missing volume becomes 0).
    resolution
        Bar resolution of the files.
    asset_class
        Reported to the catalog for every symbol.

    Raises
    ------
    ConfigError
        An invalid parameter, or ``paths`` naming nothing that exists.
    """

    name: ClassVar[str] = "csv"
    supported_resolutions: tuple[str, ...] = RESOLUTIONS

    def __init__(
        self,
        paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        symbol: str | None = None,
        symbol_column: str | None = None,
        columns: Mapping[str, str | None] | None = None,
        delimiter: str | None = None,
        date_format: str | None = None,
        timezone: str = "UTC",
        missing: str = "fail",
        resolution: str = "1d",
        asset_class: str = "equity",
    ) -> None:
        self._paths = _absolute_paths(paths)
        self._symbol = _check_symbol(symbol)
        self._symbol_column = symbol_column
        self._columns = _check_columns(columns)
        self._delimiter = _check_delimiter(delimiter)
        self._date_format = date_format
        self._timezone = _check_timezone(timezone)
        self._missing = _check_missing(missing)
        self._resolution = parse_resolution(resolution).name
        self.asset_class = _check_asset_class(asset_class)
        if symbol is not None and symbol_column is not None:
            raise ConfigError("csv: pass either symbol= (one symbol for all files) or symbol_column=, not both")
        self._csvdir: Path | None = None
        self._sources: dict[str, str | list[str]] = {self._resolution: self._paths}
        self.supported_resolutions = (self._resolution,)
        self._adjustment_cache: dict[tuple[str, int, int], pl.DataFrame] = {}
        _expand_paths(self._paths)  # fail early when nothing matches

    # --- construction ----------------------------------------------------------------------------------
    @classmethod
    def from_csvdir(
        cls,
        directory: str | os.PathLike[str],
        *,
        timezone: str = "UTC",
        missing: str = "fail",
        asset_class: str = "equity",
    ) -> CSVAdapter:
        """zipline's csvdir layout: ``<dir>/daily/<SYM>.csv`` and/or ``<dir>/minute/<SYM>.csv``.

        Columns are ``date,open,high,low,close,volume,dividend,split``; ``dividend`` is a cash amount per
        share on its ex-date and a ``split`` value s != 1 a split of ratio 1/s, both reported by
        :meth:`adjustments`.

        Raises
        ------
        ConfigError
            Neither ``daily/`` nor ``minute/`` exists under ``directory``.
        """
        root = Path(os.path.abspath(os.path.expanduser(os.fspath(directory))))
        sources = {res: str(root / sub) for res, sub in (("1d", "daily"), ("1m", "minute")) if (root / sub).is_dir()}
        if not sources:
            raise ConfigError(f"csv: {root} is not a zipline csvdir: it has neither a daily/ nor a minute/ folder")
        first = next(iter(sources))
        adapter = cls(
            sources[first],
            columns={"dividend": "dividend", "split": "split"},
            timezone=timezone,
            missing=missing,
            resolution=first,
            asset_class=asset_class,
        )
        adapter._csvdir = root
        adapter._sources = dict(sources)
        adapter.supported_resolutions = tuple(sources)
        for spec in sources.values():
            _expand_paths(spec)
        return adapter

    @classmethod
    def from_config(cls, params: Mapping[str, Any]) -> CSVAdapter:
        """Rebuild from :meth:`to_config` output (a csvdir adapter stays a csvdir adapter)."""
        params = dict(params)
        csvdir = params.pop("csvdir", None)
        if csvdir is not None:
            return cls.from_csvdir(csvdir, **params)
        return cls(**params)

    def to_config(self) -> dict[str, Any]:
        """JSON-safe constructor parameters, with absolute paths."""
        if self._csvdir is not None:
            return {
                "csvdir": str(self._csvdir),
                "timezone": self._timezone,
                "missing": self._missing,
                "asset_class": self.asset_class,
            }
        return {
            "paths": self._paths if isinstance(self._paths, str) else list(self._paths),
            "symbol": self._symbol,
            "symbol_column": self._symbol_column,
            "columns": dict(self._columns) if self._columns else None,
            "delimiter": self._delimiter,
            "date_format": self._date_format,
            "timezone": self._timezone,
            "missing": self._missing,
            "resolution": self._resolution,
            "asset_class": self.asset_class,
        }

    # --- what the source is ------------------------------------------------------------------------------
    @property
    def metadata(self) -> AdapterMetadata:
        """``source="csv"``, ``delay="static files"``."""
        return AdapterMetadata(source=self.name, delay="static files")

    def symbols(self) -> list[str]:
        """Sorted symbols the files provide (for a symbol column: read from the files)."""
        res = self.supported_resolutions[0]
        if self._symbol_column is None:
            return sorted(self._files_by_symbol(res))
        found: set[str] = set()
        for path in _expand_paths(self._sources[res]):
            found.update(_read_symbol_values(path, self._options(res)))
        return sorted(found)

    # --- fetching ----------------------------------------------------------------------------------------
    def fetch_sync(
        self,
        symbols: Sequence[str] | None,
        start_date: pd.Timestamp | str | None,
        end_date: pd.Timestamp | str | None,
        resolution: str = "1d",
    ) -> pl.DataFrame:
        """Bars of ``symbols`` (all when None) in [start_date, end_date]; raises the first symbol's error.

        Raises
        ------
        DataFormatError
            A file cannot be parsed; the message names the file, and the line and field where there is one.
        SymbolNotFound
            No file (or no symbol-column value) for a requested symbol.
        ResolutionError
            The files do not hold bars of ``resolution``.
        """
        frames = []
        for item in self.iter_bars(symbols, start_date, end_date, resolution, n_workers=1):
            if item.error is not None:
                raise item.error
            if item.bars is not None:
                frames.append(item.bars)
        if not frames:
            return pl.DataFrame(schema=_OUTPUT_SCHEMA)
        return pl.concat(frames, how="vertical")

    def iter_bars(
        self,
        symbols: Sequence[str] | None,
        start_date: pd.Timestamp | str | None,
        end_date: pd.Timestamp | str | None,
        resolution: str = "1d",
        n_workers: int = 1,
    ) -> Iterator[SymbolBars]:
        """One :class:`SymbolBars` per symbol; a file's error is yielded with its symbol, never raised.

        Files are read in a pool of ``n_workers`` threads (polars parses without holding the GIL). In the
        symbol-column mode, an error that cannot be tied to one symbol (a ragged row, a missing column) is
        given to every requested symbol, since any of them may have lost rows; with ``symbols=None`` it is
        yielded under the file's name when no symbol is known.
        """
        res = self._check_resolution(resolution)
        bounds = (_bound(start_date), _bound(end_date))
        if self._symbol_column is not None:
            yield from self._iter_symbol_column(symbols, bounds, res, n_workers)
            return
        files = self._files_by_symbol(res)
        names = list(symbols) if symbols is not None else sorted(files)
        if not names:
            raise AdapterError(f"csv: no symbols to fetch from {self._sources[res]}", source=self.name)
        options = self._options(res)
        workers = max(1, int(n_workers))
        size = max(1, min(_BATCH_FILES, math.ceil(len(names) / (2 * workers))))

        def load(chunk: list[str]) -> list[SymbolBars]:
            keys = {name: _match_symbol(name, files) for name in chunk}
            wanted = [k for k in dict.fromkeys(keys.values()) if k is not None]
            results = self._read(((path, key) for key in wanted for path in files[key]), options)
            return [self._symbol_bars(name, keys[name], files, results, bounds, res) for name in chunk]

        chunks = [names[i : i + size] for i in range(0, len(names), size)]
        for items in _ordered_map(load, chunks, workers):
            yield from items

    def adjustments(self, symbols: Sequence[str] | None = None) -> pl.DataFrame:
        """Splits and dividends from the ``dividend`` / ``split`` columns (csvdir, or mapped in ``columns``).

        A ``split`` value s != 1 gives kind ``"split"`` with ratio 1/s; a ``dividend`` != 0 gives kind
        ``"dividend"`` with its cash ``amount`` and a null ratio (the catalog derives it from the prior
        close).
        Files that cannot be read are skipped with a warning: their bars failed too, and were reported then.
        """
        res = self.supported_resolutions[0]
        options = self._options(res)
        if not options.adjustments:
            return pl.DataFrame(schema=ADJUSTMENT_SCHEMA)
        wanted = {s.upper() for s in symbols} if symbols is not None else None
        if self._symbol_column is None:
            files = self._files_by_symbol(res)
            jobs = [(p, sym) for sym, ps in files.items() if wanted is None or sym.upper() in wanted for p in ps]
        else:
            jobs = [(p, None) for p in _expand_paths(self._sources[res])]
        cached = {path: self._adjustment_cache.get(_file_key(path)) for path, _ in jobs}
        missing = [(path, sym) for path, sym in jobs if cached[path] is None]
        for path, outcome in self._read(missing, options).items():
            if isinstance(outcome, Exception):
                log.warning("csv: no adjustments from %s: %s", path, outcome)
            else:
                cached[path] = outcome.adjustments
        frames = [frame for frame in cached.values() if frame is not None]
        if not frames:
            return pl.DataFrame(schema=ADJUSTMENT_SCHEMA)
        out = pl.concat(frames)
        if wanted is not None:
            out = out.filter(pl.col("symbol").str.to_uppercase().is_in(sorted(wanted)))
        return out.sort("symbol", "effective_date", "kind")

    # --- internals ---------------------------------------------------------------------------------------
    def _info(self) -> dict[str, Any]:
        return {"asset_class": self.asset_class}

    def _check_resolution(self, resolution: str) -> str:
        res = parse_resolution(resolution).name
        if res not in self._sources:
            raise ResolutionError(
                f"csv: the files hold {', '.join(self._sources)} bars, not {res}; "
                f"ingest at {next(iter(self._sources))} and resample, or point the adapter at {res} files"
            )
        return res

    def _options(self, res: str) -> _Options:
        return _Options(
            delimiter=self._delimiter,
            columns=self._columns,
            date_format=_user_format(self._date_format) if self._date_format else None,
            timezone=self._timezone,
            missing=self._missing,
            daily=not parse_resolution(res).is_intraday,
            symbol_column=self._symbol_column,
            adjustments=any(self._columns.get(k) is not None for k in ("dividend", "split")),
        )

    def _files_by_symbol(self, res: str) -> dict[str, list[Path]]:
        files: dict[str, list[Path]] = {}
        for path in _expand_paths(self._sources[res]):
            files.setdefault(self._symbol or path.stem.upper(), []).append(path)
        return files

    def _read(self, jobs: Iterable[tuple[Path, str | None]], options: _Options) -> dict[Path, _FileResult | Exception]:
        """Read files (one-symbol files in batches; symbol-column files one by one), caching adjustments."""
        jobs = list(jobs)
        if self._symbol_column is None:
            results = _read_files([(path, sym or path.stem.upper()) for path, sym in jobs], options)
        else:
            results = {path: _read_one(path, None, options) for path, _ in jobs}
        for path, outcome in results.items():
            if isinstance(outcome, _FileResult) and outcome.adjustments is not None:
                self._adjustment_cache[_file_key(path)] = outcome.adjustments
        return results

    def _symbol_bars(
        self,
        name: str,
        key: str | None,
        files: Mapping[str, list[Path]],
        results: Mapping[Path, _FileResult | Exception],
        bounds: tuple[int | None, int | None],
        res: str,
    ) -> SymbolBars:
        if key is None:
            return SymbolBars(name, error=_not_found(name, files, self._sources[res]))
        paths = files[key]
        source = _describe(paths)
        outcomes = [results[path] for path in paths]
        error = next((o for o in outcomes if isinstance(o, Exception)), None)
        if error is not None:
            log.debug("csv: %s failed: %s", key, error)
            return SymbolBars(key, error=error, source=source)
        frames = [o.bars for o in outcomes if isinstance(o, _FileResult)]
        bars = frames[0] if len(frames) == 1 else pl.concat(frames).sort("timestamp", maintain_order=True)
        return SymbolBars(key, bars=_filter(bars, bounds), source=source, info=self._info())

    def _iter_symbol_column(
        self,
        symbols: Sequence[str] | None,
        bounds: tuple[int | None, int | None],
        res: str,
        n_workers: int,
    ) -> Iterator[SymbolBars]:
        options = self._options(res)
        paths = _expand_paths(self._sources[res])
        results = list(_ordered_map(lambda path: _read_column_file(path, options), paths, n_workers))
        bars: dict[str, list[pl.DataFrame]] = {}
        errors: dict[str, Exception] = {}
        file_errors: list[tuple[Path, Exception]] = []
        for path, result in zip(paths, results, strict=True):
            for sym, frame in result.bars.items():
                bars.setdefault(sym, []).append(frame)
            for sym, exc in result.errors.items():
                errors.setdefault(sym, exc)
            if result.file_error is not None:
                file_errors.append((path, result.file_error))
        known = {s: [s] for s in sorted(set(bars) | set(errors))}
        source = _describe(paths)
        if symbols is None and not known and file_errors:
            # nothing readable: report each broken file under its own name rather than nothing at all
            for path, exc in file_errors:
                yield SymbolBars(path.name, error=exc, source=str(path))
            return
        names = list(symbols) if symbols is not None else list(known)
        if not names:
            raise AdapterError(f"csv: no symbols in {self._sources[res]}", source=self.name)
        for name in names:
            key = _match_symbol(name, known)
            if file_errors:  # any symbol may have lost rows in a file that could not be read
                path, exc = file_errors[0]
                yield SymbolBars(key or name, error=exc, source=str(path))
            elif key is None:
                yield SymbolBars(name, error=_not_found(name, known, self._sources[res]), source=source)
            elif key in errors:
                yield SymbolBars(key, error=errors[key], source=source)
            else:
                frames = bars[key]
                frame = frames[0] if len(frames) == 1 else pl.concat(frames).sort("timestamp", maintain_order=True)
                yield SymbolBars(key, bars=_filter(frame, bounds), source=source, info=self._info())


# --- parameter checks ------------------------------------------------------------------------------------


def _absolute_paths(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> str | list[str]:
    def one(item: str | os.PathLike[str]) -> str:
        return os.path.abspath(os.path.expanduser(os.fspath(item)))

    if isinstance(paths, str | os.PathLike):
        return one(paths)
    items = [one(p) for p in paths]
    if not items:
        raise ConfigError("csv: paths is an empty list; pass a file, a directory, a glob or a list of files")
    return items


def _check_symbol(symbol: str | None) -> str | None:
    if symbol is not None and (not isinstance(symbol, str) or not symbol.strip()):
        raise ConfigError(f"csv: symbol must be a non-empty string, got {symbol!r}")
    return symbol.strip() if symbol is not None else None


def _check_columns(columns: Mapping[str, str | None] | None) -> dict[str, str | None]:
    if columns is None:
        return {}
    out: dict[str, str | None] = {}
    for key, value in columns.items():
        if key not in _MAPPABLE:
            raise ConfigError(
                f"csv: columns has unknown field {key!r}; keys are the canonical fields "
                f"({', '.join(_MAPPABLE)}) and values the file's column names, "
                "e.g. columns={'close': 'Adj Close'}"
            )
        if value is None and key not in _NULLABLE_MAPPINGS:
            raise ConfigError(f"csv: columns[{key!r}] cannot be None; only {', '.join(_NULLABLE_MAPPINGS)} can")
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"csv: columns[{key!r}] must be a column name, got {value!r}")
        out[key] = value
    if "timestamp" in out and ("date" in out or "time" in out):
        raise ConfigError("csv: map either columns['timestamp'] or columns['date'] (+ 'time'), not both")
    if "time" in out and "date" not in out:
        raise ConfigError("csv: columns['time'] needs columns['date'] (they are joined with a space)")
    return out


def _check_delimiter(delimiter: str | None) -> str | None:
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"'):
        raise ConfigError(f"csv: delimiter must be one character (not a quote or newline), got {delimiter!r}")
    return delimiter


def _check_timezone(timezone: str) -> str:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(f"csv: unknown timezone {timezone!r}; use an IANA name like 'America/New_York'") from None
    return timezone


def _check_missing(missing: str) -> str:
    if missing not in MISSING_STRATEGIES:
        raise ConfigError(f"csv: missing must be one of {', '.join(MISSING_STRATEGIES)}, got {missing!r}")
    return missing


def _check_asset_class(asset_class: str) -> str:
    if not isinstance(asset_class, str) or not asset_class.strip():
        raise ConfigError(f"csv: asset_class must be a non-empty string, got {asset_class!r}")
    return asset_class


# --- files and symbols -----------------------------------------------------------------------------------


def _expand_paths(spec: str | list[str]) -> list[Path]:
    """Files named by a file, directory or glob (or a list of them), in order, without repeats."""
    files: list[Path] = []
    for item in [spec] if isinstance(spec, str) else spec:
        if os.path.isdir(item):
            with os.scandir(item) as entries:
                found = [e.path for e in entries if e.is_file() and e.name.lower().endswith(".csv")]
            if not found:
                log.warning("csv: no *.csv files in %s", item)
            files.extend(Path(p) for p in sorted(found))
        elif os.path.isfile(item):
            files.append(Path(item))
        elif re.search(r"[*?\[]", item):
            files.extend(Path(p) for p in sorted(glob.glob(item)) if os.path.isfile(p))
        else:
            raise ConfigError(f"csv: {item} does not exist (pass a file, a directory, a glob or a list of files)")
    unique = list(dict.fromkeys(files))
    if not unique:
        raise ConfigError(f"csv: no CSV files found for {spec}")
    return unique


def _file_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return (str(path), st.st_mtime_ns, st.st_size)


def _match_symbol(name: str, known: Mapping[str, Any]) -> str | None:
    if name in known:
        return name
    upper = name.upper()
    matches = [k for k in known if k.upper() == upper]
    return matches[0] if len(matches) == 1 else None


def _not_found(name: str, known: Mapping[str, Any], spec: str | list[str]) -> SymbolNotFound:
    listing = ", ".join(sorted(known)[:10]) + (" ..." if len(known) > 10 else "")
    return SymbolNotFound(f"csv: no data for symbol {name!r} in {spec}; available: {listing or 'none'}")


def _describe(paths: Sequence[Path]) -> str:
    if len(paths) <= 3:
        return ", ".join(str(p) for p in paths)
    return f"{paths[0]} (+{len(paths) - 1} more files)"


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


def _bound(value: pd.Timestamp | str | None) -> int | None:
    """A start/end bound as UTC nanoseconds; naive values are UTC."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value)


def _filter(frame: pl.DataFrame, bounds: tuple[int | None, int | None]) -> pl.DataFrame:
    start, end = bounds
    if start is None and end is None:
        return frame
    ns = pl.col("timestamp").dt.epoch("ns")
    cond = pl.lit(True)
    if start is not None:
        cond = cond & (ns >= start)
    if end is not None:
        cond = cond & (ns <= end)
    return frame.filter(cond)


# --- reading many files ---------------------------------------------------------------------------------


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


def _sniff_delimiter(head: list[str], path: Path) -> str:
    lines = [line for line in head if line.strip()]
    header = lines[0]
    counts = {d: header.count(d) for d in _DELIMITERS}
    candidates = [d for d in sorted(_DELIMITERS, key=lambda d: -counts[d]) if counts[d] > 0]
    if not candidates:
        raise DataFormatError(
            f"{path}, line 1: cannot detect the delimiter: the header {header!r} contains none of "
            "',' ';' tab '|'; pass delimiter="
        )
    if len(lines) > 1:
        consistent = [d for d in candidates if lines[1].count(d) == counts[d]]
        if consistent:
            return consistent[0]
    return candidates[0]


def _normalise_name(name: str) -> str:
    return _NAME_NOISE.sub("", name.lower())


def _find_column(header: tuple[str, ...], wanted: str, path: Path, field_name: str) -> int:
    """Index of the column the user mapped: exact name first, then case/space-insensitive."""
    if wanted in header:
        return header.index(wanted)
    loose = [i for i, h in enumerate(header) if h.lower() == wanted.strip().lower()]
    if len(loose) == 1:
        return loose[0]
    raise DataFormatError(
        f"{path}, line 1: column {wanted!r} (mapped to {field_name!r}) is not in the header; "
        f"columns found: {', '.join(header)}"
    )


def _recognise(header: tuple[str, ...], path: Path, field_name: str) -> int | None:
    normalised = [_normalise_name(h) for h in header]
    for alias in _ALIASES[field_name]:
        hits = [i for i, n in enumerate(normalised) if n == alias]
        if len(hits) > 1:
            raise DataFormatError(
                f"{path}, line 1: columns {', '.join(repr(header[i]) for i in hits)} could all be "
                f"{field_name!r}; choose one with columns={{{field_name!r}: ...}}"
            )
        if hits:
            return hits[0]
    return None


_LAYOUT_CACHE: dict[tuple[tuple[str, ...], tuple[tuple[str, str | None], ...], str | None], _Layout] = {}


def _resolve_layout(header: tuple[str, ...], path: Path, options: _Options) -> _Layout:
    key = (header, tuple(sorted(options.columns.items())), options.symbol_column)
    layout = _LAYOUT_CACHE.get(key)
    if layout is None:
        layout = _build_layout(header, path, options)
        if len(_LAYOUT_CACHE) < 1024:
            _LAYOUT_CACHE[key] = layout
    return layout


def _build_layout(header: tuple[str, ...], path: Path, options: _Options) -> _Layout:
    mapped = options.columns

    def locate(name: str) -> int | None:
        if name in mapped:
            wanted = mapped[name]
            return None if wanted is None else _find_column(header, wanted, path, name)
        return _recognise(header, path, name) if name in _ALIASES else None

    if "timestamp" in mapped:
        timestamp: tuple[int, ...] = (locate("timestamp"),)  # type: ignore[assignment]
    elif "date" in mapped:
        date, time = locate("date"), locate("time") if "time" in mapped else None
        timestamp = (date,) if time is None else (date, time)  # type: ignore[assignment]
    else:
        ts, date, time = locate("timestamp"), locate("date"), locate("time")
        if ts is not None:
            timestamp = (ts,)
        elif date is not None:
            timestamp = (date,) if time is None else (date, time)
        else:
            timestamp = (time,) if time is not None else ()
    values = {name: locate(name) for name in VALUE_COLUMNS}
    missing = [name for name in PRICE_COLUMNS if values[name] is None]
    if values["volume"] is None and mapped.get("volume", "") is not None:
        missing.append("volume")
    if not timestamp:
        missing.insert(0, "timestamp")
    symbol = _find_column(header, options.symbol_column, path, "symbol") if options.symbol_column else None
    if missing:
        raise DataFormatError(_missing_columns_message(path, header, missing))
    used = {*timestamp, *(i for i in values.values() if i is not None)}
    adjusted = [h for i, h in enumerate(header) if "adj" in _normalise_name(h) and i not in used]
    if adjusted:
        log.info("csv: %s: ignoring adjusted column(s) %s (map one in columns= to use it)", path, adjusted)
    return _Layout(
        ncols=len(header),
        header=header,
        timestamp=timestamp,
        values=values,
        symbol=symbol,
        dividend=locate("dividend"),
        split=locate("split"),
    )


def _missing_columns_message(path: Path, header: tuple[str, ...], missing: list[str]) -> str:
    expected = {
        "timestamp": "Date/Datetime/Time/Timestamp",
        "open": "Open/O",
        "high": "High/H",
        "low": "Low/L",
        "close": "Close/C/Last",
        "volume": "Volume/Vol/V",
    }
    wanted = "; ".join(f"{m}: {expected[m]}" for m in missing)
    return (
        f"{path}, line 1: missing required column(s) {', '.join(missing)}. "
        f"Columns found: {', '.join(header)}. Expected (case-insensitive) {wanted}. "
        "Map other names with columns={'close': 'Price', ...}"
        + ("; adjusted columns are never used unless mapped" if any("adj" in h.lower() for h in header) else "")
        + ("; columns={'volume': None} if the files have no volume" if "volume" in missing else "")
    )


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


def _first_row(frame: pl.DataFrame, predicate: pl.Expr) -> dict[str, Any]:
    return frame.filter(predicate).sort(SOURCE_ROW_COLUMN).row(0, named=True)


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


def _detect_format(frame: pl.DataFrame, layout: _Layout, path: Path) -> list[_DateFormat]:
    """Formats whose shape fits every sampled timestamp, most likely first."""
    sample = frame.select("timestamp", SOURCE_ROW_COLUMN).head(_SAMPLE_SIZE).rows()
    first_text, first_line = sample[0]
    candidates = [f for f in _FORMATS if _FORMAT_REGEXES[f.label].match(first_text)]
    if not candidates:
        raise DataFormatError(
            f"{path}, line {first_line}, column {layout.column_of('timestamp')!r}: unrecognised date format "
            f"{first_text!r}; known: ISO 8601 dates and datetimes (optionally with offset), %Y%m%d, "
            "%Y/%m/%d, %m/%d/%Y, %d/%m/%Y, %d.%m.%Y, %Y.%m.%d, integer epochs; "
            "pass date_format='...' (a strptime format)"
        )
    for text, line in sample[1:]:
        fitting = [f for f in candidates if _FORMAT_REGEXES[f.label].match(text)]
        if not fitting:
            raise DataFormatError(
                f"{path}, line {line}, column {layout.column_of('timestamp')!r}: {text!r} is not in the "
                f"format of line {first_line} ({first_text!r}, {candidates[0].label}); pass date_format='...'"
            )
        candidates = fitting
    return candidates


def _parse_expr(fmt: _DateFormat, by: str | None = None) -> pl.Expr:
    """Naive (wall time) or UTC-aware Datetime(ns) from the ``timestamp`` text; null where it fails.

    ``by`` names the column that tells files apart in a batch (epoch units are decided per file).
    """
    text = pl.col("timestamp")
    if fmt.is_epoch:
        ints = text.cast(pl.Int64, strict=False)
        nanos = ints * _epoch_multiplier(ints, fmt.epoch_unit, by)
        parsed = nanos.cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")
    else:
        parsed = text.str.to_datetime(fmt.strptime, time_unit="ns", strict=False)
        if fmt.aware:
            parsed = parsed.dt.convert_time_zone("UTC")
    if fmt.regex is not None:
        parsed = pl.when(text.str.contains(fmt.regex)).then(parsed).otherwise(None)
    return parsed


def _parse(frame: pl.DataFrame, fmt: _DateFormat, path: Path) -> pl.DataFrame:
    try:
        return frame.with_columns(_parse_expr(fmt).alias("_naive"))
    except pl.exceptions.PolarsError as exc:
        raise DataFormatError(f"{path}: cannot parse timestamps with format {fmt.label!r}: {exc}") from None


def _to_utc(expr: pl.Expr, fmt: _DateFormat, options: _Options) -> pl.Expr:
    if options.daily:  # the session date: as written when naive, else the date in `timezone`
        if fmt.aware:
            expr = expr.dt.convert_time_zone(options.timezone).dt.replace_time_zone(None)
        return expr.dt.truncate("1d").dt.replace_time_zone("UTC")
    if fmt.aware:
        return expr
    if options.timezone == "UTC":
        return expr.dt.replace_time_zone("UTC")
    local = expr.dt.replace_time_zone(options.timezone, ambiguous="null", non_existent="null")
    return local.dt.convert_time_zone("UTC")


def _with_timestamps(frame: pl.DataFrame, layout: _Layout, path: Path, options: _Options) -> pl.DataFrame:
    if frame.height == 0:
        return frame.with_columns(pl.lit(None, dtype=TIMESTAMP_DTYPE).alias("timestamp"))
    candidates = [options.date_format] if options.date_format else _detect_format(frame, layout, path)
    attempts = []
    for fmt in candidates:  # e.g. %m/%d/%Y, then %d/%m/%Y when a day above 12 rules the first out
        attempt = _parse(frame, fmt, path)
        if attempt.get_column("_naive").null_count() == 0:
            break
        attempts.append(attempt)
    else:
        fmt, attempt = candidates[0], attempts[0]
        row = _first_row(attempt, pl.col("_naive").is_null())
        raise DataFormatError(
            f"{path}, line {row[SOURCE_ROW_COLUMN]}, column {layout.column_of('timestamp')!r}: cannot parse "
            f"{row['timestamp']!r} as {fmt.label} (the format of the file's first rows); "
            "pass date_format='...'"
        )
    parsed = attempt
    parsed = parsed.with_columns(_to_utc(pl.col("_naive"), fmt, options).alias("_utc"))
    if parsed.get_column("_utc").null_count():
        row = _first_row(parsed, pl.col("_utc").is_null())
        raise DataFormatError(
            f"{path}, line {row[SOURCE_ROW_COLUMN]}, column {layout.column_of('timestamp')!r}: local time "
            f"{row['timestamp']!r} is ambiguous or does not exist in {options.timezone} (a daylight-saving "
            "change); store such files in UTC or with offsets"
        )
    return parsed.drop("timestamp", "_naive").rename({"_utc": "timestamp"})


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
