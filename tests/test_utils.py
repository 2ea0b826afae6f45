"""rustybt._utils: the helpers every layer shares, each against a plain expectation (real SQLite for transactions)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from rustybt._utils import format_bytes, immediate_transaction, to_utc, to_utc_or_none
from rustybt.errors import InvalidArgument

# --- to_utc ----------------------------------------------------------------------------------------------------


def test_to_utc_takes_naive_values_as_utc_and_converts_aware_ones():
    assert to_utc("2014-06-09") == pd.Timestamp("2014-06-09 00:00", tz="UTC")
    assert to_utc("2014-06-09 09:30-04:00") == pd.Timestamp("2014-06-09 13:30", tz="UTC")
    eastern = datetime(2014, 6, 9, 9, 30, tzinfo=timezone(timedelta(hours=-4)))
    assert to_utc(eastern) == pd.Timestamp("2014-06-09 13:30", tz="UTC")
    for value in ("2014-06-09", pd.Timestamp("2014-06-09").as_unit("s"), eastern):
        ts = to_utc(value)
        assert str(ts.tz) == "UTC" and ts.unit == "ns"
    ready = pd.Timestamp("2014-06-09", tz="UTC").as_unit("ns")
    assert to_utc(ready) is ready  # the hot path returns the value itself


def test_to_utc_names_the_argument_only_when_asked():
    with pytest.raises(InvalidArgument, match=r"start: cannot read 'someday' as a date or timestamp"):
        to_utc("someday", "start")
    with pytest.raises(InvalidArgument, match="end: cannot read"):
        to_utc(pd.NaT, "end")
    with pytest.raises(ValueError) as plain:
        to_utc("someday")
    assert not isinstance(plain.value, InvalidArgument)  # pandas' own error, unchanged


def test_to_utc_or_none_keeps_none():
    assert to_utc_or_none(None, "end") is None
    assert to_utc_or_none("2014-06-09") == pd.Timestamp("2014-06-09", tz="UTC")


# --- format_bytes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (5 * 2**20, "5.0 MiB"), (2**30, "1.0 GiB")],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text


def test_format_bytes_stops_at_gib_and_shows_nothing_for_non_numbers():
    assert format_bytes(3000 * 2**30) == "3000.0 GiB"
    assert format_bytes(None) == "" and format_bytes("many") == ""


# --- immediate_transaction -------------------------------------------------------------------------------------


def _connect(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=timeout, isolation_level=None)


def test_immediate_transaction_commits_or_rolls_back_everything(tmp_path: Path):
    path = tmp_path / "t.sqlite"
    con = _connect(path)
    con.execute("CREATE TABLE t (x INTEGER)")
    with immediate_transaction(con):
        con.execute("INSERT INTO t VALUES (1)")
        con.execute("INSERT INTO t VALUES (2)")

    def failing_write(error: BaseException) -> None:
        with immediate_transaction(con):
            con.execute("INSERT INTO t VALUES (3)")
            raise error

    for error in (ValueError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)):
            failing_write(error)
    assert [r[0] for r in _connect(path).execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    assert not con.in_transaction


def test_immediate_transaction_takes_the_write_lock_at_begin(tmp_path: Path):
    path = tmp_path / "t.sqlite"
    first, second = _connect(path), _connect(path, timeout=0)
    first.execute("CREATE TABLE t (x INTEGER)")
    with immediate_transaction(first):
        with pytest.raises(sqlite3.OperationalError, match="locked"), immediate_transaction(second):
            pass  # pragma: no cover - BEGIN IMMEDIATE itself fails while the first writer holds the lock
        assert [r[0] for r in second.execute("SELECT count(*) FROM t")] == [0]  # readers are not blocked
        first.execute("INSERT INTO t VALUES (1)")
    assert [r[0] for r in second.execute("SELECT x FROM t")] == [1]


# --- lazy_exports ----------------------------------------------------------------------------------------------


def test_names_load_on_first_use_and_stay(tmp_path: Path):
    package = tmp_path / "lazypkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from rustybt._utils import lazy_exports

            __getattr__, __dir__ = lazy_exports(__name__, {"VALUE": ".heavy", "dumps": "json"})
            """
        )
    )
    (package / "heavy.py").write_text("VALUE = 42\n")
    code = textwrap.dedent(
        """
        import sys
        import lazypkg
        assert "lazypkg.heavy" not in sys.modules            # nothing imported yet
        assert {"VALUE", "dumps"} <= set(dir(lazypkg))
        assert lazypkg.VALUE == 42 and "lazypkg.heavy" in sys.modules
        assert "VALUE" in vars(lazypkg)                      # kept: later lookups are plain attributes
        from lazypkg import dumps                            # an absolute module path
        assert dumps([1]) == "[1]"
        try:
            lazypkg.missing
        except AttributeError as exc:
            assert "module 'lazypkg' has no attribute 'missing'" in str(exc)
        else:
            raise AssertionError("no AttributeError")
        """
    )
    env_path = f"{tmp_path}:{Path(__file__).resolve().parents[1]}"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": env_path}, check=False
    )
    assert result.returncode == 0, result.stderr


def test_rustybt_testing_exports_lazily():
    code = (
        "import sys, rustybt.testing as t; "
        "assert 'rustybt.testing.pit' not in sys.modules and 'ccxt' not in sys.modules; "
        "assert t.point_in_time_reference.__module__ == 'rustybt.testing.pit'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
