"""CSVAdapter: zipline csvdir on real data, schema mapping, formats, missing data, bad input, speed."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from rustybt.data.adapters import CSVAdapter
from rustybt.data.adapters.base import ADJUSTMENT_SCHEMA, adapter_class, adapter_from_config
from rustybt.errors import ConfigError, DataFormatError, ResolutionError, SymbolNotFound

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
CSVDIR = RESOURCES / "zipline-csvdir"
SHARED_FIXTURE = Path("/work/shared/fixtures/zipline-csvdir/daily")
SYMBOLS = ("AAPL", "IBM", "KO", "MSFT")

HEADER = "date,open,high,low,close,volume\n"
ROWS = "2024-01-02,10.5,11.25,10.0,11.0,1000\n2024-01-03,11.0,12.0,10.75,11.5,2000\n"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def read_plain(path: Path) -> list[dict[str, str]]:
    """The file as the standard library reads it: the independent expectation."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module", autouse=True)
def _csvdir_resources() -> None:
    """Copy the real zipline csvdir sample into tests/resources once (kept in the repo afterwards)."""
    daily = CSVDIR / "daily"
    if not all((daily / f"{s}.csv").exists() for s in SYMBOLS):
        daily.mkdir(parents=True, exist_ok=True)
        for src in sorted(SHARED_FIXTURE.glob("*.csv")):
            if not (daily / src.name).exists():
                shutil.copyfile(src, daily / src.name)


@pytest.fixture(scope="module")
def zipline() -> CSVAdapter:
    return CSVAdapter.from_csvdir(CSVDIR)


@pytest.fixture(scope="module")
def zipline_bars(zipline: CSVAdapter) -> pl.DataFrame:
    return zipline.fetch_sync(None, None, None)


# --- zipline csvdir on real data ----------------------------------------------------------------------------


def test_csvdir_lists_the_files_as_symbols(zipline: CSVAdapter):
    assert zipline.symbols() == sorted(p.stem for p in (CSVDIR / "daily").glob("*.csv"))


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_csvdir_has_754_rows_per_symbol(zipline_bars: pl.DataFrame, symbol: str):
    assert zipline_bars.filter(pl.col("symbol") == symbol).height == 754


def test_csvdir_row_count_matches_plain_reading(zipline_bars: pl.DataFrame):
    expected = {s: len(read_plain(CSVDIR / "daily" / f"{s}.csv")) for s in SYMBOLS}
    counts = dict(zipline_bars.group_by("symbol").len().iter_rows())
    assert counts == expected


def test_csvdir_keeps_exact_close_text(zipline_bars: pl.DataFrame):
    row = zipline_bars.filter((pl.col("symbol") == "AAPL") & (pl.col("timestamp") == utc(2012, 1, 3)))
    assert row.get_column("close").to_list() == ["58.747143"]


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_csvdir_value_text_equals_file_text(zipline_bars: pl.DataFrame, symbol: str):
    plain = read_plain(CSVDIR / "daily" / f"{symbol}.csv")
    expected = [tuple(r[c] for c in ("open", "high", "low", "close", "volume")) for r in plain]
    got = zipline_bars.filter(pl.col("symbol") == symbol).select("open", "high", "low", "close", "volume")
    assert got.rows() == expected


def test_csvdir_value_columns_are_strings_and_timestamp_is_utc_ns(zipline_bars: pl.DataFrame):
    assert zipline_bars.schema == pl.Schema(
        {
            "timestamp": pl.Datetime("ns", "UTC"),
            "symbol": pl.String,
            "open": pl.String,
            "high": pl.String,
            "low": pl.String,
            "close": pl.String,
            "volume": pl.String,
            "_source_file": pl.String,
            "_source_row": pl.Int64,
        }
    )


def test_csvdir_daily_timestamps_are_dates_at_midnight_utc(zipline_bars: pl.DataFrame):
    aapl = zipline_bars.filter(pl.col("symbol") == "AAPL")
    dates = [r["date"] for r in read_plain(CSVDIR / "daily" / "AAPL.csv")]
    assert aapl.get_column("timestamp").to_list() == [
        datetime.strptime(d, "%Y-%m-%d").replace(tzinfo=UTC) for d in dates
    ]


