"""ParquetLoader: serve any user Parquet dataset (fundamentals, estimates, ...) to a pipeline, point in time.

The dataset has one row per (date, sid) observation, where ``date`` is when the value became known (a filing or
publication date), plus value columns. On the pipeline row for session D the loader shows, per asset, the latest
value whose date is strictly before D: what was known at the start of D, as for prices. Nothing later leaks in.

.. code-block:: python

    class Fundamentals(DataSet):
        pe_ratio = Column(float)
        shares_outstanding = Column(float)

    loader = ParquetLoader("fundamentals.parquet", date_column="asof", sid_column="sid")
    engine = engine_for_bundle("sample", loaders={Fundamentals: loader})
    engine.run_pipeline(pipe, start, end)

Values are served as stored: per-share fields are not split-adjusted (they change at the next observation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from rustybt.errors import DataFormatError
from rustybt.pipeline.adjusted_array import AdjustedArray

__all__ = ["ParquetLoader"]


class ParquetLoader:
    """Serve DataSet columns from a Parquet file (or directory / glob of files) as of each session.

    Parameters
    ----------
    path
        Parquet file, directory or glob, read lazily with predicate pushdown.
    date_column, sid_column
        Names of the knowledge-date and asset-id columns.
    columns
        Optional mapping from DataSet column name to the Parquet column name (default: the same name).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        date_column: str = "date",
        sid_column: str = "sid",
        columns: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.date_column = date_column
        self.sid_column = sid_column
        self.columns = dict(columns or {})

    def _scan(self) -> pl.LazyFrame:
        target = str(self.path / "**/*.parquet") if self.path.is_dir() else str(self.path)
        return pl.scan_parquet(target)

    def load_adjusted_array(self, domain, columns: Sequence, dates: pd.DatetimeIndex, sids: np.ndarray, mask):
        """One AdjustedArray per column: the latest value known strictly before each session."""
        naive = pd.DatetimeIndex(dates)
        naive = (naive.tz_convert(None) if naive.tz else naive).as_unit("ns")
        scan = self._scan()
        schema = scan.collect_schema()
        wanted = {col.name: self.columns.get(col.name, col.name) for col in columns}
        for needed in (self.date_column, self.sid_column, *wanted.values()):
            if needed not in schema:
                raise DataFormatError(
                    f"{self.path}: column {needed!r} not found; the file has {', '.join(schema.names())}"
                )
        frame = (
            scan.select(
                pl.col(self.date_column).cast(pl.Datetime("ns")).alias("__date"),
                pl.col(self.sid_column).cast(pl.Int64).alias("__sid"),
                *[pl.col(src).alias(name) for name, src in wanted.items()],
            )
            .filter(pl.col("__sid").is_in([int(s) for s in sids]) & (pl.col("__date") < naive[-1].to_pydatetime()))
            .sort(["__sid", "__date"])
            .collect()
        )
        date_ns = naive.asi8
        col_of = {int(s): j for j, s in enumerate(sids)}
        out = {}
        for col in columns:
            dtype = np.dtype(col.dtype)
            data = np.full((len(dates), len(sids)), col.missing_value, dtype=dtype, order="F")
            for (sid,), group in frame.group_by("__sid", maintain_order=True):
                known = group.get_column("__date").dt.epoch("ns").to_numpy()
                values = group.get_column(col.name).to_numpy()
                # index of the last observation dated strictly before each session
                idx = np.searchsorted(known, date_ns, side="left") - 1
                have = idx >= 0
                column = data[:, col_of[int(sid)]]
                column[have] = values[idx[have]]
                if dtype.kind == "f":
                    column[have & pd.isna(values[np.maximum(idx, 0)])] = col.missing_value
            out[col] = AdjustedArray(data, None, missing_value=col.missing_value)
        return out
