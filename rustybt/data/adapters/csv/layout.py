"""Where the data is: files and symbols named by paths, directories, globs (csvdir), and which header column
holds which field."""

from __future__ import annotations

import glob
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rustybt.data.adapters.csv.options import _Options
from rustybt.data.schema import (
    PRICE_COLUMNS,
    VALUE_COLUMNS,
)
from rustybt.errors import ConfigError, DataFormatError, SymbolNotFound

log = logging.getLogger(__name__)

_DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")


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
