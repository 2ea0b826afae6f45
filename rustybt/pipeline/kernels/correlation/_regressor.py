"""Input checks shared by the correlation wrappers: a target and a one-series or asset-wise regressor."""

from __future__ import annotations

import numpy as np

from rustybt.pipeline.kernels._adjust import Adjustments
from rustybt.pipeline.kernels._arrays import as_float_columns, window_length

__all__ = ["prepare"]


def prepare(target, regressor, wl, minimum: int, name: str, target_adjustments, regressor_adjustments):
    """(target, regressor as 2-D F-ordered, window length, target record, regressor record), all checked."""
    target = as_float_columns(target, "target")
    n, m = target.shape
    reg = np.asarray(regressor, dtype=np.float64)
    if reg.ndim == 1:
        reg = reg.reshape(-1, 1)
    if reg.ndim != 2 or reg.shape[0] != n or reg.shape[1] not in (1, m):
        raise ValueError(
            f"{name}: regressor must have shape ({n},), ({n}, 1) or ({n}, {m}) to match target, got {reg.shape}"
        )
    reg = as_float_columns(reg, "regressor")
    wl = window_length(wl, minimum, "window_length", rows=n, what=name)
    ta = Adjustments.coerce(target_adjustments, m, "target_adjustments")
    ra = Adjustments.coerce(regressor_adjustments, reg.shape[1], "regressor_adjustments")
    return target, reg, wl, ta, ra
