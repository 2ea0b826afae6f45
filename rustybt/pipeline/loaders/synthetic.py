"""In-memory loaders for tests and small studies."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rustybt.pipeline.errors import UnknownColumn
from rustybt.pipeline.loaders.frame import DataFrameLoader

__all__ = ["PrecomputedLoader"]


class PrecomputedLoader:
    """Serve several columns from precomputed values (no shift, no adjustments unless given).

    Parameters
    ----------
    constants
        ``{column: value}`` where value is a scalar (broadcast), a DataFrame (dates x sids) or a 2-D array
        aligned to ``dates`` x ``sids``.
    dates, sids
        Labels for scalar/array values.
    adjustments
        Optional ``{column: adjustments frame}`` (see :class:`DataFrameLoader`).
    """

    def __init__(self, constants: Mapping, dates, sids, adjustments: Mapping | None = None) -> None:
        dates = pd.DatetimeIndex(dates)
        sids = pd.Index([int(s) for s in sids], dtype="int64")
        adjustments = dict(adjustments or {})
        self._loaders = {}
        for column, value in constants.items():
            if isinstance(value, pd.DataFrame):
                frame = value
            else:
                arr = np.asarray(value)
                if arr.ndim == 0:
                    arr = np.full((len(dates), len(sids)), value, dtype=column.dtype)
                frame = pd.DataFrame(arr, index=dates, columns=sids)
            self._loaders[column.unspecialize()] = DataFrameLoader(column, frame, adjustments.get(column))

    def load_adjusted_array(self, domain, columns, dates, sids, mask) -> dict:
        out = {}
        for column in columns:
            loader = self._loaders.get(column.unspecialize())
            if loader is None:
                raise UnknownColumn(f"PrecomputedLoader has no data for {column!r}")
            out.update(loader.load_adjusted_array(domain, [column], dates, sids, mask))
        return out
