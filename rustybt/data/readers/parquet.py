"""Bar readers over a catalog bundle's Parquet files (raw, unadjusted values)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np
import pandas as pd
import polars as pl

from rustybt import _pages
from rustybt._utils import to_utc
from rustybt.calendars import bar_labels, get_calendar
from rustybt.data.catalog.bundle import Bundle
from rustybt.data.readers import _dense
from rustybt.data.readers._scatter import place_bars
from rustybt.data.readers.base import OHLCV_FIELDS, BarReader
from rustybt.data.resolution import parse_resolution
from rustybt.data.schema import TIMESTAMP_DTYPE
from rustybt.errors import NoDataAfterDate, NoDataBeforeDate, NoDataForSid, NoDataOnDate

__all__ = ["ParquetBarReader", "ParquetDailyBarReader", "ParquetMinuteBarReader", "ReadAhead"]

#: while the reader's ``read_ahead`` says so, year frames are read ahead up to the size of the arrays they fill, or
#: this much
READ_AHEAD_MIN_BYTES = 64 << 20

#: Asked before each year is placed: True to read the next years first (see :class:`ParquetBarReader`)
ReadAhead = Callable[[], bool]


class ParquetBarReader(BarReader):
    """Raw bars of one stored resolution of a bundle, aligned to the bundle's calendar.

    Reads are lazy scans with predicate pushdown (year partitions from the manifest, ``sid`` and ``timestamp``
    row-group statistics); nothing reads whole files it does not need. Point lookups (:meth:`get_value`) use a
    per-sid series loaded once per sid and field.

    Parameters
    ----------
    bundle
        The bundle (pinned to one ingestion).
    resolution
        The stored resolution (default: the bundle's); another one is an error.
    cache
        Optional :class:`~rustybt.data.cache.CacheManager` for the per-sid series (:meth:`series`), which the
        DataPortal's history windows use. Wide reads (:meth:`load_raw_arrays`) are not put in it: the dense copy
        serves repeated wide reads of daily bars, and the pipeline loader keeps what it loaded.
    read_ahead
        Optional predicate asked before each year block of a wide read is placed; while it returns True the
        following years are read first (up to the size of the arrays they fill, at least
        :data:`READ_AHEAD_MIN_BYTES`). The pipeline passes "Numba is still setting up in the background", so that
        I/O overlaps compilation instead of waiting for it. None: place each year as soon as it is read.
    """

    def __init__(
        self,
        bundle: Bundle,
        resolution: str | None = None,
        *,
        cache=None,
        read_ahead: ReadAhead | None = None,
    ) -> None:
        self.bundle = bundle
        self.cache = cache  # a CacheManager, or None
        self.read_ahead = read_ahead
        self._resolution = parse_resolution(resolution or bundle.resolution)
        stored = parse_resolution(bundle.resolution)
        if self._resolution != stored:
            raise ValueError(f"bundle {bundle.name!r} stores {stored} bars, not {self._resolution}")
        self._series: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        self._lock = threading.Lock()

    # --- properties ----------------------------------------------------------------------------------------
    @property
    def data_frequency(self) -> str:
        return self._resolution.data_frequency

    @property
    def resolution(self) -> str:
        return self._resolution.name

    @cached_property
    def trading_calendar(self):
        return get_calendar(self.bundle.calendar_name, self.bundle.start, self.bundle.end)

    @property
    def calendar_name(self) -> str:
        return self.bundle.calendar_name

    @property
    def first_trading_day(self) -> pd.Timestamp:
        return self.bundle.start.normalize()

    @property
    def last_available_dt(self) -> pd.Timestamp:
        return self.bundle.end

    @cached_property
    def sids(self) -> list[int]:
        return self.bundle.sids

    def labels(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
        """Bar labels (rows of :meth:`load_raw_arrays`) from ``start`` to ``end``."""
        return bar_labels(self.bundle.calendar_name, self._resolution, start, end)

    # --- bulk ----------------------------------------------------------------------------------------------
    def load_raw_arrays(
        self,
        columns: Sequence[str],
        start_date: pd.Timestamp,
        end_date: pd.Timestamp,
        assets: Sequence[int],
    ) -> list[np.ndarray]:
        """One float64 array per column, shape (n_labels, n_assets), NaN where no bar; each asset's column is
        contiguous (Fortran order, or rows of the Fortran-ordered dense copy of a daily bundle) and the arrays are
        writable: the types the pipeline's kernels take as they are."""
        for col in columns:
            _check_field(col)
        return self._load_raw_arrays(columns, start_date, end_date, assets)

    def _load_raw_arrays(
        self,
        columns: Sequence[str],
        start_date: pd.Timestamp,
        end_date: pd.Timestamp,
        assets: Sequence[int],
    ) -> list[np.ndarray]:
        labels = self.labels(start_date, end_date)
        sids = np.asarray([int(a) for a in assets], dtype=np.int64)
        unique, inverse = np.unique(sids, return_inverse=True)
        if len(unique) < len(sids):  # a sid asked for twice: load each once, then repeat its column
            once = self._load_raw_arrays(columns, start_date, end_date, unique)
            return [np.asfortranarray(arr[:, inverse]) for arr in once]
        if self._dense_bars is not None:
            arrays = self._dense_bars.arrays(columns, labels.asi8, sids)
            if arrays is not None:
                return arrays
        # small pages: these arrays are filled once and usually kept (see rustybt._pages); every cell is written
        # below, year block by year block
        out = tuple(_pages.empty((len(labels), len(sids)), np.float64, "F") for _ in columns)
        self._place(columns, labels, sids, out)
        return list(out)

    @cached_property
    def _dense_bars(self) -> _dense.DenseBars | None:
        """The dense copy of a daily bundle's bars in the cache directory (see :mod:`._dense`); None for
        intraday bundles or when turned off."""
        if self._resolution.is_intraday:
            return None
        labels = self.labels(self.bundle.start, self.bundle.end)
        sids = np.asarray(sorted(self.bundle.sids), dtype=np.int64)
        return _dense.for_bundle(self.bundle, labels.asi8, lambda fields, outs: self._place(fields, labels, sids, outs))

    def _place(self, columns: Sequence[str], labels: pd.DatetimeIndex, sids: np.ndarray, out: tuple) -> None:
        """Fill ``out`` (F-ordered float64, ``(len(labels), len(sids))``, distinct ``sids``) with the bars of
        ``columns``, NaN where no bar."""
        if len(labels) == 0 or len(sids) == 0:
            return
        label_ns = labels.asi8
        lo, hi = int(label_ns[0]), int(label_ns[-1])
        order = np.argsort(sids, kind="stable")
        sorted_sids, positions = sids[order], order.astype(np.int64)
        # place_bars drops unrequested sids and timestamps off the labels itself: a filter only pays when it lets
        # Parquet statistics skip row groups (a few sids of many, a year cut by the range); otherwise it is a
        # wasted pass over millions of rows
        few_sids = 2 * len(sids) < len(self.sids)
        # one year partition at a time: the long (timestamp, sid, values) frame of a whole range is several times
        # the size of the arrays it fills, so reading year by year bounds the transient memory to one year's.
        # Except while the caller's read_ahead says so (the pipeline: Numba still setting up in the background,
        # which placing would wait for): the next years are read meanwhile and placed once it says no
        years = range(labels[0].year, labels[-1].year + 1)
        read_ahead = self.read_ahead
        pending, pending_bytes = [], 0
        read_ahead_bytes = max(READ_AHEAD_MIN_BYTES, sum(arr.nbytes for arr in out))  # as much as the arrays
        for year in years:
            year_lo = pd.Timestamp(year, 1, 1, tz="UTC").value
            year_hi = pd.Timestamp(year + 1, 1, 1, tz="UTC").value
            query = self.bundle.scan(self.resolution, year, year)
            if lo > year_lo or hi < year_hi - 1:
                query = query.filter(
                    pl.col("timestamp").is_between(pl.lit(lo).cast(TIMESTAMP_DTYPE), pl.lit(hi).cast(TIMESTAMP_DTYPE))
                )
            if few_sids:
                query = query.filter(pl.col("sid").is_in(sids.tolist()))
            frame = query.select(
                pl.col("timestamp").dt.epoch("ns").alias("ts"),
                "sid",
                *[pl.col(c).cast(pl.Float64) for c in columns],
            ).collect()
            pending.append((frame, *np.searchsorted(label_ns, [year_lo, year_hi])))
            pending_bytes += frame.estimated_size()
            if read_ahead is not None and year != years[-1] and pending_bytes < read_ahead_bytes and read_ahead():
                continue
            for bars, r0, r1 in pending:
                seen = np.zeros(len(sids), np.bool_)
                pieces = _pieces(bars)
                for i, piece in enumerate(pieces):
                    place_bars(
                        out,
                        tuple(piece.get_column(c).to_numpy() for c in columns),
                        piece.get_column("ts").to_numpy(),
                        piece.get_column("sid").to_numpy(),
                        label_ns,
                        int(r0),
                        int(r1),
                        sorted_sids,
                        positions,
                        seen,
                        i == len(pieces) - 1,
                    )
            pending, pending_bytes = [], 0

    # --- one asset -----------------------------------------------------------------------------------------
    def series(self, sid: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """All bars of ``sid``: (timestamps as int64 ns, {field: float64 values}); loaded once and kept."""
        sid = int(sid)
        cached = self._series.get(sid)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._series.get(sid)
            if cached is None:
                if sid not in set(self.sids):
                    raise NoDataForSid(f"bundle {self.bundle.name!r} holds no bars for sid {sid}")

                def load() -> pl.DataFrame:
                    return (
                        self.bundle.scan(self.resolution)
                        .filter(pl.col("sid") == sid)
                        .select(pl.col("timestamp").dt.epoch("ns"), *[pl.col(f).cast(pl.Float64) for f in OHLCV_FIELDS])
                        .collect()
                        .sort("timestamp")
                    )

                if self.cache is None:
                    frame = load()
                else:
                    key = self.cache.make_key(
                        "series", self.bundle.name, self.bundle.ingestion_id, self.resolution, sid
                    )
                    frame = self.cache.get_or_compute(key, load)
                cached = (
                    frame.get_column("timestamp").to_numpy(),
                    {f: frame.get_column(f).to_numpy() for f in OHLCV_FIELDS},
                )
                self._series[sid] = cached
        return cached

    def get_value(self, sid: int, dt: pd.Timestamp, field: str) -> float:
        _check_field(field)
        ts, values = self.series(sid)
        label = self._label(dt)
        i = np.searchsorted(ts, label.value)
        if i < len(ts) and ts[i] == label.value:
            return float(values[field][i])
        return 0.0 if field == "volume" else float("nan")

    def get_last_traded_dt(self, sid: int, dt: pd.Timestamp) -> pd.Timestamp | None:
        ts, _ = self.series(sid)
        i = np.searchsorted(ts, to_utc(dt).value, side="right")
        return None if i == 0 else pd.Timestamp(int(ts[i - 1]), tz="UTC")

    def _label(self, dt: pd.Timestamp) -> pd.Timestamp:
        """The bar label of ``dt``, checked against the reader's range and calendar."""
        dt = to_utc(dt)
        if dt < self.first_trading_day:
            raise NoDataBeforeDate(f"{dt} is before the first bar of bundle {self.bundle.name!r} ({self.bundle.start})")
        if dt > self.last_available_dt:
            raise NoDataAfterDate(f"{dt} is after the last bar of bundle {self.bundle.name!r} ({self.bundle.end})")
        if self.data_frequency == "daily":
            if not self.trading_calendar.is_session(dt.tz_localize(None).normalize()):
                raise NoDataOnDate(f"{dt.date()} is not a {self.bundle.calendar_name} session")
            return dt.normalize()
        return dt


class ParquetDailyBarReader(ParquetBarReader):
    """Daily bars of a bundle stored at ``1d``."""

    def __init__(self, bundle: Bundle, *, cache=None, read_ahead: ReadAhead | None = None) -> None:
        super().__init__(bundle, "1d", cache=cache, read_ahead=read_ahead)


class ParquetMinuteBarReader(ParquetBarReader):
    """Intraday bars (1m, 5m, ... 4h: whatever the bundle stores)."""

    def __init__(self, bundle: Bundle, *, cache=None, read_ahead: ReadAhead | None = None) -> None:
        if not parse_resolution(bundle.resolution).is_intraday:
            raise ValueError(f"bundle {bundle.name!r} stores {bundle.resolution} bars; use ParquetDailyBarReader")
        super().__init__(bundle, cache=cache, read_ahead=read_ahead)


def _check_field(field: str) -> None:
    if field not in OHLCV_FIELDS:
        raise ValueError(f"unknown bar field {field!r}; readers serve {', '.join(OHLCV_FIELDS)}")


def _pieces(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """``frame`` as single-chunk slices (one per Parquet row group read), whose columns ``to_numpy`` returns
    without copying; a multi-chunk column would be copied into one new array, for every year and field.
    Columns chunked differently (not seen from a Parquet scan) give the frame whole."""
    lengths = frame.get_column(frame.columns[0]).chunk_lengths()
    if len(lengths) <= 1 or any(frame.get_column(c).chunk_lengths() != lengths for c in frame.columns[1:]):
        return [frame]
    pieces, offset = [], 0
    for n in lengths:
        pieces.append(frame.slice(offset, n))
        offset += n
    return pieces