def test_csvdir_source_row_points_at_the_line_in_the_file(zipline_bars: pl.DataFrame):
    lines = (CSVDIR / "daily" / "KO.csv").read_text().splitlines()
    ko = zipline_bars.filter(pl.col("symbol") == "KO").sample(20, seed=1)
    for ts, close, source, row in ko.select("timestamp", "close", "_source_file", "_source_row").iter_rows():
        assert Path(source) == CSVDIR / "daily" / "KO.csv"
        fields = lines[row - 1].split(",")
        assert (fields[0], fields[4]) == (ts.strftime("%Y-%m-%d"), close)


def test_csvdir_aapl_split_ratio_is_one_seventh(zipline: CSVAdapter):
    splits = zipline.adjustments(["AAPL"]).filter(pl.col("kind") == "split")
    assert splits.select("effective_date", "ratio").rows() == [(utc(2014, 6, 9), pytest.approx(1 / 7))]


def test_csvdir_ko_split_ratio_is_one_half(zipline: CSVAdapter):
    splits = zipline.adjustments(["KO"]).filter(pl.col("kind") == "split")
    assert splits.select("effective_date", "ratio").rows() == [(utc(2012, 8, 13), 0.5)]


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_csvdir_dividends_match_plain_reading(zipline: CSVAdapter, symbol: str):
    plain = read_plain(CSVDIR / "daily" / f"{symbol}.csv")
    expected = [
        (datetime.strptime(r["date"], "%Y-%m-%d").replace(tzinfo=UTC), float(r["dividend"]))
        for r in plain
        if float(r["dividend"]) != 0.0
    ]
    got = zipline.adjustments([symbol]).filter(pl.col("kind") == "dividend")
    assert got.select("effective_date", "amount").rows() == expected


def test_csvdir_dividends_leave_ratio_to_the_catalog(zipline: CSVAdapter):
    dividends = zipline.adjustments().filter(pl.col("kind") == "dividend")
    assert dividends.height > 0
    assert dividends.get_column("ratio").null_count() == dividends.height


def test_csvdir_adjustments_follow_the_adjustment_schema(zipline: CSVAdapter):
    assert zipline.adjustments().schema == pl.Schema(ADJUSTMENT_SCHEMA)


def test_csvdir_minute_folder_gives_1m_bars(tmp_path: Path):
    write(
        tmp_path,
        "minute/AAPL.csv",
        "date,open,high,low,close,volume,dividend,split\n2024-01-02 14:30:00,1.5,1.6,1.4,1.55,100,0.0,1.0\n",
    )
    adapter = CSVAdapter.from_csvdir(tmp_path)
    assert adapter.supported_resolutions == ("1m",)
    assert adapter.fetch_sync(["AAPL"], None, None, "1m").get_column("timestamp").to_list() == [utc(2024, 1, 2, 14, 30)]


def test_csvdir_without_daily_or_minute_is_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match="neither a daily/ nor a minute/"):
        CSVAdapter.from_csvdir(tmp_path)


def test_csvdir_config_round_trip(zipline: CSVAdapter, zipline_bars: pl.DataFrame):
    params = json.loads(json.dumps(zipline.to_config()))
    rebuilt = adapter_from_config("csv", params)
    assert rebuilt.to_config() == zipline.to_config()
    assert rebuilt.fetch_sync(None, None, None).equals(zipline_bars)


# --- registration and metadata ------------------------------------------------------------------------------


def test_registered_under_csv():
    assert adapter_class("csv") is CSVAdapter


def test_metadata_says_static_files(zipline: CSVAdapter):
    assert (zipline.metadata.source, zipline.metadata.delay) == ("csv", "static files")


def test_plain_adapter_config_round_trip(tmp_path: Path):
    write(tmp_path, "x.csv", HEADER + ROWS)
    adapter = CSVAdapter(
        tmp_path, columns={"volume": "volume"}, timezone="Europe/Berlin", missing="skip", resolution="1h"
    )
    params = json.loads(json.dumps(adapter.to_config()))
    assert params["paths"] == str(tmp_path.resolve())
    assert CSVAdapter.from_config(params).to_config() == params


# --- paths and symbols ----------------------------------------------------------------------------------------


def test_symbol_is_the_upper_cased_file_stem(tmp_path: Path):
    write(tmp_path, "brk.b.csv", HEADER + ROWS)
    assert CSVAdapter(tmp_path / "brk.b.csv").symbols() == ["BRK.B"]


