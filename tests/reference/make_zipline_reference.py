"""Generate reference values from zipline-reloaded itself.

Run inside the separate zipline virtualenv (NOT RustyBT's .venv)::

    bash benchmarks/zipline_env/setup.sh
    benchmarks/.venv-zipline/bin/python tests/reference/make_zipline_reference.py

What it does:

1. Makes sure the csvdir sample (AAPL IBM KO MSFT, 2012-01-03..2014-12-31) is present at
   ``tests/resources/zipline-csvdir/daily/`` (copied from ``/work/shared/fixtures/zipline-csvdir/``
   if missing) and reads from that copy.
2. Ingests zipline's ``csvdir`` bundle from it into a temporary ZIPLINE_ROOT (calendar XNYS,
   sessions 2012-01-03..2014-12-31). The csvdir ingest writes the asset DB without an exchanges
   table, so the exchange ``CSVDIR`` gets country_code ``??`` and the US_EQUITIES pipeline
   domain sees no assets. We therefore wrap the asset-DB writer handed to csvdir's own ingest
   function so that its single ``write(equities=...)`` call additionally passes
   ``exchanges=DataFrame({"exchange": ["CSVDIR"], "country_code": ["US"]})``. Bars, splits and
   dividends are exactly csvdir's own output.
3. Runs ``SimplePipelineEngine`` + ``USEquityPricingLoader`` (domain US_EQUITIES, XNYS) from
   2013-01-02 to 2014-12-31 and writes ``zipline_csvdir_pipeline.csv``. ``AnnualizedVolatility()``
   needs 253 closes before each row and zipline raises ``NoDataOnDate`` when that reaches before
   the bundle's first session, so ``ann_vol`` comes from a second run starting 2013-01-07 and is
   NaN on 2013-01-02..04 (the other columns are asserted identical between the two runs).
4. Reads ``DataPortal.get_history_window`` (daily, bar_count 10, fields close and volume)
   around the AAPL and KO splits and writes ``zipline_csvdir_history.csv``.

Both CSVs are written with ``float_format="%.17g"`` (round-trip exact float64).
"""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURE_DIR = Path("/work/shared/fixtures/zipline-csvdir")
CSVDIR = REPO / "tests" / "resources" / "zipline-csvdir"
SYMBOLS = ["AAPL", "IBM", "KO", "MSFT"]

BUNDLE_NAME = "rustybt-csvdir-reference"
CALENDAR = "XNYS"
BUNDLE_START = pd.Timestamp("2012-01-03")
BUNDLE_END = pd.Timestamp("2014-12-31")
PIPE_START = pd.Timestamp("2013-01-02")
PIPE_END = pd.Timestamp("2014-12-31")

HISTORY_END_DATES = [
    "2014-06-05",
    "2014-06-06",
    "2014-06-09",
    "2014-06-10",  # around AAPL 7:1 (effective 2014-06-09)
    "2012-08-10",
    "2012-08-13",
    "2012-08-14",  # around KO 2:1 (effective 2012-08-13)
]
HISTORY_FIELDS = ["close", "volume"]
HISTORY_BAR_COUNT = 10

PIPELINE_OUT = HERE / "zipline_csvdir_pipeline.csv"
HISTORY_OUT = HERE / "zipline_csvdir_history.csv"


def ensure_csvdir_copy() -> Path:
    """Copy the fixture CSVs into tests/resources if they are not there yet."""
    daily = CSVDIR / "daily"
    daily.mkdir(parents=True, exist_ok=True)
    for sym in SYMBOLS:
        src = FIXTURE_DIR / "daily" / f"{sym}.csv"
        dst = daily / f"{sym}.csv"
        if not dst.exists():
            shutil.copyfile(src, dst)
        elif src.exists() and not filecmp.cmp(src, dst, shallow=False):
            raise SystemExit(f"{dst} differs from the shared fixture {src}; refusing to continue")
    return CSVDIR


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


