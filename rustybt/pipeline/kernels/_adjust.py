"""The adjustments record: point-in-time adjustments of a ``(n_dates, n_assets)`` array, as every kernel takes them.

:class:`Adjustments` is one value (a named tuple of six arrays, which Numba passes to a jitted function as one
argument and reads field by field), grouped by asset column the way a compressed sparse row matrix is:

``offsets``    int64[n_assets + 1]: the adjustments of column ``j`` are ``[offsets[j], offsets[j + 1])``
``apply_row``  int64: the first window-end row (0-based into the data) that knows the adjustment; ascending
               within a column
``first_row``  int64: the first data row the adjustment changes (inclusive; may lie before row 0)
``last_row``   int64: the last data row the adjustment changes (inclusive; may lie past the last row)
``value``      float64: the ratio, the amount or the new value
``kind``       int64: :data:`MULTIPLY` (0), :data:`ADD` (1) or :data:`OVERWRITE` (2)

A window ending at row ``t`` sees every adjustment with ``apply_row <= t`` applied, in this order, and no other:
no lookahead. How kernels walk an asset through its adjustments is :mod:`rustybt.pipeline.kernels._segments`.
A plain 6-tuple in this field order is accepted wherever a record is (:meth:`Adjustments.coerce`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = ["ADD", "MULTIPLY", "OVERWRITE", "Adjustments", "apply_pending", "empty_adjustments"]

MULTIPLY = 0
ADD = 1
OVERWRITE = 2

_FIELDS = ("offsets", "apply_row", "first_row", "last_row", "value", "kind")
_DTYPES = (np.int64, np.int64, np.int64, np.int64, np.float64, np.int64)


class Adjustments(NamedTuple):
    """Point-in-time adjustments grouped by asset column (see the module docstring for the fields)."""

    offsets: np.ndarray
    apply_row: np.ndarray
    first_row: np.ndarray
    last_row: np.ndarray
    value: np.ndarray
    kind: np.ndarray

    @classmethod
    def none(cls, n_assets: int) -> Adjustments:
        """No adjustments for ``n_assets`` columns."""
        e = np.empty(0, dtype=np.int64)
        return cls(np.zeros(n_assets + 1, dtype=np.int64), e, e.copy(), e.copy(), np.empty(0), e.copy())

    @classmethod
    def coerce(cls, adjustments, n_assets: int, name: str = "adjustments") -> Adjustments:
        """A validated record from a record, a 6-tuple in field order, or ``None`` (no adjustments).

        Raises
        ------
        ValueError
            When the arrays do not fit ``n_assets`` columns, lengths disagree, a kind is unknown or ``apply_row``
            is not ascending within a column; the message names ``name`` and the field.
        """
        if adjustments is None:
            return cls.none(n_assets)
        if isinstance(adjustments, dict):
            raise TypeError(f"{name}: pass an Adjustments record or the six arrays {_FIELDS}")
        if len(adjustments) != 6:
            raise ValueError(f"{name} must be the six arrays {_FIELDS}, got {len(adjustments)} items")
        adj = cls(*(np.ascontiguousarray(a, dtype=t) for a, t in zip(adjustments, _DTYPES, strict=True)))
        if adj.offsets.shape != (n_assets + 1,):
            raise ValueError(
                f"{name}: offsets must have n_assets + 1 = {n_assets + 1} entries, got {adj.offsets.shape}"
            )
        if adj.offsets[0] != 0 or np.any(np.diff(adj.offsets) < 0):
            raise ValueError(f"{name}: offsets must start at 0 and be non-decreasing")
        n_adj = adj.count
        for field in _FIELDS[1:]:
            arr = getattr(adj, field)
            if arr.shape != (n_adj,):
                raise ValueError(f"{name}: {field} must have offsets[-1] = {n_adj} entries, got {arr.shape}")
        if n_adj:
            if np.any((adj.kind < MULTIPLY) | (adj.kind > OVERWRITE)):
                raise ValueError(f"{name}: kind: an adjustment op must be MULTIPLY (0), ADD (1) or OVERWRITE (2)")
            same_column = np.diff(adj.columns()) == 0
            if np.any((np.diff(adj.apply_row) < 0) & same_column):
                raise ValueError(f"{name}: apply_row must be sorted ascending within each asset column")
        return adj

    @property
    def count(self) -> int:
        """How many adjustments the record holds."""
        return int(self.offsets[-1]) if len(self.offsets) else 0

    def columns(self) -> np.ndarray:
        """The asset column of each adjustment (int64, in record order)."""
        return np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int64), np.diff(self.offsets))

    def without_rows(self, n_rows: int) -> Adjustments:
        """The record for the same data without its first ``n_rows`` rows: adjustments that touch only dropped
        rows go, the others' rows shift (a first row before the new row 0 is clamped to 0)."""
        if n_rows == 0:
            return self
        adj = self
        keep = adj.last_row >= n_rows
        if not keep.all():
            counts = np.bincount(adj.columns()[keep], minlength=len(adj.offsets) - 1)
            offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
            adj = Adjustments(offsets, *(field[keep] for field in adj[1:]))
        return adj._replace(
            apply_row=adj.apply_row - n_rows,
            first_row=np.maximum(adj.first_row - n_rows, 0),
            last_row=adj.last_row - n_rows,
        )


def empty_adjustments(n_assets: int) -> Adjustments:
    """No adjustments for ``n_assets`` columns (:meth:`Adjustments.none`)."""
    return Adjustments.none(n_assets)


@njit(cache=True, nogil=True)
def apply_pending(buf, adj, ptr, end, until_row):
    """Apply the adjustments ``ptr..end`` of ``adj`` whose ``apply_row <= until_row`` to ``buf`` (one asset's
    working copy); return the index of the first one not applied."""
    while ptr < end and adj.apply_row[ptr] <= until_row:
        lo = max(adj.first_row[ptr], 0)
        hi = min(adj.last_row[ptr], buf.shape[0] - 1)
        value = adj.value[ptr]
        kind = adj.kind[ptr]
        for r in range(lo, hi + 1):
            if kind == MULTIPLY:
                buf[r] = buf[r] * value
            elif kind == ADD:
                buf[r] = buf[r] + value
            else:
                buf[r] = value
        ptr += 1
    return ptr
