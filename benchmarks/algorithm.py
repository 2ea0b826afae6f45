"""Issue 15 benchmark: backtests end to end, RustyBT's run_algorithm vs zipline-reloaded 3.2.1's, same results.

    .venv/bin/python benchmarks/algorithm.py [--runs 3] [--cases rebalance,crossover,crypto] [--no-zipline]

Data: the generated 3,000-asset x 10-year XNYS daily set of benchmarks/pipeline.py (``_data.daily_csvdir(3000,
2520)``, catalog bundle ``daily_3000x2520`` under benchmarks/.work/catalog, zipline's csvdir ingestion under
benchmarks/.work/zipline_root: both ingested only if missing), and for (c) a generated year of 1h bars of two
crypto pairs (bundle ``crypto_1h_2pairs``, 24/7 calendar).

Cases (benchmarks/_algos.py holds the algorithms, one text for both systems):

(a) ``rebalance``: ``schedule_function`` monthly (``date_rules.month_start()``) rebalance into the top 500 assets by
    ``AverageDollarVolume(20)`` (pipeline screen) at equal weights, over 9 years (the data's last 9 years).
    ``FixedBasisPointsSlippage()``, ``PerShare()``, capital 1M (100k for the crossovers).
(b) ``crossover``: one asset, ``data.history(asset, "price", 20 / 50, "1d")`` every session over the 10 years (from
    the 61st session, so the 50-bar window is full), ``FixedBasisPointsSlippage()``, ``PerShare(min_trade_cost=1)``.
(c) ``crypto``: the same crossover on two pairs with 1h bars over a year (RustyBT only): bars per second.

Each measurement is ``run_algorithm`` end to end (catalog / bundle load, pipeline, loop, metrics) in a fresh process,
imports timed apart; RustyBT and zipline processes alternate, ``--runs`` of each, and the table shows medians of the
wall time and of the process CPU time (``time.process_time``, all threads: the steadier figure on a loaded machine). The
``data.history`` figure is the median of the timed 20-bar calls inside the loop of the first run. The results check:
the final portfolio values of the two systems (relative difference) and the number of fills.
"""

# ruff: noqa: E402  (the clock starts before the imports: the worker reports their cost)
from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import _algos
from _data import WORK, table, xnys_sessions

ASSETS, SESSIONS = 3000, 2520
ZIPLINE_PY = HERE / ".venv-zipline" / "bin" / "python"
ZIPLINE_ROOT = WORK / "zipline_root"
CRYPTO_BUNDLE = "crypto_1h_2pairs"
CRYPTO_DIR = WORK / "crypto_1h_2pairs"
CRYPTO_FIRST, CRYPTO_LAST = pd.Timestamp("2023-01-01", tz="UTC"), pd.Timestamp("2023-12-31 23:00", tz="UTC")
CRYPTO_START, CRYPTO_END = pd.Timestamp("2023-01-04"), pd.Timestamp("2023-12-31")
CASES = ("rebalance", "crossover", "crypto")


