"""AdjustedArray: a loaded column plus its point-in-time adjustments, as loaders hand it to the engine.

``data`` is a 2-D ``(n_dates, n_sids)`` F-ordered array of float64, int64, bool or datetime64[ns] (for string
columns: int64 codes with ``categories``, see :class:`~rustybt.pipeline.labelarray.LabelArray`). The adjustments
are one :class:`~rustybt.pipeline.kernels._adjust.Adjustments` record (``offsets, apply_row, first_row, last_row,
value, kind``, grouped by asset column), the value every kernel takes.

A window ending at row ``t`` sees ``data`` with exactly the adjustments whose ``apply_row <= t`` applied, in CSR
order. The raw ``data`` is never modified; consumers that need adjusted values work on copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from rustybt.pipeline.kernels._adjust import ADD, MULTIPLY, OVERWRITE, Adjustments
from rustybt.pipeline.labelarray import LabelArray
from rustybt.pipeline.sentinels import NotSpecified

__all__ = ["ADD", "MULTIPLY", "OVERWRITE", "AdjustedArray", "Adjustments", "ensure_adjusted_array", "ensure_ndarray"]

_KINDS = "fiubM"


class AdjustedArray:
    """Immutable pair of a baseline 2-D array and the adjustments to apply to its trailing windows.

    Parameters
    ----------
    data
        2-D array ``(n_dates, n_sids)``; stored F-ordered (copied only if needed).
    adjustments
        ``None`` (no adjustments), an :class:`Adjustments` record or its six arrays in field order.
    missing_value
        The column's missing value (NaN for floats).
    categories
        For string columns: the labels that ``data`` (int64 codes, -1 = missing) index into.
    """

    __slots__ = ("_adjustments", "_categories", "_data", "_missing_value")

    def __init__(self, data, adjustments=None, missing_value: Any = NotSpecified, categories=None) -> None:
        arr = np.asarray(data)
        if arr.ndim != 2:
            raise ValueError(f"AdjustedArray data must be 2-D (n_dates, n_sids), got shape {arr.shape}")
        if arr.dtype.kind not in _KINDS:
            raise TypeError(
                f"AdjustedArray data must be float64, int64, bool or datetime64[ns] (string columns: int64 codes "
                f"plus categories), got {arr.dtype}"
            )
        if arr.dtype.kind == "f" and arr.dtype != np.float64:
            arr = arr.astype(np.float64)
        if arr.dtype.kind in "iu" and arr.dtype != np.int64:
            arr = arr.astype(np.int64)
        if arr.dtype.kind == "M" and arr.dtype != np.dtype("datetime64[ns]"):
            arr = arr.astype("datetime64[ns]")
        # each asset's column contiguous is all the kernels need (as in a row slice of an F-ordered array, such as
        # a loader's rows out of a memory-mapped dense copy): copy only what is not
        self._data = arr if _columns_contiguous(arr) else np.asfortranarray(arr)
        if missing_value is NotSpecified:
            missing_value = {"f": np.nan, "b": False, "M": np.datetime64("NaT", "ns")}.get(arr.dtype.kind, -1)
        self._missing_value = missing_value
        self._categories = None
        if categories is not None:
            if arr.dtype != np.int64:
                raise TypeError("AdjustedArray with categories needs int64 codes as data")
            cats = np.empty(len(categories), dtype=object)
            cats[:] = list(categories)
            self._categories = cats
        if isinstance(adjustments, dict):
            raise TypeError("pass adjustments as an Adjustments record (or its six arrays), or use from_records(...)")
        self._adjustments = Adjustments.coerce(adjustments, arr.shape[1])
        if self.has_adjustments and arr.dtype.kind == "M":
            raise TypeError("adjustments on datetime64 columns are not supported")
        if self.has_adjustments and categories is not None:
            raise TypeError("adjustments on string (categorical) columns are not supported")

    # --- construction helpers ----------------------------------------------------------------------------------
    @classmethod
    def from_records(
        cls,
        data,
        records: Iterable[tuple[int, int, int, int, int, float]],
        missing_value: Any = NotSpecified,
        categories=None,
    ) -> AdjustedArray:
        """Build from ``(apply_row, column, first_row, last_row, op, value)`` records.

        Records are grouped by column; within a column they keep their given order among equal ``apply_row``
        (that is the order in which they are applied).
        """
        arr = np.asarray(data)
        n_cols = arr.shape[1] if arr.ndim == 2 else 0
        recs = list(records)
        if not recs:
            return cls(arr, None, missing_value, categories)
        a = np.array([r[0] for r in recs], dtype=np.int64)
        c = np.array([r[1] for r in recs], dtype=np.int64)
        if np.any((c < 0) | (c >= n_cols)):
            raise ValueError(f"adjustment column out of range [0, {n_cols})")
        order = np.lexsort((np.arange(len(recs)), a, c))
        first = np.array([r[2] for r in recs], dtype=np.int64)[order]
        last = np.array([r[3] for r in recs], dtype=np.int64)[order]
        op = np.array([r[4] for r in recs], dtype=np.int64)[order]
        value = np.array([r[5] for r in recs], dtype=np.float64)[order]
        offsets = np.zeros(n_cols + 1, dtype=np.int64)
        np.cumsum(np.bincount(c, minlength=n_cols), out=offsets[1:])
        return cls(arr, (offsets, a[order], first, last, value, op), missing_value, categories)

    # --- accessors ---------------------------------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The unadjusted baseline (do not modify)."""
        return self._data

    @property
    def missing_value(self) -> Any:
        return self._missing_value

    @property
    def categories(self) -> np.ndarray | None:
        return self._categories

    @property
    def adjustments(self) -> Adjustments:
        """The point-in-time adjustments, grouped by column."""
        return self._adjustments

    @property
    def has_adjustments(self) -> bool:
        return self._adjustments.count > 0

    @property
    def shape(self) -> tuple[int, int]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(object) if self._categories is not None else self._data.dtype

    def __repr__(self) -> str:
        return f"AdjustedArray(shape={self.shape}, dtype={self.dtype}, adjustments={self._adjustments.count})"

    def baseline(self):
        """The unadjusted data as an ndarray, or a LabelArray for string columns."""
        if self._categories is not None:
            return LabelArray(self._data, self._categories, self._missing_value)
        return self._data

    # --- views -------------------------------------------------------------------------------------------------
    def sliced(self, offset: int) -> AdjustedArray:
        """The same array without its first ``offset`` rows (adjustment rows shifted accordingly)."""
        if offset == 0:
            return self
        out = object.__new__(AdjustedArray)
        out._data = self._data[offset:]
        out._missing_value = self._missing_value
        out._categories = self._categories
        out._adjustments = self._adjustments.without_rows(offset)
        return out

    def adjustments_sorted_by_row(self) -> tuple[np.ndarray, ...]:
        """Flat arrays ``(apply_row, column, first_row, last_row, value, op)`` in application order."""
        adj = self._adjustments
        col = adj.columns()
        order = np.argsort(adj.apply_row, kind="stable")
        return (
            adj.apply_row[order], col[order], adj.first_row[order], adj.last_row[order], adj.value[order],
            adj.kind[order],
        )  # fmt: skip

    def as_of(self, row: int) -> np.ndarray:
        """A copy of ``data`` with every adjustment whose ``apply_row <= row`` applied."""
        buf = self._data.copy(order="F")
        apply_row, col, first, last, value, op = self.adjustments_sorted_by_row()
        for k in range(len(apply_row)):
            if apply_row[k] > row:
                break
            _apply_one(buf, col[k], first[k], last[k], value[k], op[k])
        return buf

    def traverse(self, window_length: int) -> Iterator[np.ndarray]:
        """Yield the trailing windows ``[t - wl + 1, t]`` for ``t = wl - 1 .. n - 1``, each point-in-time adjusted.

        Windows are views into a private working copy (string columns: object arrays of labels).
        """
        n = self._data.shape[0]
        if self._categories is not None:
            buf = LabelArray(self._data, self._categories, self._missing_value).as_object_array()
        else:
            buf = self._data.copy(order="F")
        apply_row, col, first, last, value, op = self.adjustments_sorted_by_row()
        k = 0
        n_adj = len(apply_row)
        for t in range(window_length - 1, n):
            while k < n_adj and apply_row[k] <= t:
                _apply_one(buf, col[k], first[k], last[k], value[k], op[k])
                k += 1
            yield buf[t - window_length + 1 : t + 1]


