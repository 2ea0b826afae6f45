"""Run inside benchmarks/.venv-zipline: zipline-reloaded's run_pipeline on the csvdir data of benchmarks/pipeline.py.

    benchmarks/.venv-zipline/bin/python benchmarks/zipline_pipeline.py CSVDIR ROOT START END --first F --last L --ingest
    benchmarks/.venv-zipline/bin/python benchmarks/zipline_pipeline.py CSVDIR ROOT START END --first F --last L \
        [--dump OUT.npz]

With --ingest, the csvdir bundle is ingested into ROOT (ZIPLINE_ROOT) unless an ingestion is already there.
csvdir writes its asset DB without an exchanges table, so the exchange ``CSVDIR`` gets country code ``??`` and the
US_EQUITIES domain sees no assets; as in tests/reference/make_zipline_reference.py the asset-DB writer handed to
csvdir's own ingest adds ``exchanges=DataFrame({"exchange": ["CSVDIR"], "country_code": ["US"]})``. Bars are csvdir's
own output.

Cold = bundles.load + engine + first run_pipeline in this fresh process (imports excluded, timed separately);
warm = the median of further run_pipeline calls on the same engine (--warm-runs, default 3). Prints one JSON
line; with --dump, writes the first run's result (dates, sids, one float64 array per column) to an .npz for the
cross-check in benchmarks/pipeline.py.
"""

import argparse
import json
import os
import resource
import time
import warnings

T_START = time.perf_counter()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

warnings.filterwarnings("ignore")

BUNDLE = "rustybt-bench-pipeline"


class _USExchangeAssetWriter:
    """Proxy for AssetDBWriter: adds an exchanges frame (CSVDIR -> country US) to write()."""

    def __init__(self, inner):
        self._inner = inner

    def write(self, *args, **kwargs):
        if kwargs.get("exchanges") is None:
            kwargs["exchanges"] = pd.DataFrame({"exchange": ["CSVDIR"], "country_code": ["US"]})
        return self._inner.write(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def register(csvdir, first, last):
    from zipline.data import bundles
    from zipline.data.bundles.csvdir import csvdir_equities

    csv_ingest = csvdir_equities(["daily"], csvdir)

    def ingest(environ, asset_db_writer, *args, **kwargs):
        return csv_ingest(environ, _USExchangeAssetWriter(asset_db_writer), *args, **kwargs)

    if BUNDLE in bundles.bundles:
        bundles.unregister(BUNDLE)
    bundles.register(BUNDLE, ingest, calendar_name="XNYS", start_session=first, end_session=last)


def make_pipeline():
    from zipline.pipeline import Pipeline
    from zipline.pipeline.data import USEquityPricing
    from zipline.pipeline.factors import (
        EWMA,
        RSI,
        AnnualizedVolatility,
        AverageDollarVolume,
        BollingerBands,
        Returns,
        SimpleMovingAverage,
    )

    close = USEquityPricing.close
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
    return Pipeline(columns=columns, screen=adv.top(500))


def make_engine(bundle):
    from zipline.pipeline import SimplePipelineEngine
    from zipline.pipeline.data import USEquityPricing
    from zipline.pipeline.domain import US_EQUITIES
    from zipline.pipeline.loaders import USEquityPricingLoader

    loader = USEquityPricingLoader.without_fx(bundle.equity_daily_bar_reader, bundle.adjustment_reader)

    def get_loader(column):
        if column in USEquityPricing.columns:
            return loader
        raise ValueError(f"no loader for {column}")

    return SimplePipelineEngine(get_loader, bundle.asset_finder, default_domain=US_EQUITIES)


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dump(result, path):
    index = result.index
    dates = pd.DatetimeIndex(index.get_level_values(0))
    if dates.tz is not None:
        dates = dates.tz_convert("UTC").tz_localize(None)
    arrays = {
        "__dates": dates.as_unit("ns").asi8,
        "__sids": np.array([int(a.sid) for a in index.get_level_values(1)], dtype=np.int64),
    }
    for name in result.columns:
        arrays[name] = result[name].to_numpy(dtype=np.float64)
    np.savez(path, **arrays)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csvdir")
    parser.add_argument("root")
    parser.add_argument("start")
    parser.add_argument("end")
    parser.add_argument("--first", required=True, help="first session of the CSVs (bundle start_session)")
    parser.add_argument("--last", required=True, help="last session of the CSVs (bundle end_session)")
    parser.add_argument("--dump")
    parser.add_argument("--warm-runs", type=int, default=3, help="warm = the median of this many further runs")
    parser.add_argument("--ingest", action="store_true", help="only ingest the bundle if it is missing")
    args = parser.parse_args()

    args.root = os.path.abspath(args.root)
    os.makedirs(args.root, exist_ok=True)
    os.environ["ZIPLINE_ROOT"] = args.root
    environ = {"ZIPLINE_ROOT": args.root}
    import zipline
    from zipline.data import bundles

    register(args.csvdir, pd.Timestamp(args.first), pd.Timestamp(args.last))
    try:
        have = bool(list(bundles.ingestions_for_bundle(BUNDLE, environ=environ)))
    except FileNotFoundError:
        have = False
    if args.ingest:  # a separate process, so that the measured runs start fresh
        ingest_s = None
        if not have:
            t0 = time.perf_counter()
            bundles.ingest(BUNDLE, environ=environ, show_progress=False)
            ingest_s = time.perf_counter() - t0
        print(json.dumps({"ingest_s": ingest_s}))
        return
    if not have:
        raise SystemExit(f"no ingestion of {BUNDLE} under {args.root}: run with --ingest first")
    imports_s = time.perf_counter() - T_START
    pipe = make_pipeline()
    start, end = pd.Timestamp(args.start), pd.Timestamp(args.end)

    rss0 = rss_mib()
    t0 = time.perf_counter()
    bundle = bundles.load(BUNDLE, environ=environ)
    engine = make_engine(bundle)
    result = engine.run_pipeline(pipe, start, end)
    cold = time.perf_counter() - t0
    peak = maxrss_mib()

    warm_runs = []
    for _ in range(args.warm_runs):
        t0 = time.perf_counter()
        again = engine.run_pipeline(pipe, start, end)
        warm_runs.append(time.perf_counter() - t0)
        del again
    warm = float(np.median(warm_runs))

    if args.dump:
        dump(result, args.dump)
    print(
        json.dumps(
            {
                "cold_s": cold,
                "warm_s": warm,
                "warm_runs_s": warm_runs,
                "imports_s": imports_s,
                "rows": len(result),
                "assets": len(bundle.asset_finder.sids),
                "rss_before_mib": rss0,
                "peak_rss_mib": peak,
                "zipline": zipline.__version__,
                "pandas": pd.__version__,
                "numpy": np.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
