"""Input checks shared by the cross-sectional wrappers: data, optional mask and optional group labels."""

from __future__ import annotations

import numpy as np

from rustybt.pipeline.kernels import _pool

__all__ = ["alloc_like", "prepare"]

# Placeholders for "no mask" / "no groups": F-ordered like real inputs, so both cases share one compiled kernel.
_DUMMY_MASK = np.ones((2, 2), dtype=np.bool_, order="F")
_DUMMY_GROUPS = np.zeros((2, 2), dtype=np.int64, order="F")


def prepare(data, mask, groups):
    """(data F-ordered, mask, use_mask, groups int64, use_groups) with placeholders for what is not given."""
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"data must be a 2-D (n_dates, n_assets) array, got shape {arr.shape}")
    arr = np.asfortranarray(arr)
    if mask is None:
        mask_arr, use_mask = _DUMMY_MASK, False
    else:
        mask_arr = np.asarray(mask)
        if mask_arr.shape != arr.shape or mask_arr.dtype != np.bool_:
            raise ValueError(
                f"mask must be a boolean array of shape {arr.shape}, got {mask_arr.dtype} {mask_arr.shape}"
            )
        mask_arr, use_mask = np.asfortranarray(mask_arr), True
    if groups is None:
        groups_arr, use_groups = _DUMMY_GROUPS, False
    else:
        groups_arr = np.asarray(groups)
        if groups_arr.shape != arr.shape or groups_arr.dtype.kind not in "iu":
            raise ValueError(
                f"groups must be an integer array of shape {arr.shape} (-1 = no group), got "
                f"{groups_arr.dtype} {groups_arr.shape}"
            )
        groups_arr, use_groups = np.asfortranarray(groups_arr, dtype=np.int64), True
    return arr, mask_arr, use_mask, groups_arr, use_groups


def alloc_like(arr: np.ndarray, dtype=np.float64) -> np.ndarray:
    return _pool.empty(arr.shape, dtype)
