"""Storage formats compared: zipline bcolz, zipline HDF5 and a RustyBT Parquet bundle.

Generates N assets x M XNYS sessions of daily bars (default 3,000 x 2,520, ten years), writes them

- as zipline's ``daily_equities.bcolz`` (a small writer below, zipline's layout: uint32 columns, per-sid row
  blocks, the same attributes as zipline's ``BcolzDailyBarWriter``, bcolz default compression),
- as zipline's HDF5 daily bar file (h5py, zipline's layout: (sid x day) uint32 arrays, lzf + shuffle, chunks of
  30 days, as ``HDF5DailyBarWriter``),
- as a RustyBT Parquet bundle through the catalog's normal ingest (validation included),

then measures write time, size on disk and the time to read the full close matrix (all assets x all sessions,
float64) through each reader, and the time of ``migrate()`` from the bcolz store. With ``--zipline`` (default when
``benchmarks/.venv-zipline`` exists) zipline-reloaded's own bcolz and HDF5 readers are timed on the same files
in that venv, and their close matrices are checked against ours.

    .venv/bin/python benchmarks/formats.py                     # 3000 x 2520
    .venv/bin/python benchmarks/formats.py --assets 300 --sessions 500 --repeat 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from rustybt import Catalog
from rustybt.calendars import get_calendar
from rustybt.config import load_config
from rustybt.data.adapters.base import BarAdapter, SymbolBars
from rustybt.data.legacy import BcolzDailyBarReader, HDF5DailyBarReader, migrate

REPO = Path(__file__).resolve().parents[1]
ZIPLINE_PY = REPO / "benchmarks" / ".venv-zipline" / "bin" / "python"
FIELDS = ("open", "high", "low", "close", "volume")


# --------------------------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------------------------


def generate(
    n_assets: int, n_sessions: int, seed: int = 7
) -> tuple[pd.DatetimeIndex, dict[str, np.ndarray], np.ndarray]:
    """Sessions, uint32 OHLCV matrices (sessions x assets, prices x 1000, 0 = no bar) and each asset's first
    session index. A third of the assets list late (start somewhere in the first 40% of the span)."""
    rng = np.random.default_rng(seed)
    cal = get_calendar("XNYS", "2010-01-01")
    sessions = cal.sessions[cal.sessions >= "2010-01-04"][:n_sessions]
    start = np.zeros(n_assets, dtype=np.int64)
    late = rng.random(n_assets) < 1 / 3
    start[late] = rng.integers(1, int(n_sessions * 0.4), late.sum())
    returns = rng.normal(0.0003, 0.02, (n_sessions, n_assets))
    close = 20.0 * rng.lognormal(0, 1, n_assets) * np.exp(np.cumsum(returns, axis=0))
    close = np.clip(close, 1.0, 4_000_000.0)
    spread = np.abs(rng.normal(0, 0.01, (n_sessions, n_assets))) * close
    open_ = close * (1 + rng.normal(0, 0.005, (n_sessions, n_assets)))
    high = np.maximum(open_, close) + spread
    low = np.maximum(np.minimum(open_, close) - spread, 0.5)
    data = {
        "open": np.rint(open_ * 1000).astype(np.uint32),
        "high": np.rint(high * 1000).astype(np.uint32),
        "low": np.rint(low * 1000).astype(np.uint32),
        "close": np.rint(close * 1000).astype(np.uint32),
        "volume": rng.integers(1_000, 50_000_000, (n_sessions, n_assets)).astype(np.uint32),
    }
    alive = np.arange(n_sessions)[:, None] >= start[None, :]
    for f in FIELDS:
        data[f][~alive] = 0
    data["high"] = np.maximum(data["high"], np.maximum(data["open"], data["close"]))
    data["low"] = np.minimum(data["low"], np.minimum(data["open"], data["close"]))
    return pd.DatetimeIndex(sessions), data, start


def symbol(sid: int) -> str:
    return f"S{sid:05d}"


# --------------------------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------------------------


def write_bcolz(path: Path, sessions: pd.DatetimeIndex, data: dict[str, np.ndarray], start: np.ndarray) -> None:
    """zipline's daily_equities.bcolz: per-sid blocks from the sid's first to its last session."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import bcolz
    n_sessions, n_assets = data["close"].shape
    lengths = n_sessions - start
    rows = np.concatenate([np.arange(s, n_sessions) for s in start])
    cols = np.repeat(np.arange(n_assets), lengths)
    day_seconds = (sessions.as_unit("s").asi8).astype(np.uint32)
    columns = {f: data[f][rows, cols] for f in FIELDS}
    columns["day"] = day_seconds[rows]
    columns["id"] = cols.astype(np.uint32)
    names = ["open", "high", "low", "close", "volume", "day", "id"]
    table = bcolz.ctable(columns=[bcolz.carray(columns[n]) for n in names], names=names, rootdir=str(path), mode="w")
    ends = np.cumsum(lengths)
    table.attrs["first_trading_day"] = int(day_seconds[start.min()])
    table.attrs["first_row"] = {str(s): int(e - n) for s, (e, n) in enumerate(zip(ends, lengths, strict=True))}
    table.attrs["last_row"] = {str(s): int(e - 1) for s, e in enumerate(ends)}
    table.attrs["calendar_offset"] = {str(s): int(o) for s, o in enumerate(start)}
    table.attrs["calendar_name"] = "XNYS"
    table.attrs["start_session_ns"] = int(sessions[0].value)
    table.attrs["end_session_ns"] = int(sessions[-1].value)
    table.flush()


