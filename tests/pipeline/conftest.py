"""Fixtures for the pipeline API/engine tests (helpers live in ``_world.py``)."""

from __future__ import annotations

import pytest
from _world import World, make_world


@pytest.fixture(scope="session")
def world() -> World:
    return make_world()
