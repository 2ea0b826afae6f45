"""Futures contracts from CSV files: daily bars per contract plus one file of contract metadata.

Layout (the shipped sample's ``data/sample/futures/``)::

    <directory>/daily/<CONTRACT>.csv   date,open,high,low,close,volume   (one file per contract)
    <directory>/contracts.csv          symbol,root_symbol,expiration_date,auto_close_date,
                                       first_notice_date,multiplier,exchange

The bar files are read by :class:`~rustybt.data.adapters.csv.CSVAdapter` (same parsing, same error messages);
this adapter only attaches each contract's row of ``contracts.csv`` to its bars as ``SymbolBars.info``, so the
catalog stores :class:`~rustybt.assets.Future` assets with root symbol, expiry, auto-close and first-notice dates
and multiplier. A bar file whose contract has no row in ``contracts.csv`` is an error for that symbol (the
message names the symbol and both files).
"""

from __future__ import annotations

import csv
import datetime as _dt
import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import polars as pl

from rustybt.data.adapters.base import AdapterMetadata, BarAdapter, SymbolBars, collect_bars
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.schema import TIMESTAMP_DTYPE, VALUE_COLUMNS
from rustybt.errors import ConfigError, DataFormatError, SymbolNotFound

__all__ = ["CONTRACT_COLUMNS", "ContractSpec", "FuturesCSVAdapter", "read_contracts"]

log = logging.getLogger(__name__)

#: Columns of the contracts file: required first, then optional ones (defaults: none, 1.0, the bundle's exchange).
REQUIRED_CONTRACT_COLUMNS: tuple[str, ...] = ("symbol", "root_symbol", "expiration_date", "auto_close_date")
OPTIONAL_CONTRACT_COLUMNS: tuple[str, ...] = ("first_notice_date", "multiplier", "exchange")
CONTRACT_COLUMNS: tuple[str, ...] = REQUIRED_CONTRACT_COLUMNS + OPTIONAL_CONTRACT_COLUMNS
_EMPTY_SCHEMA: dict[str, pl.DataType] = {
    "timestamp": TIMESTAMP_DTYPE,
    "symbol": pl.String(),
    **{c: pl.String() for c in VALUE_COLUMNS},
}


@dataclass(frozen=True)
class ContractSpec:
    """One row of a contracts file."""

    symbol: str
    root_symbol: str
    expiration_date: _dt.date
    auto_close_date: _dt.date
    first_notice_date: _dt.date | None = None
    multiplier: float = 1.0
    exchange: str = ""
    line: int = 0  # line in the contracts file (header = 1)

    def info(self) -> dict[str, Any]:
        """The asset metadata the catalog merges into the contract's asset record (JSON-safe)."""
        out: dict[str, Any] = {
            "asset_class": "future",
            "root_symbol": self.root_symbol,
            "expiration_date": _iso(self.expiration_date),
            "auto_close_date": _iso(self.auto_close_date),
            "first_notice_date": _iso(self.first_notice_date) if self.first_notice_date else None,
            "multiplier": self.multiplier,
        }
        if self.exchange:
            out["exchange"] = self.exchange
        return out


