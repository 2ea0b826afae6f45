"""The notebook examples of the docs pages run as written, in the testing shell (magics included).

Each page's ```python blocks run in order in one namespace; a page may use the names a notebook of the examples
would have imported (``PRELUDE``). The catalog is the default one, pointed at a temporary RUSTYBT_DATA_DIR.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["notebook.md", "factor_analysis.md"]
PRELUDE = """
from rustybt import Catalog
from rustybt.notebook.builder import PipelineBuilder
from rustybt.notebook.widgets import BundleBrowser, PipelineExplorer

catalog = Catalog()
"""


def blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page, tmp_path, monkeypatch):
    from rustybt.testing import ipython_shell

    monkeypatch.setenv("RUSTYBT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RUSTYBT_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("RUSTYBT_OFFLINE", "1")
    shell = ipython_shell()
    magics = shell.magics_manager.registry["RustyBTMagics"]
    magics.catalog_root, magics.default_bundle = "", ""
    magics._catalog = None
    before = set(shell.user_ns)
    try:
        shell.run_cell(PRELUDE)
        if page != "notebook.md":  # the other pages start from an ingested sample
            shell.run_cell("%rustybt ingest sample")
        found = blocks(page)
        assert found, f"{page} has no python examples"
        for block in found:
            shell.run_cell(block)  # raises on error (TestingShell)
    finally:
        for name in set(shell.user_ns) - before:
            del shell.user_ns[name]
        magics._catalog = None
