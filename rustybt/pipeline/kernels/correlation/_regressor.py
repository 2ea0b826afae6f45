"""Input checks shared by the correlation wrappers: a target and a one-series or asset-wise regressor."""

from __future__ import annotations

import numpy as np

from rustybt.pipeline.kernels._adjust import Adjustments
from rustybt.pipeline.kernels._arrays import alloc_out, as_float_columns, window_length

__all__ = ["one_output", "prepare"]


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


def one_output(kernel, name: str, minimum: int, target, regressor, wl, target_adjustments, regressor_adjustments,
               *params):  # fmt: skip
    """Run ``kernel(target, regressor, wl, target record, regressor record, out, *params)`` into a fresh NaN-filled
    output after :func:`prepare`: the body of the one-output correlation wrappers. A callable parameter is called
    with the validated window length (SimpleBeta's allowed missing rows depend on it)."""
    target, reg, wl, ta, ra = prepare(target, regressor, wl, minimum, name, target_adjustments, regressor_adjustments)
    out = alloc_out(target.shape[0], wl, target.shape[1], np.nan)
    kernel(target, reg, wl, ta, ra, out, *(p(wl) if callable(p) else p for p in params))
    return out