def test_glob_and_list_paths_select_files(tmp_path: Path):
    for name in ("a.csv", "b.csv", "c.txt"):
        write(tmp_path, name, HEADER + ROWS)
    assert CSVAdapter(str(tmp_path / "*.csv")).symbols() == ["A", "B"]
    assert CSVAdapter([tmp_path / "b.csv"]).symbols() == ["B"]


def test_symbol_parameter_joins_several_files(tmp_path: Path):
    write(tmp_path, "2023.csv", HEADER + "2023-12-29,1,2,0.5,1.5,10\n")
    write(tmp_path, "2024.csv", HEADER + "2024-01-02,2,3,1.5,2.5,20\n")
    bars = CSVAdapter(tmp_path, symbol="XYZ").fetch_sync(["XYZ"], None, None)
    assert bars.select("symbol", "close").rows() == [("XYZ", "1.5"), ("XYZ", "2.5")]


def test_missing_path_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        CSVAdapter(tmp_path / "nope.csv")


def test_unknown_symbol_is_reported_per_symbol(tmp_path: Path):
    write(tmp_path, "AAA.csv", HEADER + ROWS)
    items = list(CSVAdapter(tmp_path).iter_bars(["AAA", "ZZZ"], None, None))
    assert [i.symbol for i in items] == ["AAA", "ZZZ"]
    assert items[0].error is None and items[0].bars.height == 2
    assert isinstance(items[1].error, SymbolNotFound)


def test_wrong_resolution_is_refused(tmp_path: Path):
    write(tmp_path, "AAA.csv", HEADER + ROWS)
    with pytest.raises(ResolutionError, match="hold 1d bars"):
        CSVAdapter(tmp_path).fetch_sync(["AAA"], None, None, "1h")


# --- column recognition -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Date,Open,High,Low,Close,Volume",
        "DATETIME,O,H,L,C,VOL",
        "timestamp,open,high,low,close,v",
        "<DATE>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>",
    ],
)
def test_common_column_names_are_recognised(tmp_path: Path, header: str):
    write(tmp_path, "X.csv", f"{header}\n2024-01-02,1.25,2.5,1,2,300\n")
    bars = CSVAdapter(tmp_path).fetch_sync(["X"], None, None)
    assert bars.select("open", "high", "low", "close", "volume").row(0) == ("1.25", "2.5", "1", "2", "300")


def test_adj_close_is_not_used_as_close(tmp_path: Path):
    write(tmp_path, "X.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,1,2,0.5,1.5,1.2,10\n")
    assert CSVAdapter(tmp_path).fetch_sync(["X"], None, None).get_column("close").to_list() == ["1.5"]


def test_adj_close_alone_is_a_missing_close(tmp_path: Path):
    write(tmp_path, "X.csv", "Date,Open,High,Low,Adj Close,Volume\n2024-01-02,1,2,0.5,1.2,10\n")
    with pytest.raises(DataFormatError, match="missing required column.*close"):
        CSVAdapter(tmp_path).fetch_sync(["X"], None, None)


def test_adj_close_can_be_mapped_explicitly(tmp_path: Path):
    write(tmp_path, "X.csv", "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,1,2,0.5,1.5,1.2,10\n")
    adapter = CSVAdapter(tmp_path, columns={"close": "Adj Close"})
    assert adapter.fetch_sync(["X"], None, None).get_column("close").to_list() == ["1.2"]


def test_separate_date_and_time_columns_are_joined(tmp_path: Path):
    write(tmp_path, "X.csv", "Date,Time,Open,High,Low,Close,Volume\n2024.01.02,09:31,1,2,0.5,1.5,10\n")
    bars = CSVAdapter(tmp_path, resolution="1m").fetch_sync(["X"], None, None, "1m")
    assert bars.get_column("timestamp").to_list() == [utc(2024, 1, 2, 9, 31)]


def test_volume_can_be_declared_absent(tmp_path: Path):
    write(tmp_path, "X.csv", "date,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n")
    bars = CSVAdapter(tmp_path, columns={"volume": None}).fetch_sync(["X"], None, None)
    assert bars.get_column("volume").to_list() == ["0"]


def test_values_are_stripped_of_surrounding_spaces(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER + "2024-01-02, 1.50 ,2,0.5,1.5,10\n")
    assert CSVAdapter(tmp_path).fetch_sync(["X"], None, None).get_column("open").to_list() == ["1.50"]


