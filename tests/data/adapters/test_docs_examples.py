"""Every Python example of the adapter pages (``docs/adapters/*.md``) runs as written, offline.

The ```` ```python ```` blocks of a page run in order as one program, in a fresh interpreter started from the
repository root (the recipes read ``tests/resources``), with ``RUSTYBT_OFFLINE=0``, a scratch ``HOME`` and real
sockets refused by a ``sitecustomize`` of the run, so a recipe that would touch the network fails instead. A
page whose blocks define ``test_*`` functions runs under pytest. A block that needs the network or a key starts
with a ``# needs: ...`` comment and is left out (nothing else is).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAGES = sorted((ROOT / "docs" / "adapters").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
NO_SOCKETS = """import socket


def _refuse(*args, **kwargs):
    raise OSError("a documentation example tried to use the network")


socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.getaddrinfo = _refuse
"""


def blocks(page: Path) -> tuple[list[str], list[str]]:
    """(blocks to run, blocks marked ``# needs:``) of ``page``."""
    run, skipped = [], []
    for block in BLOCK.findall(page.read_text()):
        first = next((line for line in block.splitlines() if line.strip()), "")
        (skipped if first.lstrip().startswith("# needs:") else run).append(block)
    return run, skipped


def test_every_adapter_page_has_an_offline_recipe():
    vendor_pages = [p for p in PAGES if p.stem in ("alpaca", "alphavantage", "ccxt", "polygon", "yfinance")]
    assert len(vendor_pages) == 5
    for page in vendor_pages:
        run, _ = blocks(page)
        assert run, f"{page.name}: no example runs offline"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_examples_run_offline_as_written(page, tmp_path):
    run, _ = blocks(page)
    if not run:
        pytest.skip(f"{page.name}: every example needs the network")
    program = "\n\n".join(run)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_SOCKETS)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "RUSTYBT_OFFLINE": "0",
        "HOME": str(home),
        "RUSTYBT_CONFIG": str(home / "no-config.yaml"),
        "RUSTYBT_DATA_DIR": str(home / "data"),
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
    }
    if "def test_" in program:
        script = tmp_path / f"test_{page.stem}_examples.py"
        script.write_text(program)
        (tmp_path / "pytest.ini").write_text("[pytest]\n")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            str(script),
        ]
    else:
        script = tmp_path / f"{page.stem}_examples.py"
        script.write_text(program)
        command = [sys.executable, str(script)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{page.name} examples failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