def daily_range(case: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    days = xnys_sessions("2010-01-04", SESSIONS)
    first = 252 if case == "rebalance" else 60  # 9 years for (a); (b) from the first full 50-bar window
    return days[first], days[-1]


def crypto_csvs() -> Path:
    """A year of 1h bars of two pairs (random walks), one CSV per pair: timestamp,open,high,low,close,volume."""
    done = CRYPTO_DIR / ".complete"
    if done.exists():
        return CRYPTO_DIR
    CRYPTO_DIR.mkdir(parents=True, exist_ok=True)
    stamps = pd.date_range(CRYPTO_FIRST, CRYPTO_LAST, freq="1h")
    rng = np.random.default_rng(15)
    for pair, start in zip(_algos.CRYPTO_PAIRS, (20_000.0, 1_500.0), strict=True):
        close = np.round(start * np.exp(np.cumsum(rng.normal(0, 0.006, len(stamps)))), 2)
        open_ = np.round(np.r_[start, close[:-1]], 2)
        wiggle = np.abs(rng.normal(0, 0.002, len(stamps)))
        pd.DataFrame(
            {
                "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "open": open_,
                "high": np.round(np.maximum(open_, close) * (1 + wiggle), 2),
                "low": np.round(np.minimum(open_, close) * (1 - wiggle), 2),
                "close": close,
                "volume": np.round(rng.uniform(10, 2_000, len(stamps)), 5),
            }
        ).to_csv(CRYPTO_DIR / f"{pair}.csv", index=False)
    done.touch()
    return CRYPTO_DIR


def ensure_data(cases: list[str], zipline: bool) -> list[str]:
    notes = []
    if {"rebalance", "crossover"} & set(cases):
        from pipeline import ensure_catalog

        seconds = ensure_catalog(ASSETS, SESSIONS)
        if seconds is not None:
            notes.append(f"catalog ingest of daily_{ASSETS}x{SESSIONS}: {seconds:.1f} s")
        if zipline:
            days = xnys_sessions("2010-01-04", SESSIONS)
            start, end = daily_range("rebalance")
            cmd = [str(ZIPLINE_PY), str(HERE / "zipline_pipeline.py"), str(WORK / f"daily_{ASSETS}x{SESSIONS}")]
            cmd += [str(ZIPLINE_ROOT), str(start.date()), str(end.date()), "--first", str(days[0].date())]
            cmd += ["--last", str(days[-1].date()), "--ingest"]
            report = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
            if report.get("ingest_s") is not None:
                notes.append(f"zipline csvdir ingest: {report['ingest_s']:.1f} s")
    if "crypto" in cases:
        from rustybt import Catalog
        from rustybt.data.adapters import CSVAdapter

        catalog = Catalog(root=WORK / "catalog")
        if CRYPTO_BUNDLE not in catalog:
            catalog.register(
                CRYPTO_BUNDLE,
                adapter=CSVAdapter(crypto_csvs(), resolution="1h", asset_class="crypto_spot"),
                calendar="24/7",
                validation="lenient",
                exchange="BENCH",
            )
            catalog.ingest(CRYPTO_BUNDLE, progress=False)
    return notes


# ------------------------------------------------------------------------------------------------------------------
# the measured process
# ------------------------------------------------------------------------------------------------------------------


def worker(case: str) -> None:
    from rustybt import Catalog, api, run_algorithm
    from rustybt.finance import commission, slippage
    from rustybt.pipeline import Pipeline
    from rustybt.pipeline.factors import AverageDollarVolume

    finance, pipeline = _algos.namespaces(slippage, commission, Pipeline, AverageDollarVolume)
    stats: dict = {}
    if case == "rebalance":
        algo = _algos.top_adv_rebalance(api, finance, pipeline, stats)
    elif case == "crossover":
        algo = _algos.ma_crossover(api, finance, stats)
    else:
        algo = _algos.ma_crossover(api, finance, stats, frequency="1h", assets=_algos.CRYPTO_PAIRS, weight=0.8)
    if case == "crypto":
        start, end, bundle, frequency = CRYPTO_START, CRYPTO_END, CRYPTO_BUNDLE, "1h"
    else:
        (start, end), bundle, frequency = daily_range(case), f"daily_{ASSETS}x{SESSIONS}", "daily"
    imports_s = time.perf_counter() - _T0

    t0, c0 = time.perf_counter(), time.process_time()
    perf = run_algorithm(
        start=start,
        end=end,
        capital_base=_algos.CAPITAL_BASE[case],
        data_frequency=frequency,
        bundle=bundle,
        catalog=Catalog(root=WORK / "catalog"),
        **algo,
    )
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    hist = stats.get("history_ns", [])
    n_assets = len(_algos.CRYPTO_PAIRS) if case == "crypto" else 1
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_s": cpu_s,
                "imports_s": imports_s,
                "sessions": len(perf),
                "final_value": float(perf["portfolio_value"].iloc[-1]),
                "fills": int(sum(len(t) for t in perf["transactions"])),
                "history_calls": len(hist),
                "history_median_us": float(np.median(hist)) / 1e3 if hist else None,
                "bars": len(hist) // n_assets if case != "rebalance" else None,
            }
        )
    )


