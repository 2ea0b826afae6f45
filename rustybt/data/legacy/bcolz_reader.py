"""Readers of zipline's bcolz bar stores: ``daily_equities.bcolz`` and ``minute_equities.bcolz``.

Daily (one bcolz ``ctable``)
    Columns ``open high low close volume day id``, all ``uint32``: prices x 1000 rounded (0 = no bar), volume in
    shares, ``day`` in seconds since the epoch (midnight UTC of the session), ``id`` the sid. Rows are grouped by
    sid, sorted by day; each sid's block covers every session from its first to its last bar. Table attributes:
    ``first_row`` / ``last_row`` / ``calendar_offset`` per sid (keys are sid strings), ``first_trading_day``
    (seconds), ``calendar_name``, ``start_session_ns`` and ``end_session_ns`` (older files: ``calendar``, the list
    of sessions).

Minute (a directory)
    ``metadata.json`` (``version`` 0-3, ``ohlc_ratio``, ``ohlc_ratios_per_sid``, ``minutes_per_day``,
    ``calendar_name``, ``start_session``, ``end_session``) and one ``ctable`` per sid at ``NN/NN/NNNNNN.bcolz``
    (the sid zero-padded to six digits) with ``uint32`` columns ``open high low close volume``. Position
    ``i * minutes_per_day + m`` holds minute ``m`` of session ``i`` counted from the session's open; positions
    after an early close are padding.

Minute labels: zipline labels a minute bar by its end (14:31 is the bar of 14:30-14:31 on XNYS). RustyBT labels
bars by their start, so this reader reports zipline's 14:31 bar at 14:30 (and its last, 21:00, at 20:59).

``bcolz`` (package ``bcolz-zipline``) is imported when a reader is created, not when this module is imported.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from rustybt.calendars import get_calendar
from rustybt.data.legacy._base import (
    LegacyDailyReader,
    StoredSessions,
    gather_rows,
    naive_utc,
    scaled_to_float,
    stored_bars,
)
from rustybt.data.legacy._deps import import_bcolz
from rustybt.data.legacy.errors import CorruptLegacyData, NotAZiplineBundle, UnsupportedLegacyVersion
from rustybt.data.readers.base import OHLCV_FIELDS, BarReader
from rustybt.errors import NoDataForSid, NoDataOnDate

__all__ = [
    "DAILY_COLUMNS",
    "MINUTE_METADATA_VERSIONS",
    "BcolzDailyBarReader",
    "BcolzMinuteBarReader",
    "check_carray_files",
    "sid_subdir",
]

log = logging.getLogger(__name__)

#: Columns of zipline's daily ctable.
DAILY_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume", "day", "id")
#: ``metadata.json`` versions of zipline's minute store this reader understands.
MINUTE_METADATA_VERSIONS: tuple[int, ...] = (0, 1, 2, 3)
#: Below this many requested assets a daily read slices the compressed columns per asset instead of loading
#: whole columns (zipline's ``read_all_threshold`` idea).
SLICE_THRESHOLD = 64
_NS_PER_MINUTE = 60_000_000_000


_BLP_MAGIC = b"blpk"
_BLP_HEADER = 16  # bloscpack header; a blosc header (16 bytes) follows, with the compressed size at offset 12


def check_carray_files(path: Path) -> None:
    """Check that every chunk file of the bcolz carray at ``path`` is complete.

    bcolz trusts the compressed size written in each chunk's header and, given a truncated file, may decompress
    whatever memory follows the short buffer: an error on a good day, silently wrong numbers on a bad one. So
    before reading we check the chunk count against ``meta/sizes`` and ``meta/storage``, and each ``.blp`` file's
    length against the size its header announces.

    Raises
    ------
    CorruptLegacyData
        A chunk file is missing, truncated or not a bloscpack file; the message names it.
    """
    try:
        shape = json.loads((path / "meta" / "sizes").read_text())["shape"]
        storage = json.loads((path / "meta" / "storage").read_text())
        chunklen = int(storage["chunklen"])
        itemsize = np.dtype(storage["dtype"]).itemsize
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptLegacyData(f"{path}/meta: unreadable carray metadata ({exc})") from exc
    length = int(shape[0]) if shape else 0
    n_files = length // chunklen + (1 if length % chunklen else 0)
    for n in range(n_files):
        blp = path / "data" / f"__{n}.blp"
        try:
            size = blp.stat().st_size
            with open(blp, "rb") as fh:
                head = fh.read(_BLP_HEADER + 16)
        except OSError as exc:
            raise CorruptLegacyData(
                f"{blp}: chunk file missing or unreadable ({exc}); the table is incomplete. Re-ingest the zipline "
                "bundle or restore it from a backup."
            ) from exc
        if len(head) < _BLP_HEADER + 16 or head[:4] != _BLP_MAGIC:
            raise CorruptLegacyData(f"{blp}: not a bloscpack chunk (truncated or damaged)")
        nbytes = int.from_bytes(head[_BLP_HEADER + 4 : _BLP_HEADER + 8], "little")
        ctbytes = int.from_bytes(head[_BLP_HEADER + 12 : _BLP_HEADER + 16], "little")
        if size < _BLP_HEADER + ctbytes or nbytes > chunklen * itemsize:
            raise CorruptLegacyData(
                f"{blp}: {size} bytes, its header announces {_BLP_HEADER + ctbytes}; the chunk is truncated or "
                "damaged. Re-ingest the zipline bundle or restore it from a backup."
            )


def _open_ctable(path: Path, what: str, columns: Sequence[str] = ()) -> Any:
    for column in columns:
        check_carray_files(path / column)
    bcolz = import_bcolz()
    try:
        return bcolz.ctable(rootdir=str(path), mode="r")
    except Exception as exc:  # bcolz raises RuntimeError, ValueError, OSError... for damaged files
        raise CorruptLegacyData(
            f"{path}: cannot open the {what} ({type(exc).__name__}: {exc}). A file of the table is missing, "
            "truncated or damaged; re-ingest the zipline bundle or restore it from a backup."
        ) from exc


def _read_carray(carray: Any, path: Path, start: int | None = None, stop: int | None = None) -> np.ndarray:
    try:
        return np.asarray(carray[start:stop])
    except Exception as exc:
        raise CorruptLegacyData(
            f"{path}: cannot decompress the data ({type(exc).__name__}: {exc}); the file is truncated or "
            "damaged. Re-ingest the zipline bundle or restore it from a backup."
        ) from exc


class BcolzDailyBarReader(LegacyDailyReader):
    """Read zipline's ``daily_equities.bcolz`` as raw (unadjusted) daily bars.

    Parameters
    ----------
    rootdir
        The ``daily_equities.bcolz`` directory of a zipline ingestion.
    cache_columns
        Keep whole decompressed columns in memory once read (4 bytes per stored row and column).

    Raises
    ------
    NotAZiplineBundle
        ``rootdir`` is not a bcolz table with zipline's daily columns and attributes.
    CorruptLegacyData
        The table cannot be opened or its attributes are inconsistent.
    LegacyDependencyMissing
        ``bcolz`` is not installed.
    """

    _kind = "daily bcolz table"

    def __init__(self, rootdir: str | Path, *, cache_columns: bool = True) -> None:
        self.path = Path(rootdir).expanduser()
        if not self.path.is_dir():
            raise NotAZiplineBundle(f"{self.path}: no such directory; expected zipline's daily_equities.bcolz")
        missing = [c for c in DAILY_COLUMNS if not (self.path / c).is_dir()]
        if not (self.path / "__attrs__").is_file():
            missing.insert(0, "__attrs__")
        if missing:
            raise NotAZiplineBundle(
                f"{self.path} is not a zipline daily bar table: missing {', '.join(missing)} (expected the "
                f"attributes file __attrs__ and the column directories {', '.join(DAILY_COLUMNS)})"
            )
        self._table = _open_ctable(self.path, "daily bcolz table", DAILY_COLUMNS)
        self._cache_columns = cache_columns
        self._columns: dict[str, np.ndarray] = {}
        self._nrows = len(self._table)
        attrs = dict(self._table.attrs.attrs)
        self._attrs = attrs
        self._calendar_name, self._sessions = _daily_sessions(attrs, self.path)
        self._ratios = {"open": 1000.0, "high": 1000.0, "low": 1000.0, "close": 1000.0, "volume": 1.0}
        self._load_index(attrs)

    # --- index -------------------------------------------------------------------------------------------
    def _load_index(self, attrs: dict[str, Any]) -> None:
        needed = [k for k in ("first_row", "last_row", "calendar_offset") if k not in attrs]
        if needed:
            raise CorruptLegacyData(f"{self.path}/__attrs__: missing attribute(s) {', '.join(needed)}")
        try:
            sids = np.array(sorted(int(k) for k in attrs["first_row"]), dtype=np.int64)
            first = np.array([int(attrs["first_row"][str(s)]) for s in sids], dtype=np.int64)
            last = np.array([int(attrs["last_row"][str(s)]) for s in sids], dtype=np.int64)
            offset = np.array([int(attrs["calendar_offset"][str(s)]) for s in sids], dtype=np.int64)
        except (KeyError, ValueError, TypeError) as exc:
            raise CorruptLegacyData(
                f"{self.path}/__attrs__: first_row, last_row and calendar_offset do not name the same sids ({exc})"
            ) from exc
        nrows = last - first + 1
        bad = (first < 0) | (nrows < 0) | (last >= self._nrows) | (offset < 0) | (offset + nrows > len(self._sessions))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise CorruptLegacyData(
                f"{self.path}/__attrs__: sid {sids[j]} claims rows {first[j]}..{last[j]} at session offset "
                f"{offset[j]}, outside the table ({self._nrows} rows) or its {len(self._sessions)} sessions"
            )
        self._sid_array, self._first, self._last, self._offset = sids, first, last, offset
        self._pos = {int(s): i for i, s in enumerate(sids)}

    @property
    def sids(self) -> list[int]:
        return [int(s) for s in self._sid_array]

    @property
    def first_trading_day(self) -> pd.Timestamp:
        value = self._attrs.get("first_trading_day")
        if value is None or int(value) < 0 or len(self._first) == 0:
            return self.sessions[0]
        return pd.Timestamp(int(value), unit="s", tz="UTC").as_unit("ns")

    @property
    def n_rows(self) -> int:
        """Rows of the table (bars and empty slots of every sid)."""
        return self._nrows

    def _lifetime(self, sid: int) -> tuple[int, int]:
        j = self._pos.get(int(sid))
        if j is None:
            raise NoDataForSid(f"sid {sid} has no daily bars in {self.path}")
        return int(self._offset[j]), int(self._offset[j] + self._last[j] - self._first[j])

    # --- column access ---------------------------------------------------------------------------------
    def column(self, name: str) -> np.ndarray:
        """The whole ``uint32`` column ``name`` (decompressed; cached when ``cache_columns``)."""
        cached = self._columns.get(name)
        if cached is not None:
            return cached
        data = _read_carray(self._table[name], self.path / name)
        if len(data) != self._nrows:
            raise CorruptLegacyData(f"{self.path / name}: {len(data)} values, the table has {self._nrows} rows")
        if self._cache_columns:
            self._columns[name] = data
        return data

    def load_raw_integers(
        self, columns: Sequence[str], start_date: pd.Timestamp, end_date: pd.Timestamp, assets: Sequence[int]
    ) -> list[np.ndarray]:
        start, end = self._query_span(start_date, end_date)
        n = end - start + 1
        js = np.array([self._pos.get(int(a), -1) for a in assets], dtype=np.int64)
        if len(js) and (js < 0).all():
            raise NoDataForSid(f"none of the sids {list(assets)[:10]} has daily bars in {self.path}")
        known = js >= 0
        first = np.where(known, self._first[js], -1)
        last = np.where(known, self._last[js], -1)
        offset = np.where(known, self._offset[js], 0)
        out_rows, out_cols, src = gather_rows(n, start, first, last, offset)
        results = []
        for col in columns:
            out = np.zeros((n, len(js)), dtype=np.uint32)
            if src.size:
                if col in self._columns or len(js) > SLICE_THRESHOLD:
                    out[out_rows, out_cols] = self.column(col)[src]
                else:
                    self._slice_into(out, col, out_rows, out_cols, src)
            results.append(out)
        return results

    def _slice_into(
        self, out: np.ndarray, col: str, out_rows: np.ndarray, out_cols: np.ndarray, src: np.ndarray
    ) -> None:
        """Fill ``out`` reading only each asset's rows from the compressed column (few assets)."""
        carray = self._table[col]
        for j in np.unique(out_cols):
            mask = out_cols == j
            rows = src[mask]
            lo, hi = int(rows[0]), int(rows[-1]) + 1
            out[out_rows[mask], j] = _read_carray(carray, self.path / col, lo, hi)

    # --- whole-table access for migration ---------------------------------------------------------------
    def raw_frame(self, sids: Sequence[int] | None = None) -> pl.DataFrame:
        """Every stored row with a price as a polars frame: ``sid, day, open, high, low, close, volume``.

        Values are the stored integers (UInt32); ``day`` is the row's own ``day`` column (Datetime ns, UTC),
        not derived from the calendar offsets, so a comparison with :meth:`load_raw_arrays` checks both.
        Rows whose four prices are all 0 (no bar) are left out.
        """
        data = {c: self.column(c) for c in DAILY_COLUMNS}
        frame = pl.DataFrame(
            {
                "sid": data["id"].astype(np.int64),
                "day": data["day"].astype(np.int64) * 1_000_000_000,
                **{c: data[c] for c in OHLCV_FIELDS},
            }
        )
        return stored_bars(frame.with_columns(pl.col("day").cast(pl.Datetime("ns", "UTC"))), sids)

    def __repr__(self) -> str:
        span = f"{self._sessions[0].date()}..{self._sessions[-1].date()}" if len(self._sessions) else "empty"
        return f"BcolzDailyBarReader({str(self.path)!r}: {len(self._sid_array)} sids, {span}, {self._calendar_name})"


