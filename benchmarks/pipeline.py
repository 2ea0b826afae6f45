"""Issue 3 benchmark: a 13-column pipeline over 3,000 assets x 9 years, RustyBT vs zipline-reloaded 3.2.1.

    .venv/bin/python benchmarks/pipeline.py [--assets 3000] [--sessions 2520] [--no-zipline] [--no-kernels]
    .venv/bin/python benchmarks/pipeline.py --ablation 8   # RustyBT only: each speed-up against none (below)

``--dataset adjusted`` runs the same on ``_data.adjusted_csvdir`` (quarterly dividends on every asset, a split every
two to four years, a third of the assets starting late, a tenth ending early), bundle ``adjusted_3000x2520``,
zipline root benchmarks/.work/zipline_root_adjusted. Cold and later calls are the public ``run_pipeline(...,
bundle=...)``; "warm" is the engine it keeps, run directly. CPU seconds are given beside wall time (a loaded box).

Data: ``_data.daily_csvdir(3000, 2520)`` (10 years of generated XNYS daily bars), ingested as bundle
``daily_3000x2520`` into the catalog at benchmarks/.work/catalog (shared with data_access.py; ingested only if
missing) and, for zipline, as a csvdir bundle into benchmarks/.work/zipline_root (ingested once, reused).

Pipeline: close.latest, Returns(252), SMA(50), SMA(200), EWMA.from_span(span=20, window_length=60), RSI(),
BollingerBands(20, k=2) (lower, middle, upper), AverageDollarVolume(20), AnnualizedVolatility(),
Returns(252).zscore(), Returns(252).rank(); screen AverageDollarVolume(20).top(500). It runs from session
``LOOKBACK + MARGIN`` of the data (the longest lookback is AnnualizedVolatility's 252-row window over
Returns(2): 252 extra rows) to the last session.

1. RustyBT end to end (catalog open + engine + run_pipeline): *cold* is the first run in a fresh subprocess (Numba's
   on-disk cache already populated by a priming run in another subprocess; imports are timed apart), the median
   over ``--cold-runs`` (3) such processes; *warm* the median of the next five runs on the same engine in the first
   of them (zipline: three). The priming run also writes the dense float64 copy of the bundle's bars that later
   processes map (rustybt.data.readers._dense); the same cold runs are then repeated with that copy turned off
   (``RUSTYBT_BARS_CACHE=0``: Parquet decoded and placed, as the first run on a bundle does). zipline-reloaded runs
   the same way in its own venv (benchmarks/zipline_pipeline.py; bundles.load + engine + run_pipeline), its cold
   time also the median of ``--cold-runs`` fresh processes. The OS file cache is warm for both.
2. Peak RSS of RustyBT's cold run: ``ru_maxrss`` after it minus the VmRSS before it, in that fresh subprocess (the
   largest of the cold runs), against the size of the input arrays (5 fields x loaded rows x assets x 8 bytes).
3. Cross-check: the two systems' first-run results, cell by cell on the rows both kept.
4. Kernels alone (benchmarks/kernels.py).

``--ablation ROUNDS`` measures only RustyBT, a speed-up against having none: per round one fresh process per
variant, in turn (all on; the pool's reuse of dropped result blocks off, every result on a new block), each a cold
run and five warm runs; the table gives the medians over the rounds, with the processes' CPU seconds beside the
wall-clock ones. (The same comparison removed the warm-up's learned kernel map: see docs/pipeline.md.)
"""

# ruff: noqa: E402  (the clock starts before the imports: the worker reports their cost)
from __future__ import annotations

import time

_T0 = time.perf_counter()  # imports of this module count as the worker's imports

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from _data import WORK, Timer, adjusted_csvdir, daily_csvdir, xnys_sessions
from kernels import wide_table

ZIPLINE_PY = HERE / ".venv-zipline" / "bin" / "python"
ZIPLINE_ROOT = WORK / "zipline_root"
LOOKBACK = 252  # extra rows: AnnualizedVolatility() = 252-row window over Returns(window_length=2)
MARGIN = 8  # sessions after the first one zipline can serve (it raises NoDataOnDate instead of NaN-padding)
WARM_RUNS = 5  # warm = the median of this many runs after the cold one (zipline: 3, each takes ~16 s)
FIELDS = 5  # open, high, low, close, volume: the reference size for the memory ratio