class FuturesCSVAdapter(BarAdapter):
    """Daily bars of futures contracts from ``<directory>/daily/*.csv`` plus their metadata from a contracts file.

    Parameters
    ----------
    directory
        Folder holding ``daily/`` (one ``<CONTRACT>.csv`` per contract: ``date,open,high,low,close,volume``).
    contracts
        The contracts file; default ``<directory>/contracts.csv``. Columns (case-insensitive): ``symbol``,
        ``root_symbol``, ``expiration_date``, ``auto_close_date`` (required, dates as ``YYYY-MM-DD``),
        ``first_notice_date`` (optional, may be empty), ``multiplier`` (optional, default 1), ``exchange``
        (optional; default the bundle's exchange). Other columns are ignored.
    missing
        How missing bar values are handled, as in :class:`~rustybt.data.adapters.csv.CSVAdapter`.

    Raises
    ------
    ConfigError
        ``directory`` has no ``daily/`` folder, or the contracts file does not exist.
    DataFormatError
        The contracts file is malformed (the message names the file, line and field).

    Examples
    --------
    >>> catalog.register("xf", adapter=FuturesCSVAdapter("data/sample/futures"), calendar="XNYS")  # doctest: +SKIP
    """

    name: ClassVar[str] = "futures-csv"
    asset_class: ClassVar[str] = "future"
    supported_resolutions: ClassVar[tuple[str, ...]] = ("1d",)

    def __init__(
        self,
        directory: str | os.PathLike[str],
        contracts: str | os.PathLike[str] | None = None,
        *,
        missing: str = "fail",
    ) -> None:
        self._directory = Path(os.path.abspath(os.path.expanduser(os.fspath(directory))))
        daily = self._directory / "daily"
        if not daily.is_dir():
            raise ConfigError(
                f"futures-csv: {self._directory} has no daily/ folder; expected <dir>/daily/<CONTRACT>.csv files"
            )
        path = self._directory / "contracts.csv" if contracts is None else Path(os.fspath(contracts))
        self._contracts_path = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
        if not self._contracts_path.is_file():
            raise ConfigError(
                f"futures-csv: contracts file {self._contracts_path} does not exist; pass contracts=<path> "
                f"({', '.join(REQUIRED_CONTRACT_COLUMNS)} are required columns)"
            )
        self._missing = missing
        self._bars = CSVAdapter(daily, asset_class="future", missing=missing)
        self._specs = read_contracts(self._contracts_path)

    # --- persistence ---------------------------------------------------------------------------------------
    def to_config(self) -> dict[str, Any]:
        """JSON-safe constructor parameters, with absolute paths."""
        return {"directory": str(self._directory), "contracts": str(self._contracts_path), "missing": self._missing}

    @classmethod
    def from_config(cls, params: Mapping[str, Any]) -> FuturesCSVAdapter:
        """Rebuild from :meth:`to_config` output."""
        return cls(**params)

    # --- what the source is --------------------------------------------------------------------------------
    @property
    def metadata(self) -> AdapterMetadata:
        """``source="futures-csv"``, ``delay="static files"``."""
        return AdapterMetadata(source=self.name, delay="static files")

    @property
    def contracts(self) -> dict[str, ContractSpec]:
        """Contract metadata by (upper-case) symbol, as read from the contracts file."""
        return dict(self._specs)

    @property
    def contracts_path(self) -> Path:
        """The contracts file."""
        return self._contracts_path

    def symbols(self) -> list[str]:
        """Sorted contract symbols that have a bar file (whether or not the contracts file knows them)."""
        return self._bars.symbols()

    # --- fetching ------------------------------------------------------------------------------------------
    def iter_bars(
        self,
        symbols: Sequence[str] | None,
        start_date: pd.Timestamp | str | None,
        end_date: pd.Timestamp | str | None,
        resolution: str = "1d",
        n_workers: int = 1,
    ) -> Iterator[SymbolBars]:
        """One :class:`SymbolBars` per contract with its metadata in ``info``; errors are yielded, not raised."""
        for item in self._bars.iter_bars(symbols, start_date, end_date, resolution, n_workers=n_workers):
            if item.error is not None:
                yield item
                continue
            spec = self._specs.get(item.symbol.strip().upper())
            if spec is None:
                yield SymbolBars(item.symbol, error=self._unknown_contract(item), source=item.source)
                continue
            yield SymbolBars(item.symbol, bars=item.bars, source=item.source, info={**item.info, **spec.info()})

    def fetch_sync(
        self,
        symbols: Sequence[str] | None,
        start_date: pd.Timestamp | str | None,
        end_date: pd.Timestamp | str | None,
        resolution: str = "1d",
    ) -> pl.DataFrame:
        """Bars of ``symbols`` (all when None); raises the first contract's error (see :meth:`iter_bars`)."""
        return collect_bars(self.iter_bars(symbols, start_date, end_date, resolution), _EMPTY_SCHEMA)

    def _unknown_contract(self, item: SymbolBars) -> SymbolNotFound:
        known = sorted(self._specs)
        listing = ", ".join(known[:12]) + (" ..." if len(known) > 12 else "")
        return SymbolNotFound(
            f"futures-csv: contract {item.symbol!r} has bars ({item.source}) but no row in the contracts file "
            f"{self._contracts_path}; add a row for it ({', '.join(CONTRACT_COLUMNS)}) or remove the bar file. "
            f"Contracts in the file: {listing or 'none'}"
        )


