"""Issue 7 benchmark: load_raw_arrays vs pyarrow read_table + pivot; history latency vs zipline-reloaded.

    .venv/bin/python benchmarks/data_access.py [--assets 3000] [--sessions 2520] [--minute-assets 100] [--no-zipline]

Data: generated 3,000 assets x 10 years of daily bars and 100 assets x 1 year of 1m bars (benchmarks/_data.py),
ingested into a catalog under benchmarks/.work/. zipline-reloaded runs in its own venv
(bash benchmarks/zipline_env/setup.sh) on the same CSV files, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from _data import WORK, daily_csvdir, minute_csvs, table

from rustybt import Catalog
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.readers import DataPortal, ParquetBarReader
from rustybt.data.resolution import parse_resolution

ZIPLINE_PY = Path(__file__).parent / ".venv-zipline" / "bin" / "python"


def catalog_with(name: str, adapter, calendar: str) -> Catalog:
    catalog = Catalog(root=WORK / "catalog")
    if name not in catalog:
        catalog.register(name, adapter=adapter, calendar=calendar, validation="lenient")
        catalog.ingest(name, progress=True)
    return catalog


def pyarrow_pivot(bundle, column: str) -> np.ndarray:
    """The plain peer: read the column with pyarrow, cast the decimals to float64 in Arrow, pivot with pandas."""
    files = [bundle.path / f.path for f in bundle.manifest.files]
    table = pq.read_table(files, columns=["timestamp", "sid", column])
    table = table.set_column(2, column, pc.cast(table.column(column), pa.float64()))
    frame = table.to_pandas()
    return frame.pivot(index="timestamp", columns="sid", values=column).to_numpy()


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_arrays_rows(label: str, bundle) -> list[dict]:
    sids = bundle.sids
    start, end = bundle.start, bundle.end
    # reading Parquet each time: a new reader per call, with the dense copy of daily bars turned off
    os.environ["RUSTYBT_BARS_CACHE"] = "0"
    try:
        ours = best(lambda: ParquetBarReader(bundle).load_raw_arrays(["close"], start, end, sids))
    finally:
        del os.environ["RUSTYBT_BARS_CACHE"]
    rows = []
    if not parse_resolution(bundle.resolution).is_intraday:
        # a new reader per call (as in a new process) mapping the dense copy the first call wrote
        ParquetBarReader(bundle).load_raw_arrays(["close"], start, end, sids)
        mapped = best(lambda: ParquetBarReader(bundle).load_raw_arrays(["close"], start, end, sids))
        measure = "rustybt load_raw_arrays (close), from the dense copy (a new reader each time)"
        rows.append({"data set": label, "measure": measure, "value": round(mapped, 4), "unit": "s"})
    peer = best(lambda: pyarrow_pivot(bundle, "close"))
    (arr,) = ParquetBarReader(bundle).load_raw_arrays(["close"], start, end, sids)
    return [
        {
            "data set": label,
            "measure": "pyarrow read_table + pandas pivot (close)",
            "value": round(peer, 3),
            "unit": "s",
        },
        {
            "data set": label,
            "measure": "rustybt load_raw_arrays (close), reading Parquet",
            "value": round(ours, 3),
            "unit": "s",
        },
        *rows,
        {
            "data set": label,
            "measure": "ratio rustybt reading Parquet / pyarrow (target <= 1.5)",
            "value": round(ours / peer, 2),
            "unit": "x",
        },
        {"data set": label, "measure": f"array shape {arr.shape}", "value": float(arr.nbytes / 2**20), "unit": "MiB"},
    ]


def history_rows(label: str, catalog: Catalog, name: str, steps: int, frequency: str) -> tuple[list[dict], list]:
    portal = DataPortal.from_catalog(catalog, name)
    asset = portal.asset_finder.retrieve_asset(portal.bundle.sids[0])
    labels = portal._label_index
    dts = list(labels[25 : 25 + steps])
    portal.history(asset, "close", 20, frequency, dt=dts[0])  # warm: loads the series once
    lat_series, lat_array = [], []
    for dt in dts:
        t0 = time.perf_counter()
        portal.history(asset, "close", 20, frequency, dt=dt)
        lat_series.append(time.perf_counter() - t0)
    for dt in dts:
        t0 = time.perf_counter()
        portal.history_array(asset, "close", 20, dt=dt)
        lat_array.append(time.perf_counter() - t0)
    lat_window = []
    portal.get_history_window([asset], dts[0], 20, frequency, "close")
    for dt in dts:
        t0 = time.perf_counter()
        portal.get_history_window([asset], dt, 20, frequency, "close")
        lat_window.append(time.perf_counter() - t0)
    rows = [
        {
            "data set": label,
            "measure": f"history(asset,'close',20,'{frequency}') median, {steps} steps -> Series",
            "value": round(float(np.median(lat_series)) * 1e6, 1),
            "unit": "us",
        },
        {
            "data set": label,
            "measure": f"get_history_window([asset],dt,20,'{frequency}','close') median -> DataFrame",
            "value": round(float(np.median(lat_window)) * 1e6, 1),
            "unit": "us",
        },
        {
            "data set": label,
            "measure": "history_array(...) median -> ndarray",
            "value": round(float(np.median(lat_array)) * 1e6, 1),
            "unit": "us",
        },
    ]
    return rows, [d.tz_localize(None).strftime("%Y-%m-%d") for d in dts]


def zipline_history(csvdir: Path, dates: list[str]) -> dict | None:
    if not ZIPLINE_PY.exists():
        return None
    script = Path(__file__).parent / "zipline_history.py"
    proc = subprocess.run(
        [str(ZIPLINE_PY), str(script), str(csvdir), json.dumps(dates)], capture_output=True, text=True, timeout=3000
    )
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--sessions", type=int, default=2520)
    parser.add_argument("--minute-assets", type=int, default=100)
    parser.add_argument("--no-zipline", action="store_true")
    args = parser.parse_args()

    daily = daily_csvdir(args.assets, args.sessions)
    name = f"daily_{args.assets}x{args.sessions}"
    catalog = catalog_with(name, CSVAdapter.from_csvdir(daily), "XNYS")
    rows = raw_arrays_rows(f"daily {args.assets} x {args.sessions}", catalog.bundle(name))
    hist, dates = history_rows(f"daily {args.assets} x {args.sessions}", catalog, name, args.sessions - 30, "1d")
    rows += hist
    if not args.no_zipline:
        z = zipline_history(daily, dates)
        if z is not None:
            ours = hist[0]["value"]
            rows.append(
                {
                    "data set": "zipline-reloaded 3.2.1",
                    "measure": "get_history_window([asset],dt,20,'1d','close') median",
                    "value": round(z["median_us"], 1),
                    "unit": "us",
                }
            )
            rows.append(
                {
                    "data set": "zipline-reloaded 3.2.1",
                    "measure": "ratio zipline / rustybt (Series)",
                    "value": round(z["median_us"] / ours, 1),
                    "unit": "x",
                }
            )
            rows.append(
                {
                    "data set": "zipline-reloaded 3.2.1",
                    "measure": "ratio zipline / rustybt (get_history_window)",
                    "value": round(z["median_us"] / hist[1]["value"], 1),
                    "unit": "x",
                }
            )
    minute = minute_csvs(args.minute_assets, 252)
    mname = f"minute_{args.minute_assets}x252"
    catalog = catalog_with(mname, CSVAdapter(minute, resolution="1m"), "XNYS")
    rows += raw_arrays_rows(f"1m {args.minute_assets} x 1y", catalog.bundle(mname))
    mhist, _ = history_rows(f"1m {args.minute_assets} x 1y", catalog, mname, 2520, "1m")
    rows += mhist
    print(table(rows, "Data access (2-core machine)"))
    _ = pd  # pandas is the peer's pivot


if __name__ == "__main__":
    main()