COLUMNS = [
    "close",
    "returns_252",
    "sma_50",
    "sma_200",
    "ewma_span20",
    "rsi",
    "bb_lower",
    "bb_middle",
    "bb_upper",
    "adv_20",
    "ann_vol",
    "returns_252_zscore",
    "returns_252_rank",
]


def make_pipeline():
    from rustybt.pipeline import Pipeline
    from rustybt.pipeline.data import EquityPricing
    from rustybt.pipeline.factors import (
        EWMA,
        RSI,
        AnnualizedVolatility,
        AverageDollarVolume,
        BollingerBands,
        Returns,
        SimpleMovingAverage,
    )

    close = EquityPricing.close
    ret = Returns(window_length=252)
    bb = BollingerBands(window_length=20, k=2)
    adv = AverageDollarVolume(window_length=20)
    columns = {
        "close": close.latest,
        "returns_252": ret,
        "sma_50": SimpleMovingAverage(inputs=[close], window_length=50),
        "sma_200": SimpleMovingAverage(inputs=[close], window_length=200),
        "ewma_span20": EWMA.from_span(inputs=[close], window_length=60, span=20),
        "rsi": RSI(),
        "bb_lower": bb.lower,
        "bb_middle": bb.middle,
        "bb_upper": bb.upper,
        "adv_20": adv,
        "ann_vol": AnnualizedVolatility(),
        "returns_252_zscore": ret.zscore(),
        "returns_252_rank": ret.rank(),
    }
    assert list(columns) == COLUMNS
    return Pipeline(columns=columns, screen=adv.top(500))


#: the generated data sets: ``plain`` (no corporate actions, every asset over every session) and ``adjusted``
#: (quarterly dividends, splits, late starts, early ends: _data.adjusted_csvdir)
DATASETS = {"plain": ("daily", daily_csvdir), "adjusted": ("adjusted", adjusted_csvdir)}


def bundle_name(assets: int, sessions: int, dataset: str = "plain") -> str:
    return f"{DATASETS[dataset][0]}_{assets}x{sessions}"


def csvdir_for(args) -> Path:
    return DATASETS[args.dataset][1](args.assets, args.sessions)


def ensure_catalog(assets: int, sessions: int, dataset: str = "plain") -> float | None:
    """Generate the CSVs and ingest the catalog bundle if missing; the seconds ingest took (None: reused)."""
    from rustybt import Catalog
    from rustybt.data.adapters.csv import CSVAdapter

    csvdir = DATASETS[dataset][1](assets, sessions)
    name = bundle_name(assets, sessions, dataset)
    catalog = Catalog(root=WORK / "catalog")
    if name in catalog:
        return None
    with Timer() as t:
        catalog.register(name, adapter=CSVAdapter.from_csvdir(csvdir), calendar="XNYS", validation="lenient")
        catalog.ingest(name, progress=True)
    return t.seconds


def run_range(sessions: int) -> tuple[pd.DatetimeIndex, pd.Timestamp, pd.Timestamp]:
    days = xnys_sessions("2010-01-04", sessions)  # the sessions _data.daily_csvdir writes
    return days, days[LOOKBACK + MARGIN], days[-1]


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_peak_growth(run) -> float:
    """Peak RSS growth (MiB) of ``run()`` alone: the kernel's high-water mark (VmHWM) is reset first."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = rss_mib()
    run()
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
    return hwm - before


def dump(result: pd.DataFrame, path: str) -> None:
    dates = pd.DatetimeIndex(result.index.get_level_values(0))
    if dates.tz is not None:
        dates = dates.tz_convert("UTC").tz_localize(None)
    arrays = {
        "__dates": dates.as_unit("ns").asi8,
        "__sids": np.array([int(a.sid) for a in result.index.get_level_values(1)], dtype=np.int64),
    }
    for name in result.columns:
        arrays[name] = result[name].to_numpy(dtype=np.float64)
    np.savez(path, **arrays)


# ------------------------------------------------------------------------------------------------------------------
# the measured process
# ------------------------------------------------------------------------------------------------------------------


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def without_result_reuse() -> None:
    """The ablation's "no result block": every result frame on a new block (small pages, as a new one gets)."""
    from rustybt import _pages
    from rustybt.pipeline.kernels import _pool

    _pool.ArrayPool.result_block = lambda self, n_rows, n_cols: _pages.empty((n_rows, n_cols), np.float64, "F")