# --- the contracts file --------------------------------------------------------------------------------------


def read_contracts(path: str | os.PathLike[str]) -> dict[str, ContractSpec]:
    """Parse a contracts file into :class:`ContractSpec` by upper-case symbol.

    Raises
    ------
    DataFormatError
        A required column is missing, a row has the wrong number of fields, a value cannot be parsed, a date
        is missing, or a symbol is listed twice; the message names the file, the line and the field.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not UTF-8 text ({exc.reason}); re-save the file as UTF-8") from None
    reader = csv.reader(text.splitlines())
    try:
        header = next(reader)
    except StopIteration:
        raise DataFormatError(
            f"{path}: the contracts file is empty; expected a header row with columns {', '.join(CONTRACT_COLUMNS)}"
        ) from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_CONTRACT_COLUMNS if c not in names]
    if missing:
        raise DataFormatError(
            f"{path}, line 1: missing column(s) {', '.join(missing)}; the header is {', '.join(header)} and "
            f"a contracts file needs {', '.join(REQUIRED_CONTRACT_COLUMNS)} "
            f"(optional: {', '.join(OPTIONAL_CONTRACT_COLUMNS)})"
        )
    index = {name: names.index(name) for name in CONTRACT_COLUMNS if name in names}
    specs: dict[str, ContractSpec] = {}
    for record in reader:
        line = reader.line_num
        if not record or all(not field.strip() for field in record):
            continue
        if len(record) != len(header):
            raise DataFormatError(
                f"{path}, line {line}: {len(record)} field(s), but the header (line 1) has {len(header)}"
            )

        def value(name: str, record: list[str] = record) -> str:
            return record[index[name]].strip() if name in index else ""

        symbol = value("symbol").upper()
        if not symbol:
            raise DataFormatError(f"{path}, line {line}, field 'symbol': the value is missing")
        root = value("root_symbol").upper()
        if not root:
            raise DataFormatError(f"{path}, line {line}, field 'root_symbol': the value is missing ({symbol})")
        if symbol in specs:
            raise DataFormatError(
                f"{path}, line {line}: contract {symbol!r} is listed twice (first on line {specs[symbol].line})"
            )
        expiration = _date(value("expiration_date"), path, line, "expiration_date", required=True)
        auto_close = _date(value("auto_close_date"), path, line, "auto_close_date", required=True)
        notice = _date(value("first_notice_date"), path, line, "first_notice_date", required=False)
        assert expiration is not None and auto_close is not None
        if auto_close > expiration:
            log.warning(
                "futures-csv: %s, line %d: %s auto-closes (%s) after it expires (%s)",
                path,
                line,
                symbol,
                auto_close,
                expiration,
            )
        specs[symbol] = ContractSpec(
            symbol=symbol,
            root_symbol=root,
            expiration_date=expiration,
            auto_close_date=auto_close,
            first_notice_date=notice,
            multiplier=_multiplier(value("multiplier"), path, line),
            exchange=value("exchange"),
            line=line,
        )
    if not specs:
        raise DataFormatError(f"{path}: the contracts file has a header but no contracts")
    return specs


def _date(text: str, path: Path, line: int, field: str, *, required: bool) -> _dt.date | None:
    if not text:
        if required:
            raise DataFormatError(f"{path}, line {line}, field {field!r}: the value is missing (a YYYY-MM-DD date)")
        return None
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise DataFormatError(f"{path}, line {line}, field {field!r}: {text!r} is not a YYYY-MM-DD date") from None


def _multiplier(text: str, path: Path, line: int) -> float:
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise DataFormatError(f"{path}, line {line}, field 'multiplier': {text!r} is not a positive number")
    return value


def _iso(day: _dt.date) -> str:
    return pd.Timestamp(day).isoformat()
