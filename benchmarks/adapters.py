"""Adapter benchmarks: a crypto bundle through CCXTAdapter against a rate limit (vs the ideal), and CSV reading
through CSVAdapter (vs plain ``polars.read_csv`` of the same files).

    .venv/bin/python benchmarks/adapters.py [--only ccxt|csv] [--symbols 50] [--years 2] [--rate 10] [--latency 0.05]
        [--csv-files 150] [--csv-days 2520]

CSV: ``--csv-files`` one-symbol daily files of ``--csv-days`` rows each, read by ``CSVAdapter.iter_bars`` with two
workers (parsing, checks, timestamps, provenance columns) and by ``polars.read_csv`` one file after the other (no
checks); best of three warm runs each. The issue 2 budget is a small factor (under 3x) of the plain read.

CCXT:
A real ccxt binance object with 50 generated spot markets (parsed by ccxt from exchangeInfo entries) and its
transport replaced by ReplayTransport serving generated kline responses in Binance's wire format (1000 candles per
page, as Binance does for spot) after a simulated latency per request (``asyncio.sleep``). The bundle is
``symbols x years`` of 1h bars, ingested with validation into a fresh catalog, our limiter at ``--rate`` requests
per second. The ideal wall time is requests / rate: a fetch can be no faster than the limit allows (less one
second: the limiter, a leaky bucket, lets one second's worth of requests through at once). A second ingest
(append) shows the incremental update. No socket is opened (sockets are blocked as a safety net).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
import ccxt.async_support as ccxt_async
from _data import Timer, table

from rustybt import Catalog
from rustybt.data import bundles
from rustybt.data.adapters.ccxt import CCXTAdapter
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.testing import ReplayTransport

H_MS = 3_600_000
PAGE = 1000  # Binance spot's largest kline page


def block_sockets() -> None:
    def refuse(*args, **kwargs):
        raise RuntimeError("benchmark: no network access")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.getaddrinfo = refuse  # type: ignore[assignment]


def spot_market(symbol: str) -> dict:
    base = symbol.removesuffix("USDT")
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": "USDT",
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00010000", "maxPrice": "100000.0", "tickSize": "0.00010000"},
            {"filterType": "LOT_SIZE", "minQty": "0.01000000", "maxQty": "900000.0", "stepSize": "0.01000000"},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
    }


class KlineServer:
    """Generated hourly klines per market id, served like GET /api/v3/klines (startTime, limit)."""

    def __init__(self, ids: list[str], start_ms: int, n_bars: int) -> None:
        self.start_ms, self.n_bars = start_ms, n_bars
        self.rows: dict[str, list[list]] = {}
        for k, market_id in enumerate(ids):
            rng = np.random.default_rng(k)
            close = np.round(10 * (k + 1) * np.exp(np.cumsum(rng.normal(0, 0.004, n_bars))), 4)
            open_ = np.r_[close[0], close[:-1]]
            high = np.round(np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.002, n_bars))), 4)
            low = np.round(np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.002, n_bars))), 4)
            volume = np.round(rng.uniform(100, 10_000, n_bars), 2)
            self.rows[market_id] = [
                [
                    start_ms + i * H_MS,
                    f"{open_[i]:.8f}",
                    f"{high[i]:.8f}",
                    f"{low[i]:.8f}",
                    f"{close[i]:.8f}",
                    f"{volume[i]:.8f}",
                    start_ms + (i + 1) * H_MS - 1,
                    f"{volume[i] * close[i]:.8f}",
                    1000 + i % 500,
                    f"{volume[i] / 2:.8f}",
                    f"{volume[i] * close[i] / 2:.8f}",
                    "0",
                ]
                for i in range(n_bars)
            ]

    def __call__(self, method: str, path: str, params: dict[str, str]) -> dict | None:
        if path != "/api/v3/klines" or params.get("symbol") not in self.rows:
            return None
        since = int(params.get("startTime", self.start_ms))
        limit = int(params.get("limit", 500))
        first = max(0, -(-(since - self.start_ms) // H_MS))  # first bar opening at or after since
        return {"status": 200, "body": self.rows[params["symbol"]][first : first + limit]}


def csv_read(n_files: int, n_days: int) -> None:
    """CSVAdapter.iter_bars over one-symbol daily files vs plain polars.read_csv of the same files."""
    days = pd.date_range("2010-01-04", periods=n_days, freq="D")  # as the former test_csv timing test
    text = "date,open,high,low,close,volume\n" + "".join(
        f"{d:%Y-%m-%d},{i}.125,{i}.5,{i}.0,{i}.25,{1000 + i}\n" for i, d in enumerate(days)
    )
    with tempfile.TemporaryDirectory(prefix="rustybt-bench-csv-") as tmp:
        for i in range(n_files):
            (Path(tmp) / f"S{i:03d}.csv").write_text(text)
        files = sorted(Path(tmp).glob("*.csv"))
        adapter = CSVAdapter(tmp)

        def plain() -> float:
            with Timer() as t:
                for f in files:
                    pl.read_csv(f)
            return t.seconds

        def ours() -> float:
            with Timer() as t:
                for item in adapter.iter_bars(None, None, None, n_workers=2):
                    assert item.error is None, item.error
            return t.seconds

        plain(), ours()  # warm the file cache
        plain_s, ours_s = min(plain() for _ in range(3)), min(ours() for _ in range(3))
    rows = [
        {"reader": "polars.read_csv, one file after another", "best s": round(plain_s, 3), "vs plain": 1.0},
        {
            "reader": "CSVAdapter.iter_bars(n_workers=2)",
            "best s": round(ours_s, 3),
            "vs plain": round(ours_s / plain_s, 2),
        },
    ]
    print(table(rows, f"CSV reading: {n_files} daily files x {n_days:,} rows (best of 3 warm runs)"))
    print(json.dumps(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("ccxt", "csv"), help="run one part only")
    parser.add_argument("--csv-files", type=int, default=150)
    parser.add_argument("--csv-days", type=int, default=2520)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--rate", type=float, default=10.0, help="our rate limit, requests per second")
    parser.add_argument("--latency", type=float, default=0.05, help="simulated seconds per request")
    args = parser.parse_args()

    block_sockets()
    if args.only != "ccxt":
        csv_read(args.csv_files, args.csv_days)
    if args.only == "csv":
        return
    os.environ["RUSTYBT_OFFLINE"] = "0"  # the transport is the replayer below

    start = pd.Timestamp("2022-01-01", tz="UTC")
    end = start + pd.Timedelta(days=round(365 * args.years)) - pd.Timedelta(hours=1)
    n_bars = int((end - start) / pd.Timedelta(hours=1)) + 1
    ids = [f"C{k:02d}USDT" for k in range(args.symbols)]
    server = KlineServer(ids, int(start.timestamp() * 1000), n_bars)

    exchange = ccxt_async.binance()
    exchange.options["crossMarginPairsData"] = []
    exchange.options["isolatedMarginPairsData"] = []
    exchange.set_markets([exchange.parse_market(spot_market(i)) for i in ids])
    transport = ReplayTransport(exchange, handler=server, latency=args.latency).install()
    adapter = CCXTAdapter(exchange=exchange, rate_limit=args.rate)
    symbols = [f"{i.removesuffix('USDT')}/USDT" for i in ids]

    rows = []
    with tempfile.TemporaryDirectory(prefix="rustybt-bench-") as tmp:
        catalog = Catalog(root=Path(tmp) / "catalog")
        bundles.register("bench", adapter, symbols, start, end, resolution="1h", catalog=catalog)
        for label in ("first ingest (whole range)", "incremental update (append)"):
            transport.requests.clear()
            with Timer() as t:
                ingestion = bundles.ingest("bench", catalog=catalog, progress=False)
            requests = len(transport.requests)
            ideal = requests / adapter.rate_limit
            rows.append(
                {
                    "run": label,
                    "requests": requests,
                    "bars fetched": ingestion.report.rows_checked,
                    "bars stored": ingestion.rows,
                    "wall s": round(t.seconds, 2),
                    "ideal s": round(ideal, 2),  # requests / rate
                    # the limiter lets one second's worth of requests through at once (a leaky bucket)
                    "floor s": round(max(requests - adapter.rate_limit, 0) / adapter.rate_limit, 2),
                    "wall / ideal": round(t.seconds / ideal, 3) if ideal else None,
                }
            )
    print(
        table(
            rows,
            f"CCXTAdapter ingest: {args.symbols} symbols x {args.years:g} years of 1h bars ({n_bars:,} bars each), "
            f"{PAGE} bars per page, {args.latency * 1000:.0f} ms simulated latency, rate limit {adapter.rate_limit:g} "
            f"req/s (ccxt {ccxt_async.__version__}, binance rateLimit {exchange.rateLimit} ms)",
        )
    )
    print("ideal = requests / rate limit; floor = ideal less the one-second burst the limiter allows")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
