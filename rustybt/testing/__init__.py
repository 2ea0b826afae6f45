"""Testing kit: what RustyBT's own tests use, shipped so that users can test their research the same way.

* :class:`ReplayTransport` (:mod:`rustybt.testing.replay`): recorded HTTP responses served to a real ccxt
  exchange object in place of its transport; everything above the socket stays ccxt's own code.
  :class:`Urllib3Replay`: the same recorded answers served at urllib3's connection pool (the Polygon SDK).
* :func:`point_in_time_reference`, :func:`adjusted_as_of`, :func:`make_adjustments` (:mod:`rustybt.testing.pit`):
  the brute-force point-in-time reference for window computations over adjusted prices (plain numpy,
  independent of the library's kernels), against which every pipeline kernel is tested.
* :class:`TestingShell`, :func:`ipython_shell` (:mod:`rustybt.testing.shell`): a real IPython shell whose
  ``run_cell`` raises the cell's error, for testing magics and HTML views.

Names are exported lazily (module ``__getattr__``), so ``import rustybt.testing`` imports no test dependency
(ccxt, IPython) until a name that needs it is used.
"""

from __future__ import annotations

from rustybt._utils import lazy_exports

#: Exported name -> the module defining it.
_EXPORTS: dict[str, str] = {
    "ReplayTransport": ".replay",
    "TestingShell": ".shell",
    "Urllib3Replay": ".replay",
    "adjusted_as_of": ".pit",
    "make_adjustments": ".pit",
    "point_in_time_reference": ".pit",
    "ipython_shell": ".shell",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
