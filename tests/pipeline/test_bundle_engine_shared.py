"""The public calls reuse one engine per (catalog root, bundle, ingestion): a re-ingest gives a new one, a bound holds.

Real catalog (CSV files ingested into Parquet + SQLite); the expected closes are read back from the CSV files with
pandas alone.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from rustybt import Catalog
from rustybt.data.adapters import CSVAdapter
from rustybt.pipeline import Pipeline, run_chunked_pipeline, run_pipeline
from rustybt.pipeline import bundle_engine as be
from rustybt.pipeline.data import EquityPricing as P

START, END = "2014-06-02", "2014-06-30"


@pytest.fixture(autouse=True)
def _fresh_table():
    be.clear_shared_engines()
    yield
    be.clear_shared_engines()


@pytest.fixture
def source(tmp_path, csvdir):
    directory = tmp_path / "csv"
    shutil.copytree(csvdir, directory)
    return directory


@pytest.fixture
def cat(tmp_path, source):
    catalog = Catalog(root=tmp_path / "catalog")
    catalog.register("b", adapter=CSVAdapter.from_csvdir(source), validation="lenient")
    catalog.ingest("b", progress=False)
    return catalog


def _close(result: pd.DataFrame, symbol: str, day: str) -> float:
    rows = result.xs(pd.Timestamp(day, tz=result.index.get_level_values(0).tz), level=0)
    return float(rows[[a.symbol == symbol for a in rows.index]]["c"].iloc[0])


def test_a_second_call_reuses_the_engine(cat, monkeypatch):
    built = []
    real_build = be._build
    monkeypatch.setattr(be, "_build", lambda *a, **k: built.append(1) or real_build(*a, **k))
    pipe = Pipeline({"c": P.close.latest})
    first = be.shared_engine("b", catalog=cat)
    assert be.shared_engine("b", catalog=cat) is first
    assert be.shared_engine(cat.bundle("b")) is first  # a pinned Bundle of the same ingestion
    # the module-level calls go through the same table
    out1 = run_pipeline(pipe, START, END, bundle=cat.bundle("b"))
    out2 = run_chunked_pipeline(pipe, START, END, 7, bundle=cat.bundle("b"))
    monkeypatch.setenv("RUSTYBT_DATA_DIR", str(cat.root))  # Catalog() is this catalog: a bundle name works too
    out3 = run_pipeline(pipe, START, END, bundle="b")
    assert len(built) == 1 and len(be.shared_engines()) == 1
    pd.testing.assert_frame_equal(out1, out2)
    pd.testing.assert_frame_equal(out1, out3)


def test_a_reingest_gives_a_new_engine_and_new_data(cat, source):
    pipe = Pipeline({"c": P.close.latest})
    old_engine = be.shared_engine("b", catalog=cat)
    before = old_engine.run_pipeline(pipe, START, END, progress=False)

    # change one close in the source and ingest again: the name now means the new ingestion
    path = source / "daily" / "AAPL.csv"
    frame = pd.read_csv(path)
    row = frame.index[frame["date"] == "2014-06-12"][0]
    changed = round(float(frame.loc[row, "low"] + frame.loc[row, "high"]) / 2, 4)  # a valid bar, another close
    frame.loc[row, "close"] = changed
    frame.to_csv(path, index=False)
    cat.ingest("b", progress=False)

    new_engine = be.shared_engine("b", catalog=cat)
    assert new_engine is not old_engine
    assert [k[1] for k in be.shared_engines()] == [cat.bundle("b").ingestion_id]  # the old one was dropped
    after = new_engine.run_pipeline(pipe, START, END, progress=False)
    # the row of 2014-06-13 shows the close of the session before it
    assert _close(after, "AAPL", "2014-06-13") == pytest.approx(changed, rel=1e-6)
    assert _close(before, "AAPL", "2014-06-13") != pytest.approx(changed, rel=1e-6)
    np.testing.assert_array_equal(
        after.xs(pd.Timestamp("2014-06-13", tz=after.index.get_level_values(0).tz), level=0)["c"].to_numpy()[1:],
        before.xs(pd.Timestamp("2014-06-13", tz=before.index.get_level_values(0).tz), level=0)["c"].to_numpy()[1:],
    )


def test_the_bound_holds_and_dropped_engines_are_freed(tmp_path, source, monkeypatch):
    monkeypatch.setattr(be, "MAX_SHARED_ENGINES", 2)
    catalogs = []
    for k in range(3):
        catalog = Catalog(root=tmp_path / f"catalog{k}")
        catalog.register("b", adapter=CSVAdapter.from_csvdir(source), validation="lenient")
        catalog.ingest("b", progress=False)
        catalogs.append(catalog)
    pipe = Pipeline({"c": P.close.latest})
    engines = [be.shared_engine("b", catalog=c) for c in catalogs[:2]]
    engines[0].run_pipeline(pipe, START, END, progress=False)
    be.shared_engine("b", catalog=catalogs[0])  # most recently used now: catalogs[1]'s is the oldest
    engines[1].run_pipeline(pipe, START, END, progress=False)
    be.shared_engine("b", catalog=catalogs[2])
    kept = [k[0] for k in be.shared_engines()]
    assert len(kept) == 2
    assert not any(str(catalogs[1].root.resolve()) in k for k in kept)
    assert engines[1].array_pool.nbytes == 0  # the dropped engine's pool was released
    assert be.shared_engine("b", catalog=catalogs[0]) is engines[0]


def test_a_pinned_older_ingestion_keeps_its_own_engine(cat, source):
    old = cat.bundle("b")
    cat.ingest("b", progress=False)
    live = be.shared_engine("b", catalog=cat)
    pinned = be.shared_engine(old)
    assert pinned is not live
    assert be.shared_engine(old) is pinned and be.shared_engine(cat.bundle("b")) is live  # both kept
    assert len(be.shared_engines()) == 2