def ingest_bundle(csvdir: Path, environ: dict):
    from zipline.data import bundles
    from zipline.data.bundles.csvdir import csvdir_equities

    csv_ingest = csvdir_equities(["daily"], str(csvdir))

    def ingest(environ, asset_db_writer, *args, **kwargs):
        return csv_ingest(environ, _USExchangeAssetWriter(asset_db_writer), *args, **kwargs)

    if BUNDLE_NAME in bundles.bundles:
        bundles.unregister(BUNDLE_NAME)
    bundles.register(
        BUNDLE_NAME,
        ingest,
        calendar_name=CALENDAR,
        start_session=BUNDLE_START,
        end_session=BUNDLE_END,
    )
    bundles.ingest(BUNDLE_NAME, environ=environ, show_progress=False)
    return bundles.load(BUNDLE_NAME, environ=environ)


def make_pipeline():
    from zipline.pipeline import Pipeline
    from zipline.pipeline.data import USEquityPricing
    from zipline.pipeline.factors import (
        EWMA,
        EWMSTD,
        RSI,
        VWAP,
        AnnualizedVolatility,
        AverageDollarVolume,
        BollingerBands,
        MaxDrawdown,
        Returns,
        SimpleMovingAverage,
    )

    close = USEquityPricing.close
    sma_20 = SimpleMovingAverage(inputs=[close], window_length=20)
    returns_20 = Returns(window_length=20)
    bb = BollingerBands(window_length=20, k=2)
    columns = {
        "close_latest": close.latest,
        "sma_20": sma_20,
        "sma_200": SimpleMovingAverage(inputs=[close], window_length=200),
        "ewma_span20": EWMA.from_span(inputs=[close], window_length=60, span=20),
        "ewmstd_span20": EWMSTD.from_span(inputs=[close], window_length=60, span=20),
        "rsi": RSI(),
        "returns_20": returns_20,
        "returns_120": Returns(window_length=120),
        "adv_20": AverageDollarVolume(window_length=20),
        "bb_lower": bb.lower,
        "bb_middle": bb.middle,
        "bb_upper": bb.upper,
        "ann_vol": AnnualizedVolatility(),
        "vwap_20": VWAP(window_length=20),
        "max_dd_60": MaxDrawdown(inputs=[close], window_length=60),
        "returns_20_rank": returns_20.rank(),
        "returns_20_zscore": returns_20.zscore(),
        "returns_20_demean": returns_20.demean(),
        "sma_20_quartiles": sma_20.quartiles(),
    }
    return Pipeline(columns=columns), list(columns)


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