def write_hdf5(path: Path, sessions: pd.DatetimeIndex, data: dict[str, np.ndarray], start: np.ndarray) -> None:
    """zipline's HDF5 daily bar layout (one country, US)."""
    import h5py

    n_sessions, n_assets = data["close"].shape
    with h5py.File(path, "w") as f:
        f.attrs["version"] = 0
        us = f.create_group("US")
        us.create_dataset("index/sid", data=np.arange(n_assets, dtype=np.int64))
        us.create_dataset("index/day", data=sessions.as_unit("ns").asi8)
        us.create_dataset("lifetimes/start_date", data=start.astype(np.int64))
        us.create_dataset("lifetimes/end_date", data=np.full(n_assets, n_sessions - 1, dtype=np.int64))
        us.create_dataset("currency/code", data=np.full(n_assets, b"USD", dtype="S3"))
        for field in FIELDS:
            ds = us.create_dataset(
                f"data/{field}",
                data=np.ascontiguousarray(data[field].T),
                compression="lzf",
                shuffle=True,
                chunks=(n_assets, min(30, n_sessions)),
            )
            ds.attrs["scaling_factor"] = 1 if field == "volume" else 1000


class MemoryAdapter(BarAdapter):
    """Serves the generated bars to the catalog (exact 3-decimal prices, like the zipline adapter)."""

    name = "benchmark-memory"

    def __init__(self, sessions: pd.DatetimeIndex, data: dict[str, np.ndarray], start: np.ndarray) -> None:
        self._sessions, self._data, self._start = sessions, data, start

    def to_config(self) -> dict[str, Any]:
        return {}

    def symbols(self) -> list[str]:
        return [symbol(s) for s in range(self._data["close"].shape[1])]

    def iter_bars(self, symbols, start_date, end_date, resolution="1d", n_workers=1) -> Iterator[SymbolBars]:
        ts = pl.Series("timestamp", self._sessions.tz_localize("UTC").as_unit("ns"))
        thousand = pl.lit(Decimal(1000)).cast(pl.Decimal(38, 0))
        for sid in range(self._data["close"].shape[1]):
            first = int(self._start[sid])
            cols = {f: self._data[f][first:, sid] for f in FIELDS}
            frame = pl.DataFrame({"timestamp": ts[first:], **cols}).select(
                "timestamp",
                pl.lit(symbol(sid)).alias("symbol"),
                *[
                    (pl.col(f).cast(pl.Int64).cast(pl.Decimal(38, 3)) / thousand).cast(pl.Decimal(38, 3)).alias(f)
                    for f in ("open", "high", "low", "close")
                ],
                pl.col("volume").cast(pl.Int64),
            )
            yield SymbolBars(symbol(sid), bars=frame)


# --------------------------------------------------------------------------------------------------------------
# readers
# --------------------------------------------------------------------------------------------------------------


def read_parquet_close(catalog: Catalog, name: str, sessions: pd.DatetimeIndex, n_assets: int) -> np.ndarray:
    """The full close matrix from the Parquet bundle: a scan of sid/timestamp/close, scattered into numpy."""
    bundle = catalog.bundle(name)
    frame = (
        bundle.scan()
        .select("sid", pl.col("timestamp").dt.epoch("ns").alias("t"), pl.col("close").cast(pl.Float64))
        .collect()
    )
    out = np.full((len(sessions), n_assets), np.nan)
    rows = np.searchsorted(sessions.tz_localize("UTC").as_unit("ns").asi8, frame.get_column("t").to_numpy())
    out[rows, frame.get_column("sid").to_numpy()] = frame.get_column("close").to_numpy()
    return out


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def digest(matrix: np.ndarray) -> str:
    return hashlib.sha256(np.nan_to_num(matrix, nan=-1.0).round(6).tobytes()).hexdigest()[:16]