def run_ours(case: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", case], capture_output=True, text=True, timeout=7200, env=os.environ
    )
    if proc.returncode != 0:
        raise SystemExit(f"RustyBT worker ({case}) failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_zipline(case: str) -> dict | None:
    days = xnys_sessions("2010-01-04", SESSIONS)
    start, end = daily_range(case)
    cmd = [str(ZIPLINE_PY), str(HERE / "zipline_algorithm.py"), str(WORK / f"daily_{ASSETS}x{SESSIONS}")]
    cmd += [str(ZIPLINE_ROOT), str(start.date()), str(end.date()), "--first", str(days[0].date())]
    cmd += ["--last", str(days[-1].date()), "--case", case]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=7200)
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------------------------------


def load_note() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per system and case (median shown)")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--no-zipline", action="store_true")
    parser.add_argument("--worker", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    cases = [c for c in args.cases.split(",") if c]
    zipline = not args.no_zipline and ZIPLINE_PY.exists()
    notes = [f"start: {load_note()}, {os.cpu_count()} CPUs", *ensure_data(cases, zipline)]
    for case in cases:  # a priming run each: Numba's on-disk cache, the dense bars copy, the OS file cache
        prime = run_ours(case)
        notes.append(f"{case}: priming run {prime['seconds']:.2f} s")

    ours: dict[str, list[dict]] = {c: [] for c in cases}
    theirs: dict[str, list[dict]] = {c: [] for c in cases}
    for _ in range(args.runs):  # alternate the systems, so that load on the machine hits both alike
        for case in cases:
            ours[case].append(run_ours(case))
            if zipline and case != "crypto":
                z = run_zipline(case)
                if z is not None:
                    theirs[case].append(z)
    notes.append(f"end: {load_note()}")

    rows = []
    for case in cases:
        mine = ours[case]
        ours_s = float(np.median([r["seconds"] for r in mine]))
        first = mine[0]
        row = {
            "case": case,
            "RustyBT s (median)": round(ours_s, 2),
            "RustyBT runs s": ", ".join(f"{r['seconds']:.2f}" for r in mine),
            "RustyBT CPU s (median)": round(float(np.median([r["cpu_s"] for r in mine])), 2),
            "RustyBT imports s": round(float(np.median([r["imports_s"] for r in mine])), 2),
            "history median us": None if first["history_median_us"] is None else round(first["history_median_us"], 2),
            "final value RustyBT": round(first["final_value"], 2),
            "fills RustyBT": first["fills"],
        }
        if case == "crypto":
            cpu_s = float(np.median([r["cpu_s"] for r in mine]))
            row["hourly bars"] = first["bars"]
            row["bars/s (wall)"] = round(first["bars"] / ours_s) if first["bars"] else None
            row["bars/s (CPU)"] = round(first["bars"] / cpu_s) if first["bars"] else None
        if theirs[case]:
            z_s = float(np.median([r["seconds"] for r in theirs[case]]))
            zf = theirs[case][0]
            row.update(
                {
                    "zipline s (median)": round(z_s, 2),
                    "zipline runs s": ", ".join(f"{r['seconds']:.2f}" for r in theirs[case]),
                    "zipline CPU s (median)": round(float(np.median([r["cpu_s"] for r in theirs[case]])), 2),
                    "speed-up (wall)": round(z_s / ours_s, 1),
                    "speed-up (CPU)": round(
                        float(np.median([r["cpu_s"] for r in theirs[case]]))
                        / float(np.median([r["cpu_s"] for r in mine])),
                        1,
                    ),
                    "zipline history median us": None
                    if zf["history_median_us"] is None
                    else round(zf["history_median_us"], 2),
                    "final value zipline": round(zf["final_value"], 2),
                    "fills zipline": zf["fills"],
                    "final value rel diff": f"{abs(first['final_value'] / zf['final_value'] - 1):.2g}",
                }
            )
        rows.append(row)
    for row in rows:
        print(table([{"field": k, "value": str(v)} for k, v in row.items()], f"case {row['case']}"))
    print("\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