def ablation_worker(args) -> None:
    from rustybt import Catalog
    from rustybt.pipeline.bundle_engine import engine_for_bundle

    if args.no_result_reuse:
        without_result_reuse()
    pipe = make_pipeline()
    _, start, end = run_range(args.sessions)
    times = []
    for k in range(1 + WARM_RUNS):
        t, c = time.perf_counter(), cpu_s()
        if k == 0:
            engine = engine_for_bundle(Catalog(root=WORK / "catalog").bundle(bundle_name(args.assets, args.sessions)))
        result = engine.run_pipeline(pipe, start, end, progress=False)
        times.append((time.perf_counter() - t, cpu_s() - c))
    del result
    warm_s, warm_cpu_s = (float(np.median(column)) for column in zip(*times[1:], strict=True))
    print(json.dumps({"cold_s": times[0][0], "cold_cpu_s": times[0][1], "warm_s": warm_s, "warm_cpu_s": warm_cpu_s}))


ABLATION = {  # variant: (environment, worker flags)
    "all speed-ups": ({}, []),
    "no result-block reuse": ({}, ["--no-result-reuse"]),
}


def ablation(args) -> None:
    ensure_catalog(args.assets, args.sessions)
    run_worker(args, None)  # primes Numba's cache and the dense bars copy
    runs: dict[str, list[dict]] = {name: [] for name in ABLATION}
    for _ in range(args.ablation):
        for name, (env, flags) in ABLATION.items():
            cmd = [sys.executable, __file__, "--ablation-worker", "--assets", str(args.assets)]
            cmd += ["--sessions", str(args.sessions), *flags]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, **env})
            if proc.returncode != 0:
                raise SystemExit(f"ablation worker failed:\n{proc.stderr[-4000:]}")
            runs[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"{args.assets} assets, {args.sessions} sessions; {load_note()}; medians over fresh processes")
    print("| variant | cold median | warm median | cold CPU | warm CPU | n |\n|---|---|---|---|---|---|")
    for name, rs in runs.items():
        med = {key: float(np.median([r[key] for r in rs])) for key in rs[0]}
        print(f"| {name} | {med['cold_s']:.3f} s | {med['warm_s']:.3f} s | {med['cold_cpu_s']:.2f} s | "
              f"{med['warm_cpu_s']:.3f} s | {len(rs)} |")  # fmt: skip


def worker(args) -> None:
    import numba

    from rustybt import Catalog
    from rustybt.pipeline import run_pipeline
    from rustybt.pipeline.bundle_engine import shared_engine

    pipe = make_pipeline()
    imports_s = time.perf_counter() - _T0
    _, start, end = run_range(args.sessions)
    name = bundle_name(args.assets, args.sessions, args.dataset)

    # cold: the public call, as a user makes it first in a process (it opens the catalog and builds the engine)
    rss0, max0 = rss_mib(), maxrss_mib()
    t, c = time.perf_counter(), cpu_s()
    result = run_pipeline(pipe, start, end, bundle=Catalog(root=WORK / "catalog").bundle(name), progress=False)
    cold, cold_cpu = time.perf_counter() - t, cpu_s() - c
    peak = maxrss_mib()
    if args.cold_only:
        print(json.dumps({"cold_s": cold, "cold_cpu_s": cold_cpu, "rss_before_mib": rss0, "peak_rss_mib": peak}))
        return
    # later public calls: the catalog and bundle looked up again by name, the engine kept for the ingestion reused
    public_runs, public_cpu = [], []
    for _ in range(3):
        t, c = time.perf_counter(), cpu_s()
        run_pipeline(pipe, start, end, bundle=Catalog(root=WORK / "catalog").bundle(name), progress=False)
        public_runs.append(time.perf_counter() - t)
        public_cpu.append(cpu_s() - c)
    engine = shared_engine(Catalog(root=WORK / "catalog").bundle(name))

    warm_runs, warm_cpu = [], []
    for _ in range(WARM_RUNS):
        t, c = time.perf_counter(), cpu_s()
        again = engine.run_pipeline(pipe, start, end, progress=False)
        warm_runs.append(time.perf_counter() - t)
        warm_cpu.append(cpu_s() - c)
    same = again.equals(result)  # checked once, after the timed runs (it allocates a lot)
    del again
    warm = float(np.median(warm_runs))
    # the same, with the loader's raw-array cache emptied first: every run scans the Parquet files again
    from rustybt.pipeline.data import EquityPricing

    loader = engine._get_loader(EquityPricing.close)
    uncached_runs = []
    for _ in range(WARM_RUNS):
        loader.raw_cache.clear()
        t = time.perf_counter()
        engine.run_pipeline(pipe, start, end)
        uncached_runs.append(time.perf_counter() - t)
    # a later run's own peak (process start-up costs, such as Numba's, are behind us): loads from Parquet again
    loader.raw_cache.clear()
    later_growth = run_peak_growth(lambda: engine.run_pipeline(pipe, start, end))

    if args.dump:
        dump(result, args.dump)
    print(
        json.dumps(
            {
                "cold_s": cold,
                "cold_cpu_s": cold_cpu,
                "public_s": float(np.median(public_runs)),
                "public_cpu_s": float(np.median(public_cpu)),
                "warm_cpu_s": float(np.median(warm_cpu)),
                "warm_s": warm,
                "warm_runs_s": warm_runs,
                "warm_uncached_s": float(np.median(uncached_runs)),
                "imports_s": imports_s,
                "rows": len(result),
                "warm_equals_cold": bool(same),
                "rss_before_mib": rss0,
                "maxrss_before_mib": max0,
                "peak_rss_mib": peak,
                "later_run_growth_mib": later_growth,
                "numba_threads": numba.get_num_threads(),
            }
        )
    )