def test_quoted_file_gives_the_same_bars_as_unquoted(tmp_path: Path):
    plain = write(tmp_path, "plain/X.csv", HEADER + ROWS)
    quoted_rows = "".join(",".join(f'"{v}"' for v in line.split(",")) + "\n" for line in ROWS.splitlines())
    quoted = write(tmp_path, "quoted/X.csv", HEADER + quoted_rows)
    a = CSVAdapter(plain).fetch_sync(["X"], None, None).drop("_source_file")
    b = CSVAdapter(quoted).fetch_sync(["X"], None, None).drop("_source_file")
    assert a.equals(b)


def test_blank_lines_keep_line_numbers_exact(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER + "2024-01-02,1,2,0.5,1.5,10\n\n2024-01-03,1,2,0.5,1.5,10\n")
    assert CSVAdapter(tmp_path).fetch_sync(["X"], None, None).get_column("_source_row").to_list() == [2, 4]


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.replace("\n", "\r\n").encode(),
        lambda text: b"\xef\xbb\xbf" + text.encode(),
        lambda text: text.rstrip("\n").encode(),
    ],
    ids=["crlf", "utf8-bom", "no-final-newline"],
)
def test_line_endings_and_bom_do_not_change_the_bars(tmp_path: Path, encode):
    (tmp_path / "X.csv").write_bytes(encode(HEADER + ROWS))
    bars = CSVAdapter(tmp_path).fetch_sync(["X"], None, None)
    assert bars.select("close", "volume", "_source_row").rows() == [("11.0", "1000", 2), ("11.5", "2000", 3)]


def test_non_utf8_text_names_the_line(tmp_path: Path):
    (tmp_path / "X.csv").write_bytes((HEADER + ROWS + "2024-01-04,\xe9,2,1,1,1\n").encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"X\.csv, line 4: not UTF-8"):
        CSVAdapter(tmp_path).fetch_sync(["X"], None, None)


# --- delimiters ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(tmp_path: Path, delimiter: str):
    text = (HEADER + ROWS).replace(",", delimiter)
    write(tmp_path, "X.csv", text)
    bars = CSVAdapter(tmp_path).fetch_sync(["X"], None, None)
    assert bars.select("high", "volume").rows() == [("11.25", "1000"), ("12.0", "2000")]


def test_semicolon_file_with_comma_in_no_field_is_not_read_as_comma(tmp_path: Path):
    write(tmp_path, "X.csv", "date;open;high;low;close;volume\n2024-01-02;1;2;0.5;1.5;10\n")
    assert CSVAdapter(tmp_path).fetch_sync(["X"], None, None).get_column("low").to_list() == ["0.5"]


# --- date formats and time zones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "resolution", "expected"),
    [
        ("2024-03-05", "1d", utc(2024, 3, 5)),
        ("20240305", "1d", utc(2024, 3, 5)),
        ("03/05/2024", "1d", utc(2024, 3, 5)),
        ("05.03.2024", "1d", utc(2024, 3, 5)),
        ("2024-03-05T14:30:00", "1m", utc(2024, 3, 5, 14, 30)),
        ("2024-03-05 14:30:00.250", "1m", utc(2024, 3, 5, 14, 30, 0, 250000)),
        ("2024-03-05T09:30:00-05:00", "1m", utc(2024, 3, 5, 14, 30)),
        ("2024-03-05T14:30:00Z", "1m", utc(2024, 3, 5, 14, 30)),
        ("1709649000", "1m", utc(2024, 3, 5, 14, 30)),
        ("1709649000000", "1m", utc(2024, 3, 5, 14, 30)),
        ("1709649000000000", "1m", utc(2024, 3, 5, 14, 30)),
        ("1709649000000000000", "1m", utc(2024, 3, 5, 14, 30)),
    ],
)
def test_date_format_is_detected(tmp_path: Path, text: str, resolution: str, expected: datetime):
    write(tmp_path, "X.csv", f"{HEADER}{text},1,2,0.5,1.5,10\n")
    bars = CSVAdapter(tmp_path, resolution=resolution).fetch_sync(["X"], None, None, resolution)
    assert bars.get_column("timestamp").to_list() == [expected]


