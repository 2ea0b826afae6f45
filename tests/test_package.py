"""Package-level promises: import stays light, public API is exported."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_pull_notebook_libraries():
    code = (
        "import sys, rustybt, rustybt.data.catalog, rustybt.cli; "
        "bad = [m for m in ('IPython', 'ipywidgets', 'plotly') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_public_api():
    import rustybt

    for name in ("Catalog", "Bundle", "Ingestion", "AssetFinder", "load_config", "errors"):
        assert name in rustybt.__all__
        assert hasattr(rustybt, name)
    from rustybt.errors import BundleNotFound, RustyBTError, ValidationError

    assert issubclass(BundleNotFound, RustyBTError) and issubclass(ValidationError, RustyBTError)


def test_test_module_names_are_unique():
    """The test folders have no __init__.py, so pytest imports test modules by basename: two files with one name
    fail to collect whenever one xdist worker gets both (which worker gets which file changes from run to run)."""
    from collections import Counter
    from pathlib import Path

    names = Counter(p.name for p in (Path(__file__).parent).rglob("test_*.py"))
    assert not [n for n, k in names.items() if k > 1]
