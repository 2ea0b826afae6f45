"""A real IPython shell for testing magics and HTML views (jupysql's TestingShell pattern).

:class:`TestingShell` is an :class:`~IPython.core.interactiveshell.InteractiveShell` whose ``run_cell`` raises the
cell's error, so a broken magic fails the test instead of printing a traceback nobody reads. RustyBT's own notebook
tests use it; so can a user's tests of their research notebooks::

    from rustybt.testing import ipython_shell

    ip = ipython_shell()                       # %load_ext rustybt already done
    ip.run_cell("%rustybt bundles")            # raises if the magic fails
    html = ip.display_formatter.format(obj)[0]["text/html"]

This module imports IPython; it is loaded only when one of its names is used.
"""

from __future__ import annotations

from typing import Any

from IPython.core.interactiveshell import InteractiveShell

__all__ = ["TestingShell", "ipython_shell"]


class TestingShell(InteractiveShell):
    """An InteractiveShell whose :meth:`run_cell` raises the error of a failing cell."""

    __test__ = False  # a library class, not a pytest test class

    def run_cell(self, *args: Any, **kwargs: Any) -> Any:
        """Run a cell like IPython does; raise its error (after IPython recorded it) if it failed."""
        result = super().run_cell(*args, **kwargs)
        result.raise_error()
        return result


def ipython_shell(*, load_extension: bool = True) -> TestingShell:
    """The process's :class:`TestingShell` (IPython keeps one shell per process), with ``%load_ext rustybt`` done
    unless ``load_extension`` is false."""
    shell = TestingShell.instance()
    if load_extension:
        shell.run_line_magic("load_ext", "rustybt")
    return shell
