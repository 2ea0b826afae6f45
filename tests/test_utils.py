"""rustybt._utils.lazy_exports: a package's names imported on first use, through one helper."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_names_load_on_first_use_and_stay(tmp_path: Path):
    package = tmp_path / "lazypkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            from rustybt._utils import lazy_exports

            __getattr__, __dir__ = lazy_exports(__name__, {"VALUE": ".heavy", "dumps": "json"})
            """
        )
    )
    (package / "heavy.py").write_text("VALUE = 42\n")
    code = textwrap.dedent(
        """
        import sys
        import lazypkg
        assert "lazypkg.heavy" not in sys.modules            # nothing imported yet
        assert {"VALUE", "dumps"} <= set(dir(lazypkg))
        assert lazypkg.VALUE == 42 and "lazypkg.heavy" in sys.modules
        assert "VALUE" in vars(lazypkg)                      # kept: later lookups are plain attributes
        from lazypkg import dumps                            # an absolute module path
        assert dumps([1]) == "[1]"
        try:
            lazypkg.missing
        except AttributeError as exc:
            assert "module 'lazypkg' has no attribute 'missing'" in str(exc)
        else:
            raise AssertionError("no AttributeError")
        """
    )
    env_path = f"{tmp_path}:{Path(__file__).resolve().parents[1]}"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": env_path}, check=False
    )
    assert result.returncode == 0, result.stderr


def test_rustybt_testing_exports_lazily():
    code = (
        "import sys, rustybt.testing as t; "
        "assert 'rustybt.testing.pit' not in sys.modules and 'ccxt' not in sys.modules; "
        "assert t.point_in_time_reference.__module__ == 'rustybt.testing.pit'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