def _daily_sessions(attrs: dict[str, Any], path: Path) -> tuple[str, pd.DatetimeIndex]:
    """Calendar name and sessions of a daily table, from its attributes (zipline's two generations)."""
    if "calendar" in attrs:  # old tables list their sessions
        sessions = pd.DatetimeIndex(pd.to_datetime(attrs["calendar"]))
        if sessions.tz is not None:
            sessions = sessions.tz_convert("UTC").tz_localize(None)
        return str(attrs.get("calendar_name", "XNYS")), sessions.as_unit("ns")
    needed = [k for k in ("calendar_name", "start_session_ns", "end_session_ns") if k not in attrs]
    if needed:
        raise CorruptLegacyData(
            f"{path}/__attrs__: missing attribute(s) {', '.join(needed)}; cannot place the rows on a calendar"
        )
    name = str(attrs["calendar_name"])
    start = pd.Timestamp(int(attrs["start_session_ns"]), unit="ns")
    end = pd.Timestamp(int(attrs["end_session_ns"]), unit="ns")
    cal = get_calendar(name, start, end)
    return name, pd.DatetimeIndex(cal.sessions_in_range(start, end)).as_unit("ns")


# ------------------------------------------------------------------------------------------------------------
# minute bars
# ------------------------------------------------------------------------------------------------------------