_ZIPLINE_SCRIPT = r"""
import hashlib, json, statistics, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np, pandas as pd, h5py
from zipline.data.bcolz_daily_bars import BcolzDailyBarReader
from zipline.data.hdf5_daily_bars import HDF5DailyBarReader
bcolz_path, h5_path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
def digest(m):
    return hashlib.sha256(np.nan_to_num(m, nan=-1.0).round(6).tobytes()).hexdigest()[:16]
out = {}
def bz():
    r = BcolzDailyBarReader(bcolz_path)
    s = r.sessions
    return r.load_raw_arrays(["close"], s[0], s[-1], np.array(sorted(r._first_rows)))[0]
def h5():
    r = HDF5DailyBarReader.from_file(h5py.File(h5_path, "r"), "US")
    d = pd.DatetimeIndex(r.dates)
    return r.load_raw_arrays(["close"], d[0], d[-1], r.sids)[0]
for name, fn in (("bcolz", bz), ("hdf5", h5)):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter(); m = fn(); times.append(time.perf_counter() - t0)
    out[name] = {"seconds": statistics.median(times), "digest": digest(m)}
print(json.dumps(out))
"""


def zipline_reads(bcolz_path: Path, h5_path: Path, repeat: int) -> dict[str, Any] | None:
    if not ZIPLINE_PY.exists():
        return None
    done = subprocess.run(
        [str(ZIPLINE_PY), "-c", _ZIPLINE_SCRIPT, str(bcolz_path), str(h5_path), str(repeat)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"(zipline venv failed: {done.stderr.strip().splitlines()[-1:]})")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--sessions", type=int, default=2520)
    parser.add_argument("--repeat", type=int, default=5, help="reads per format (median reported)")
    parser.add_argument("--compression", choices=("zstd", "snappy"), default="zstd")
    parser.add_argument("--keep", type=Path, default=None, help="write into this directory and keep it")
    parser.add_argument("--no-zipline", action="store_true", help="skip zipline-reloaded's readers")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="rustybt-formats-"))
    work.mkdir(parents=True, exist_ok=True)
    for leftover in ("daily_equities.bcolz", "daily_bars.h5", "catalog"):
        shutil.rmtree(work / leftover, ignore_errors=True) if (work / leftover).is_dir() else (work / leftover).unlink(
            missing_ok=True
        )
    t0 = time.perf_counter()
    sessions, data, start = generate(args.assets, args.sessions)
    n_bars = int((data["close"] != 0).sum())
    print(
        f"generated {args.assets:,} assets x {len(sessions):,} sessions ({sessions[0].date()}..{sessions[-1].date()}), "
        f"{n_bars:,} bars, in {time.perf_counter() - t0:.1f} s; working in {work}"
    )
    cfg = load_config(root_dir=work / "catalog", compression=args.compression)
    catalog = Catalog(root=work / "catalog", config=cfg)
    results: list[dict[str, Any]] = []

    # --- writes -------------------------------------------------------------------------------------------
    bcolz_path, h5_path = work / "daily_equities.bcolz", work / "daily_bars.h5"
    t = time.perf_counter()
    write_bcolz(bcolz_path, sessions, data, start)
    results.append({"format": "zipline bcolz (lz4, clevel 5)", "write_s": time.perf_counter() - t, "path": bcolz_path})
    t = time.perf_counter()
    write_hdf5(h5_path, sessions, data, start)
    results.append({"format": "zipline HDF5 (lzf + shuffle)", "write_s": time.perf_counter() - t, "path": h5_path})
    adapter = MemoryAdapter(sessions, data, start)
    t = time.perf_counter()
    catalog.register("bench", adapter, calendar="XNYS")
    catalog.ingest("bench", adapter=adapter, progress=False)
    parquet_write = time.perf_counter() - t
    results.append(
        {
            "format": f"RustyBT Parquet ({args.compression}, Decimal(38,3))",
            "write_s": parquet_write,
            "path": catalog.bundle("bench").path,
        }
    )

    # --- reads of the full close matrix ---------------------------------------------------------------------
    sids = list(range(args.assets))

    def read_bcolz() -> np.ndarray:
        r = BcolzDailyBarReader(bcolz_path)
        return r.load_raw_arrays(["close"], r.sessions[0], r.sessions[-1], sids)[0]

    def read_h5() -> np.ndarray:
        with HDF5DailyBarReader(h5_path) as r:
            return r.load_raw_arrays(["close"], r.sessions[0], r.sessions[-1], sids)[0]

    def read_parquet() -> np.ndarray:
        return read_parquet_close(catalog, "bench", sessions, args.assets)

    matrices = {}
    for row, fn in zip(results, (read_bcolz, read_h5, read_parquet), strict=True):
        row["read_s"], matrices[row["format"]] = timed(fn, args.repeat)
        row["bytes"] = size_of(row["path"])
    expected = np.where(data["close"] == 0, np.nan, data["close"] / 1000.0)
    for name, matrix in matrices.items():
        assert np.array_equal(matrix, expected, equal_nan=True), f"{name}: close matrix differs from the generated data"

    # --- migration bcolz -> Parquet (register + atomic ingest + value-by-value validation) ----------------
    ingestion = work / "ingestion"
    shutil.rmtree(ingestion, ignore_errors=True)
    ingestion.mkdir()
    (ingestion / "daily_equities.bcolz").symlink_to(bcolz_path)
    _write_minimal_dbs(ingestion, args.assets, sessions, start)
    t = time.perf_counter()
    report = migrate(catalog, ingestion, "migrated", compression=args.compression, progress=False)
    migrate_s = time.perf_counter() - t

    zl = None if args.no_zipline else zipline_reads(bcolz_path, h5_path, args.repeat)

    # --- table ---------------------------------------------------------------------------------------------------
    print()
    print(f"{'format':<40} {'write (s)':>10} {'size (MiB)':>11} {'bytes/bar':>10} {'read close (s)':>15}")
    print("-" * 90)
    for row in results:
        print(
            f"{row['format']:<40} {row['write_s']:>10.2f} {row['bytes'] / 2**20:>11.1f} {row['bytes'] / n_bars:>10.2f} "
            f"{row['read_s']:>15.3f}"
        )
    if zl:
        ours = digest(expected)
        labels = {"bcolz": "zipline-reloaded BcolzDailyBarReader", "hdf5": "zipline-reloaded HDF5DailyBarReader"}
        for key, label in labels.items():
            same = "same matrix" if zl[key]["digest"] == ours else "DIFFERENT matrix"
            print(f"{label:<40} {'':>10} {'':>11} {'':>10} {zl[key]['seconds']:>15.3f}  ({same})")
    print("-" * 90)
    print(
        f"migrate() bcolz -> Parquet: {migrate_s:.2f} s total ({report.validation_seconds:.2f} s validating "
        f"{report.values_compared:,} values, {report.mismatch_count} mismatches); {report.rows:,} rows, "
        f"{report.assets:,} assets"
    )
    print(f"reads: median of {args.repeat}; a fresh reader per read; the OS file cache is warm after the writes")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _write_minimal_dbs(directory: Path, n_assets: int, sessions: pd.DatetimeIndex, start: np.ndarray) -> None:
    """An assets-7.sqlite and an empty adjustments.sqlite for the generated sids (zipline's table shapes)."""
    import sqlite3

    with sqlite3.connect(directory / "assets-7.sqlite") as con:
        con.executescript(
            """
            CREATE TABLE version_info (id INTEGER PRIMARY KEY, version INTEGER NOT NULL);
            CREATE TABLE exchanges (exchange TEXT PRIMARY KEY, canonical_name TEXT, country_code TEXT);
            CREATE TABLE equities (sid INTEGER PRIMARY KEY, asset_name TEXT, start_date INTEGER, end_date INTEGER,
                                   first_traded INTEGER, auto_close_date INTEGER, exchange TEXT);
            CREATE TABLE equity_symbol_mappings (id INTEGER PRIMARY KEY, sid INTEGER, symbol TEXT,
                                                 company_symbol TEXT, share_class_symbol TEXT,
                                                 start_date INTEGER, end_date INTEGER);
            INSERT INTO version_info VALUES (1, 7);
            INSERT INTO exchanges VALUES ('NYSE', 'NYSE', 'US');
            """
        )
        ns = sessions.as_unit("ns").asi8
        con.executemany(
            "INSERT INTO equities VALUES (?, '', ?, ?, NULL, NULL, 'NYSE')",
            [(s, int(ns[start[s]]), int(ns[-1])) for s in range(n_assets)],
        )
        con.executemany(
            "INSERT INTO equity_symbol_mappings VALUES (?, ?, ?, ?, '', ?, ?)",
            [(s, s, symbol(s), symbol(s), int(ns[start[s]]), int(ns[-1])) for s in range(n_assets)],
        )
    with sqlite3.connect(directory / "adjustments.sqlite") as con:
        con.executescript(
            """
            CREATE TABLE splits (sid INTEGER, effective_date INTEGER, ratio REAL);
            CREATE TABLE mergers (sid INTEGER, effective_date INTEGER, ratio REAL);
            CREATE TABLE dividends (sid INTEGER, effective_date INTEGER, ratio REAL);
            CREATE TABLE dividend_payouts (sid INTEGER, ex_date INTEGER, record_date INTEGER,
                                           declared_date INTEGER, pay_date INTEGER, amount REAL);
            CREATE TABLE stock_dividend_payouts (sid INTEGER, ex_date INTEGER, declared_date INTEGER,
                                                 record_date INTEGER, pay_date INTEGER, payment_sid INTEGER,
                                                 ratio REAL);
            """
        )


if __name__ == "__main__":
    sys.exit(main())
