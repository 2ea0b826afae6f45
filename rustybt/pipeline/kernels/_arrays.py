"""Python-side preparation shared by the kernels' wrappers: input arrays, window lengths, adjustments, outputs."""

from __future__ import annotations

import operator

import numpy as np

from rustybt.pipeline.kernels import _pool
from rustybt.pipeline.kernels._adjust import Adjustments

__all__ = ["alloc_out", "as_float_columns", "check_same_shape", "prepare_inputs", "window_length", "window_out"]


def as_float_columns(data, name: str = "data") -> np.ndarray:
    """``data`` as a writable float64 2-D ``(n_dates, n_assets)`` array whose asset columns are contiguous.

    F-ordered arrays and row slices of them (what the engine passes when a term needs fewer lookback rows than its
    input was loaded with) are returned as they are: the kernels walk each column top to bottom and only need each
    column contiguous, so copying a 50 MB slice into a fresh F-ordered array would be pure overhead. Anything else
    is copied to F order, and so is a read-only array: Numba compiles a kernel again for read-only inputs, and one
    compiled kernel per input type keeps the first call (and the on-disk cache) small.
    """
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n_dates, n_assets) array, got shape {arr.shape}")
    if arr.flags.writeable and arr.strides[0] == arr.itemsize and arr.strides[1] >= arr.shape[0] * arr.itemsize:
        return arr
    return np.array(arr, order="F", copy=True)


def window_length(wl, minimum: int = 1, name: str = "wl", rows: int | None = None, what: str = "") -> int:
    """``wl`` as an int of at least ``minimum`` (and at most ``rows`` when given); errors name ``what``/``name``."""
    prefix = f"{what}: " if what else ""
    try:
        wl = operator.index(wl)
    except TypeError:
        raise TypeError(f"{prefix}{name} must be an integer, got {type(wl).__name__}") from None
    if wl < minimum:
        raise ValueError(f"{prefix}{name} must be at least {minimum} (>= {minimum}), got {wl}")
    if rows is not None and rows < wl:
        raise ValueError(f"{prefix}need at least {name}={wl} rows of data, got {rows}")
    return wl


def check_same_shape(names: tuple[str, ...], *arrays: np.ndarray) -> None:
    """Raise unless every input has the shape of the first (the message names both inputs)."""
    for name, a in zip(names[1:], arrays[1:], strict=True):
        if a.shape != arrays[0].shape:
            raise ValueError(
                f"inputs must share one shape: {names[0]} and {name} must have the same shape, got "
                f"{arrays[0].shape} and {a.shape}"
            )


def alloc_out(n_dates: int, wl: int, n_assets: int, fill: float | None = None) -> np.ndarray:
    """An F-ordered ``(n_dates - wl + 1, n_assets)`` output (none when fewer dates than wl) from the array pool."""
    shape = (max(n_dates - wl + 1, 0), n_assets)
    return _pool.empty(shape) if fill is None else _pool.full(shape, fill)


def prepare_inputs(inputs: dict, adjustments: dict) -> tuple[list[np.ndarray], list[Adjustments]]:
    """Validate ``inputs`` (name -> array, all of one shape) and their ``adjustments`` (name -> record, 6-tuple
    or None): the arrays as :func:`as_float_columns` gives them and one :class:`Adjustments` record each."""
    names = tuple(inputs)
    arrays = [as_float_columns(a, n) for n, a in inputs.items()]
    check_same_shape(names, *arrays)
    m = arrays[0].shape[1]
    label = {n: "adjustments" if len(names) == 1 else f"{n}_adjustments" for n in names}
    return arrays, [Adjustments.coerce(adjustments.get(n), m, label[n]) for n in names]


def window_out(kernel, inputs: dict, wl, adjustments: dict, *params, minimum: int = 1) -> np.ndarray:
    """Run ``kernel(*inputs, wl, *records, out, *params)`` into a fresh output after :func:`prepare_inputs` and
    :func:`window_length`: the whole body of the one-output wrappers of the rolling, ewm and returns kernels."""
    arrays, records = prepare_inputs(inputs, adjustments)
    wl = window_length(wl, minimum)
    n, m = arrays[0].shape
    out = alloc_out(n, wl, m)
    if out.shape[0]:
        kernel(*arrays, wl, *records, out, *params)
    return out