def sid_subdir(sid: int) -> str:
    """zipline's path of a sid's minute table: ``00/00/000001.bcolz`` for sid 1."""
    padded = format(int(sid), "06")
    return f"{padded[0:2]}/{padded[2:4]}/{padded}.bcolz"


class BcolzMinuteBarReader(StoredSessions, BarReader):
    """Read zipline's ``minute_equities.bcolz`` directory as raw minute bars (start-labelled, see module doc).

    Parameters
    ----------
    rootdir
        The ``minute_equities.bcolz`` directory (with ``metadata.json``).

    Raises
    ------
    NotAZiplineBundle
        No ``metadata.json``.
    UnsupportedLegacyVersion
        A ``metadata.json`` version this reader does not know.
    """

    def __init__(self, rootdir: str | Path) -> None:
        self.path = Path(rootdir).expanduser()
        meta_path = self.path / "metadata.json"
        if not meta_path.is_file():
            raise NotAZiplineBundle(
                f"{self.path} is not a zipline minute bar directory: expected metadata.json and per-sid tables "
                "NN/NN/NNNNNN.bcolz"
            )
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError) as exc:
            raise CorruptLegacyData(f"{meta_path}: not readable JSON ({exc})") from exc
        version = int(meta.get("version", 0))
        if version not in MINUTE_METADATA_VERSIONS:
            raise UnsupportedLegacyVersion(
                f"{meta_path}: minute bar metadata version {version} is not supported (supported: "
                f"{', '.join(map(str, MINUTE_METADATA_VERSIONS))})"
            )
        self.version = version
        self.default_ratio = float(meta["ohlc_ratio"])
        per_sid = meta.get("ohlc_ratios_per_sid") if version >= 3 else None
        self.ratios_per_sid = {int(k): float(v) for k, v in (per_sid or {}).items()}
        self.minutes_per_day = int(meta["minutes_per_day"]) if version >= 1 else 390
        if version >= 2:
            self._calendar_name = str(meta["calendar_name"])
            start = pd.Timestamp(meta["start_session"])
            end = pd.Timestamp(meta["end_session"])
            cal = get_calendar(self._calendar_name, start, end)
        else:
            self._calendar_name = "XNYS"
            start = pd.Timestamp(meta["first_trading_day"])
            cal = get_calendar("XNYS", start)
            end = cal.minute_to_session(pd.Timestamp(meta["market_closes"][-1], unit="m", tz="UTC"))
        self._sessions = pd.DatetimeIndex(cal.sessions_in_range(start, end)).as_unit("ns")
        self._opens = _minute_ns(cal.first_minutes.loc[self._sessions[0] : self._sessions[-1]])
        self._lasts = _minute_ns(cal.last_minutes.loc[self._sessions[0] : self._sessions[-1]])
        self._tables: dict[int, Any] = {}
        self._sids = sorted(int(p.stem) for p in self.path.glob("[0-9][0-9]/[0-9][0-9]/*.bcolz") if p.stem.isdigit())

    # --- properties ----------------------------------------------------------------------------------------
    @property
    def data_frequency(self) -> str:
        return "minute"

    @property
    def first_trading_day(self) -> pd.Timestamp:
        return self.sessions[0]

    @property
    def last_available_dt(self) -> pd.Timestamp:
        return pd.Timestamp(int(self._lasts[-1]), unit="ns", tz="UTC")

    @property
    def sids(self) -> list[int]:
        return list(self._sids)

    def ratio(self, sid: int) -> float:
        """Price scaling factor of ``sid`` (per-sid ratio if the metadata has one, else the default)."""
        return self.ratios_per_sid.get(int(sid), self.default_ratio)

    # --- positions ---------------------------------------------------------------------------------------
    def positions(self, minutes: np.ndarray) -> np.ndarray:
        """Tape positions of start-labelled minutes (int64 ns since the epoch); -1 where not a trading minute."""
        minutes = np.asarray(minutes, dtype=np.int64)
        s = np.searchsorted(self._opens, minutes, side="right") - 1
        safe = np.clip(s, 0, len(self._opens) - 1)
        m = (minutes - self._opens[safe]) // _NS_PER_MINUTE
        ok = (s >= 0) & (minutes <= self._lasts[safe]) & (m < self.minutes_per_day)
        ok &= (minutes - self._opens[safe]) % _NS_PER_MINUTE == 0
        return np.where(ok, safe * self.minutes_per_day + m, -1)

    def labels(self, positions: np.ndarray) -> np.ndarray:
        """Start labels (int64 ns) of tape positions; -1 for padding after an early close."""
        positions = np.asarray(positions, dtype=np.int64)
        s, m = np.divmod(positions, self.minutes_per_day)
        labels = self._opens[s] + m * _NS_PER_MINUTE
        return np.where(labels <= self._lasts[s], labels, -1)

    def _table(self, sid: int) -> Any:
        table = self._tables.get(sid)
        if table is None:
            path = self.path / sid_subdir(sid)
            if not path.is_dir():
                raise NoDataForSid(f"sid {sid} has no minute bars in {self.path}")
            table = self._tables[sid] = _open_ctable(path, f"minute bcolz table of sid {sid}", OHLCV_FIELDS)
        return table

    def sid_column(self, sid: int, field: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Stored ``uint32`` values of one sid and field at tape positions ``start..stop-1``."""
        table = self._table(int(sid))
        return _read_carray(table[field], self.path / sid_subdir(sid) / field, start, stop)

    # --- BarReader -----------------------------------------------------------------------------------------
    def load_raw_integers(
        self, columns: Sequence[str], start_dt: pd.Timestamp, end_dt: pd.Timestamp, assets: Sequence[int]
    ) -> tuple[pd.DatetimeIndex, list[np.ndarray]]:
        """Trading minutes from ``start_dt`` to ``end_dt`` and the stored integers there (0 = no bar)."""
        cal = self.trading_calendar
        start, end = naive_utc(start_dt), naive_utc(end_dt)
        if start > end:
            raise NoDataOnDate(f"end {end} is before start {start}")
        minutes = pd.DatetimeIndex(cal.minutes_in_range(start.tz_localize("UTC"), end.tz_localize("UTC")))
        minutes_ns = minutes.tz_convert("UTC").tz_localize(None).as_unit("ns").asi8
        pos = self.positions(minutes_ns)
        if (pos < 0).any():
            raise NoDataOnDate(
                f"{start}..{end} reaches outside the sessions of {self.path} "
                f"({self._sessions[0].date()}..{self._sessions[-1].date()})"
            )
        results = []
        lo, hi = (int(pos[0]), int(pos[-1]) + 1) if pos.size else (0, 0)
        for col in columns:
            out = np.zeros((len(pos), len(assets)), dtype=np.uint32)
            for j, sid in enumerate(assets):
                if int(sid) not in self._sids:
                    continue
                values = self.sid_column(int(sid), col, lo, hi)
                inside = pos - lo < len(values)
                out[inside, j] = values[(pos - lo)[inside]]
            results.append(out)
        return minutes, results

    def load_raw_arrays(
        self, columns: Sequence[str], start_date: pd.Timestamp, end_date: pd.Timestamp, assets: Sequence[int]
    ) -> list[np.ndarray]:
        """float64 arrays (minutes x assets); prices NaN and volume 0 where there is no bar."""
        _, raw = self.load_raw_integers(columns, start_date, end_date, assets)
        out = []
        for col, arr in zip(columns, raw, strict=True):
            if col == "volume":
                out.append(arr.astype(np.float64))
                continue
            values = np.empty(arr.shape, dtype=np.float64)
            for j, sid in enumerate(assets):
                values[:, j] = scaled_to_float(arr[:, j], col, self.ratio(int(sid)))
            out.append(values)
        return out

    def get_value(self, sid: int, dt: pd.Timestamp, field: str) -> float:
        """Raw value at minute ``dt`` (start label); NaN (volume: 0) when there was no trade.

        Raises
        ------
        NoDataOnDate
            ``dt`` is not a trading minute of the store.
        NoDataForSid
            Unknown sid.
        """
        if field not in OHLCV_FIELDS:
            raise ValueError(f"unknown field {field!r}; use {', '.join(OHLCV_FIELDS)}")
        pos = int(self.positions(np.array([naive_utc(dt).value]))[0])
        if pos < 0:
            raise NoDataOnDate(f"{dt} is not a trading minute of {self.path}")
        values = self.sid_column(int(sid), field, pos, pos + 1)
        raw = values if len(values) else np.zeros(1, dtype=np.uint32)
        return float(scaled_to_float(raw, field, 1.0 if field == "volume" else self.ratio(int(sid)))[0])

    def get_last_traded_dt(self, sid: int, dt: pd.Timestamp, chunk: int = 390 * 20) -> pd.Timestamp | None:
        """Last minute at or before ``dt`` with volume > 0 for ``sid``, or None (scans back in chunks)."""
        when = naive_utc(dt).value
        s = int(np.searchsorted(self._opens, when, side="right")) - 1
        if s < 0:
            return None
        last_label = min(when, int(self._lasts[s]))
        upto = int(self.positions(np.array([last_label - (last_label - int(self._opens[s])) % _NS_PER_MINUTE]))[0])
        stop = upto + 1
        while stop > 0:
            start = max(0, stop - chunk)
            volume = self.sid_column(int(sid), "volume", start, stop)
            hits = np.flatnonzero(volume)
            if hits.size:
                label = int(self.labels(np.array([start + int(hits[-1])]))[0])
                if label >= 0:
                    return pd.Timestamp(label, unit="ns", tz="UTC")
            stop = start
        return None

    # --- whole-sid access for migration -----------------------------------------------------------------
    def raw_frame(self, sid: int) -> pl.DataFrame:
        """Every stored minute of ``sid`` with a price: ``sid, timestamp (start label), open ... volume``."""
        table_len = len(self._table(int(sid)))
        cols = {c: self.sid_column(int(sid), c) for c in OHLCV_FIELDS}
        has_bar = (cols["open"] != 0) | (cols["high"] != 0) | (cols["low"] != 0) | (cols["close"] != 0)
        pos = np.flatnonzero(has_bar[:table_len])
        pos = pos[pos < len(self._opens) * self.minutes_per_day]
        labels = self.labels(pos)
        padding = labels < 0
        if padding.any():
            log.warning(
                "%s: sid %d has %d bar(s) after an early close (zipline ignores them); left out",
                self.path,
                sid,
                int(padding.sum()),
            )
            pos, labels = pos[~padding], labels[~padding]
        frame = pl.DataFrame(
            {"sid": np.full(len(pos), int(sid), dtype=np.int64), "day": labels, **{c: cols[c][pos] for c in cols}}
        )
        return frame.with_columns(pl.col("day").cast(pl.Datetime("ns", "UTC")))

    def __repr__(self) -> str:
        span = f"{self._sessions[0].date()}..{self._sessions[-1].date()}" if len(self._sessions) else "empty"
        return f"BcolzMinuteBarReader({str(self.path)!r}: {len(self._sids)} sids, {span}, {self._calendar_name})"


def _minute_ns(series: pd.Series) -> np.ndarray:
    idx = pd.DatetimeIndex(series.to_numpy())
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return idx.as_unit("ns").asi8.copy()
