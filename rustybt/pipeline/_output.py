"""The pipeline's output: screened columns gathered as soon as each output term is computed.

The engine computes the screen first (its dependencies come first in the execution order). From then on every
output term is reduced to the cells passing the screen the moment it is computed, and its full ``(dates x
assets)`` array is freed unless another term still needs it. The run therefore never holds all output columns at
full size: peak memory stays near the inputs plus the live intermediates, and the output costs one gather per
column instead of a boolean-mask selection at the end.

float64 columns are gathered straight into the columns of one F-ordered 2-D block, which becomes the result
DataFrame's single float block without a copy (pandas would otherwise consolidate the columns, copying them all).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numba import njit, prange

from rustybt.pipeline.kernels import _pool
from rustybt.pipeline.labelarray import LabelArray
from rustybt.pipeline.mixins import MultiOutput
from rustybt.pipeline.term import ComputableTerm

__all__ = ["OutputCollector"]

_CHUNKS = 64


@njit(parallel=True, cache=True, nogil=True)
def _gather(src, rows, cols, extra, out):
    """``out[k] = src[rows[k] + extra, cols[k]]``. The cells come date by date and a screen keeps mostly the
    same assets from one date to the next, so the cache lines read for one date serve the next ones too
    (measured: faster than streaming ``src`` in memory order and scattering the writes)."""
    nk = rows.shape[0]
    step = (nk + _CHUNKS - 1) // _CHUNKS
    for c in prange(_CHUNKS):
        for k in range(c * step, min(nk, (c + 1) * step)):
            out[k] = src[rows[k] + extra, cols[k]]


_BLOCK_ROWS = 64


@njit(parallel=True, cache=True, nogil=True)
def _selected_cells(mask):
    """The True cells of an F-ordered 2-D bool array as ``rows``/``cols`` in date-major order (the output's row
    order): two parallel sweeps over blocks of dates, no sort."""
    n, m = mask.shape
    # date-major: per-date counts (blocks of dates, every asset), then each block fills its own output range
    n_blocks = (n + _BLOCK_ROWS - 1) // _BLOCK_ROWS
    per_row = np.zeros(n + 1, np.int64)
    for b in prange(n_blocks):
        i0 = b * _BLOCK_ROWS
        i1 = min(n, i0 + _BLOCK_ROWS)
        for j in range(m):
            for i in range(i0, i1):
                if mask[i, j]:
                    per_row[i + 1] += 1
    for i in range(n):
        per_row[i + 1] += per_row[i]
    total = per_row[n]
    rows = np.empty(total, np.int32)  # int32: dates and assets are far below 2**31, and this halves the indexes
    cols = np.empty(total, np.int32)
    for b in prange(n_blocks):
        i0 = b * _BLOCK_ROWS
        i1 = min(n, i0 + _BLOCK_ROWS)
        nxt = per_row[i0:i1].copy()
        for j in range(m):
            for i in range(i0, i1):
                if mask[i, j]:
                    p = nxt[i - i0]
                    nxt[i - i0] = p + 1
                    rows[p] = np.int32(i)
                    cols[p] = np.int32(j)
    return rows, cols


def _plain_postprocess(term) -> bool:
    return getattr(type(term), "postprocess", None) is ComputableTerm.postprocess


class OutputCollector:
    """Collects the screened values of a run's output terms.

    Parameters
    ----------
    outputs
        ``{name: term}`` of the pipeline's columns (the screen excluded), terms as the plan holds them.
    extra_rows
        ``{term: lookback rows}`` of the plan: an output term's array has this many rows before the first
        output date.
    dates
        The output dates (without lookback rows).
    n_assets
        Number of asset columns.
    screen
        The screen's term, as the plan holds it (None: take the screen with :meth:`set_screen`).
    """

    def __init__(
        self, outputs: dict[str, Any], extra_rows: dict, dates: pd.DatetimeIndex, n_assets: int, *, screen=None
    ) -> None:
        self.outputs = dict(outputs)
        self.screen = screen
        self.extra_rows = extra_rows
        self.dates = dates
        self.n_assets = n_assets
        self.rows: np.ndarray | None = None  # selected (date, asset) cells, date-major
        self.cols: np.ndarray | None = None
        self._pending: dict[str, tuple[Any, Any]] = {}
        self._values: dict[str, Any] = {}
        self._block: np.ndarray | None = None
        self._block_names: list[str] = []
        self._by_term: dict[Any, list[str]] = {}
        for name, term in self.outputs.items():
            self._by_term.setdefault(term, []).append(name)

    # --- feeding -----------------------------------------------------------------------------------------------
    def wants(self, term) -> bool:
        return term in self._by_term

    def take(self, term, value) -> int:
        """``term``'s full result, if it is the screen or an output; returns how many of the term's references
        this used up (one for the screen, one per output column it fills), which the caller may now drop."""
        taken = 0
        if self.screen is not None and term is self.screen:
            self.set_screen(value, self.extra_rows[term])
            taken += 1
        if term in self._by_term:
            taken += self.add(term, value)
        return taken

    def set_screen(self, screen, screen_extra_rows: int) -> None:
        """The screen's result (bool, ``(extra + n_dates, n_assets)``): fixes the selected cells."""
        mask = np.asarray(screen, dtype=bool)[screen_extra_rows:]
        if mask.shape != (len(self.dates), self.n_assets):
            mask = np.broadcast_to(mask, (len(self.dates), self.n_assets))
        self.rows, self.cols = _selected_cells(np.asfortranarray(mask))
        floats = [
            name
            for name, term in self.outputs.items()
            if term.ndim == 2 and np.dtype(term.dtype) == np.float64 and _plain_postprocess(term)
        ]
        pool = _pool.active_pool()
        if pool is None:
            self._block = np.empty((len(self.rows), len(floats)), dtype=np.float64, order="F")
        else:  # the buffer of a dropped earlier result, or new memory on small pages
            self._block = pool.result_block(len(self.rows), len(floats))
        self._block_names = floats
        pending, self._pending = self._pending, {}
        for name, (term, value) in pending.items():
            self._take(name, term, value)

    def add(self, term, value) -> int:
        """An output term's full result (rows from ``extra_rows[term]`` before the first output date); returns
        how many output columns it fills."""
        names = self._by_term[term]
        for name in names:
            if self.rows is None:
                self._pending[name] = (term, value)
            else:
                self._take(name, term, value)
        return len(names)

    # --- gathering ---------------------------------------------------------------------------------------------
    def _take(self, name: str, term, value) -> None:
        extra = self.extra_rows[term]
        if name in self._block_names and isinstance(value, np.ndarray):
            arr = value
            out = self._block[:, self._block_names.index(name)]
            if arr.dtype == np.float64 and arr.flags.f_contiguous and arr.ndim == 2:
                _gather(arr, self.rows, self.cols, extra, out)
            else:
                out[:] = arr[self.rows + extra, self.cols]
            return
        rows = self.rows + extra
        cols = np.zeros_like(self.cols) if term.ndim == 1 else self.cols
        if isinstance(value, MultiOutput):
            fields = [np.asarray(v)[rows, cols] for v in value.fields.values()]
            self._values[name] = list(zip(*fields, strict=True))
            return
        if isinstance(value, LabelArray):
            selected = value[rows, cols]
        else:
            selected = np.asarray(value)[rows, cols]
        out = term.postprocess(selected)
        if isinstance(out, pd.Categorical):
            out = out.remove_unused_categories()
        self._values[name] = out

    # --- result ------------------------------------------------------------------------------------------------
    def frame(self, assets: np.ndarray) -> pd.DataFrame:
        """The ``(date, asset)``-indexed DataFrame; ``assets`` are the asset objects of the columns."""
        index = pd.MultiIndex(
            levels=[pd.DatetimeIndex(self.dates), pd.Index(assets, dtype=object)],
            codes=[self.rows, self.cols],
            names=[None, None],
            verify_integrity=False,
        )
        names = list(self.outputs)
        if self._block_names == names and not self._values:  # all float64: the block is the frame, no copy
            return pd.DataFrame(self._block, index=index, columns=names, copy=False)
        columns = {}
        for name in names:
            if name in self._values:
                columns[name] = self._values[name]
            else:
                columns[name] = self._block[:, self._block_names.index(name)]
        return pd.DataFrame(columns, index=index)
