"""Run inside benchmarks/.venv-zipline: zipline-reloaded's data.history on the same csvdir, same dates.

    benchmarks/.venv-zipline/bin/python benchmarks/zipline_history.py CSVDIR '["2010-02-10", ...]'

Prints one JSON line: {"median_us": ..., "calls": ...}.
"""

import json
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd


def main():
    csvdir, dates = sys.argv[1], json.loads(sys.argv[2])
    root = tempfile.mkdtemp(prefix="zipline-bench-")
    os.environ["ZIPLINE_ROOT"] = root
    from zipline.data import bundles
    from zipline.data.bundles.csvdir import csvdir_equities
    from zipline.data.data_portal import DataPortal
    from zipline.utils.calendar_utils import get_calendar

    start, end = pd.Timestamp(dates[0]) - pd.Timedelta(days=60), pd.Timestamp(dates[-1])
    bundles.register("bench", csvdir_equities(["daily"], csvdir), calendar_name="XNYS")
    bundles.ingest("bench", show_progress=False)
    data = bundles.load("bench")
    cal = get_calendar("XNYS")
    portal = DataPortal(
        data.asset_finder,
        cal,
        first_trading_day=data.equity_daily_bar_reader.first_trading_day,
        equity_daily_reader=data.equity_daily_bar_reader,
        adjustment_reader=data.adjustment_reader,
    )
    asset = data.asset_finder.retrieve_asset(0)
    sessions = [pd.Timestamp(d) for d in dates]
    portal.get_history_window([asset], sessions[0], 20, "1d", "close", "daily")
    lat = []
    for s in sessions:
        t0 = time.perf_counter()
        portal.get_history_window([asset], s, 20, "1d", "close", "daily")
        lat.append(time.perf_counter() - t0)
    print(
        json.dumps({"median_us": float(np.median(lat)) * 1e6, "calls": len(lat), "start": str(start), "end": str(end)})
    )


if __name__ == "__main__":
    main()
