"""The notebook face of RustyBT: plotly charts, ipywidgets browsers and the ``%rustybt`` magics.

Nothing here is imported by ``import rustybt``. The submodules load their heavy dependencies only when used:
:mod:`~rustybt.notebook.plots` imports plotly, :mod:`~rustybt.notebook.widgets` ipywidgets and
:mod:`~rustybt.notebook.magics` IPython. The HTML views are not here: every object renders itself with
:mod:`rustybt._html` (below every layer), so they look the same whether or not the extension is loaded.

Load the magics with ``%load_ext rustybt`` (or ``%load_ext rustybt.notebook.magics``).
"""

from __future__ import annotations

__all__ = ["load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: object) -> None:
    """Register the ``%rustybt`` magics (``%load_ext rustybt.notebook``)."""
    from rustybt.notebook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """Remove the ``%rustybt`` magics."""
    from rustybt.notebook.magics import unload_ipython_extension as unload

    unload(ipython)
