"""Compiled date loop for custom terms whose ``compute`` is a Numba function.

When ``CustomFactor.compute`` (or a CustomFilter/CustomClassifier's) is a Numba dispatcher -- decorated with
``numba.njit`` or compiled because the class sets ``jit = True`` -- the whole loop over dates runs in compiled
code: a generated, jitted *driver* keeps a working copy of each input, applies the input's point-in-time
adjustments as the window end advances, slices each day's trailing window, keeps the columns of that day's mask
and calls the jitted ``compute(self, today, assets, out, *inputs, **params)``. There is no Python call per day.

Differences from the Python path, all forced by compiled code:

- ``self`` is passed as ``None`` (term attributes are not reachable from compiled code; use ``params``);
- ``today`` is a ``numpy.datetime64[ns]`` and ``assets`` an int64 array of sids;
- inputs and outputs must be float64, int64 or bool (no strings or datetimes), and a single output only.

One driver is generated per *shape* of the call (number of inputs, which inputs are single-column or adjusted,
parameter names, 1-D output) and compiled once per user ``compute``.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.core.errors import NumbaError

from rustybt.pipeline.errors import CustomTermComputeError
from rustybt.pipeline.sentinels import NotSpecified

__all__ = ["is_numba_function", "run_jitted_compute"]

_DRIVERS: dict[tuple, object] = {}


def is_numba_function(obj) -> bool:
    """True for a Numba CPU dispatcher (``numba.njit``-decorated function)."""
    try:
        from numba.core.registry import CPUDispatcher
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, CPUDispatcher)


@njit(cache=True, nogil=True)
def _apply(buf, col, first, last, value, op):
    n = buf.shape[0]
    lo = max(first, 0)
    hi = min(last, n - 1)
    for r in range(lo, hi + 1):
        if op == 0:
            buf[r, col] = buf[r, col] * value
        elif op == 1:
            buf[r, col] = buf[r, col] + value
        else:
            buf[r, col] = value


def _driver_source(n_inputs: int, single: tuple, adjusted: tuple, param_names: tuple, one_d: bool) -> str:
    args = ["compute", "dates", "sids", "mask", "out", "missing", "wl", "state"]
    for i in range(n_inputs):
        args.append(f"B{i}")
        if adjusted[i]:
            args += [f"R{i}", f"C{i}", f"F{i}", f"L{i}", f"V{i}", f"O{i}"]
    args += [f"P{k}" for k in range(len(param_names))]
    lines = [f"def driver({', '.join(args)}):", "    n = out.shape[0]"]
    for i in range(n_inputs):
        if adjusted[i]:
            lines.append(f"    q{i} = 0")
    lines += ["    for t in range(n):", "        state[0] = t", "        end = t + wl - 1"]
    for i in range(n_inputs):
        if adjusted[i]:
            lines += [
                f"        while q{i} < R{i}.shape[0] and R{i}[q{i}] <= end:",
                f"            _apply(B{i}, C{i}[q{i}], F{i}[q{i}], L{i}[q{i}], V{i}[q{i}], O{i}[q{i}])",
                f"            q{i} += 1",
            ]
    lines.append("        idx = np.nonzero(mask[t])[0]")
    for i in range(n_inputs):
        if single[i]:
            lines.append(f"        W{i} = B{i}[t:end + 1]")
        else:
            lines.append(f"        W{i} = np.ascontiguousarray(B{i}[t:end + 1][:, idx])")
    lines.append(f"        o = np.full({'1' if one_d else 'idx.shape[0]'}, missing)")
    call = ["None", "dates[t]", "sids[idx]", "o"] + [f"W{i}" for i in range(n_inputs)]
    call += [f"{name}=P{k}" for k, name in enumerate(param_names)]
    lines.append(f"        compute({', '.join(call)})")
    if one_d:
        lines.append("        out[t, 0] = o[0]")
    else:
        lines += ["        for k in range(idx.shape[0]):", "            out[t, idx[k]] = o[k]"]
    return "\n".join(lines) + "\n"


def _get_driver(key: tuple):
    driver = _DRIVERS.get(key)
    if driver is None:
        namespace = {"np": np, "_apply": _apply}
        exec(_driver_source(*key), namespace)
        driver = _DRIVERS[key] = njit(nogil=True)(namespace["driver"])
    return driver


def run_jitted_compute(term, compute, windows, dates, assets, mask) -> np.ndarray:
    """Run ``compute`` (a Numba dispatcher) over every date of ``dates`` inside one compiled loop."""
    name = type(term).__name__
    if term.outputs is not NotSpecified:
        raise TypeError(f"{name}: a Numba compute supports a single output; remove outputs= or the jit")
    dtype = term.dtype
    if dtype.kind not in "fib":
        raise TypeError(f"{name}: a Numba compute must produce float64, int64 or bool, not {dtype}")
    wl = int(term.window_length)
    n = len(dates)
    one_d = term.ndim == 1
    shape = (n, 1) if one_d else mask.shape
    missing = np.array([term.missing_value], dtype=dtype)[0]
    out = np.full(shape, missing, dtype=dtype, order="F")
    if n == 0:
        return out

    flat_args: list = []
    single, adjusted = [], []
    for k, aa in enumerate(windows):
        if aa.categories is not None or aa.data.dtype.kind not in "fib":
            raise TypeError(f"{name}: input {k} has dtype {aa.dtype}; a Numba compute takes float64/int64/bool")
        buf = np.array(aa.data, order="F", copy=True)
        has_adj = aa.has_adjustments
        if has_adj and buf.dtype != np.float64:
            buf = buf.astype(np.float64)
        flat_args.append(buf)
        if has_adj:
            flat_args.extend(aa.adjustments_sorted_by_row())
        single.append(buf.shape[1] == 1)
        adjusted.append(has_adj)
    param_names = tuple(term.params)
    key = (len(windows), tuple(single), tuple(adjusted), param_names, one_d)
    driver = _get_driver(key)
    state = np.zeros(1, dtype=np.int64)
    today = np.asarray(dates.values).astype("datetime64[ns]")
    sids = np.asarray(assets, dtype=np.int64)
    try:
        driver(compute, today, sids, np.asfortranarray(mask), out, missing, wl, state, *flat_args,
               *term.params.values())  # fmt: skip
    except NumbaError as exc:
        raise CustomTermComputeError(
            f"{name}.compute could not be compiled by Numba ({exc.__class__.__name__}). A jitted compute "
            "receives self=None, today (datetime64), assets (int64 array), out (1-D array) and one 2-D array per "
            f"input, and must be valid nopython code:\n{exc}"
        ) from exc
    except Exception as exc:
        when = dates[int(state[0])]
        raise CustomTermComputeError(
            f"{name}.compute failed on {when.date() if hasattr(when, 'date') else when}: "
            f"{exc.__class__.__name__}: {exc}" + _shape_hint(exc)
        ) from exc
    return out


def _shape_hint(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, ValueError) and ("broadcast" in text or "different size" in text or "shape" in text):
        return (
            "\nHint: `out` holds one entry per asset that passes the term's mask on that day; write an array "
            "of exactly that length (e.g. out[:] = values computed along axis 0 of each input window)."
        )
    return ""