def test_day_first_slashes_are_used_when_month_first_cannot_parse(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER + "05/03/2024,1,2,0.5,1.5,10\n25/03/2024,1,2,0.5,1.5,10\n")
    bars = CSVAdapter(tmp_path).fetch_sync(["X"], None, None)
    assert bars.get_column("timestamp").to_list() == [utc(2024, 3, 5), utc(2024, 3, 25)]


def test_epoch_milliseconds_give_the_session_date_for_daily_bars(tmp_path: Path):
    write(tmp_path, "X.csv", f"{HEADER}1709596800000,1,2,0.5,1.5,10\n")  # 2024-03-05 00:00 UTC
    assert CSVAdapter(tmp_path).fetch_sync(["X"], None, None).get_column("timestamp").to_list() == [utc(2024, 3, 5)]


def test_explicit_date_format_is_used(tmp_path: Path):
    write(tmp_path, "X.csv", f"{HEADER}05-Mar-2024,1,2,0.5,1.5,10\n")
    bars = CSVAdapter(tmp_path, date_format="%d-%b-%Y").fetch_sync(["X"], None, None)
    assert bars.get_column("timestamp").to_list() == [utc(2024, 3, 5)]


def test_naive_times_are_utc_by_default(tmp_path: Path):
    write(tmp_path, "X.csv", f"{HEADER}2024-07-01 09:30:00,1,2,0.5,1.5,10\n")
    bars = CSVAdapter(tmp_path, resolution="1m").fetch_sync(["X"], None, None, "1m")
    assert bars.get_column("timestamp").to_list() == [utc(2024, 7, 1, 9, 30)]


@pytest.mark.parametrize(
    ("local", "expected"),
    [("2024-01-02 09:30:00", utc(2024, 1, 2, 14, 30)), ("2024-07-01 09:30:00", utc(2024, 7, 1, 13, 30))],
)
def test_naive_times_are_converted_from_the_given_timezone(tmp_path: Path, local: str, expected: datetime):
    write(tmp_path, "X.csv", f"{HEADER}{local},1,2,0.5,1.5,10\n")
    adapter = CSVAdapter(tmp_path, timezone="America/New_York", resolution="1m")
    assert adapter.fetch_sync(["X"], None, None, "1m").get_column("timestamp").to_list() == [expected]


def test_timezone_does_not_move_daily_dates(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER + ROWS)
    bars = CSVAdapter(tmp_path, timezone="Asia/Tokyo").fetch_sync(["X"], None, None)
    assert bars.get_column("timestamp").to_list() == [utc(2024, 1, 2), utc(2024, 1, 3)]


def test_offsets_win_over_the_timezone_parameter(tmp_path: Path):
    write(tmp_path, "X.csv", f"{HEADER}2024-01-02T09:30:00+01:00,1,2,0.5,1.5,10\n")
    adapter = CSVAdapter(tmp_path, timezone="America/New_York", resolution="1h")
    assert adapter.fetch_sync(["X"], None, None, "1h").get_column("timestamp").to_list() == [utc(2024, 1, 2, 8, 30)]


def test_ambiguous_local_time_names_the_line(tmp_path: Path):
    write(tmp_path, "X.csv", f"{HEADER}2024-11-03 00:30:00,1,2,0.5,1.5,10\n2024-11-03 01:30:00,1,2,0.5,1.5,10\n")
    adapter = CSVAdapter(tmp_path, timezone="America/New_York", resolution="1m")
    with pytest.raises(DataFormatError, match=r"X\.csv, line 3.*ambiguous or does not exist"):
        adapter.fetch_sync(["X"], None, None, "1m")


# --- symbol column ---------------------------------------------------------------------------------------------


SYMBOL_FILE = (
    "ticker,date,open,high,low,close,volume\n"
    "AAA,2024-01-02,1,2,0.5,1.5,10\n"
    "BBB,2024-01-02,5,6,4.5,5.5,50\n"
    "AAA,2024-01-03,1.5,2.5,1,2,20\n"
)


def test_symbol_column_lists_its_symbols(tmp_path: Path):
    write(tmp_path, "all.csv", SYMBOL_FILE)
    assert CSVAdapter(tmp_path / "all.csv", symbol_column="ticker").symbols() == ["AAA", "BBB"]


def test_symbol_column_splits_rows_by_symbol(tmp_path: Path):
    write(tmp_path, "all.csv", SYMBOL_FILE)
    bars = CSVAdapter(tmp_path / "all.csv", symbol_column="ticker").fetch_sync(["AAA"], None, None)
    assert bars.select("symbol", "close", "_source_row").rows() == [("AAA", "1.5", 2), ("AAA", "2", 4)]


