"""Write the small zipline minute ingestion used by tests/data/legacy, with zipline-reloaded's own writers.

Run with the zipline venv (see benchmarks/zipline_env/setup.sh)::

    benchmarks/.venv-zipline/bin/python tests/resources/zipline-bundle/make_minute_fixture.py

Writes next to this script:

- ``minute-ingestion/`` - a zipline ingestion directory: ``minute_equities.bcolz`` (XNYS, 2014-11-25..2014-12-01:
  Thanksgiving closed, an early close on 11-28), an ``assets-7.sqlite`` with one equity that changed its symbol
  (sid 1: OLDCO until 2014-11-25, then NEWCO) and one futures contract (sid 12345, CLF15), and an
  ``adjustments.sqlite`` with one split; ``daily_equities.bcolz`` is an empty daily table as zipline writes it.
- ``assets-v6.sqlite`` / ``assets-v3.sqlite`` - the csvdir asset DB downgraded with zipline's migrations.
- ``minute_expected.json`` - what zipline's BcolzMinuteBarReader returns for a few queries (zipline labels).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from zipline.assets import AssetDBWriter
from zipline.assets.asset_db_migrations import downgrade
from zipline.data.adjustments import SQLiteAdjustmentWriter
from zipline.data.bcolz_daily_bars import BcolzDailyBarWriter
from zipline.data.bcolz_minute_bars import BcolzMinuteBarReader, BcolzMinuteBarWriter
from zipline.utils.calendar_utils import get_calendar

HERE = Path(__file__).parent
OUT = HERE / "minute-ingestion"
START, END = pd.Timestamp("2014-11-25"), pd.Timestamp("2014-12-01")
EQUITY, FUTURE = 1, 12345


def bars(cal, sessions, seed: int, skip_every: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    minutes = cal.sessions_minutes(sessions[0], sessions[-1])  # zipline labels: 14:31 .. 21:00 (right side)
    keep = np.ones(len(minutes), dtype=bool)
    keep[::skip_every] = False  # minutes without a trade
    minutes = minutes[keep]
    close = 50 + np.cumsum(rng.normal(0, 0.05, len(minutes)))
    frame = pd.DataFrame(
        {
            "open": close + rng.normal(0, 0.01, len(minutes)),
            "close": close,
            "volume": rng.integers(100, 5000, len(minutes)).astype(float),
        },
        index=minutes,
    )
    frame["high"] = frame[["open", "close"]].max(axis=1) + 0.0123
    frame["low"] = frame[["open", "close"]].min(axis=1) - 0.0071
    return frame[["open", "high", "low", "close", "volume"]].round(4)


def main() -> None:
    cal = get_calendar("XNYS")
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "minute_equities.bcolz").mkdir(parents=True)
    sessions = cal.sessions_in_range(START, END)
    writer = BcolzMinuteBarWriter(str(OUT / "minute_equities.bcolz"), cal, START, END, 390)
    writer.write_sid(EQUITY, bars(cal, sessions, 1, 7))
    writer.write_sid(FUTURE, bars(cal, sessions[1:], 2, 5))  # starts a session later
    BcolzDailyBarWriter(str(OUT / "daily_equities.bcolz"), cal, START, END).write(iter(()))

    engine = sa.create_engine(f"sqlite:///{OUT / 'assets-7.sqlite'}")
    exchanges = pd.DataFrame(
        {"exchange": ["NYSE", "NYMEX"], "canonical_name": ["NYSE", "NYMEX"], "country_code": ["US", "US"]}
    )
    equities = pd.DataFrame(
        {
            "symbol": ["OLDCO", "NEWCO"],
            "asset_name": ["Example Corp", "Example Corp"],
            "start_date": [pd.Timestamp("2014-01-02"), pd.Timestamp("2014-11-26")],
            "end_date": [pd.Timestamp("2014-11-25"), END],
            "exchange": ["NYSE", "NYSE"],
        },
        index=[EQUITY, EQUITY],
    )
    root_symbols = pd.DataFrame(
        {
            "root_symbol": ["CL"],
            "root_symbol_id": [1],
            "sector": ["Energy"],
            "description": ["Crude"],
            "exchange": ["NYMEX"],
        }
    )
    futures = pd.DataFrame(
        {
            "symbol": ["CLF15"],
            "root_symbol": ["CL"],
            "asset_name": ["Crude Oil Jan 2015"],
            "start_date": [pd.Timestamp("2014-11-26")],
            "end_date": [END],
            "notice_date": [pd.Timestamp("2014-12-19")],
            "expiration_date": [pd.Timestamp("2014-12-19")],
            "auto_close_date": [pd.Timestamp("2014-12-17")],
            "multiplier": [1000.0],
            "tick_size": [0.01],
            "exchange": ["NYMEX"],
        },
        index=[FUTURE],
    )
    AssetDBWriter(engine).write(equities=equities, futures=futures, exchanges=exchanges, root_symbols=root_symbols)
    engine.dispose()
    splits = pd.DataFrame({"sid": [EQUITY], "ratio": [0.5], "effective_date": [pd.Timestamp("2014-11-28")]})
    SQLiteAdjustmentWriter(str(OUT / "adjustments.sqlite"), None, overwrite=True).write(splits=splits)
    _compact(OUT / "assets-7.sqlite")
    _compact(OUT / "adjustments.sqlite")

    # downgraded copies of the csvdir asset DB (real zipline migrations)
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(HERE.parents[3] / "shared/fixtures/zipline-bundle/csvdir-ingestion.tar.gz") as tar:
            tar.extractall(tmp, filter="data")
        source = Path(tmp) / "csvdir-ingestion" / "assets-7.sqlite"
        for version in (6, 3):
            target = HERE / f"assets-v{version}.sqlite"
            shutil.copy(source, target)
            eng = sa.create_engine(f"sqlite:///{target}")
            downgrade(eng, version)
            eng.dispose()
            _compact(target)

    reader = BcolzMinuteBarReader(str(OUT / "minute_equities.bcolz"))
    start = pd.Timestamp("2014-11-26 20:50", tz="UTC")
    end = pd.Timestamp("2014-11-28 14:40", tz="UTC")  # spans the holiday; 11-28 closes at 18:00 UTC
    arrays = reader.load_raw_arrays(["open", "close", "volume"], start, end, [EQUITY, FUTURE])
    minutes = cal.minutes_in_range(start, end)
    expected = {
        "window": {
            "start": str(start),
            "end": str(end),
            "sids": [EQUITY, FUTURE],
            "minutes": [str(m) for m in minutes],
        },
        "open": [[None if np.isnan(v) else v for v in row] for row in arrays[0].tolist()],
        "close": [[None if np.isnan(v) else v for v in row] for row in arrays[1].tolist()],
        "volume": arrays[2].astype(int).tolist(),
        "get_value": [
            [sid, str(dt), f, (lambda v: None if v != v else float(v))(reader.get_value(sid, dt, f))]
            for sid in (EQUITY, FUTURE)
            for dt in (
                pd.Timestamp("2014-11-25 14:31", tz="UTC"),
                pd.Timestamp("2014-11-28 18:00", tz="UTC"),
                pd.Timestamp("2014-12-01 21:00", tz="UTC"),
                pd.Timestamp("2014-11-25 14:38", tz="UTC"),
            )
            for f in ("close", "volume")
        ],
        "last_traded": [
            [
                EQUITY,
                "2014-11-25 14:38",
                str(
                    reader.get_last_traded_dt(_Asset(EQUITY, "2014-11-25"), pd.Timestamp("2014-11-25 14:38", tz="UTC"))
                ),
            ],
            [
                FUTURE,
                "2014-11-25 20:00",
                str(
                    reader.get_last_traded_dt(_Asset(FUTURE, "2014-11-25"), pd.Timestamp("2014-11-25 20:00", tz="UTC"))
                ),
            ],
            [
                FUTURE,
                "2014-11-28 19:30",
                str(
                    reader.get_last_traded_dt(_Asset(FUTURE, "2014-11-25"), pd.Timestamp("2014-11-28 19:30", tz="UTC"))
                ),
            ],
        ],
    }
    (HERE / "minute_expected.json").write_text(json.dumps(expected, indent=1))
    print("wrote", OUT, "and", HERE / "minute_expected.json")


def _compact(path: Path) -> None:
    """Rewrite a SQLite file with 512-byte pages: zipline's many small tables then take a few KB, not 90."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = DELETE")
    con.execute("PRAGMA page_size = 512")
    con.execute("VACUUM")
    con.close()


class _Asset:
    """The two attributes BcolzMinuteBarReader.get_last_traded_dt reads from an asset."""

    def __init__(self, sid: int, start: str) -> None:
        self.sid = sid
        self.start_date = pd.Timestamp(start)

    def __int__(self) -> int:
        return self.sid


if __name__ == "__main__":
    main()
