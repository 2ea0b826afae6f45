"""resample_bars: OHLCV aggregation and calendar-aligned buckets.

Every expectation is built independently of the code under test: session minutes are written out by hand
(open/close in exchange local time), references come from plain pandas groupby on local wall-clock arithmetic,
and labels that matter (DST, early close, holidays) are spelled out literally.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from rustybt.data.resample import resample_bars
from rustybt.data.resolution import Resolution
from rustybt.errors import DataFormatError, ResolutionError

NY = "America/New_York"
TS = pl.Datetime("ns", "UTC")


# --- helpers ---------------------------------------------------------------------------------------------


def session_minutes(day: str, open_: str = "09:30", close: str = "16:00", tz: str = NY) -> pd.DatetimeIndex:
    """Start times of the 1m bars of one session, written from the exchange's local open and close."""
    start = pd.Timestamp(f"{day} {open_}", tz=tz)
    end = pd.Timestamp(f"{day} {close}", tz=tz)
    return pd.date_range(start, end, freq="1min", inclusive="left").tz_convert("UTC")


def make_bars(stamps, ids=(1,), id_col: str = "sid", seed: int = 0) -> pd.DataFrame:
    """Random OHLCV bars (pandas) for every id at every stamp, rows ordered by (id, timestamp)."""
    stamps = pd.DatetimeIndex(stamps)
    rng = np.random.default_rng(seed)
    frames = []
    for ident in ids:
        n = len(stamps)
        mid = 100 + rng.standard_normal(n).cumsum()
        frames.append(
            pd.DataFrame(
                {
                    "timestamp": stamps,
                    id_col: ident,
                    "open": mid + rng.uniform(-0.5, 0.5, n),
                    "high": mid + 1 + rng.uniform(0, 0.5, n),
                    "low": mid - 1 - rng.uniform(0, 0.5, n),
                    "close": mid + rng.uniform(-0.5, 0.5, n),
                    "volume": rng.integers(1, 1000, n).astype(float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def utc_series(stamps) -> pl.Series:
    nanos = pd.DatetimeIndex(stamps).tz_convert("UTC").as_unit("ns").asi8
    return pl.Series("timestamp", nanos, dtype=pl.Int64).cast(pl.Datetime("ns")).dt.replace_time_zone("UTC")


def to_polars(pdf: pd.DataFrame) -> pl.DataFrame:
    frame = pl.from_pandas(pdf.drop(columns="timestamp")).insert_column(0, utc_series(pdf["timestamp"]))
    if "sid" in frame.columns:
        frame = frame.with_columns(pl.col("sid").cast(pl.Int64))
    return frame


def aggregate_reference(pdf: pd.DataFrame, label: pd.Series, id_col: str = "sid") -> pl.DataFrame:
    """Plain pandas OHLCV aggregation of ``pdf`` grouped by id and the given bucket labels."""
    grouped = (
        pdf.sort_values([id_col, "timestamp"])
        .assign(label=label)
        .groupby([id_col, "label"], sort=True)
        .agg(
            open=("open", "first"),
            high=("high", "max"),
            low=("low", "min"),
            close=("close", "last"),
            volume=("volume", "sum"),
        )
        .reset_index()
        .rename(columns={"label": "timestamp"})
    )
    return to_polars(grouped[["timestamp", id_col, "open", "high", "low", "close", "volume"]])


def session_grid_labels(pdf: pd.DataFrame, minutes: int, open_: str = "09:30", tz: str = NY) -> pd.Series:
    """Label of each bar on a grid anchored at the local session open: open + k * minutes, local time."""
    local = pdf["timestamp"].dt.tz_convert(tz)
    hours, mins = map(int, open_.split(":"))
    opening = local.dt.normalize() + pd.Timedelta(hours=hours, minutes=mins)
    k = (local - opening) // pd.Timedelta(minutes=minutes)
    return (opening + k * pd.Timedelta(minutes=minutes)).dt.tz_convert("UTC")


def utc(*stamps: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(s, tz="UTC") for s in stamps]


def labels(frame: pl.DataFrame) -> list[pd.Timestamp]:
    return [pd.Timestamp(t) for t in frame["timestamp"].to_list()]


# --- XNYS intraday ---------------------------------------------------------------------------------------


def test_xnys_1m_to_1h_normal_day():
    pdf = make_bars(session_minutes("2014-06-10"), ids=(1, 2))
    out = resample_bars(to_polars(pdf), "1m", "1h", calendar="XNYS")

    # EDT: the session opens 13:30 UTC; the last bucket 19:30-20:00 is cut at the close
    expected_labels = utc(*(f"2014-06-10 {h}:30" for h in range(13, 20)))
    assert labels(out.filter(pl.col("sid") == 1)) == expected_labels
    assert out.filter(pl.col("sid") == 1)["volume"].to_list()[-1] == pdf[pdf.sid == 1]["volume"].iloc[-30:].sum()
    assert_frame_equal(out, aggregate_reference(pdf, session_grid_labels(pdf, 60)))


def test_xnys_1m_to_1h_early_close_day():
    # 2014-11-28, the day after Thanksgiving: 09:30-13:00 ET (14:30-18:00 UTC)
    pdf = make_bars(session_minutes("2014-11-28", close="13:00"))
    out = resample_bars(to_polars(pdf), "1m", "1h")

    assert labels(out) == utc("2014-11-28 14:30", "2014-11-28 15:30", "2014-11-28 16:30", "2014-11-28 17:30")
    last = pdf.iloc[-30:]  # 12:30-12:59 ET
    assert out.row(-1, named=True)["open"] == last["open"].iloc[0]
    assert out.row(-1, named=True)["close"] == last["close"].iloc[-1]
    assert out.row(-1, named=True)["volume"] == last["volume"].sum()
    assert_frame_equal(out, aggregate_reference(pdf, session_grid_labels(pdf, 60)))


def test_xnys_1m_to_1h_across_dst_change():
    # US clocks sprang forward on Sunday 2014-03-09: the open moves from 14:30 UTC to 13:30 UTC
    days = ["2014-03-06", "2014-03-07", "2014-03-10", "2014-03-11"]
    pdf = make_bars(np.concatenate([session_minutes(d) for d in days]), ids=(7,))
    out = resample_bars(to_polars(pdf), "1m", "1h")

    firsts = out.group_by(pl.col("timestamp").dt.date().alias("day")).agg(pl.col("timestamp").min()).sort("day")
    assert labels(firsts) == utc("2014-03-06 14:30", "2014-03-07 14:30", "2014-03-10 13:30", "2014-03-11 13:30")
    assert out.height == 4 * 7
    assert_frame_equal(out, aggregate_reference(pdf, session_grid_labels(pdf, 60)))


@pytest.mark.parametrize(("target", "minutes"), [("5m", 5), ("15m", 15), ("30m", 30), ("2h", 120), ("4h", 240)])
def test_xnys_1m_to_other_intraday(target, minutes):
    pdf = make_bars(np.concatenate([session_minutes("2014-11-26"), session_minutes("2014-11-28", close="13:00")]))
    out = resample_bars(to_polars(pdf), "1m", target)
    assert_frame_equal(out, aggregate_reference(pdf, session_grid_labels(pdf, minutes)))


def test_15m_to_1h_matches_1m_to_1h():
    pdf = make_bars(session_minutes("2014-06-10"), ids=(1, 2))
    bars = to_polars(pdf)
    fifteen = resample_bars(bars, "1m", "15m")
    assert_frame_equal(resample_bars(fifteen, "15m", "1h"), resample_bars(bars, "1m", "1h"))


def test_xnys_1m_to_1d_two_sessions():
    pdf = make_bars(np.concatenate([session_minutes("2014-11-26"), session_minutes("2014-11-28", close="13:00")]))
    out = resample_bars(to_polars(pdf), "1m", "1d")

    assert labels(out) == utc("2014-11-26", "2014-11-28")  # session dates at midnight UTC
    assert out["volume"].to_list() == [pdf.volume.iloc[:390].sum(), pdf.volume.iloc[390:].sum()]
    local_date = pdf["timestamp"].dt.tz_convert(NY).dt.tz_localize(None).dt.normalize().dt.tz_localize("UTC")
    assert_frame_equal(out, aggregate_reference(pdf, local_date))


def test_xnys_1m_to_1w_and_1M():
    days = ["2014-06-27", "2014-06-30", "2014-07-01", "2014-07-02", "2014-07-03", "2014-07-07"]
    pdf = make_bars(np.concatenate([session_minutes(d, close="13:00" if d == "2014-07-03" else "16:00") for d in days]))
    bars = to_polars(pdf)
    assert labels(resample_bars(bars, "1m", "1w")) == utc("2014-06-23", "2014-06-30", "2014-07-07")
    monthly = resample_bars(bars, "1m", "1M")
    assert labels(monthly) == utc("2014-06-02", "2014-07-01")
    assert monthly["volume"].to_list() == [pdf.volume.iloc[: 2 * 390].sum(), pdf.volume.iloc[2 * 390 :].sum()]


# --- 24/7 -----------------------------------------------------------------------------------------------


def test_crypto_1m_to_1h_across_midnight():
    stamps = pd.date_range("2024-01-01 22:00", "2024-01-02 02:00", freq="1min", inclusive="left", tz="UTC")
    pdf = make_bars(stamps, ids=("BTC/USDT", "ETH/USDT"), id_col="symbol")
    out = resample_bars(to_polars(pdf), "1m", "1h", calendar="24/7")

    assert labels(out.filter(pl.col("symbol") == "BTC/USDT")) == utc(
        "2024-01-01 22:00", "2024-01-01 23:00", "2024-01-02 00:00", "2024-01-02 01:00"
    )
    reference = aggregate_reference(pdf, pdf["timestamp"].dt.floor("1h"), id_col="symbol")
    assert_frame_equal(out, reference)


def test_crypto_1h_to_1d():
    stamps = pd.date_range("2024-02-27 00:00", "2024-03-02 00:00", freq="1h", inclusive="left", tz="UTC")
    pdf = make_bars(stamps, ids=(10, 11))
    out = resample_bars(to_polars(pdf), "1h", "1d", calendar="24/7")

    # 2024 is a leap year: Feb 29 is a day like any other for a 24/7 market
    assert labels(out.filter(pl.col("sid") == 10)) == utc("2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01")
    assert_frame_equal(out, aggregate_reference(pdf, pdf["timestamp"].dt.floor("1D")))


def test_crypto_1h_to_4h_starts_at_midnight():
    stamps = pd.date_range("2024-01-01 21:00", "2024-01-02 09:00", freq="1h", inclusive="left", tz="UTC")
    out = resample_bars(to_polars(make_bars(stamps)), "1h", "4h", calendar="24/7")
    assert labels(out) == utc("2024-01-01 20:00", "2024-01-02 00:00", "2024-01-02 04:00", "2024-01-02 08:00")


# --- daily -> weekly / monthly ---------------------------------------------------------------------------


XNYS_SESSIONS_2014_JUN_SEP = [
    d.strftime("%Y-%m-%d")
    for d in pd.bdate_range("2014-06-23", "2014-09-05")
    # holidays by hand: Independence Day and Labor Day
    if d.strftime("%Y-%m-%d") not in {"2014-07-04", "2014-09-01"}
]


def test_1d_to_1w_across_holidays():
    stamps = pd.DatetimeIndex(XNYS_SESSIONS_2014_JUN_SEP, tz="UTC")
    pdf = make_bars(stamps, ids=(1, 2))
    out = resample_bars(to_polars(pdf), "1d", "1w")

    one = out.filter(pl.col("sid") == 1)
    mondays = pd.date_range("2014-06-23", "2014-09-01", freq="W-MON", tz="UTC")
    expected = [
        m if m != pd.Timestamp("2014-09-01", tz="UTC") else pd.Timestamp("2014-09-02", tz="UTC") for m in mondays
    ]
    assert labels(one) == expected  # the Labor Day week starts on Tuesday
    # week of the 4th of July: Mon 30 Jun .. Thu 3 Jul
    july4 = one.filter(pl.col("timestamp") == pd.Timestamp("2014-06-30", tz="UTC")).row(0, named=True)
    week = pdf[(pdf.sid == 1) & (pdf.timestamp >= "2014-06-30") & (pdf.timestamp <= "2014-07-03")]
    assert (july4["open"], july4["close"]) == (week.open.iloc[0], week.close.iloc[-1])
    assert (july4["high"], july4["low"], july4["volume"]) == (
        week.high.max(),
        week.low.min(),
        week.volume.sum(),
    )

    iso = pdf["timestamp"].dt.isocalendar()
    first_day = pdf.groupby([iso["year"], iso["week"]])["timestamp"].transform("min")
    assert_frame_equal(out, aggregate_reference(pdf, first_day))


def test_1d_to_1w_label_is_the_calendars_first_session_not_the_assets():
    stamps = pd.DatetimeIndex(["2014-06-24", "2014-06-25", "2014-06-30"], tz="UTC")  # no bar on Mon 23 Jun
    out = resample_bars(to_polars(make_bars(stamps)), "1d", "1w")
    assert labels(out) == utc("2014-06-23", "2014-06-30")


def test_1d_to_1M():
    stamps = pd.DatetimeIndex(XNYS_SESSIONS_2014_JUN_SEP, tz="UTC")
    pdf = make_bars(stamps, ids=(3,))
    out = resample_bars(to_polars(pdf), "1d", "1M")

    # first sessions: Mon 2 Jun, Tue 1 Jul, Fri 1 Aug, Tue 2 Sep (1 Sep is Labor Day)
    assert labels(out) == utc("2014-06-02", "2014-07-01", "2014-08-01", "2014-09-02")
    month_first = {
        "2014-06": "2014-06-02",
        "2014-07": "2014-07-01",
        "2014-08": "2014-08-01",
        "2014-09": "2014-09-02",
    }
    label = pdf["timestamp"].dt.strftime("%Y-%m").map(month_first).map(lambda d: pd.Timestamp(d, tz="UTC"))
    assert_frame_equal(out, aggregate_reference(pdf, label))


def test_1d_to_1d_is_identity():
    stamps = pd.DatetimeIndex(XNYS_SESSIONS_2014_JUN_SEP[:10], tz="UTC")
    bars = to_polars(make_bars(stamps, ids=(1, 2)))
    assert_frame_equal(resample_bars(bars, "1d", "1d"), bars)


# --- dtypes, ids, order, gaps ----------------------------------------------------------------------------


def test_decimal_inputs_stay_decimal_and_exact():
    stamps = session_minutes("2014-06-10")[:120]  # two 1h buckets
    n = len(stamps)
    prices = [Decimal("10.0001") + Decimal(i) / Decimal(10_000) for i in range(n)]
    bars = pl.DataFrame(
        {
            "timestamp": utc_series(stamps),
            "sid": pl.Series([5] * n, dtype=pl.Int64),
            "open": pl.Series(prices, dtype=pl.Decimal(38, 4)),
            "high": pl.Series(prices, dtype=pl.Decimal(38, 4)),
            "low": pl.Series(prices, dtype=pl.Decimal(38, 4)),
            "close": pl.Series(prices, dtype=pl.Decimal(38, 4)),
            "volume": pl.Series([Decimal("0.10000001")] * n, dtype=pl.Decimal(38, 8)),
        }
    )
    out = resample_bars(bars, "1m", "1h")

    assert out.schema == bars.schema
    first = out.row(0, named=True)
    assert first["open"] == Decimal("10.0001")
    assert first["high"] == Decimal("10.0060")
    assert first["low"] == Decimal("10.0001")
    assert first["close"] == Decimal("10.0060")
    assert first["volume"] == Decimal("6.00000060")  # 60 * 0.10000001, exactly
    daily = resample_bars(bars, "1m", "1d")
    assert daily.schema == bars.schema
    assert daily["volume"].to_list() == [Decimal("12.00000120")]


def test_symbol_id_column_and_interleaved_rows():
    pdf = make_bars(session_minutes("2014-06-10"), ids=("MSFT", "AAPL"), id_col="symbol")
    by_time = to_polars(pdf).sort("timestamp", maintain_order=True)  # ids interleaved, time ordered
    out = resample_bars(by_time, "1m", "30m")

    assert out.columns == ["timestamp", "symbol", "open", "high", "low", "close", "volume"]
    assert out["symbol"].to_list()[:2] == ["AAPL", "AAPL"]  # sorted by (symbol, timestamp)
    assert_frame_equal(out, aggregate_reference(pdf, session_grid_labels(pdf, 30), id_col="symbol"))


def test_row_order_does_not_matter():
    pdf = make_bars(np.concatenate([session_minutes("2014-06-10"), session_minutes("2014-06-11")]), ids=(1, 2, 3))
    bars = to_polars(pdf)
    shuffled = bars.sample(fraction=1.0, shuffle=True, seed=42)
    for target in ("1h", "1d"):
        assert_frame_equal(resample_bars(shuffled, "1m", target), resample_bars(bars, "1m", target))


def test_sid_wins_over_symbol_and_extra_columns_are_dropped():
    pdf = make_bars(session_minutes("2014-06-10")[:60], ids=(1,)).assign(symbol="AAPL", _source_row=1)
    out = resample_bars(to_polars(pdf), "1m", "1h")
    assert out.columns == ["timestamp", "sid", "open", "high", "low", "close", "volume"]


def test_missing_bars_inside_a_bucket_and_empty_buckets():
    pdf = make_bars(session_minutes("2014-06-10"), ids=(1,))
    local = pdf.timestamp.dt.tz_convert(NY)
    # drop every odd minute of the first hour, and the whole 11:30-12:30 ET hour
    gone = ((local.dt.hour == 9) & (local.dt.minute % 2 == 1)) | (
        ((local.dt.hour == 11) & (local.dt.minute >= 30)) | ((local.dt.hour == 12) & (local.dt.minute < 30))
    )
    pdf = pdf[~gone].reset_index(drop=True)
    out = resample_bars(to_polars(pdf), "1m", "1h")

    assert pd.Timestamp("2014-06-10 15:30", tz="UTC") not in labels(out)  # the empty hour has no row
    assert out.height == 6
    assert_frame_equal(out, aggregate_reference(pdf, session_grid_labels(pdf, 60)))


def test_null_bars_are_ignored():
    pdf = make_bars(session_minutes("2014-06-10")[:120], ids=(1,))
    bars = to_polars(pdf)
    values = ["open", "high", "low", "close", "volume"]
    # the first and the last bar of the first hour are null bars; the whole second hour is null
    null_rows = [0, 59, *range(60, 120)]
    nulled = bars.with_columns(
        pl.when(pl.int_range(pl.len()).is_in(null_rows)).then(None).otherwise(pl.col(c)).alias(c) for c in values
    )
    out = resample_bars(nulled, "1m", "1h")

    kept = pdf.iloc[1:59]
    assert out.height == 1
    row = out.row(0, named=True)
    assert row["open"] == kept.open.iloc[0]
    assert row["close"] == kept.close.iloc[-1]
    assert (row["high"], row["low"], row["volume"]) == (kept.high.max(), kept.low.min(), kept.volume.sum())


def test_null_values_inside_a_bar_are_skipped():
    pdf = make_bars(session_minutes("2014-06-10")[:60], ids=(1,))
    bars = to_polars(pdf).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("open")).alias("open"),
        pl.when(pl.int_range(pl.len()) == 59).then(None).otherwise(pl.col("close")).alias("close"),
        pl.lit(None, dtype=pl.Float64).alias("volume"),
    )
    row = resample_bars(bars, "1m", "1h").row(0, named=True)
    assert row["open"] == pdf.open.iloc[1]
    assert row["close"] == pdf.close.iloc[58]
    assert row["volume"] is None  # no volume known at all: null, not 0


def test_lazyframe_and_other_timezones_are_accepted():
    pdf = make_bars(session_minutes("2014-06-10"), ids=(1,))
    bars = to_polars(pdf)
    expected = resample_bars(bars, "1m", "1h")
    assert_frame_equal(resample_bars(bars.lazy(), "1m", "1h"), expected)
    in_new_york = bars.with_columns(pl.col("timestamp").dt.convert_time_zone(NY).dt.cast_time_unit("us"))
    assert_frame_equal(resample_bars(in_new_york, "1m", "1h"), expected)


def test_empty_frame():
    empty = pl.DataFrame(
        schema={
            "timestamp": TS,
            "sid": pl.Int64,
            **dict.fromkeys(["open", "high", "low", "close", "volume"], pl.Float64),
        }
    )
    out = resample_bars(empty, "1m", "1d")
    assert out.height == 0
    assert out.schema == empty.schema


# --- outside regular hours, lunch breaks ------------------------------------------------------------------


def extended_hours_bars() -> pl.DataFrame:
    stamps = [
        pd.Timestamp("2014-06-10 08:00", tz=NY),  # pre-market
        pd.Timestamp("2014-06-10 09:00", tz=NY),  # pre-market
        pd.Timestamp("2014-06-10 09:30", tz=NY),
        pd.Timestamp("2014-06-10 15:59", tz=NY),
        pd.Timestamp("2014-06-10 16:10", tz=NY),  # after hours, same day
        pd.Timestamp("2014-06-10 19:59", tz=NY),  # after hours, same day
        pd.Timestamp("2014-06-14 10:00", tz=NY),  # Saturday
    ]
    return to_polars(make_bars(pd.DatetimeIndex(stamps).tz_convert("UTC")))


def test_bars_outside_trading_hours_to_1d():
    out = resample_bars(extended_hours_bars(), "1m", "1d")
    # pre-open and after-hours bars belong to that day's session; a weekend bar to the next session
    assert labels(out) == utc("2014-06-10", "2014-06-16")
    assert out["volume"].to_list()[0] == extended_hours_bars()["volume"][:6].sum()


def test_bars_outside_trading_hours_to_1h_never_straddle_open_or_close():
    out = resample_bars(extended_hours_bars(), "1m", "1h")
    expected_local = [
        "2014-06-10 07:30",  # pre-open buckets end at the open: 07:30-08:30, 08:30-09:30
        "2014-06-10 08:30",
        "2014-06-10 09:30",
        "2014-06-10 15:30",
        "2014-06-10 16:00",  # after-hours buckets start at the close
        "2014-06-10 19:00",
        "2014-06-14 09:30",  # Saturday: pre-open of Mon 16 Jun, on the 1h grid counted back from its open
    ]
    assert labels(out) == [pd.Timestamp(t, tz=NY) for t in expected_local]


def test_lunch_break_restarts_the_grid():
    # Hong Kong: 09:30-12:00 and 13:00-16:00 local
    hk = "Asia/Hong_Kong"
    stamps = session_minutes("2024-01-02", "09:30", "12:00", tz=hk).append(
        session_minutes("2024-01-02", "13:00", "16:00", tz=hk)
    )
    pdf = make_bars(stamps)
    out = resample_bars(to_polars(pdf), "1m", "1h", calendar="XHKG")
    expected = ["09:30", "10:30", "11:30", "13:00", "14:00", "15:00"]
    assert labels(out) == [pd.Timestamp(f"2024-01-02 {t}", tz=hk) for t in expected]
    assert out["volume"].to_list()[2] == pdf.volume.iloc[120:150].sum()  # 11:30-12:00, cut at the break


# --- errors ----------------------------------------------------------------------------------------------


def test_finer_target_is_an_error_naming_both():
    bars = to_polars(make_bars(session_minutes("2014-06-10")[:10]))
    with pytest.raises(ResolutionError, match=r"1h.*5m"):
        resample_bars(bars, "1h", "5m")
    with pytest.raises(ResolutionError, match=r"1d.*1h"):
        resample_bars(bars, "1d", "1h")
    with pytest.raises(ResolutionError, match=r"1M.*1w"):
        resample_bars(bars, "1M", "1w")


def test_non_multiple_intraday_target_is_an_error():
    bars = to_polars(make_bars(session_minutes("2014-06-10")[:10]))
    seven = Resolution(7 * 60, "7m")
    with pytest.raises(ResolutionError, match=r"7m.*1h.*multiple"):
        resample_bars(bars, seven, "1h")
    with pytest.raises(ResolutionError, match=r"1w.*1M"):
        resample_bars(bars, "1w", "1M")


def test_unknown_resolution_and_missing_columns():
    bars = to_polars(make_bars(session_minutes("2014-06-10")[:10]))
    with pytest.raises(ResolutionError, match="unknown resolution"):
        resample_bars(bars, "1m", "3h")
    with pytest.raises(DataFormatError, match="sid or symbol"):
        resample_bars(bars.drop("sid"), "1m", "1h")
    with pytest.raises(DataFormatError, match="volume"):
        resample_bars(bars.drop("volume"), "1m", "1h")
    with pytest.raises(DataFormatError, match="null timestamp"):
        resample_bars(bars.with_columns(pl.lit(None, dtype=TS).alias("timestamp")), "1m", "1h")