def test_symbol_column_error_stays_with_its_symbol(tmp_path: Path):
    write(tmp_path, "all.csv", SYMBOL_FILE + "BBB,2024-01-03,oops,6,4.5,5.5,50\n")
    items = {i.symbol: i for i in CSVAdapter(tmp_path / "all.csv", symbol_column="ticker").iter_bars(None, None, None)}
    assert items["AAA"].error is None and items["AAA"].bars.height == 2
    assert isinstance(items["BBB"].error, DataFormatError)
    assert "line 5" in str(items["BBB"].error)


def test_symbol_and_symbol_column_exclude_each_other(tmp_path: Path):
    write(tmp_path, "all.csv", SYMBOL_FILE)
    with pytest.raises(ConfigError, match="not both"):
        CSVAdapter(tmp_path / "all.csv", symbol="AAA", symbol_column="ticker")


# --- missing data ------------------------------------------------------------------------------------------------


GAPPY = HEADER + "2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1.5,,1,2,\n2024-01-04,2,3,1.5,2.5,30\n"


def test_missing_fail_names_file_line_and_field(tmp_path: Path):
    write(tmp_path, "X.csv", GAPPY)
    with pytest.raises(DataFormatError, match=r"X\.csv, line 3, field 'high'.*missing"):
        CSVAdapter(tmp_path).fetch_sync(["X"], None, None)


def test_missing_skip_drops_the_row(tmp_path: Path):
    write(tmp_path, "X.csv", GAPPY)
    bars = CSVAdapter(tmp_path, missing="skip").fetch_sync(["X"], None, None)
    assert bars.get_column("_source_row").to_list() == [2, 4]


def test_missing_ffill_takes_the_previous_value(tmp_path: Path):
    write(tmp_path, "X.csv", GAPPY)
    bars = CSVAdapter(tmp_path, missing="ffill").fetch_sync(["X"], None, None)
    assert bars.select("open", "high", "volume").rows() == [("1", "2", "10"), ("1.5", "2", "0"), ("2", "3", "30")]


def test_missing_ffill_fills_per_symbol(tmp_path: Path):
    text = "ticker,date,open,high,low,close,volume\nAAA,2024-01-02,1,2,0.5,1.5,10\nBBB,2024-01-03,,6,4.5,5.5,50\n"
    write(tmp_path, "all.csv", text)
    items = {
        i.symbol: i
        for i in CSVAdapter(tmp_path / "all.csv", symbol_column="ticker", missing="ffill").iter_bars(None, None, None)
    }
    assert "no earlier bar of BBB" in str(items["BBB"].error)


def test_missing_na_text_counts_as_missing(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER + "2024-01-02,1,2,0.5,1.5,10\n2024-01-03,NA,2,0.5,null,10\n")
    bars = CSVAdapter(tmp_path, missing="ffill").fetch_sync(["X"], None, None)
    assert bars.select("open", "close").row(1) == ("1", "1.5")


def test_missing_timestamp_cannot_be_filled(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER + "2024-01-02,1,2,0.5,1.5,10\n,1,2,0.5,1.5,10\n")
    with pytest.raises(DataFormatError, match=r"line 3, field 'timestamp'.*cannot be filled"):
        CSVAdapter(tmp_path, missing="ffill").fetch_sync(["X"], None, None)


def test_unknown_missing_strategy_is_refused(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER + ROWS)
    with pytest.raises(ConfigError, match="missing must be one of"):
        CSVAdapter(tmp_path, missing="zero")


# --- bad input -----------------------------------------------------------------------------------------------------


def test_non_numeric_value_names_file_line_field_and_text(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER + ROWS + "2024-01-04,1,2,abc,1.5,10\n")
    with pytest.raises(DataFormatError, match=r"X\.csv, line 4, field 'low' \(column 'low'\): 'abc' is not a number"):
        CSVAdapter(tmp_path).fetch_sync(["X"], None, None)


@pytest.mark.parametrize("row", ["2024-01-04,1,2,0.5,1.5", "2024-01-04,1,2,0.5,1.5,10,99"])
def test_ragged_row_names_file_and_line(tmp_path: Path, row: str):
    write(tmp_path, "X.csv", HEADER + ROWS + row + "\n2024-01-05,1,2,0.5,1.5,10\n")
    with pytest.raises(DataFormatError, match=r"X\.csv, line 4: \d field\(s\), but the header \(line 1\) has 6"):
        CSVAdapter(tmp_path).fetch_sync(["X"], None, None)


