"""Nothing changes outside the atomic ingest (issue 16, items 8-10): unknown directories are quarantined, never
deleted; clean leaves an ingestion an open Bundle reads; Ctrl-C and failures leave no staging or orphan behind;
readers running during ingest + clean loops never fail."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rustybt import Catalog
from rustybt.data.adapters.csv import CSVAdapter
from rustybt.data.catalog import ingest_build as ingest_module  # where the staging is written
from rustybt.data.readers import ParquetDailyBarReader


@pytest.fixture
def zl(catalog: Catalog, csvdir: Path) -> Catalog:
    catalog.register("zl", adapter=CSVAdapter.from_csvdir(csvdir), calendar="XNYS")
    catalog.ingest("zl", progress=False)
    return catalog


def _bundle_dir(catalog: Catalog) -> Path:
    return catalog.root / "bundles" / "zl"


def test_an_unknown_directory_is_quarantined_not_deleted(zl: Catalog):
    mine = _bundle_dir(zl) / "my-notes"
    mine.mkdir()
    (mine / "todo.txt").write_text("keep me")
    result = zl.ingest("zl", progress=False)
    assert not mine.exists()
    assert (_bundle_dir(zl) / ".quarantine" / "my-notes" / "todo.txt").read_text() == "keep me"
    assert result.record.details["quarantined"] == [str(_bundle_dir(zl) / ".quarantine" / "my-notes")]


def test_an_ingestion_a_restored_database_forgot_is_kept(zl: Catalog):
    import shutil

    db = zl.root / "catalog.sqlite"
    backup = db.read_bytes()
    newer = zl.ingest("zl", progress=False).id
    db.write_bytes(backup)  # an older catalog.sqlite restored: it does not know `newer`
    zl.ingest("zl", progress=False)
    assert (_bundle_dir(zl) / ".quarantine" / newer / "manifest.json").exists()
    shutil.rmtree(_bundle_dir(zl) / ".quarantine")


def test_clean_leaves_an_ingestion_an_open_bundle_reads(zl: Catalog):
    old = zl.bundle("zl")
    expected = old.bars("AAPL")
    zl.ingest("zl", progress=False)
    assert zl.clean("zl", keep_last=1) == []  # the open bundle holds its ingestion
    assert old.bars("AAPL").equals(expected)
    assert ParquetDailyBarReader(old).load_raw_arrays(["close"], old.start, old.end, old.sids)[0].shape[1] == 4
    old_id = old.ingestion_id
    del old
    gc.collect()
    assert zl.clean("zl", keep_last=1) == [old_id]


def test_ctrl_c_while_writing_leaves_no_staging_and_raises_once(zl: Catalog, monkeypatch):
    live = zl.live_ingestion("zl").id
    real = ingest_module.write_bars

    def interrupted(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest_module, "write_bars", interrupted)
    with pytest.raises(KeyboardInterrupt):
        zl.ingest("zl", progress=False)
    assert zl.live_ingestion("zl").id == live
    assert not any((_bundle_dir(zl) / ".staging").iterdir())
    assert sorted(p.name for p in _bundle_dir(zl).iterdir() if not p.name.startswith(".")) == [live]


def test_a_failure_right_after_the_rename_leaves_no_orphan(zl: Catalog, monkeypatch):
    live = zl.live_ingestion("zl").id

    def fail(*args, **kwargs):
        raise RuntimeError("disk went away")

    monkeypatch.setattr(zl.store, "commit_ingestion", fail)
    with pytest.raises(Exception, match="disk went away"):
        zl.ingest("zl", progress=False)
    assert sorted(p.name for p in _bundle_dir(zl).iterdir() if not p.name.startswith(".")) == [live]


def test_an_interrupt_after_the_commit_says_the_new_ingestion_is_live(zl: Catalog, monkeypatch, caplog):
    real = zl.store.commit_ingestion

    def commit_then_interrupt(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(zl.store, "commit_ingestion", commit_then_interrupt)
    before = zl.live_ingestion("zl").id
    with pytest.raises(KeyboardInterrupt):
        zl.ingest("zl", progress=False)
    now = zl.live_ingestion("zl").id
    assert now != before and (_bundle_dir(zl) / now / "manifest.json").exists()
    assert "it is live" in caplog.text and "stays live" not in caplog.text


def test_clean_without_options_removes_leftovers(zl: Catalog):
    from rustybt.cli import main

    leftover = _bundle_dir(zl) / ".staging" / "2020-01-01T00-00-00.000000Z"
    leftover.mkdir(parents=True)
    (leftover / "part.parquet").write_bytes(b"x")
    assert main(["--root", str(zl.root), "clean", "zl"]) == 0
    assert not leftover.exists()


def test_readers_during_ingest_and_clean_loops_never_fail(zl: Catalog):
    """Readers open the live bundle and read it (bars, and the wide reads the pipeline makes) while another
    thread re-ingests and cleans in a loop: zero errors."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer():
        try:
            while not stop.is_set():
                zl.ingest("zl", progress=False)
                zl.clean("zl", keep_last=1)
        except BaseException as exc:
            errors.append(exc)

    def reader():
        try:
            while not stop.is_set():
                bundle = zl.bundle("zl")
                assert bundle.bars("KO").height == 754
                arr = ParquetDailyBarReader(bundle).load_raw_arrays(["close"], bundle.start, bundle.end, bundle.sids)
                assert np.isfinite(arr[0]).sum() == 4 * 754
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(4)
    stop.set()
    for t in threads:
        t.join(60)
    import traceback

    assert errors == [], "".join(traceback.format_exception(errors[0]))
    assert len(zl.ingestions("zl")) >= 1
