"""What one read of CSV files needs (:class:`_Options`), and the checks of the adapter's parameters."""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rustybt.data.adapters.csv.dates import _DateFormat
from rustybt.data.schema import (
    VALUE_COLUMNS,
)
from rustybt.errors import ConfigError

MISSING_STRATEGIES: tuple[str, ...] = ("fail", "skip", "ffill")


_MAPPABLE = ("timestamp", "date", "time", *VALUE_COLUMNS, "dividend", "split")
_NULLABLE_MAPPINGS = ("volume", "dividend", "split")  # may be mapped to None: no such column


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