def test_empty_file_names_the_file(tmp_path: Path):
    write(tmp_path, "X.csv", "")
    with pytest.raises(DataFormatError, match=r"X\.csv: the file is empty"):
        CSVAdapter(tmp_path).fetch_sync(["X"], None, None)


def test_header_without_rows_names_the_file(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER)
    with pytest.raises(DataFormatError, match=r"X\.csv: the header has no rows"):
        CSVAdapter(tmp_path).fetch_sync(["X"], None, None)


def test_missing_column_lists_found_and_expected(tmp_path: Path):
    write(tmp_path, "X.csv", "date,open,high,close,volume\n2024-01-02,1,2,1.5,10\n")
    with pytest.raises(DataFormatError) as info:
        CSVAdapter(tmp_path).fetch_sync(["X"], None, None)
    message = str(info.value)
    assert "X.csv" in message
    assert "missing required column(s) low" in message
    assert "Columns found: date, open, high, close, volume" in message
    assert "low: Low/L" in message


def test_unknown_date_format_names_file_line_and_text(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER + "Jan 2 2024,1,2,0.5,1.5,10\n")
    with pytest.raises(DataFormatError, match=r"X\.csv, line 2, column 'date': unrecognised date format 'Jan 2 2024'"):
        CSVAdapter(tmp_path).fetch_sync(["X"], None, None)


def test_date_in_another_format_later_names_its_line(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER + ROWS + "2024/01/04,1,2,0.5,1.5,10\n")
    with pytest.raises(DataFormatError, match=r"X\.csv, line 4, column 'date': '2024/01/04'"):
        CSVAdapter(tmp_path).fetch_sync(["X"], None, None)


def test_invalid_calendar_date_names_its_line(tmp_path: Path):
    write(tmp_path, "X.csv", HEADER + ROWS + "2024-02-30,1,2,0.5,1.5,10\n")
    with pytest.raises(DataFormatError, match=r"line 4.*cannot parse '2024-02-30'"):
        CSVAdapter(tmp_path).fetch_sync(["X"], None, None)


def test_bad_file_does_not_stop_the_others(tmp_path: Path):
    write(tmp_path, "GOOD.csv", HEADER + ROWS)
    write(tmp_path, "BAD.csv", HEADER + "2024-01-02,1,2,x,1.5,10\n")
    items = {i.symbol: i for i in CSVAdapter(tmp_path).iter_bars(None, None, None, n_workers=2)}
    assert items["GOOD"].bars.height == 2
    assert isinstance(items["BAD"].error, DataFormatError)


def test_flagged_file_in_a_batch_does_not_change_its_neighbours(tmp_path: Path):
    for i in range(5):
        write(tmp_path, f"S{i}.csv", HEADER + ROWS)
    write(tmp_path, "S2.csv", HEADER + "2024-01-02, 10.5 ,11.25,10.0,11.0,1000\n")  # needs the careful reading
    items = {i.symbol: i for i in CSVAdapter(tmp_path).iter_bars(None, None, None)}
    assert items["S2"].bars.get_column("open").to_list() == ["10.5"]
    assert all(items[f"S{i}"].bars.get_column("_source_row").to_list() == [2, 3] for i in (0, 1, 3, 4))


# --- filtering -------------------------------------------------------------------------------------------------------


def test_start_and_end_are_inclusive(zipline: CSVAdapter):
    bars = zipline.fetch_sync(["IBM"], "2014-12-29", "2014-12-31")
    assert bars.get_column("timestamp").to_list() == [utc(2014, 12, 29), utc(2014, 12, 30), utc(2014, 12, 31)]


def test_iter_bars_applies_the_range_to_every_symbol(zipline: CSVAdapter):
    items = list(zipline.iter_bars(None, "2013-01-01", "2013-12-31", n_workers=3))
    plain = read_plain(CSVDIR / "daily" / "MSFT.csv")
    expected = sum(1 for r in plain if "2013-01-01" <= r["date"] <= "2013-12-31")
    assert {i.symbol: i.bars.height for i in items} == dict.fromkeys(SYMBOLS, expected)
