"""One catalog with the shipped sample bundles, ingested once per test session (read-only for the tests)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sample_catalog(tmp_path_factory):
    from rustybt import Catalog
    from rustybt.sample import register_sample

    catalog = Catalog(root=tmp_path_factory.mktemp("algo-catalog"))
    register_sample(catalog)
    catalog.ingest("sample", progress=False)
    catalog.ingest("sample_crypto", progress=False)
    catalog.ingest("sample_futures", progress=False)
    return catalog
