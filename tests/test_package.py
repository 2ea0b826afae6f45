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