def _tidy(out: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    out = out.reset_index()
    out = out.rename(columns={out.columns[0]: "date", out.columns[1]: "asset"})
    out.insert(1, "symbol", [a.symbol for a in out["asset"]])
    out.insert(2, "sid", [int(a.sid) for a in out["asset"]])
    out = out.drop(columns="asset")
    out["date"] = pd.DatetimeIndex(out["date"]).strftime("%Y-%m-%d")
    return out[["date", "symbol", "sid", *names]].sort_values(["date", "sid"]).reset_index(drop=True)


def first_ann_vol_session(bundle) -> pd.Timestamp:
    """First session for which zipline can serve AnnualizedVolatility() from this bundle.

    AnnualizedVolatility() is a 252-row window over Returns(window_length=2), so it needs
    252 + 1 closes ending at D-1 (the loader's one-session shift); with bars from 2012-01-03
    that is session index 253 = 2013-01-07. Earlier start dates make the bcolz reader raise
    NoDataOnDate (it is asked for sessions before the bundle's first session).
    """
    sessions = bundle.equity_daily_bar_reader.sessions
    return sessions[252 + 1]


def run_pipeline(bundle) -> pd.DataFrame:
    from zipline.data.bar_reader import NoDataOnDate
    from zipline.pipeline import Pipeline

    engine = make_engine(bundle)
    pipe, names = make_pipeline()
    ann_vol = pipe.columns.pop("ann_vol")

    # 1. Everything except ann_vol over the full requested range.
    main = engine.run_pipeline(Pipeline(columns=dict(pipe.columns)), PIPE_START, PIPE_END)
    main_names = [n for n in names if n != "ann_vol"]
    out = _tidy(main, main_names)

    # 2. ann_vol from the first session zipline can compute it for; NaN before (see README).
    av_start = first_ann_vol_session(bundle)
    sessions = bundle.equity_daily_bar_reader.sessions
    prev = sessions[sessions.get_loc(av_start) - 1]
    try:
        engine.run_pipeline(Pipeline(columns={"ann_vol": ann_vol}), prev, prev)
    except NoDataOnDate:
        pass
    else:  # pragma: no cover - would mean our understanding of the lookback is wrong
        raise AssertionError(f"expected NoDataOnDate for ann_vol on {prev.date()}")
    full = engine.run_pipeline(Pipeline(columns={**pipe.columns, "ann_vol": ann_vol}), av_start, PIPE_END)
    full = _tidy(full, [*main_names, "ann_vol"])

    # Consistency: the same terms computed in a run whose loaded window starts 4 sessions
    # earlier (because ann_vol is in the graph) must give identical values.
    overlap = out[out["date"] >= av_start.strftime("%Y-%m-%d")].reset_index(drop=True)
    pd.testing.assert_frame_equal(overlap, full[overlap.columns], check_exact=True)

    out = out.merge(full[["date", "sid", "ann_vol"]], on=["date", "sid"], how="left")
    print(f"ann_vol: first session zipline can compute is {av_start.date()}; NaN before")
    return out[["date", "symbol", "sid", *names]]


def read_history(bundle) -> pd.DataFrame:
    """DataPortal.get_history_window(..., "1d", field, "daily") for each end date and field.

    A fresh DataPortal per query, so no sliding-window cache is carried from one end date to
    the next (zipline resets the window anyway when asked for an earlier end date; a fresh
    portal makes the values independent of query order by construction).
    """
    from zipline.data.data_portal import DataPortal
    from zipline.utils.calendar_utils import get_calendar

    calendar = get_calendar(CALENDAR)
    assets = bundle.asset_finder.retrieve_all(bundle.asset_finder.sids)
    rows = []
    for end in HISTORY_END_DATES:
        for field in HISTORY_FIELDS:
            portal = DataPortal(
                bundle.asset_finder,
                trading_calendar=calendar,
                first_trading_day=bundle.equity_daily_bar_reader.first_trading_day,
                equity_daily_reader=bundle.equity_daily_bar_reader,
                adjustment_reader=bundle.adjustment_reader,
            )
            df = portal.get_history_window(assets, pd.Timestamp(end), HISTORY_BAR_COUNT, "1d", field, "daily")
            for date, row in df.iterrows():
                for asset in assets:
                    rows.append(
                        {
                            "end_date": end,
                            "field": field,
                            "date": pd.Timestamp(date).strftime("%Y-%m-%d"),
                            "symbol": asset.symbol,
                            "value": float(row[asset]),
                        }
                    )
    return pd.DataFrame(rows, columns=["end_date", "field", "date", "symbol", "value"])


def main() -> int:
    import zipline

    csvdir = ensure_csvdir_copy()
    with tempfile.TemporaryDirectory(prefix="zipline-root-") as root:
        environ = {"ZIPLINE_ROOT": root}
        bundle = ingest_bundle(csvdir, environ)

        exchanges = bundle.asset_finder.exchange_info
        print("exchanges:", {k: (v.canonical_name, v.country_code) for k, v in exchanges.items()})

        pipe = run_pipeline(bundle)
        pipe.to_csv(PIPELINE_OUT, index=False, float_format="%.17g")
        print(f"wrote {PIPELINE_OUT} ({len(pipe)} rows)")

        hist = read_history(bundle)
        hist.to_csv(HISTORY_OUT, index=False, float_format="%.17g")
        print(f"wrote {HISTORY_OUT} ({len(hist)} rows)")

    print(f"zipline-reloaded {zipline.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
