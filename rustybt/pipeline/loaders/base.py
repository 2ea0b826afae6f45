"""The loader protocol: how the engine obtains data for :class:`~rustybt.pipeline.data.BoundColumn` terms.

.. code-block:: python

    class PipelineLoader(Protocol):
        def load_adjusted_array(
            self,
            domain: Domain,
            columns: Sequence[BoundColumn],
            dates: pd.DatetimeIndex,
            sids: np.ndarray,
            mask: np.ndarray,
        ) -> dict[BoundColumn, AdjustedArray]: ...

The engine calls ``load_adjusted_array`` once per loader and run, for all the columns it serves, over the longest
lookback any of them needs (columns needing fewer rows get row slices of the result), and expects one
:class:`~rustybt.pipeline.adjusted_array.AdjustedArray` per requested column (keys: exactly the ``columns`` objects
it passed; they are already specialized to ``domain``).

Arguments
---------
``domain``
    The concrete :class:`~rustybt.pipeline.domain.Domain` being run (its calendar: ``domain.sessions()``).
``columns``
    The columns to load, e.g. ``USEquityPricing.close``. ``column.name``, ``column.dtype``,
    ``column.missing_value`` and ``column.dataset`` describe them.
``dates``
    Consecutive sessions of the domain's calendar, tz-naive: the rows to return. They already **include the
    lookback rows** the pipeline needs before its start date, so ``dates[0]`` is usually earlier than the
    pipeline's start date.
``sids``
    int64 array of asset ids, ascending: the columns to return, in this order.
``mask``
    bool array ``(len(dates), len(sids))``: True where the asset is alive (``AssetFinder.lifetimes`` with
    ``include_start_date=False``). Loaders may skip work outside the mask; values there are never used by
    built-in terms but should be ``missing_value``.

Returned AdjustedArray
----------------------
``data`` has shape ``(len(dates), len(sids))``, dtype ``column.dtype`` (float64, int64, bool or datetime64[ns];
string columns: int64 codes with ``categories``), missing entries set to ``column.missing_value``. Adjustments are
the six CSR arrays of :mod:`rustybt.pipeline.kernels._adjust` with rows indexing ``dates``: an adjustment with
``apply_row = k`` is seen by every window whose last row is ``>= k`` and modifies rows
``first_row..last_row`` (inclusive) of its asset column with ``MULTIPLY``/``ADD``/``OVERWRITE`` by ``value``.

Point in time, the one-session shift
------------------------------------
The row for session D must hold what was known **at the start of D**. A pricing loader therefore returns, on the
row labelled D, the bar of the session before D (``close.latest`` on D is D-1's close) -- zipline's
``USEquityPricingLoader`` shift. An adjustment effective on session E (split or dividend ex-date) gets
``apply_row = row(E)`` and ``last_row = row(E)`` (the row holding E-1's bar, the last bar before E), with
``first_row = 0``; windows ending before row(E) see unadjusted prices, windows ending on or after it see every
earlier bar adjusted. Volume gets the inverse split ratio and no dividend adjustment. Nothing is back-adjusted
ahead of time.

:class:`~rustybt.pipeline.loaders.frame.DataFrameLoader` does **not** shift: its baseline is indexed by the date
on which each value becomes known (zipline's semantics).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from rustybt.pipeline.adjusted_array import AdjustedArray
    from rustybt.pipeline.data.dataset import BoundColumn
    from rustybt.pipeline.domain import Domain

__all__ = ["PipelineLoader"]


@runtime_checkable
class PipelineLoader(Protocol):
    """Serves :class:`~rustybt.pipeline.data.BoundColumn` data to the engine (see the module docstring)."""

    def load_adjusted_array(
        self,
        domain: Domain,
        columns: Sequence[BoundColumn],
        dates: pd.DatetimeIndex,
        sids: np.ndarray,
        mask: np.ndarray,
    ) -> dict[BoundColumn, AdjustedArray]:
        """One AdjustedArray of shape ``(len(dates), len(sids))`` per column of ``columns``."""
        ...
