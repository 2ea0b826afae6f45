"""Run inside benchmarks/.venv-zipline: zipline-reloaded's run_algorithm for benchmarks/algorithm.py.

    benchmarks/.venv-zipline/bin/python benchmarks/zipline_algorithm.py CSVDIR ROOT START END \
        --first F --last L --case {rebalance,crossover}

The bundle is benchmarks/zipline_pipeline.py's csvdir ingestion of the generated daily set under ROOT (it ingests
it with --ingest; this script only loads it). The algorithms are benchmarks/_algos.py's, with zipline's modules.
Timed: ``run_algorithm`` end to end in this fresh process (bundle load, data portal, pipeline, loop, metrics);
imports are timed apart. Prints one JSON line.
"""

import argparse
import json
import os
import sys
import time
import warnings

T_START = time.perf_counter()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _algos  # noqa: E402
from zipline_pipeline import BUNDLE, register  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csvdir")
    parser.add_argument("root")
    parser.add_argument("start")
    parser.add_argument("end")
    parser.add_argument("--first", required=True)
    parser.add_argument("--last", required=True)
    parser.add_argument("--case", choices=["rebalance", "crossover"], required=True)
    args = parser.parse_args()

    root = os.path.abspath(args.root)
    os.environ["ZIPLINE_ROOT"] = root
    environ = {"ZIPLINE_ROOT": root}
    import zipline
    from zipline import api, run_algorithm
    from zipline.finance import commission, slippage
    from zipline.pipeline import Pipeline
    from zipline.pipeline.factors import AverageDollarVolume
    from zipline.utils.calendar_utils import get_calendar

    register(args.csvdir, pd.Timestamp(args.first), pd.Timestamp(args.last))
    finance, pipeline = _algos.namespaces(slippage, commission, Pipeline, AverageDollarVolume)
    stats: dict = {}
    if args.case == "rebalance":
        algo = _algos.top_adv_rebalance(api, finance, pipeline, stats)
    else:
        algo = _algos.ma_crossover(api, finance, stats)
    calendar = get_calendar("XNYS")
    start, end = pd.Timestamp(args.start), pd.Timestamp(args.end)
    zero = pd.Series(0.0, index=calendar.sessions_in_range(start, end))
    imports_s = time.perf_counter() - T_START

    t0, c0 = time.perf_counter(), time.process_time()
    perf = run_algorithm(
        start=start,
        end=end,
        capital_base=_algos.CAPITAL_BASE[args.case],
        data_frequency="daily",
        bundle=BUNDLE,
        trading_calendar=calendar,
        benchmark_returns=zero,
        environ=environ,
        **algo,
    )
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    hist = stats.get("history_ns", [])
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
                "zipline": zipline.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
