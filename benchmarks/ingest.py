"""Issue 2 benchmark: catalog ingest throughput (with validation) vs plain polars read_csv + write_parquet.

    .venv/bin/python benchmarks/ingest.py [--daily-assets 2000] [--minute-assets 50]

Data: 2,000 symbols x 10 years of daily CSVs (zipline csvdir layout) and 50 symbols x 1 year of 1m bars, generated
deterministically under benchmarks/.work/. The peer is the same files read with ``polars.read_csv`` and written
with ``write_parquet`` one file at a time, in the same run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from _data import Timer, daily_csvdir, dir_bytes, minute_csvs, table

from rustybt import Catalog
from rustybt.data.adapters.csv import CSVAdapter


def raw_polars(files: list[Path], out: Path) -> int:
    out.mkdir(parents=True)
    rows = 0
    for f in files:
        frame = pl.read_csv(f)
        frame.write_parquet(out / (f.stem + ".parquet"))
        rows += frame.height
    return rows


def measure(label: str, files: list[Path], adapter: CSVAdapter, calendar: str) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="rustybt-bench-"))
    try:
        with Timer() as raw_t:
            rows = raw_polars(files, tmp / "raw")
        catalog = Catalog(root=tmp / "cat")
        catalog.register("b", adapter=adapter, calendar=calendar, validation="lenient")
        with Timer() as ing_t:
            result = catalog.ingest("b", progress=False)
        csv_bytes = sum(f.stat().st_size for f in files)
        bundle_bytes = catalog.bundle("b").size_bytes
        return [
            {
                "data set": label,
                "path": "polars read_csv + write_parquet",
                "rows": rows,
                "seconds": round(raw_t.seconds, 2),
                "rows/s": int(rows / raw_t.seconds),
                "bytes on disk": dir_bytes(tmp / "raw"),
                "vs CSV size": round(dir_bytes(tmp / "raw") / csv_bytes, 3),
            },
            {
                "data set": label,
                "path": "rustybt ingest (validated, decimal)",
                "rows": result.rows,
                "seconds": round(ing_t.seconds, 2),
                "rows/s": int(result.rows / ing_t.seconds),
                "bytes on disk": bundle_bytes,
                "vs CSV size": round(bundle_bytes / csv_bytes, 3),
            },
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--daily-assets", type=int, default=2000)
    parser.add_argument("--minute-assets", type=int, default=50)
    args = parser.parse_args()
    daily = daily_csvdir(args.daily_assets, 2520)
    minute = minute_csvs(args.minute_assets, 252)
    rows = measure(
        f"daily {args.daily_assets} x 10y",
        sorted((daily / "daily").glob("*.csv")),
        CSVAdapter.from_csvdir(daily),
        "XNYS",
    )
    rows += measure(
        f"1m {args.minute_assets} x 1y",
        sorted(minute.glob("*.csv")),
        CSVAdapter(minute, resolution="1m"),
        "XNYS",
    )
    for pair in (rows[0:2], rows[2:4]):
        pair[1]["vs raw"] = round(pair[1]["rows/s"] / pair[0]["rows/s"], 3)
        pair[0]["vs raw"] = 1.0
    print(table(rows, "Ingest throughput (target: rustybt >= 0.40 x raw)"))


if __name__ == "__main__":
    main()
