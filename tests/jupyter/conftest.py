"""Fixtures of the JupyterLab extension tests: pytest-jupyter's server fixtures and real catalogs.

pytest-jupyter ships no pytest entry point and ``pytest_plugins`` is refused outside the root conftest, so its
fixtures and hooks are imported here: they apply to tests/jupyter only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("jupyter_server", reason="the JupyterLab extension tests need the notebook extra")

from pytest_jupyter.jupyter_server import *  # noqa: F403

RESOURCES = Path(__file__).parents[1] / "resources"


@pytest.fixture(scope="session")
def sample_catalog_root(tmp_path_factory) -> Path:
    """A catalog with the three sample bundles ingested (once per session; tests only read it)."""
    from rustybt import Catalog
    from rustybt.sample import ingest_sample

    root = tmp_path_factory.mktemp("sample-catalog")
    ingest_sample(Catalog(root), progress=False)
    return root


@pytest.fixture
def csv_catalog(tmp_path):
    """A fresh catalog with bundle ``zl`` (the zipline csvdir sample, strict validation) ingested once."""
    from rustybt import Catalog
    from rustybt.data.adapters.csv import CSVAdapter

    source = tmp_path / "csvdir"
    shutil.copytree(RESOURCES / "zipline-csvdir", source)
    catalog = Catalog(tmp_path / "catalog")
    catalog.register("zl", adapter=CSVAdapter.from_csvdir(source), calendar="XNYS", validation="strict")
    catalog.ingest("zl", progress=False)
    catalog.source_dir = source  # where the test may break the source data
    return catalog
