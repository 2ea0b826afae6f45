"""validate_bars: schema, OHLC, temporal and outlier rules, strict and lenient modes, input dtypes, sort order.

Each test builds a small frame whose one defect is written out literally, and states the expected violation
(rule, row, values) by hand. Calendar expectations use real XNYS sessions (2014-07-04 is Independence Day) and
the real AAPL bars of 2014, whose 7:1 split shows as an unadjusted close of 645.57 followed by 93.70.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from _validation_bars import (
    LENIENT,
    NO_OUTLIERS,
    NOW,
    TS,
    aapl_2014,
    bars,
    good,
    inverted,
    only,
    run,
)

from rustybt.data.validation import (
    ValidationConfig,
    validate_bars,
)
from rustybt.errors import DataFormatError

# --- clean data ------------------------------------------------------------------------------------------


def test_clean_bars_pass_and_come_back_unchanged():
    frame = bars([good("2014-07-01"), good("2014-07-02"), good("2014-07-03")])
    out, report = run(frame, calendar="XNYS")
    assert report.ok
    assert len(report) == 0
    assert report.rows_checked == 3
    assert out.equals(frame)


def test_real_aapl_2014_only_flags_the_split_day():
    frame = aapl_2014()
    out, report = validate_bars(frame, calendar="XNYS", config=ValidationConfig(), now=NOW)
    assert report.ok
    assert report.counts() == {"price_jump": 1}
    jump = only(report, "price_jump")
    assert jump.timestamp == datetime(2014, 6, 9, tzinfo=UTC)
    assert (jump.file, jump.row) == ("AAPL.csv", 70)  # header is line 1; 2014-06-09 is the 69th bar
    assert jump.values["previous_close"] == pytest.approx(645.570023)
    assert jump.values["close"] == pytest.approx(93.699997)
    assert jump.values["return"] == pytest.approx(93.699997 / 645.570023 - 1)
    assert out.height == 127


# --- schema ----------------------------------------------------------------------------------------------


def test_missing_column_raises_naming_column_and_file():
    frame = bars([good("2014-07-01")], file="AAPL.csv").drop("close")
    with pytest.raises(DataFormatError, match=r"'close'.*AAPL\.csv"):
        validate_bars(frame)


def test_missing_identifier_column_raises():
    frame = bars([good("2014-07-01")]).drop("symbol")
    with pytest.raises(DataFormatError, match="'symbol' \\(or 'sid'\\)"):
        validate_bars(frame)


def test_null_value_is_an_error_per_field():
    frame = bars([good("2014-07-01"), ("2014-07-02", "AAPL", 10.0, 11.0, 9.0, None, 1000.0)])
    _, report = run(frame)
    v = only(report, "null_value")
    assert (v.severity, v.field, v.row, v.symbol) == ("error", "close", 3, "AAPL")


def test_nan_price_is_an_error():
    frame = bars([good("2014-07-01"), ("2014-07-02", "AAPL", float("nan"), 11.0, 9.0, 10.0, 1000.0)])
    _, report = run(frame)
    v = only(report, "nan_value")
    assert (v.field, v.row, v.values) == ("open", 3, {"open": "NaN"})
    assert report.counts() == {"nan_value": 1}  # a NaN is not also reported as an OHLC violation


def test_infinite_volume_is_an_error():
    frame = bars([good("2014-07-01"), ("2014-07-02", "AAPL", 10.0, 11.0, 9.0, 10.0, float("inf"))])
    _, report = run(frame)
    v = only(report, "infinite_value")
    assert (v.field, v.values) == ("volume", {"volume": "inf"})


def test_negative_price_is_an_error():
    frame = bars([good("2014-07-01"), ("2014-07-02", "AAPL", 10.0, 11.0, -9.0, 10.0, 1000.0)])
    _, report = run(frame)
    v = only(report, "negative_price")
    assert (v.field, v.row, v.values) == ("low", 3, {"low": -9.0})


def test_negative_volume_is_an_error():
    frame = bars([good("2014-07-01"), ("2014-07-02", "AAPL", 10.0, 11.0, 9.0, 10.0, -5.0)])
    _, report = run(frame)
    assert only(report, "negative_volume").values == {"volume": -5.0}


def test_zero_price_is_only_a_warning():
    frame = bars([good("2014-07-01"), ("2014-07-02", "AAPL", 0.0, 11.0, 0.0, 10.0, 1000.0)])
    _, report = run(frame)
    assert report.ok
    assert report.counts() == {"zero_price": 2}
    assert {v.field for v in report.warnings} == {"open", "low"}


def test_unparseable_string_is_not_numeric():
    frame = bars([good("2014-07-01"), good("2014-07-02")]).with_columns(
        pl.Series("close", ["10.0", "ten"], dtype=pl.String)
    )
    _, report = run(frame)
    v = only(report, "not_numeric")
    assert (v.field, v.row, v.values) == ("close", 3, {"close": "ten"})


def test_empty_string_counts_as_null():
    frame = bars([good("2014-07-01"), good("2014-07-02")]).with_columns(
        pl.Series("volume", ["1000", "  "], dtype=pl.String)
    )
    _, report = run(frame)
    assert only(report, "null_value").field == "volume"


# --- OHLC relations --------------------------------------------------------------------------------------


def test_high_below_low_names_symbol_row_file_and_values():
    frame = bars(
        [good("2014-07-01"), inverted("2014-07-02"), good("2014-07-03")],
        file="data/AAPL.csv",
    )
    _, report = run(frame)
    v = only(report, "high_below_low")
    assert v.severity == "error"
    assert (v.symbol, v.file, v.row, v.field) == ("AAPL", "data/AAPL.csv", 3, "high")
    assert v.timestamp == datetime(2014, 7, 2, tzinfo=UTC)
    assert v.values == {"high": 9.0, "low": 9.5}
    assert "data/AAPL.csv row 3" in v.message
    assert "AAPL" in v.message
    assert "9.0" in v.message
    assert "9.5" in v.message


def test_high_below_open_or_close():
    frame = bars([("2014-07-01", "AAPL", 10.0, 10.5, 9.0, 11.0, 1000.0)])
    _, report = run(frame)
    assert report.counts() == {"high_below_open_close": 1}
    assert only(report, "high_below_open_close").values == {"open": 10.0, "high": 10.5, "close": 11.0}


def test_low_above_open_or_close():
    frame = bars([("2014-07-01", "AAPL", 10.0, 12.0, 10.5, 11.0, 1000.0)])
    _, report = run(frame)
    assert report.counts() == {"low_above_open_close": 1}
    assert only(report, "low_above_open_close").field == "low"


# --- temporal --------------------------------------------------------------------------------------------


def test_duplicate_timestamp_flags_the_earlier_occurrence():
    frame = bars([good("2014-07-01"), good("2014-07-02", close=10.0), good("2014-07-02", close=10.2)])
    _, report = run(frame)
    v = only(report, "duplicate_timestamp")
    assert (v.severity, v.row) == ("error", 3)
    assert v.values["kept_row"] == 4


def test_duplicate_timestamp_lenient_keeps_the_last_occurrence():
    frame = bars([good("2014-07-02", close=10.0), good("2014-07-01"), good("2014-07-02", close=10.2)])
    out, report = run(frame, LENIENT)
    assert report.rows_dropped == 1
    assert out.get_column("close").to_list() == [10.0, 10.2]
    assert out.get_column("_source_row").to_list() == [3, 4]


def test_unsorted_is_an_error_in_strict_mode():
    frame = bars([good("2014-07-01"), good("2014-07-03"), good("2014-07-02")])
    out, report = run(frame)
    v = only(report, "unsorted")
    assert (v.severity, v.row) == ("error", 4)
    assert v.values["previous_timestamp"].startswith("2014-07-03")
    assert not report.ok
    assert out.height == 3  # strict mode drops nothing


def test_unsorted_is_a_warning_in_lenient_mode_and_gets_sorted():
    frame = bars([good("2014-07-01"), good("2014-07-03"), good("2014-07-02")])
    out, report = run(frame, LENIENT)
    assert report.ok
    assert only(report, "unsorted").severity == "warning"
    assert report.rows_dropped == 0
    assert out.get_column("_source_row").to_list() == [2, 4, 3]


def test_symbols_interleaved_by_date_are_not_unsorted():
    frame = bars([good("2014-07-01", "MSFT"), good("2014-07-01", "AAPL"), good("2014-07-02", "MSFT")])
    out, report = run(frame)
    assert report.ok
    assert len(report) == 0
    assert out.select("symbol", "_source_row").rows() == [("AAPL", 3), ("MSFT", 2), ("MSFT", 4)]


def test_output_is_sorted_by_symbol_then_timestamp():
    frame = bars([good("2014-07-01", "MSFT"), good("2014-07-02", "MSFT"), good("2014-07-01", "AAPL")])
    out, _ = run(frame)
    assert out.select("symbol", "_source_row").rows() == [("AAPL", 4), ("MSFT", 2), ("MSFT", 3)]


def test_future_timestamp_is_an_error():
    frame = bars([good("2024-01-02"), good("2024-01-03")])
    _, report = run(frame)
    v = only(report, "future_timestamp")
    assert v.timestamp == datetime(2024, 1, 3, tzinfo=UTC)
    assert v.row == 3


def test_future_tolerance_allows_a_bar_just_ahead():
    frame = bars([good("2024-01-03")])
    config = ValidationConfig(future_tolerance=timedelta(days=1), max_abs_return=None)
    _, report = run(frame, config)
    assert report.ok


def test_calendar_gap_on_a_missing_session_but_not_on_a_holiday():
    # XNYS 2014: Thursday 07-03 is a session (early close), Friday 07-04 is Independence Day.
    frame = bars([good("2014-07-01"), good("2014-07-02"), good("2014-07-07")])
    _, report = run(frame, calendar="XNYS")
    assert report.ok
    gap = only(report, "calendar_gap")
    assert gap.severity == "warning"
    assert gap.timestamp == datetime(2014, 7, 3, tzinfo=UTC)
    assert gap.values["previous_bar"] == "2014-07-02"
    assert gap.values["next_bar"] == "2014-07-07"
    assert gap.values["missing_sessions"] == 1


def test_no_gap_across_the_independence_day_holiday():
    frame = bars([good("2014-07-02"), good("2014-07-03"), good("2014-07-07")])
    _, report = run(frame, calendar="XNYS")
    assert len(report) == 0


def test_gaps_are_per_symbol_between_first_and_last_bar():
    frame = bars(
        [
            good("2014-07-01", "AAPL"),
            good("2014-07-08", "AAPL"),  # 07-02, 07-03, 07-07 missing
            good("2014-07-07", "MSFT"),  # MSFT starts later: nothing before its first bar is a gap
            good("2014-07-08", "MSFT"),
        ]
    )
    _, report = run(frame, calendar="XNYS")
    gaps = report.by_rule()["calendar_gap"]
    assert [(v.symbol, v.timestamp.date()) for v in gaps] == [
        ("AAPL", date(2014, 7, 2)),
        ("AAPL", date(2014, 7, 3)),
        ("AAPL", date(2014, 7, 7)),
    ]


def test_gap_check_can_be_turned_off():
    frame = bars([good("2014-07-01"), good("2014-07-08")])
    _, report = run(frame, ValidationConfig(check_gaps=False, max_abs_return=None), calendar="XNYS")
    assert len(report) == 0


def test_saturday_bar_is_off_calendar():
    frame = bars([good("2014-07-03"), good("2014-07-05"), good("2014-07-07")])
    out, report = run(frame, LENIENT, calendar="XNYS")
    v = only(report, "off_calendar")
    assert (v.severity, v.row) == ("warning", 3)
    assert v.values == {"date": "2014-07-05", "calendar": "XNYS"}
    assert report.counts() == {"off_calendar": 1}
    assert out.height == 3  # a warning never drops the row


def test_calendar_checks_apply_to_daily_bars_only():
    frame = bars([good("2014-07-05")])
    _, report = run(frame, calendar="XNYS", resolution="1h")
    assert len(report) == 0


# --- outliers --------------------------------------------------------------------------------------------


def test_price_jump_beyond_threshold_is_a_warning():
    frame = bars([good("2014-07-01", close=100.0), good("2014-07-02", close=49.0), good("2014-07-03", close=60.0)])
    _, report = run(frame, ValidationConfig(max_abs_return=0.5, volume_spike_factor=None))
    v = only(report, "price_jump")
    assert (v.severity, v.row) == ("warning", 3)
    assert v.values["previous_close"] == 100.0
    assert v.values["close"] == 49.0
    assert v.values["return"] == pytest.approx(-0.51)


def test_price_jump_is_not_computed_across_symbols():
    frame = bars([good("2014-07-01", "AAPL", close=100.0), good("2014-07-01", "MSFT", close=10.0)])
    _, report = run(frame, ValidationConfig(volume_spike_factor=None))
    assert len(report) == 0


def test_volume_spike_against_trailing_median():
    days = [f"2014-06-{d:02d}" for d in range(2, 28)]  # 26 days, weekends included: no calendar here
    volumes = [1000.0 + 10 * i for i in range(25)] + [30_000.0]  # median of the last 20 prior: 1145
    frame = bars([good(d, volume=v) for d, v in zip(days, volumes, strict=True)])
    _, report = run(frame, ValidationConfig(max_abs_return=None, volume_spike_factor=20.0))
    v = only(report, "volume_spike")
    assert v.row == 27
    assert v.values["median_volume"] == pytest.approx(1145.0)
    assert v.values["volume"] == 30_000.0


def test_volume_below_the_factor_is_not_a_spike():
    days = [f"2014-06-{d:02d}" for d in range(2, 28)]
    volumes = [1000.0] * 25 + [19_000.0]  # 19x the median
    frame = bars([good(d, volume=v) for d, v in zip(days, volumes, strict=True)])
    _, report = run(frame, ValidationConfig(max_abs_return=None, volume_spike_factor=20.0))
    assert len(report) == 0


def test_volume_spike_needs_five_prior_bars():
    frame = bars([good(f"2014-06-0{d}", volume=v) for d, v in [(2, 100.0), (3, 100.0), (4, 100_000.0)]])
    _, report = run(frame, ValidationConfig(max_abs_return=None, volume_spike_factor=20.0))
    assert len(report) == 0


# --- modes -----------------------------------------------------------------------------------------------


def test_strict_mode_returns_every_row_and_does_not_raise():
    frame = bars([good("2014-07-01"), inverted("2014-07-02")])
    out, report = run(frame)
    assert not report.ok
    assert out.height == 2
    assert report.rows_dropped == 0


def test_lenient_mode_drops_rows_with_errors_and_counts_them():
    frame = bars(
        [
            good("2014-07-01"),
            inverted("2014-07-02"),  # high < low
            ("2014-07-03", "AAPL", 10.0, 11.0, 9.0, float("nan"), 1000.0),  # NaN close
            good("2014-07-07"),
        ]
    )
    out, report = run(frame, LENIENT)
    assert report.rows_dropped == 2
    assert report.rows_checked == 4
    assert out.get_column("_source_row").to_list() == [2, 5]
    assert report.counts("error") == {"high_below_low": 1, "high_below_open_close": 1, "nan_value": 1}


# --- input dtypes ----------------------------------------------------------------------------------------


def test_decimal_values_are_checked_and_returned_as_decimals():
    frame = bars([good("2014-07-01"), inverted("2014-07-02")]).with_columns(
        pl.col("open", "high", "low", "close").cast(pl.Decimal(38, 6)), pl.col("volume").cast(pl.Decimal(38, 0))
    )
    out, report = run(frame)
    v = only(report, "high_below_low")
    assert v.values == {"high": 9.0, "low": 9.5}
    assert out.schema == frame.schema
    assert out.get_column("high").to_list() == [Decimal("11.000000"), Decimal("9.000000")]


def test_decimal_strings_are_checked_and_returned_as_strings():
    frame = pl.DataFrame(
        {
            "timestamp": [datetime(2014, 7, 2, tzinfo=UTC), datetime(2014, 7, 1, tzinfo=UTC)],
            "symbol": ["BTC/USDT", "BTC/USDT"],
            "open": ["6400.10", "6350.00"],
            "high": ["6450.55", "6420.00"],
            "low": ["6390.00", "6440.00"],  # second bar: low above high
            "close": ["6410.20", "6400.10"],
            "volume": ["12.5", "9.75"],
        },
        schema_overrides={"timestamp": TS},
    )
    out, report = run(frame, LENIENT)
    assert report.counts("error") == {"high_below_low": 1, "low_above_open_close": 1}
    assert report.counts("warning") == {"unsorted": 1}
    assert out.schema == frame.schema
    assert out.get_column("close").to_list() == ["6410.20"]


def test_sid_identifier_is_reported_as_symbol_string():
    frame = bars([good("2014-07-01", 7), good("2014-07-01", 7), good("2014-07-01", 3)], ident="sid")
    out, report = run(frame)
    v = only(report, "duplicate_timestamp")
    assert (v.symbol, v.row) == ("7", 2)
    assert out.schema["sid"] == pl.Int64
    assert out.get_column("sid").to_list() == [3, 7, 7]


def test_frame_without_provenance_reports_the_frame_index():
    frame = bars([good("2014-07-01"), inverted("2014-07-02")], file=None)
    _, report = run(frame)
    v = only(report, "high_below_low")
    assert (v.file, v.row, v.index) == (None, None, 1)
    assert "frame index 1" in v.message


def test_empty_frame_is_ok():
    frame = bars([good("2014-07-01")]).clear()
    out, report = run(frame, calendar="XNYS")
    assert report.ok
    assert report.rows_checked == 0
    assert out.height == 0


def test_a_bar_with_errors_leaves_a_calendar_gap():
    # the gap check looks at the bars that pass (the ones lenient mode keeps), so the broken 07-02 bar is missing
    frame = bars([good("2014-07-01"), inverted("2014-07-02"), good("2014-07-03")])
    _, report = run(frame, calendar="XNYS")
    assert only(report, "calendar_gap").timestamp == datetime(2014, 7, 2, tzinfo=UTC)


def test_categorical_symbols_are_kept_as_given():
    frame = bars([good("2014-07-02", "MSFT"), good("2014-07-01", "AAPL")]).with_columns(
        pl.col("symbol").cast(pl.Categorical)
    )
    out, report = run(frame)
    assert len(report) == 0
    assert out.schema["symbol"] == pl.Categorical
    assert out.get_column("symbol").cast(pl.String).to_list() == ["AAPL", "MSFT"]


@pytest.mark.parametrize("gather_limit", [250_000, 0], ids=["gathered-windows", "rolling-median"])
def test_volume_spikes_match_a_pandas_rolling_median(monkeypatch, gather_limit):
    import numpy as np
    import pandas as pd

    import rustybt.data.validation.rules as validation

    monkeypatch.setattr(validation, "_SPIKE_GATHER_LIMIT", gather_limit)
    rng = np.random.default_rng(7)
    n_sym, n_days = 12, 90
    volume = rng.lognormal(8, 1.0, n_sym * n_days).round()
    volume[rng.random(volume.size) < 0.3] = 0.0  # zero-volume days: windows whose minimum is 0
    volume[rng.choice(volume.size, 40, replace=False)] *= 60  # spikes
    days = pd.date_range("2014-01-01", periods=n_days, freq="D")
    ref = pd.DataFrame({"symbol": np.repeat([f"S{i:02d}" for i in range(n_sym)], n_days), "day": np.tile(days, n_sym)})
    ref["volume"] = volume
    median = ref.groupby("symbol")["volume"].transform(lambda s: s.shift(1).rolling(20, min_periods=5).median())
    expected = ref[(median > 0) & (ref["volume"] > 20 * median)]
    expected_keys = {(s, d.date()) for s, d in zip(expected["symbol"], expected["day"], strict=True)}

    frame = bars([(d.strftime("%Y-%m-%d"), s, 10.0, 11.0, 9.0, 10.0, v) for s, d, v in ref.itertuples(index=False)])
    _, report = run(frame, ValidationConfig(max_abs_return=None, volume_spike_factor=20.0))
    found = {(v.symbol, v.timestamp.date()) for v in report.by_rule().get("volume_spike", [])}
    assert len(expected_keys) > 10
    assert found == expected_keys


@pytest.mark.parametrize("step", ["1D", "1ns"], ids=["daily-key", "nanosecond-rank"])
def test_shuffled_input_comes_back_sorted_with_duplicates_in_input_order(step):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(11)
    n_sym, n_bars = 40, 30
    # nanosecond steps spread over 100 years: too fine for a combined (symbol, time) integer key
    offsets = rng.integers(0, 100 * 365 * 86_400 * 10**9, n_bars) if step == "1ns" else np.arange(n_bars)
    unit = "ns" if step == "1ns" else "D"
    stamps = pd.Timestamp("1950-01-01", tz="UTC") + pd.to_timedelta(np.sort(offsets), unit=unit)
    ref = pd.DataFrame({"symbol": np.repeat([f"S{i:02d}" for i in range(n_sym)], n_bars)})
    ref["timestamp"] = np.tile(stamps, n_sym)
    ref = pd.concat([ref, ref.sample(15, random_state=1)])  # duplicates
    ref = ref.sample(frac=1.0, random_state=2).reset_index(drop=True)
    ref["_source_row"] = np.arange(len(ref)) + 2
    frame = pl.DataFrame(
        {
            "timestamp": pl.Series(ref["timestamp"]).cast(TS),
            "symbol": ref["symbol"].tolist(),
            "open": 10.0,
            "high": 11.0,
            "low": 9.0,
            "close": 10.0,
            "volume": 1000.0,
            "_source_row": ref["_source_row"].tolist(),
        }
    )
    expected = ref.sort_values(["symbol", "timestamp"], kind="stable")["_source_row"].tolist()
    out, report = validate_bars(frame, config=NO_OUTLIERS, now=NOW)
    assert out.get_column("_source_row").to_list() == expected
    assert report.counts("error")["duplicate_timestamp"] == 15
    dup_rows = {v.row for v in report.by_rule()["duplicate_timestamp"]}
    not_last = ref[ref.duplicated(["symbol", "timestamp"], keep="last")]["_source_row"]
    assert dup_rows == set(not_last)
