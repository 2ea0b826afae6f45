"""Ingestion: atomicity (exceptions, Ctrl-C, kill -9), append mode, validation modes, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rustybt import Catalog
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.errors import IngestionError, ValidationError


def copy_csvdir(src: Path, dst: Path, *, until: str | None = None, edit=None) -> Path:
    (dst / "daily").mkdir(parents=True, exist_ok=True)
    for f in sorted((src / "daily").glob("*.csv")):
        lines = f.read_text().splitlines()
        header, rows = lines[0], lines[1:]
        if until is not None:
            rows = [r for r in rows if r.split(",")[0] <= until]
        if edit is not None:
            rows = [edit(f.stem, r) for r in rows]
        (dst / "daily" / f.name).write_text("\n".join([header, *rows]) + "\n")
    return dst


def leftovers(catalog: Catalog, name: str) -> list[Path]:
    staging = catalog.root / "bundles" / name / ".staging"
    known = {r.id for r in catalog.ingestions(name)}
    dirs = [p for p in (catalog.root / "bundles" / name).iterdir() if p.is_dir() and not p.name.startswith(".")]
    return [*(staging.iterdir() if staging.exists() else []), *[d for d in dirs if d.name not in known]]


class ExplodingAdapter(CSVAdapter):
    """A CSV source that fails after some symbols: the failure arrives mid-ingest."""

    name = "exploding-csv-test"

    def __init__(self, *args, exc: BaseException, after: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        self._exc, self._after = exc, after

    def iter_bars(self, *args, **kwargs):
        for i, item in enumerate(super().iter_bars(*args, **kwargs)):
            if i == self._after:
                raise self._exc
            yield item


@pytest.fixture
def live(catalog: Catalog, csvdir: Path):
    catalog.register("b", adapter=CSVAdapter.from_csvdir(csvdir))
    ingestion = catalog.ingest("b", progress=False)
    return catalog, ingestion.id, catalog.bundle("b").bars(exact=True)


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failure_mid_ingest_keeps_previous_live(live, csvdir: Path, exc: BaseException):
    catalog, live_id, before = live
    adapter = ExplodingAdapter(sorted((csvdir / "daily").glob("*.csv")), exc=exc)
    with pytest.raises(type(exc) if isinstance(exc, KeyboardInterrupt) else IngestionError):
        catalog.ingest("b", adapter=adapter, progress=False)
    assert catalog.bundle("b").ingestion_id == live_id
    assert catalog.bundle("b").bars(exact=True).equals(before)
    assert leftovers(catalog, "b") == []
    assert len(catalog.ingestions("b")) == 1


def test_strict_validation_failure_changes_nothing(live, tmp_path: Path, csvdir: Path):
    catalog, live_id, before = live

    def break_high(symbol: str, row: str) -> str:
        if symbol == "IBM" and row.startswith("2013-05-01"):
            d, o, _h, lo, c, *rest = row.split(",")
            return ",".join([d, o, str(float(lo) - 1), lo, c, *rest])
        return row

    bad = copy_csvdir(csvdir, tmp_path / "bad", edit=break_high)
    catalog.register("b", adapter=CSVAdapter.from_csvdir(bad), overwrite=True)
    with pytest.raises(ValidationError, match=r"IBM") as info:
        catalog.ingest("b", progress=False)
    assert "2013-05-01" in str(info.value)
    assert "IBM.csv" in str(info.value)
    assert catalog.bundle("b").ingestion_id == live_id
    assert catalog.bundle("b").bars(exact=True).equals(before)
    assert leftovers(catalog, "b") == []


def test_lenient_validation_drops_and_counts(catalog: Catalog, tmp_path: Path, csvdir: Path):
    def break_high(symbol: str, row: str) -> str:
        if symbol == "IBM" and row.startswith("2013-05-01"):
            d, o, _h, lo, c, *rest = row.split(",")
            return ",".join([d, o, str(float(lo) - 1), lo, c, *rest])
        return row

    bad = copy_csvdir(csvdir, tmp_path / "bad", edit=break_high)
    catalog.register("b", adapter=CSVAdapter.from_csvdir(bad), validation="lenient")
    result = catalog.ingest("b", progress=False)
    assert result.report.rows_dropped == 1
    bundle = catalog.bundle("b")
    assert bundle.quality["rows_dropped"] == 1
    assert bundle.quality["errors"] >= 1
    ibm = bundle.bars("IBM")
    assert ibm.height == 753
    assert "2013-05-01" not in ibm["timestamp"].dt.date().cast(pl.String).to_list()


def test_append_adds_new_bars_and_new_ingest_wins(catalog: Catalog, tmp_path: Path, csvdir: Path):
    first = copy_csvdir(csvdir, tmp_path / "first", until="2013-12-31")
    catalog.register("b", adapter=CSVAdapter.from_csvdir(first))
    catalog.ingest("b", progress=False)
    assert catalog.bundle("b").rows == 4 * 502

    def revise(symbol: str, row: str) -> str:  # a revised bar inside the overlap
        return row.replace("2013-12-31,", "2013-12-31,") if symbol != "MSFT" else _revise_close(row, "2013-12-31")

    full = copy_csvdir(csvdir, tmp_path / "full", edit=revise)
    catalog.register("b", adapter=CSVAdapter.from_csvdir(full), overwrite=True)
    result = catalog.ingest("b", mode="append", progress=False)
    assert result.rows == 4 * 754
    assert result.new_rows == 4 * 252
    assert result.replaced_rows == 4 * 502
    assert result.changed_rows == 1
    msft = catalog.bundle("b").bars("MSFT", start="2013-12-31", end="2013-12-31")
    assert msft["close"][0] == 99.5
    history = catalog.ingestions("b")
    assert history[-1].mode == "append" and history[-1].parent == history[0].id


def _revise_close(row: str, day: str) -> str:
    if not row.startswith(day):
        return row
    d, o, _h, lo, _c, *rest = row.split(",")
    return ",".join([d, o, "100.0", lo, "99.5", *rest])


def test_strict_symbol_failure_lists_the_file(catalog: Catalog, tmp_path: Path, csvdir: Path):
    src = copy_csvdir(csvdir, tmp_path / "src")
    (src / "daily" / "KO.csv").write_text(
        "date,open,high,low,close,volume,dividend,split\n2012-01-03,abc,1,1,1,1,0,1\n"
    )
    catalog.register("b", adapter=CSVAdapter.from_csvdir(src))
    with pytest.raises(IngestionError, match=r"KO") as info:
        catalog.ingest("b", progress=False)
    assert "KO.csv" in str(info.value)
    assert "open" in str(info.value)


def test_partial_ingest_keeps_good_symbols_when_not_strict(catalog: Catalog, tmp_path: Path, csvdir: Path):
    src = copy_csvdir(csvdir, tmp_path / "src")
    (src / "daily" / "KO.csv").write_text("")
    catalog.register("b", adapter=CSVAdapter.from_csvdir(src), strict=False)
    result = catalog.ingest("b", progress=False)
    assert result.partial and list(result.failures) == ["KO"]
    assert catalog.bundle("b").symbols == ["AAPL", "IBM", "MSFT"]
    assert catalog.ingestions("b")[-1].details["failures"].keys() == {"KO"}


def _write_big_csvdir(root: Path, n_symbols: int, n_days: int) -> Path:
    rng = np.random.default_rng(7)
    dates = pl.date_range(pl.date(2000, 1, 3), pl.date(2040, 1, 1), "1d", eager=True)
    dates = dates.filter(dates.dt.weekday() <= 5).head(n_days).cast(pl.String)
    (root / "daily").mkdir(parents=True)
    for i in range(n_symbols):
        close = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.01, n_days))), 2)
        pl.DataFrame(
            {
                "date": dates,
                "open": close,
                "high": np.round(close * 1.01, 2),
                "low": np.round(close * 0.99, 2),
                "close": close,
                "volume": rng.integers(1000, 100000, n_days),
                "dividend": 0.0,
                "split": 1.0,
            }
        ).write_csv(root / "daily" / f"S{i:04d}.csv")
    return root


@pytest.mark.slow
def test_killed_ingest_leaves_previous_ingestion_intact(live, tmp_path: Path):
    catalog, live_id, before = live
    big = _write_big_csvdir(tmp_path / "big", n_symbols=500, n_days=2600)
    catalog.register("b", adapter=CSVAdapter.from_csvdir(big), calendar="24/7", validation="lenient", overwrite=True)
    script = textwrap.dedent(
        f"""
        from rustybt import Catalog
        Catalog(root={str(catalog.root)!r}).ingest("b", progress=False)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    staging = catalog.root / "bundles" / "b" / ".staging"
    deadline = time.monotonic() + 120
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        if staging.exists() and any(staging.glob("*/bars/frequency=1d/year=*/part-0.parquet")):
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.002)
    proc.wait()
    assert killed, "the ingest finished before it could be killed; make the data set larger"
    assert catalog.bundle("b").ingestion_id == live_id
    assert catalog.bundle("b").bars(exact=True).equals(before)
    assert catalog.verify("b").ok
    assert leftovers(catalog, "b")  # the killed run left a staging directory behind...
    (tmp_path / "empty" / "daily").mkdir(parents=True)
    (tmp_path / "empty" / "daily" / "BAD.csv").write_text("date,open\n2014-01-02,x\n")
    catalog.register("b", adapter=CSVAdapter.from_csvdir(tmp_path / "empty"), overwrite=True)
    with pytest.raises(IngestionError):
        catalog.ingest("b", progress=False)  # ...which the next ingest removes, even when it fails itself
    assert leftovers(catalog, "b") == []
    assert catalog.bundle("b").bars(exact=True).equals(before)


def test_dividends_before_the_first_stored_bar_are_kept_quietly(catalog: Catalog, csvdir: Path, caplog):
    """A range that starts after some dividends: they adjust no stored window, so no warning, ratio left empty."""
    import logging

    caplog.set_level(logging.DEBUG, logger="rustybt.data.catalog.ingest")
    catalog.register("late", CSVAdapter.from_csvdir(csvdir), symbols=["KO"], start_date="2014-01-01")
    catalog.ingest("late", progress=False)
    dividends = catalog.bundle("late").adjustments("dividend")
    early = dividends.filter(pl.col("effective_date") < pl.date(2014, 1, 2))
    assert early.height > 0 and early["ratio"].is_null().all()
    assert dividends.filter(pl.col("effective_date") > pl.date(2014, 1, 2))["ratio"].is_not_null().all()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "dividend" in r.getMessage()]
    assert any("precedes the stored bars" in r.getMessage() for r in caplog.records)
