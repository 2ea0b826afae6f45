"""Ingest jobs through the API: progress, success, a validation failure that keeps the live ingestion, conflicts."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from rustybt.data.adapters.csv import CSVAdapter

GATE = threading.Event()


class GatedCSVAdapter(CSVAdapter):
    """The csvdir adapter, holding its first file until the test opens ``GATE`` (a source that is still busy)."""

    name = "test-gated-csv"

    def iter_bars(self, symbols, start_date, end_date, resolution="1d", n_workers=1):
        if not GATE.wait(timeout=60):
            raise TimeoutError("the test never opened the gate")
        yield from super().iter_bars(symbols, start_date, end_date, resolution, n_workers)


@pytest.fixture
def jp_server_config(csv_catalog):
    return {
        "ServerApp": {"jpserver_extensions": {"rustybt.jupyter": True}},
        "RustyBTServer": {"data_dir": str(csv_catalog.root)},
    }


async def call(jp_fetch, *parts, method="GET"):
    response = await jp_fetch(
        "rustybt", "api", *parts, method=method, body=b"" if method == "POST" else None, raise_error=False
    )
    return response.code, json.loads(response.body)


async def wait_for(jp_fetch, job_id, timeout=60.0):
    """Poll a job as the panel does until it ends; returns its last answer."""
    state = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, job = await call(jp_fetch, "jobs", job_id)
        assert code == 200
        state = job["state"]
        if state in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} still {state} after {timeout} s")


async def test_ingest_job_succeeds_with_progress(jp_fetch, csv_catalog):
    live_before = csv_catalog.live_ingestion("zl").id
    code, job = await call(jp_fetch, "bundles", "zl", "ingest", method="POST")
    assert code == 202
    assert job["bundle"] == "zl"
    assert job["live_before"] == live_before
    assert job["state"] in ("queued", "running")
    job = await wait_for(jp_fetch, job["id"])
    assert job["state"] == "succeeded", job["error"]
    assert job["progress"] == {"done": 4, "total": 4}  # AAPL IBM KO MSFT
    new = csv_catalog.live_ingestion("zl")
    assert job["result"]["ingestion"] == new.id != live_before
    assert job["result"]["rows"] == new.rows
    assert job["result"]["assets"] == 4
    assert job["elapsed_s"] > 0
    _, listing = await call(jp_fetch, "bundles")
    assert listing["bundles"][0]["ingestion"] == new.id
    assert listing["jobs"] == []  # no active job left
    _, ingestions = await call(jp_fetch, "bundles", "zl", "ingestions")
    assert [(i["id"], i["live"]) for i in ingestions["ingestions"]] == [(live_before, False), (new.id, True)]


async def test_failed_validation_keeps_the_live_ingestion(jp_fetch, csv_catalog):
    live_before = csv_catalog.live_ingestion("zl").id
    path = csv_catalog.source_dir / "daily" / "KO.csv"
    lines = path.read_text().splitlines()
    date, _open, high, low, close, *rest = lines[5].split(",")
    lines[5] = ",".join([date, _open, low, high, close, *rest])  # high below low: an error under strict validation
    path.write_text("\n".join(lines) + "\n")

    code, job = await call(jp_fetch, "bundles", "zl", "ingest", method="POST")
    assert code == 202
    job = await wait_for(jp_fetch, job["id"])
    assert job["state"] == "failed"
    assert job["result"] is None
    error = job["error"]
    assert error["type"] == "ValidationError"
    assert "KO" in error["message"]
    assert error["report"]["errors"] >= 1
    assert error["report"]["rows_checked"] > 0
    assert "FAILED" in error["report"]["summary"]
    assert csv_catalog.live_ingestion("zl").id == live_before
    _, listing = await call(jp_fetch, "bundles")
    assert listing["bundles"][0]["ingestion"] == live_before
    code, body = await call(jp_fetch, "bundles", "zl", "verify", method="POST")
    assert (code, body["ok"], body["ingestion"]) == (200, True, live_before)


async def test_a_second_ingest_while_one_runs_is_409(jp_fetch, csv_catalog):
    from rustybt import Catalog

    catalog = Catalog(csv_catalog.root)
    catalog.register(
        "slow", adapter=GatedCSVAdapter.from_csvdir(csv_catalog.source_dir), calendar="XNYS", validation="strict"
    )
    code, body = await call(jp_fetch, "bundles", "slow")  # registered, never ingested
    assert (code, body["error"]) == (404, "IngestionNotFound")
    assert "has no ingestion yet" in body["message"]
    _, listing = await call(jp_fetch, "bundles")
    assert {row["bundle"]: row["quality"] for row in listing["bundles"]} == {"slow": "empty", "zl": "ok"}
    GATE.clear()
    try:
        code, first = await call(jp_fetch, "bundles", "slow", "ingest", method="POST")
        assert code == 202
        code, second = await call(jp_fetch, "bundles", "slow", "ingest", method="POST")
        assert code == 409
        assert second["error"] == "JobConflict"
        assert f"bundle 'slow' is already being ingested (job {first['id']}" in second["message"]
        _, listing = await call(jp_fetch, "bundles")
        assert [j["id"] for j in listing["jobs"]] == [first["id"]]  # the panel finds running jobs after a reload
        code, other = await call(jp_fetch, "bundles", "zl", "ingest", method="POST")  # other bundles are free
        assert code == 202
    finally:
        GATE.set()
    done = await wait_for(jp_fetch, first["id"])
    assert done["state"] == "succeeded", done["error"]
    assert done["live_before"] is None
    done = await wait_for(jp_fetch, other["id"])
    assert done["state"] == "succeeded", done["error"]
    code, third = await call(jp_fetch, "bundles", "slow", "ingest", method="POST")  # free again once it ended
    assert code == 202
    await wait_for(jp_fetch, third["id"])


async def test_ingest_of_an_unknown_bundle_is_404(jp_fetch):
    code, body = await call(jp_fetch, "bundles", "nope", "ingest", method="POST")
    assert (code, body["error"]) == (404, "BundleNotFound")
    code, body = await call(jp_fetch, "jobs")
    assert (code, body) == (200, {"jobs": []})


async def test_missing_catalog_root_is_reported(jp_fetch, csv_catalog, tmp_path, jp_web_app):
    from rustybt.jupyter.handlers import CatalogState

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    jp_web_app.settings["rustybt_state"] = CatalogState(str(blocker / "catalog"))
    code, body = await call(jp_fetch, "bundles")
    assert code == 503
    assert body["error"] == "CatalogUnavailable"
    assert str(blocker / "catalog") in body["message"]
