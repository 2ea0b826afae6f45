"""Fixtures of the legacy-format tests (paths and expectations are in _legacy_data.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _legacy_data import INGESTION


@pytest.fixture
def ingestion_copy(tmp_path: Path) -> Path:
    """A writable copy of the csvdir ingestion (for damaging it)."""
    target = tmp_path / "zipline" / "csvdir" / "2024-01-05T10;00;00.000000"
    shutil.copytree(INGESTION, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target
