"""pandas objects for the history hot paths, built on pandas' own blocks without re-validating their parts.

``pd.Series(values, index=...)`` and ``pd.DataFrame(values, index=..., columns=...)`` check and convert every
argument, which costs 3-10x the rest of a 20-bar history call. The callers here already hold a fresh float64 array
and a ready ``DatetimeIndex`` / column ``Index``, so the block and manager are built directly; the results are
ordinary Series and DataFrames (tests/data/readers/test_data_portal_frames.py and tests/algorithm check that). A
pandas without these internals takes the public constructors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

try:
    from pandas._libs.internals import BlockPlacement
    from pandas.core.internals import BlockManager, SingleBlockManager
    from pandas.core.internals.blocks import NumpyBlock
except ImportError:  # pragma: no cover - a pandas without these internals takes the public path
    NumpyBlock = None

__all__ = ["datetime_index", "frame", "series"]

_DTI_new = pd.DatetimeIndex._simple_new
_set_attr = object.__setattr__


def datetime_index(values: np.ndarray, dtype) -> pd.DatetimeIndex:
    """A DatetimeIndex over ``values`` (``datetime64[ns]``, sorted, no copy) of ``dtype`` (e.g. ``UTC``-aware)."""
    return _DTI_new(pd.arrays.DatetimeArray._simple_new(values, dtype=dtype))


def series(values: np.ndarray, index: pd.Index, name) -> pd.Series:
    """A Series over ``values`` (a fresh 1-D float64 array, kept) and ``index`` (of the same length)."""
    if NumpyBlock is None:  # pragma: no cover
        return pd.Series(values, index=index, name=name, copy=False)
    mgr = SingleBlockManager(NumpyBlock(values, BlockPlacement(slice(0, len(values))), 1), index)
    s = pd.Series._from_mgr(mgr, axes=mgr.axes)
    _set_attr(s, "_name", name)  # NDFrame.__setattr__ costs more than the rest of the construction
    return s


def frame(columns_by_row: np.ndarray, index: pd.Index, columns: pd.Index) -> pd.DataFrame:
    """A DataFrame of one float64 block: ``columns_by_row[j]`` is column ``columns[j]`` over ``index`` (kept)."""
    if NumpyBlock is None:  # pragma: no cover
        return pd.DataFrame(columns_by_row.T, index=index, columns=columns, copy=False)
    block = NumpyBlock(columns_by_row, BlockPlacement(slice(0, len(columns))), 2)
    mgr = BlockManager((block,), [columns, index], verify_integrity=False)
    return pd.DataFrame._from_mgr(mgr, axes=mgr.axes)
