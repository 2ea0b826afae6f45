"""The CSV adapter: parameters, symbols, fetching and adjustments over the reading functions."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import polars as pl

from rustybt.data.adapters.base import ADJUSTMENT_SCHEMA, AdapterMetadata, BarAdapter, SymbolBars, collect_bars
from rustybt.data.adapters.csv.dates import _bound, _filter, _user_format
from rustybt.data.adapters.csv.layout import _describe, _expand_paths, _file_key, _match_symbol, _not_found
from rustybt.data.adapters.csv.options import (
    _absolute_paths,
    _check_asset_class,
    _check_columns,
    _check_delimiter,
    _check_missing,
    _check_symbol,
    _check_timezone,
    _Options,
)
from rustybt.data.adapters.csv.reading import (
    _BATCH_FILES,
    _FileResult,
    _ordered_map,
    _read_column_file,
    _read_files,
    _read_one,
    _read_symbol_values,
)
from rustybt.data.resolution import RESOLUTIONS, parse_resolution
from rustybt.data.schema import (
    SOURCE_FILE_COLUMN,
    SOURCE_ROW_COLUMN,
    TIMESTAMP_DTYPE,
    VALUE_COLUMNS,
)
from rustybt.errors import AdapterError, ConfigError, ResolutionError

log = logging.getLogger(__name__)

_OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "timestamp": TIMESTAMP_DTYPE,
    "symbol": pl.String(),
    **{c: pl.String() for c in VALUE_COLUMNS},
    SOURCE_FILE_COLUMN: pl.String(),
    SOURCE_ROW_COLUMN: pl.Int64(),
}


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
        return collect_bars(self.iter_bars(symbols, start_date, end_date, resolution, n_workers=1), _OUTPUT_SCHEMA)

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
