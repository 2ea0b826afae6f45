"""Shared fixtures. Every test runs against a fresh catalog root and never reads the user's config."""

from __future__ import annotations

from pathlib import Path

import pytest

RESOURCES = Path(__file__).parent / "resources"
CSVDIR = RESOURCES / "zipline-csvdir"
YAHOO_RAW = RESOURCES / "yahoo-2014-raw"


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("RUSTYBT_CONFIG", str(home / "no-config.yaml"))
    monkeypatch.setenv("RUSTYBT_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("RUSTYBT_OFFLINE", "1")
    monkeypatch.delenv("RUSTYBT_CACHE_DIR", raising=False)
    monkeypatch.delenv("RUSTYBT_CACHE_SIZE_MB", raising=False)


@pytest.fixture
def csvdir() -> Path:
    """The real zipline csvdir sample (AAPL IBM KO MSFT, 2012-2014)."""
    return CSVDIR


@pytest.fixture
def catalog(tmp_path):
    from rustybt import Catalog

    return Catalog(root=tmp_path / "catalog")
