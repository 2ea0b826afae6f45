"""Fixtures of the notebook-layer tests: a real IPython shell and a catalog with the sample data ingested once.

The shell is :class:`rustybt.testing.TestingShell` (jupysql's pattern: ``run_cell`` raises the cell's error, so a
broken magic fails the test instead of printing a traceback nobody reads).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory):
    """A catalog root holding the ``sample`` and ``sample_crypto`` bundles (ingested once per session).

    Tests must not change it; a test that ingests uses its own root.
    """
    root = tmp_path_factory.mktemp("sample-catalog")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RUSTYBT_CONFIG", str(root / "no-config.yaml"))
        mp.delenv("RUSTYBT_CACHE_DIR", raising=False)
        from rustybt import Catalog
        from rustybt.sample import register_sample

        catalog = Catalog(root=root)
        register_sample(catalog)
        for name in ("sample", "sample_crypto"):
            catalog.ingest(name, progress=False)
    return root


@pytest.fixture
def sample_catalog(sample_root):
    from rustybt import Catalog

    return Catalog(root=sample_root)


@pytest.fixture
def ip(sample_root):
    """The testing shell with ``%load_ext rustybt`` done and the magics pointed at the sample catalog."""
    from rustybt.testing import ipython_shell

    shell = ipython_shell()
    magics = shell.magics_manager.registry["RustyBTMagics"]
    magics.catalog_root = str(sample_root)
    magics.default_bundle = ""
    before = set(shell.user_ns)
    yield shell
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]
    magics.catalog_root = ""
    magics.default_bundle = ""
    magics.max_candles = 2000


@pytest.fixture
def magics(ip):
    return ip.magics_manager.registry["RustyBTMagics"]


def read_sample_csv(symbol: str, folder: str = "equities/daily") -> list[dict[str, str]]:
    """Rows of a shipped sample CSV file, read with the csv module (an expectation independent of RustyBT)."""
    with open(SAMPLE / folder / f"{symbol}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def sample_csv():
    return read_sample_csv
