"""The panel in a real JupyterLab, driven in Debian's chromium by Playwright (one JupyterLab start for every check).

Nothing downloads a browser: Playwright launches ``/usr/bin/chromium`` (``RUSTYBT_CHROMIUM`` overrides the path).
Without a chromium the test is skipped with a message, except under CI (``CI`` set), where it fails. Screenshots
(light and dark theme) and the measured times go to ``tests/jupyter/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rustybt import Catalog
from rustybt.sample import SAMPLE_BUNDLES

ARTIFACTS = Path(__file__).parent / "artifacts"
TOKEN = "rustybt-ui-test-token"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _chromium() -> str:
    path = os.environ.get("RUSTYBT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if Path(path).exists():
        return path
    message = f"no chromium at {path}: install Debian's chromium (apt-get install chromium) to run the UI test"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set: the UI test must run)")
    pytest.skip(message)


def _wide_bundle(catalog_root: Path, work: Path, n_assets: int = 3000) -> None:
    """Bundle ``wide``: ``n_assets`` equities x 60 XNYS sessions from one CSV with a symbol column (seconds)."""
    import exchange_calendars as xcals
    import numpy as np
    import pandas as pd

    from rustybt.data.adapters.csv import CSVAdapter

    sessions = xcals.get_calendar("XNYS").sessions_in_range("2024-01-02", "2024-03-28")
    close = 10 + np.random.default_rng(0).random(n_assets * len(sessions)) * 5
    frame = pd.DataFrame(
        {
            "date": np.tile(sessions.strftime("%Y-%m-%d"), n_assets),
            "symbol": np.repeat([f"W{i:04d}" for i in range(n_assets)], len(sessions)),
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": 1000,
        }
    )
    frame.to_csv(work / "wide.csv", index=False)
    catalog = Catalog(catalog_root)
    catalog.register("wide", adapter=CSVAdapter(work / "wide.csv", symbol_column="symbol"), calendar="XNYS")
    catalog.ingest("wide", progress=False)


def _broken_bundle(catalog_root: Path, work: Path) -> None:
    """Bundle ``zl`` (strict validation) ingested from the zipline csvdir; then KO.csv gets a high below its low."""
    from rustybt.data.adapters.csv import CSVAdapter

    source = work / "csvdir"
    shutil.copytree(Path(__file__).parents[1] / "resources" / "zipline-csvdir", source)
    catalog = Catalog(catalog_root)
    catalog.register("zl", adapter=CSVAdapter.from_csvdir(source), calendar="XNYS", validation="strict")
    catalog.ingest("zl", progress=False)
    path = source / "daily" / "KO.csv"
    lines = path.read_text().splitlines()
    date, open_, high, low, close, *rest = lines[5].split(",")
    lines[5] = ",".join([date, open_, low, high, close, *rest])
    path.write_text("\n".join(lines) + "\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, sample_catalog_root):
    """JupyterLab on a free localhost port over a copy of the sample catalog plus a 3,000-asset bundle ``wide``."""
    chromium = _chromium()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        message = "the UI test needs the playwright package (the dev extra: pip install -e '.[dev]')"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: the UI test must run)")
        pytest.skip(message)
    work = tmp_path_factory.mktemp("lab")
    catalog = work / "catalog"
    shutil.copytree(sample_catalog_root, catalog)
    (work / "notebooks").mkdir()
    news = work / "lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false"}))  # no "Jupyter news?" toast over the screenshots
    port = _free_port()
    env = {
        **os.environ,
        "RUSTYBT_DATA_DIR": str(catalog),
        "RUSTYBT_OFFLINE": "1",
        "JUPYTER_CONFIG_DIR": str(work / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(work / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(work / "lab-workspaces"),
    }
    log = (work / "lab.log").open("w")
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        "--allow-root",  # CI containers run as root
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={work / 'notebooks'}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        _wide_bundle(catalog, work)  # while JupyterLab starts
        _broken_bundle(catalog, work)
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"jupyter lab exited ({proc.returncode}):\n{(work / 'lab.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - started > 90:
                raise AssertionError(f"jupyter lab did not answer in 90 s:\n{(work / 'lab.log').read_text()}")
            time.sleep(0.25)
        yield {
            "base": base,
            "chromium": chromium,
            "catalog": catalog,
            "work": work,
            "start_s": time.monotonic() - started,
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _put_theme(base: str, theme: str) -> None:
    """Set the theme through JupyterLab's settings API (as the Settings menu does)."""
    body = json.dumps({"raw": json.dumps({"theme": theme})}).encode()
    request = urllib.request.Request(
        f"{base}/lab/api/settings/@jupyterlab/apputils-extension:themes?token={TOKEN}",
        data=body,
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 204


def test_panel_in_a_real_browser(lab):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    figures: dict[str, float] = {"lab_start_s": round(lab["start_s"], 2)}
    t_test = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=lab["chromium"], headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 850})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{lab['base']}/lab?token={TOKEN}")
            tab = page.locator('.jp-SideBar [data-id="rustybt-catalog"]')
            expect(tab).to_be_visible(timeout=60_000)

            # the panel opens and lists the sample bundles
            t0 = time.monotonic()
            tab.click()
            bundles = page.locator(".rbt-bundle")
            expect(bundles).to_have_count(len(SAMPLE_BUNDLES) + 2, timeout=20_000)
            figures["panel_list_s"] = round(time.monotonic() - t0, 3)
            names = bundles.evaluate_all("nodes => nodes.map(n => n.dataset.bundle)")
            assert sorted(names) == sorted([*SAMPLE_BUNDLES, "wide", "zl"])
            summary = Catalog(lab["catalog"]).summary().filter(bundle="sample").row(0, named=True)
            quality = "error" if summary["errors"] else "warning" if summary["warnings"] or summary["dropped"] else "ok"
            expect(page.locator('.rbt-bundle[data-bundle="sample"] .rbt-badge')).to_have_text(quality)
            expect(page.locator('.rbt-bundle[data-bundle="sample"]')).to_contain_text("30 assets")
            page.screenshot(path=ARTIFACTS / "panel-light.png")

            # the 3,000-asset bundle opens to its first page of 50; the next page follows
            t0 = time.monotonic()
            page.locator('.rbt-bundle[data-bundle="wide"]').click()
            expect(page.locator(".rbt-range")).to_have_text("1–50 of 3,000", timeout=20_000)
            figures["wide_first_page_s"] = round(time.monotonic() - t0, 3)
            assert page.locator(".rbt-asset-row").count() == 50
            t0 = time.monotonic()
            page.locator('[data-action="next"]').click()
            expect(page.locator(".rbt-range")).to_have_text("51–100 of 3,000", timeout=20_000)
            figures["wide_next_page_s"] = round(time.monotonic() - t0, 3)
            expect(page.locator(".rbt-asset-row").first).to_have_attribute("data-symbol", "W0050")
            page.locator('[data-action="back"]').click()

            # a re-ingest that fails validation: the report's summary is shown and the live ingestion stays
            live = Catalog(lab["catalog"]).live_ingestion("zl").id
            page.locator('.rbt-bundle[data-bundle="zl"]').click()
            page.locator('[data-action="ingest"]').click()
            failed = page.locator('.rbt-status .rbt-job[data-state="failed"]')
            expect(failed).to_contain_text(f"ingestion {live} stays live", timeout=60_000)
            expect(failed.locator("pre.rbt-report")).to_contain_text("FAILED")
            expect(failed.locator("pre.rbt-report")).to_contain_text("KO")
            assert Catalog(lab["catalog"]).live_ingestion("zl").id == live
            page.screenshot(path=ARTIFACTS / "ingest-failed-light.png")
            page.locator('[data-action="back"]').click()

            # a bundle opens to its ingestions and a paged asset list; the search finds an asset
            t0 = time.monotonic()
            page.locator('.rbt-bundle[data-bundle="sample"]').click()
            rows = page.locator(".rbt-asset-row")
            expect(rows).to_have_count(30, timeout=20_000)
            figures["bundle_assets_s"] = round(time.monotonic() - t0, 3)
            expect(page.locator(".rbt-ingestions summary")).to_have_text("Ingestions (1)")
            expect(page.locator(".rbt-range")).to_have_text("1–30 of 30")
            page.locator(".rbt-search").fill("aap")
            expect(rows).to_have_count(1)
            expect(rows.first).to_have_attribute("data-symbol", "AAPL")

            # an asset shows a small chart
            rows.first.click()
            expect(page.locator(".rbt-asset .rbt-sparkline path")).to_have_count(1, timeout=20_000)
            page.screenshot(path=ARTIFACTS / "bundle-light.png")

            # verify, with the answer shown in the panel
            page.locator('[data-action="verify"]').click()
            expect(page.locator(".rbt-status .rbt-ok")).to_contain_text("all checksums match", timeout=20_000)

            # open chart: a main-area panel
            page.locator('[data-action="open-chart"]').click()
            expect(page.locator(".rbt-chart-panel svg path.rbt-line")).to_have_count(1, timeout=10_000)
            page.screenshot(path=ARTIFACTS / "chart-light.png")

            # insert code: no notebook is open, so a new one is created; the inserted cell runs
            page.locator('[data-action="insert-asset-bars"]').click()
            editor = page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first
            expect(editor).to_contain_text('catalog.bundle("sample").bars(["AAPL"]', timeout=30_000)
            # the kernel is up (the status bar says Idle) before the cell is run with Shift+Enter
            expect(page.locator(".jp-StatusBar-Widget", has_text="| Idle")).to_have_count(1, timeout=120_000)
            editor.click()
            t0 = time.monotonic()
            page.keyboard.press("Shift+Enter")
            prompt = page.locator(".jp-NotebookPanel .jp-InputPrompt").first
            expect(prompt).not_to_have_text(re.compile(r"^\[ \]:$"), timeout=10_000)  # queued or run: [*] / [1]
            output = page.locator(".jp-NotebookPanel .jp-OutputArea-output").first
            expect(output).to_contain_text("AAPL", timeout=120_000)
            figures["cell_run_s"] = round(time.monotonic() - t0, 3)
            start, end = re.search(r'start="([0-9-]+)", end="([0-9-]+)"', editor.inner_text()).groups()
            expected = Catalog(lab["catalog"]).bundle("sample").bars(["AAPL"], start=start, end=end)
            expect(output).to_contain_text(f"shape: ({expected.height}, 8)")
            assert page.locator(".jp-NotebookPanel .jp-OutputArea-output[data-mime-type*='error']").count() == 0
            page.screenshot(path=ARTIFACTS / "notebook-light.png")

            # re-ingest: progress polled from the job API, then the new ingestion is live and listed
            page.locator('[data-action="ingest"]').click()
            job = page.locator('.rbt-status .rbt-job[data-state="succeeded"]')
            expect(job).to_contain_text("is live", timeout=60_000)
            expect(page.locator(".rbt-ingestions summary")).to_have_text("Ingestions (2)")
            assert len(Catalog(lab["catalog"]).ingestions("sample")) == 2
            page.screenshot(path=ARTIFACTS / "ingest-light.png")

            # the dark theme: the panel follows JupyterLab's CSS variables
            _put_theme(lab["base"], "JupyterLab Dark")
            page.reload()
            expect(page.locator("body[data-jp-theme-light='false']")).to_have_count(1, timeout=60_000)
            content = page.locator(".rbt-bundle, .rbt-detail").first
            try:  # the layout restorer reopens the panel after the reload
                expect(content).to_be_visible(timeout=10_000)
            except AssertionError:
                page.locator('.jp-SideBar [data-id="rustybt-catalog"]').click()
                expect(content).to_be_visible(timeout=20_000)
            background = page.locator(".rbt-panel").evaluate("n => getComputedStyle(n).backgroundColor")
            assert background != "rgb(255, 255, 255)", background
            page.screenshot(path=ARTIFACTS / "panel-dark.png")
            assert not errors, errors
        finally:
            browser.close()
    figures["ui_test_s"] = round(time.monotonic() - t_test, 2)
    (ARTIFACTS / "ui-figures.json").write_text(json.dumps(figures, indent=2) + "\n")