def _apply_one(buf: np.ndarray, col: int, first: int, last: int, value: float, op: int) -> None:
    lo = max(int(first), 0)
    hi = min(int(last), buf.shape[0] - 1)
    if hi < lo:
        return
    seg = buf[lo : hi + 1, col]
    if op == MULTIPLY:
        buf[lo : hi + 1, col] = seg * value
    elif op == ADD:
        buf[lo : hi + 1, col] = seg + value
    elif op == OVERWRITE:
        buf[lo : hi + 1, col] = value
    else:
        raise ValueError(f"unknown adjustment op {op}")


def ensure_adjusted_array(value, missing_value: Any) -> AdjustedArray:
    """Wrap a computed result as an AdjustedArray without adjustments (windowed consumers)."""
    if isinstance(value, AdjustedArray):
        return value
    if isinstance(value, LabelArray):
        return AdjustedArray(value.codes, None, value.missing_value, categories=value.categories)
    return AdjustedArray(value, None, missing_value)


def ensure_ndarray(value):
    """The baseline array of a workspace value (non-windowed consumers see unadjusted data, as in zipline)."""
    if isinstance(value, AdjustedArray):
        return value.baseline()
    return value


def _columns_contiguous(arr: np.ndarray) -> bool:
    """Each column of the 2-D ``arr`` is contiguous and the columns do not overlap."""
    return arr.size > 0 and arr.strides[0] == arr.itemsize and arr.strides[1] >= arr.shape[0] * arr.itemsize
