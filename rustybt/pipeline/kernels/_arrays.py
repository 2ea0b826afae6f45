"""Input arrays for the column-wise (rolling) kernels."""

from __future__ import annotations

import numpy as np

__all__ = ["as_float_columns"]


def as_float_columns(data, name: str = "data") -> np.ndarray:
    """``data`` as a float64 2-D ``(n_dates, n_assets)`` array whose asset columns are contiguous.

    F-ordered arrays and row slices of them (what the engine passes when a term needs fewer lookback rows than its
    input was loaded with) are returned as they are: the kernels walk each column top to bottom and only need each
    column contiguous, so copying a 50 MB slice into a fresh F-ordered array would be pure overhead. Anything else
    is copied to F order.
    """
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_dates, n_assets) array, got shape {arr.shape}")
    if arr.strides[0] == arr.itemsize and arr.strides[1] >= arr.shape[0] * arr.itemsize:
        return arr
    return np.asfortranarray(arr)
