"""DataFrameLoader: serve one column from in-memory pandas frames (zipline's semantics)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from rustybt.pipeline.adjusted_array import ADD, MULTIPLY, OVERWRITE, AdjustedArray
from rustybt.pipeline.dtypes import categorical_dtype
from rustybt.pipeline.labelarray import LabelArray

__all__ = ["ADJUSTMENT_COLUMNS", "DataFrameLoader"]

ADJUSTMENT_COLUMNS = pd.Index(["sid", "value", "kind", "start_date", "end_date", "apply_date"])
_KINDS = {MULTIPLY, ADD, OVERWRITE}


def _naive_ns(values) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(values)
    if idx.tz is not None:
        idx = idx.tz_convert(None)
    return idx.as_unit("ns")


class DataFrameLoader:
    """A :class:`~rustybt.pipeline.loaders.base.PipelineLoader` for one column, from DataFrames.

    Parameters
    ----------
    column
        The :class:`~rustybt.pipeline.data.BoundColumn` this loader serves (generic or specialized).
    baseline
        Frame indexed by dates, one column per sid (ints or Assets). A row is labelled with the first date on
        which its values are **known** -- no shift is applied here, so OHLCV bars should be shifted back one
        session before being given to this loader.
    adjustments
        Optional frame with columns ``sid``, ``value``, ``kind`` (0 multiply, 1 add, 2 overwrite),
        ``start_date`` (NaT = from the first row), ``end_date`` and ``apply_date``. An adjustment modifies the
        rows from the first date ``>= start_date`` to the last date ``<= end_date`` of its sid, and is seen by
        windows ending on or after the first date ``>= apply_date``.
    """

    def __init__(self, column, baseline: pd.DataFrame, adjustments: pd.DataFrame | None = None) -> None:
        self.column = column
        self.dates = _naive_ns(baseline.index)
        self.assets = pd.Index([int(c) for c in baseline.columns], dtype="int64")
        values = baseline.to_numpy()
        if column.dtype == categorical_dtype:
            labels = LabelArray.from_values(values, column.missing_value)
            self._values, self._categories = labels.codes, labels.categories
        else:
            if column.dtype.kind == "M":
                values = np.asarray(values).astype("datetime64[ns]")
            self._values, self._categories = np.asarray(values).astype(column.dtype), None

        if adjustments is None:
            adjustments = pd.DataFrame({name: [] for name in ADJUSTMENT_COLUMNS})
        else:
            missing = [c for c in ADJUSTMENT_COLUMNS if c not in adjustments.columns]
            if missing:
                raise ValueError(
                    f"DataFrameLoader adjustments lack column(s) {missing}; expected {list(ADJUSTMENT_COLUMNS)}"
                )
            adjustments = adjustments.reindex(columns=ADJUSTMENT_COLUMNS)
            adjustments = adjustments.sort_values(["apply_date", "sid"], kind="stable").reset_index(drop=True)
        self.adjustments = adjustments
        self._adj_sid = adjustments["sid"].to_numpy(dtype=np.int64) if len(adjustments) else np.empty(0, np.int64)
        self._adj_apply = _naive_ns(adjustments["apply_date"])
        self._adj_start = _naive_ns(adjustments["start_date"])
        self._adj_end = _naive_ns(adjustments["end_date"])
        self._adj_kind = adjustments["kind"].to_numpy(dtype=np.int64) if len(adjustments) else np.empty(0, np.int64)
        self._adj_value = (
            adjustments["value"].to_numpy(dtype=np.float64) if len(adjustments) else np.empty(0, np.float64)
        )
        if len(adjustments):
            bad = ~np.isin(self._adj_kind, list(_KINDS))
            if bad.any():
                raise ValueError(f"unknown adjustment kind(s) {sorted(set(self._adj_kind[bad]))}; use 0, 1 or 2")
            if self._adj_apply.isna().any() or self._adj_end.isna().any():
                raise ValueError("adjustments need apply_date and end_date on every row")

    def format_adjustments(self, dates: pd.DatetimeIndex, sids) -> list[tuple[int, int, int, int, int, float]]:
        """``(apply_row, column, first_row, last_row, op, value)`` records for ``dates`` x ``sids``."""
        if not len(self.adjustments) or not len(dates):
            return []
        dates = _naive_ns(dates)
        sids = np.asarray(sids, dtype=np.int64)
        lo, hi = dates[0], dates[-1]
        keep = (self._adj_apply >= lo) & (self._adj_apply <= hi) & (self._adj_end >= lo) & np.isin(self._adj_sid, sids)
        rows = np.flatnonzero(np.asarray(keep))
        if not rows.size:
            return []
        d = dates.asi8
        apply_row = np.searchsorted(d, self._adj_apply.asi8[rows], side="left")
        start = self._adj_start[rows]
        first_row = np.where(start.isna(), 0, np.searchsorted(d, np.asarray(start.asi8), side="left"))
        last_row = np.searchsorted(d, self._adj_end.asi8[rows], side="right") - 1
        col_of = {int(s): i for i, s in enumerate(sids)}
        records = []
        for k, r in enumerate(rows):
            if not 0 <= first_row[k] <= last_row[k]:
                raise ValueError(
                    f"adjustment for sid {self._adj_sid[r]} has start_date {self._adj_start[r]} after end_date "
                    f"{self._adj_end[r]} within the loaded dates"
                )
            records.append(
                (
                    int(apply_row[k]),
                    col_of[int(self._adj_sid[r])],
                    int(first_row[k]),
                    int(last_row[k]),
                    int(self._adj_kind[r]),
                    float(self._adj_value[r]),
                )
            )
        return records

    def load_adjusted_array(self, domain, columns: Sequence, dates: pd.DatetimeIndex, sids, mask) -> dict:
        if len(columns) != 1:
            raise ValueError("Can't load multiple columns with DataFrameLoader")
        column = columns[0]
        self._validate_input_column(column)
        dates = _naive_ns(dates)
        sids = np.asarray(sids, dtype=np.int64)
        date_idx = self.dates.get_indexer(dates)
        asset_idx = self.assets.get_indexer(sids)
        good = (asset_idx != -1)[None, :] & (date_idx != -1)[:, None] & np.asarray(mask, dtype=bool)
        data = np.asfortranarray(self._values[np.ix_(date_idx, asset_idx)])
        if self._categories is not None:
            data[~good] = -1
            aa = AdjustedArray.from_records(data, [], column.missing_value, categories=self._categories)
        else:
            data[~good] = column.missing_value
            aa = AdjustedArray.from_records(data, self.format_adjustments(dates, sids), column.missing_value)
        return {column: aa}

    def _validate_input_column(self, column) -> None:
        if column is not self.column and column.unspecialize() is not self.column.unspecialize():
            raise ValueError(f"Can't load unknown column {column!r} (this DataFrameLoader serves {self.column!r})")
