"""Every notebook executes headless with nbconvert's default settings (no cell timeout), within a wall-time bound.

nbval runs the notebooks too, but through its own kernel client; `jupyter nbconvert --execute` is what users and
CI scripts run, and it once waited forever after notebook 03's PipelineExplorer cell (a widget output captured
with clear_output(wait=True)).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
WALL_SECONDS = 300  # the slowest (first Numba compiles on a loaded 2-core box) takes about a minute


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_headless(notebook, tmp_path):
    jupyter = Path(sys.executable).with_name("jupyter")
    env = {**os.environ, "RUSTYBT_OFFLINE": "1"}
    try:
        done = subprocess.run(
            [str(jupyter), "nbconvert", "--execute", "--to", "notebook", "--output-dir", str(tmp_path), str(notebook)],
            capture_output=True,
            text=True,
            timeout=WALL_SECONDS,
            cwd=tmp_path,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{notebook.name} did not finish within {WALL_SECONDS} s under jupyter nbconvert --execute")
    assert done.returncode == 0, done.stderr[-3000:]
    executed = json.loads((tmp_path / notebook.name).read_text())
    errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
