"""After the install (``make``, ``pip install``), Jupyter lists both halves of the extension as enabled."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _jupyter(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "jupyter", *args], capture_output=True, text=True, timeout=120, check=True
    )
    return ANSI.sub("", done.stdout + done.stderr)


def test_labextension_is_installed_and_enabled():
    pytest.importorskip("jupyterlab")
    out = _jupyter("labextension", "list")
    line = next((x for x in out.splitlines() if "rustybt-labextension" in x), None)
    assert line is not None, out
    assert "enabled" in line
    assert "OK" in line


def test_server_extension_is_enabled():
    pytest.importorskip("jupyter_server")
    out = _jupyter("server", "extension", "list")
    assert re.search(r"rustybt\.jupyter\s+enabled", out), out
    assert re.search(r"rustybt\.jupyter\s+OK", out), out
