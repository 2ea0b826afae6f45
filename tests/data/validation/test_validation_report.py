"""ValidationReport: counts, stored details within the cap, merging, dict round trip, messages, raising."""

from __future__ import annotations

import json

import polars as pl
import pytest
from _validation_bars import (
    LENIENT,
    bars,
    good,
    inverted,
    run,
)

from rustybt.data.validation import (
    RULES,
    ValidationConfig,
    ValidationReport,
)
from rustybt.errors import ValidationError


def test_raise_for_errors_message_names_file_row_symbol_field_and_values():
    frame = bars([good("2014-07-01"), inverted("2014-07-02")], file="AAPL.csv")
    _, report = run(frame)
    with pytest.raises(ValidationError) as info:
        report.raise_for_errors(context="bundle 'demo'")
    message = str(info.value)
    assert info.value.report is report
    assert message.startswith("bundle 'demo': ")
    for needle in ("high_below_low", "AAPL.csv row 3", "symbol AAPL", "2014-07-02", "field high", "9.0", "9.5"):
        assert needle in message
    assert 'mode="lenient"' in message
    assert "Fix the source" in message


def test_raise_for_errors_does_nothing_when_only_warnings():
    frame = bars([good("2014-07-01"), good("2014-07-07")])
    _, report = run(frame, calendar="XNYS")
    assert report.warning_count == 2  # calendar gaps on 07-02 and 07-03 (07-04 is a holiday)
    report.raise_for_errors()


# --- the report ------------------------------------------------------------------------------------------


def test_report_to_dict_is_json_safe_and_round_trips():
    frame = bars(
        [
            good("2014-07-01"),
            ("2014-07-02", "AAPL", float("nan"), 11.0, 9.0, 10.0, 1000.0),
            inverted("2014-07-03"),
            good("2014-07-08"),
        ]
    )
    _, report = run(frame, LENIENT, calendar="XNYS")
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    again = ValidationReport.from_dict(data)
    assert again.to_dict() == data
    assert again.counts() == report.counts()
    assert (again.error_count, again.warning_count) == (report.error_count, report.warning_count)
    assert (again.rows_checked, again.rows_dropped, again.mode) == (4, 2, "lenient")
    assert [v.message for v in again.errors] == [v.message for v in report.errors]


def test_report_dict_has_the_catalog_summary_keys():
    frame = bars([good("2014-07-01"), inverted("2014-07-02")])
    _, report = run(frame)
    data = report.to_dict()
    assert data["error_count"] == 2  # high < low, and high < open/close
    assert data["warning_count"] == 0
    assert data["rows_dropped"] == 0
    assert data["rows_checked"] == 2
    assert data["counts"] == {"high_below_low": 1, "high_below_open_close": 1}


def test_violation_cap_keeps_exact_counts():
    rows = [inverted(f"2014-06-{d:02d}") for d in range(1, 31)]
    rows += [("2014-06-01", f"S{i}", 0.0, 1.0, 0.0, 1.0, 1.0) for i in range(5)]  # 10 zero_price warnings
    frame = bars(rows)
    _, report = run(frame, ValidationConfig(max_violations_kept=12, max_abs_return=None, volume_spike_factor=None))
    assert report.counts() == {"high_below_low": 30, "high_below_open_close": 30, "zero_price": 10}
    assert report.error_count == 60
    assert len(report) == 70
    assert report.to_frame().height == 12
    assert report.truncated
    assert {v.rule for v in report.errors} == {"high_below_low", "high_below_open_close"}  # shared fairly


def test_merge_adds_counts_and_rows():
    one = bars([inverted("2014-07-02")])
    two = bars([good("2014-07-01"), ("2014-07-02", "AAPL", float("nan"), 11.0, 9.0, 10.0, 1000.0)])
    _, r1 = run(one)
    _, r2 = run(two)
    merged = r1.merge(r2)
    assert merged.rows_checked == 3
    assert merged.counts() == {"high_below_low": 1, "high_below_open_close": 1, "nan_value": 1}
    assert merged.to_frame().height == 3


def test_report_accessors():
    frame = bars([good("2014-07-01"), inverted("2014-07-02"), ("2014-07-03", "AAPL", 0.0, 1.0, 0.0, 1.0, 1.0)])
    _, report = run(frame)
    assert report.error_count == 2
    assert report.warning_count == 2
    assert [(v.rule, v.field) for v in report.warnings] == [("zero_price", "open"), ("zero_price", "low")]
    assert [v.rule for v in report.errors] == ["high_below_low", "high_below_open_close"]
    assert set(report.by_rule()) == {"high_below_low", "high_below_open_close", "zero_price"}
    assert report.counts() == {"zero_price": 2, "high_below_low": 1, "high_below_open_close": 1}
    assert report.to_frame().columns == [
        "rule",
        "severity",
        "symbol",
        "timestamp",
        "field",
        "file",
        "row",
        "index",
        "detail",
    ]
    assert set(RULES) >= set(report.counts())


def test_repr_is_one_readable_line():
    frame = bars([good("2014-07-01"), inverted("2014-07-02")])
    _, report = run(frame)
    text = repr(report)
    assert "\n" not in text
    assert "FAILED" in text
    assert "2 errors" in text
    assert "high_below_low 1" in text
    assert "high_below_low" in report.summary()


def test_merge_stays_within_the_cap_and_keeps_exact_counts():
    config = ValidationConfig(max_violations_kept=10, max_abs_return=None, volume_spike_factor=None)
    frame = bars([inverted(f"2014-06-{d:02d}") for d in range(1, 21)])
    _, r1 = run(frame, config)
    _, r2 = run(frame.with_columns(pl.lit("other.csv").alias("_source_file")), config)
    merged = r1.merge(r2)
    assert merged.counts() == {"high_below_low": 40, "high_below_open_close": 40}
    assert merged.to_frame().height == 10
    assert merged.to_frame().group_by("rule").len().sort("rule").get_column("len").to_list() == [5, 5]


def test_report_built_from_a_violation_frame_counts_by_rule_and_severity():
    import polars as pl

    from rustybt.data.validation import ValidationReport

    frame = pl.DataFrame(
        {
            "rule": ["high_below_low", "high_below_low", "price_jump"],
            "severity": ["error", "error", "warning"],
            "symbol": ["A", "B", "A"],
        }
    )
    report = ValidationReport(
        frame.with_columns(*[pl.lit(None).alias(c) for c in ("timestamp", "field", "file", "row", "index", "detail")])
    )
    assert report.error_count == 2
    assert report.warning_count == 1
    assert "high_below_low" in report._repr_html_()