def run_worker(args, dump_path: Path | None, *, cold_only: bool = False, env: dict | None = None) -> dict:
    cmd = [sys.executable, __file__, "--worker", "--assets", str(args.assets), "--sessions", str(args.sessions)]
    cmd += ["--dataset", args.dataset]
    if dump_path is not None:
        cmd += ["--dump", str(dump_path)]
    if cold_only:
        cmd += ["--cold-only"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise SystemExit(f"RustyBT worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_zipline(args, start, end, first, last, dump_path: Path) -> dict | None:
    if not ZIPLINE_PY.exists():
        print(f"no zipline venv at {ZIPLINE_PY} (bash benchmarks/zipline_env/setup.sh); skipping", file=sys.stderr)
        return None
    script = HERE / "zipline_pipeline.py"
    csvdir = csvdir_for(args)
    root = ZIPLINE_ROOT if args.dataset == "plain" else WORK / f"zipline_root_{args.dataset}"
    base = [str(ZIPLINE_PY), str(script), str(csvdir), str(root), str(start.date()), str(end.date())]
    base += ["--first", str(first.date()), "--last", str(last.date())]
    out = {}
    colds = []
    runs = [["--ingest"], ["--dump", str(dump_path)]] + [["--warm-runs", "0"]] * (args.cold_runs - 1)
    for extra in runs:
        proc = subprocess.run(base + extra, capture_output=True, text=True, timeout=7200)
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
            return None
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        if extra[0] == "--ingest":
            out.update(report)
            continue
        colds.append(report["cold_s"])
        if extra[0] == "--dump":
            out.update(report)
    out["cold_runs_s"] = colds
    out["cold_s"] = float(np.median(colds))
    return out


# ------------------------------------------------------------------------------------------------------------------
# cross-check
# ------------------------------------------------------------------------------------------------------------------


def load_dump(path: Path) -> pd.DataFrame:
    with np.load(path) as z:
        index = pd.MultiIndex.from_arrays([pd.to_datetime(z["__dates"]), z["__sids"]], names=["date", "sid"])
        return pd.DataFrame({c: z[c] for c in COLUMNS}, index=index)


def compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> tuple[list[dict], list[dict], dict]:
    common = ours.index.intersection(theirs.index)
    a, b = ours.loc[common], theirs.loc[common]
    counts = {
        "rows rustybt": len(ours),
        "rows zipline": len(theirs),
        "rows in both": len(common),
        "rows only rustybt": len(ours.index.difference(theirs.index)),
        "rows only zipline": len(theirs.index.difference(ours.index)),
    }
    rows = []
    for col in COLUMNS:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        nan_x, nan_y = np.isnan(x), np.isnan(y)
        both = ~nan_x & ~nan_y
        diff = np.abs(x[both] - y[both])
        denom = np.abs(y[both])
        nz = denom > 0
        rel = diff[nz] / denom[nz]
        close = np.isclose(x[both], y[both], rtol=1e-9, atol=1e-12)
        rows.append(
            {
                "column": col,
                "cells": len(x),
                "NaN rustybt": int(nan_x.sum()),
                "NaN zipline": int(nan_y.sum()),
                "NaN mismatch": int((nan_x != nan_y).sum()),
                "max |diff|": f"{diff.max():.3g}" if diff.size else "",
                "max rel diff": f"{rel.max():.3g}" if rel.size else "",
                "cells off by > 1e-9 rel": int((~close).sum()),
            }
        )
    # a few cells: first, middle and last dates, first and last asset kept on that date
    dates = a.index.get_level_values(0).unique()
    spots = []
    for d in (dates[0], dates[len(dates) // 2], dates[-1]):
        sids = a.loc[d].index
        for sid in (sids[0], sids[-1]):
            for col in ("close", "sma_200", "ewma_span20", "rsi", "ann_vol", "returns_252_zscore", "returns_252_rank"):
                x, y = a.at[(d, sid), col], b.at[(d, sid), col]
                spots.append(
                    {
                        "date": str(d.date()),
                        "sid": int(sid),
                        "column": col,
                        "rustybt": repr(float(x)),
                        "zipline": repr(float(y)),
                        "equal": bool(x == y or (np.isnan(x) and np.isnan(y))),
                    }
                )
    return rows, spots, counts


def rank_mismatch_detail(
    ours: pd.DataFrame, theirs: pd.DataFrame, assets: int, sessions: int, dataset: str = "plain"
) -> str:
    """Explain rank differences, if any: does each differing cell have a near-tied Returns(252) partner?

    Ranks are over all assets (the default mask), not only the 500 screened rows in the results, so the partner
    is looked up in an unscreened RustyBT Returns(252) run. Equal returns (e.g. exactly 1/4 from prices with two
    decimals) that differ in the last bits between the systems get their ordinal ranks swapped.
    """
    common = ours.index.intersection(theirs.index)
    a, b = ours.loc[common], theirs.loc[common]
    bad = a["returns_252_rank"].to_numpy() != b["returns_252_rank"].to_numpy()
    if not bad.any():
        return ""
    cells = common[bad]
    from rustybt import Catalog
    from rustybt.pipeline import Pipeline
    from rustybt.pipeline.bundle_engine import engine_for_bundle
    from rustybt.pipeline.factors import Returns

    _, start, end = run_range(sessions)
    engine = engine_for_bundle(
        Catalog(root=WORK / "catalog").bundle(bundle_name(assets, sessions, dataset)), progress=False
    )
    ret = engine.run_pipeline(Pipeline({"r": Returns(window_length=252)}), start, end)["r"]
    ret.index = pd.MultiIndex.from_arrays(
        [ret.index.get_level_values(0), [x.sid for x in ret.index.get_level_values(1)]]
    )
    explained = 0
    for date, sid in cells:
        row = ret.loc[date]
        near = np.abs(row - row[sid]) <= 1e-13 * abs(row[sid])
        explained += int(near.sum() > 1)
    dates = cells.get_level_values(0).unique()
    return (
        f"returns_252_rank differs in {len(cells)} cells on {len(dates)} dates (max |diff| "
        f"{np.nanmax(np.abs(a['returns_252_rank'] - b['returns_252_rank'])):.0f}); {explained} of them have another "
        "asset whose Returns(252) is within 1e-13 relative (a tie in exact arithmetic broken differently by the "
        "last bits: zipline stores prices as uint32 * 0.001)"
    )


# ------------------------------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------------------------------


def load_note() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=3000)
    parser.add_argument("--sessions", type=int, default=2520)
    parser.add_argument("--no-zipline", action="store_true")
    parser.add_argument("--no-kernels", action="store_true")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="plain", help="generated data set")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold = the median of this many fresh processes")
    parser.add_argument("--cold-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    parser.add_argument("--ablation", type=int, metavar="ROUNDS", help="RustyBT only: speed-ups against none")
    parser.add_argument("--ablation-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-result-reuse", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.ablation_worker:
        ablation_worker(args)
        return
    if args.ablation:
        ablation(args)
        return

    notes = [f"start: {load_note()}, {os.cpu_count()} CPUs"]
    ingest_s = ensure_catalog(args.assets, args.sessions, args.dataset)
    if ingest_s is not None:
        notes.append(f"catalog ingest of {bundle_name(args.assets, args.sessions, args.dataset)}: {ingest_s:.1f} s")
    days, start, end = run_range(args.sessions)
    n_run = int(((days >= start) & (days <= end)).sum())
    n_loaded = n_run + LOOKBACK
    out_dir = WORK / "pipeline_bench"
    out_dir.mkdir(parents=True, exist_ok=True)

    # populates Numba's on-disk cache, the dense copy of the bundle's bars (rustybt.data.readers._dense) and the OS
    # file cache
    prime = run_worker(args, None)
    notes.append(f"priming run (fresh process, compiles or loads Numba cache): {prime['cold_s']:.2f} s")
    notes.append(f"before RustyBT run: {load_note()}")
    ours = run_worker(args, out_dir / "rustybt.npz")
    colds = [ours] + [run_worker(args, None, cold_only=True) for _ in range(args.cold_runs - 1)]
    ours["cold_runs_s"] = [c["cold_s"] for c in colds]
    ours["cold_s"] = float(np.median(ours["cold_runs_s"]))
    ours["cold_cpu_s"] = float(np.median([c["cold_cpu_s"] for c in colds]))
    # memory: the largest growth of the cold runs
    ours["peak_rss_mib"], ours["rss_before_mib"] = max(
        ((c["peak_rss_mib"], c["rss_before_mib"]) for c in colds), key=lambda p: p[0] - p[1]
    )
    # the same cold runs reading Parquet, as the first run on a bundle does (and every run with the copy off)
    parquet_colds = [
        run_worker(args, None, cold_only=True, env={"RUSTYBT_BARS_CACHE": "0"})["cold_s"] for _ in range(args.cold_runs)
    ]
    ours["cold_parquet_s"] = float(np.median(parquet_colds))
    notes.append("RustyBT cold runs reading Parquet: " + ", ".join(f"{c:.2f}" for c in parquet_colds) + " s")
    notes.append(f"before zipline run: {load_note()}")
    z = None if args.no_zipline else run_zipline(args, start, end, days[0], days[-1], out_dir / "zipline.npz")
    notes.append(f"after zipline run: {load_note()}")

    notes.append("RustyBT cold runs: " + ", ".join(f"{c:.2f}" for c in ours["cold_runs_s"]) + " s")
    if z is not None:
        notes.append("zipline cold runs: " + ", ".join(f"{c:.2f}" for c in z["cold_runs_s"]) + " s")
    what = f"{args.assets} assets, {start.date()}..{end.date()} ({n_run} sessions + {LOOKBACK} lookback), 13 columns"
    uncached = ours["warm_uncached_s"]
    rows = [
        ("RustyBT", "imports (not in cold)", ours["imports_s"], "s"),
        (
            "RustyBT",
            f"cold: first run_pipeline(..., bundle=...) in a process (median of {args.cold_runs} fresh processes)",
            ours["cold_s"],
            "s",
        ),
        (
            "RustyBT",
            f"cold, reading Parquet (dense bars copy off; median of {args.cold_runs} fresh processes)",
            ours["cold_parquet_s"],
            "s",
        ),
        ("RustyBT", "  CPU seconds of that cold call (median)", ours["cold_cpu_s"], "s"),
        ("RustyBT", "later run_pipeline(..., bundle=...) calls, same process (median of 3)", ours["public_s"], "s"),
        ("RustyBT", "  CPU seconds of a later public call (median)", ours["public_cpu_s"], "s"),
        ("RustyBT", "warm: median of 5 more runs on the kept engine, same process", ours["warm_s"], "s"),
        ("RustyBT", "  CPU seconds of a warm engine run (median)", ours["warm_cpu_s"], "s"),
        ("RustyBT", "warm, loader's raw-array cache emptied before each run (median of 5)", uncached, "s"),
        ("RustyBT", f"result rows (warm result == cold result: {ours['warm_equals_cold']})", ours["rows"], "rows"),
    ]
    if z is not None:
        if z.get("ingest_s") is not None:
            notes.append(f"zipline csvdir ingest: {z['ingest_s']:.1f} s")
        z_total, our_total = z["imports_s"] + z["cold_s"], ours["imports_s"] + ours["cold_s"]
        rows += [
            ("zipline 3.2.1", "imports (not in cold)", z["imports_s"], "s"),
            (
                "zipline 3.2.1",
                f"cold: bundles.load + engine + run_pipeline (median of {args.cold_runs} fresh processes)",
                z["cold_s"],
                "s",
            ),
            ("zipline 3.2.1", "warm: median of 3 more run_pipeline calls, same process", z["warm_s"], "s"),
            ("zipline 3.2.1", "result rows", z["rows"], "rows"),
            ("ratio", "cold: zipline / RustyBT (target >= 20)", z["cold_s"] / ours["cold_s"], "x"),
            ("ratio", "cold, RustyBT reading Parquet", z["cold_s"] / ours["cold_parquet_s"], "x"),
            ("ratio", "imports + cold: zipline / RustyBT", z_total / our_total, "x"),
            ("ratio", "warm, RustyBT without its raw-array cache", z["warm_s"] / uncached, "x"),
            ("ratio", "later public calls: zipline warm / RustyBT (target >= 50)", z["warm_s"] / ours["public_s"], "x"),
            ("ratio", "warm engine: zipline / RustyBT", z["warm_s"] / ours["warm_s"], "x"),
        ]
    rows = [
        {"system": s_, "measure": m, "value": f"{int(v):,}" if u == "rows" else f"{v:.2f}", "unit": u}
        for s_, m, v, u in rows
    ]
    print(wide_table(rows, f"Pipeline end to end: {what}"))

    field_mib = n_loaded * args.assets * 8 / 2**20
    delta = ours["peak_rss_mib"] - ours["rss_before_mib"]
    mem = [
        {"measure": "VmRSS before the cold run (after imports)", "MiB": ours["rss_before_mib"]},
        {"measure": "ru_maxrss after the cold run", "MiB": ours["peak_rss_mib"]},
        {"measure": "peak growth of the run (maxrss - VmRSS before)", "MiB": delta},
        {
            "measure": f"input arrays: {FIELDS} fields x {n_loaded} rows x {args.assets} assets x 8 B",
            "MiB": FIELDS * field_mib,
        },
        {"measure": "ratio peak growth / 5-field input (target < 3)", "MiB": delta / (FIELDS * field_mib)},
        {"measure": "(the pipeline loads only close and volume: 2 fields)", "MiB": 2 * field_mib},
        {"measure": "(ratio peak growth / 2 fields actually loaded)", "MiB": delta / (2 * field_mib)},
        {"measure": "peak growth of a later run in that process (cache emptied)", "MiB": ours["later_run_growth_mib"]},
        {"measure": "(its ratio / 2 fields actually loaded)", "MiB": ours["later_run_growth_mib"] / (2 * field_mib)},
    ]
    if z is not None:
        mem.append(
            {"measure": "(zipline: maxrss - VmRSS before its cold run)", "MiB": z["peak_rss_mib"] - z["rss_before_mib"]}
        )
    for r in mem:
        r["MiB"] = round(float(r["MiB"]), 2)
    print(wide_table(mem, "Peak RSS of RustyBT's cold run (fresh subprocess; last rows: ratios, in x)"))

    if z is not None:
        a, b = load_dump(out_dir / "rustybt.npz"), load_dump(out_dir / "zipline.npz")
        cols, spots, counts = compare(a, b)
        print(wide_table([counts], "Cross-check: result rows (date, sid)"))
        print(wide_table(cols, "Cross-check: RustyBT vs zipline, cell by cell on rows in both"))
        print(wide_table(spots, "Spot cells"))
        detail = rank_mismatch_detail(a, b, args.assets, args.sessions, args.dataset)
        if detail:
            notes.append(detail)

    if not args.no_kernels:
        from kernels import kernels_table

        print(kernels_table(2520, args.assets))
    versions = f"numpy {np.__version__}, pandas {pd.__version__}; RustyBT Numba threads {ours['numba_threads']}"
    if z is not None:
        versions += f"; zipline {z['zipline']} (pandas {z['pandas']}, numpy {z['numpy']})"
    runs = ", ".join(f"{x:.2f}" for x in ours["warm_runs_s"])
    notes.append(f"RustyBT warm runs: {runs} s")
    if z is not None and "warm_runs_s" in z:
        notes.append("zipline warm runs: " + ", ".join(f"{x:.2f}" for x in z["warm_runs_s"]) + " s")
    notes.append(f"end: {load_note()}")
    print("\nNotes:\n  " + "\n  ".join([versions, *notes]))


if __name__ == "__main__":
    main()
