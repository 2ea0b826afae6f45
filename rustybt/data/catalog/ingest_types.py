"""What an ingestion is asked to do (:class:`IngestOptions`) and what it produced (:class:`Ingestion`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from rustybt.data.catalog.metadata import IngestionRecord
from rustybt.data.validation import ValidationConfig, ValidationReport

__all__ = ["MODES", "IngestOptions", "Ingestion"]


MODES = ("replace", "append")


@dataclass(frozen=True)
class IngestOptions:
    """How one ingestion runs (resolved from the bundle's registration and the call's arguments)."""

    mode: str | None = None  # None: append for an incremental update, else replace (see resolve_mode)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    strict: bool = True  # any symbol that fails to load aborts the ingestion
    n_workers: int = 1
    progress: bool = True
    symbols: Sequence[str] | None = None
    start_date: pd.Timestamp | None = None
    end_date: pd.Timestamp | None = None
    # append mode, bundle registered with an ``overlap`` option, adapter whose iter_bars takes ``starts``: fetch
    # each stored symbol only from its last stored bar minus ``overlap`` bars (False: from start_date)
    incremental: bool = True


@dataclass
class Ingestion:
    """The outcome of :meth:`Catalog.ingest`: the new live ingestion of a bundle.

    Attributes
    ----------
    id, bundle, mode, rows, n_assets
        Identity and size of the ingestion (``rows`` counts every bar stored, old and new in append mode).
    report
        The :class:`~rustybt.data.validation.ValidationReport` of the bars this run fetched.
    new_rows, replaced_rows, changed_rows
        Append mode: bars added, bars that overlapped stored ones (the new ingest wins), and how many of
        those carried different values.
    failures
        Symbols that could not be loaded (only when the bundle is not strict), with their error messages.
    """

    id: str
    bundle: str
    mode: str
    rows: int
    n_assets: int
    report: ValidationReport
    duration_s: float
    new_rows: int
    replaced_rows: int = 0
    changed_rows: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    record: IngestionRecord | None = None

    @property
    def partial(self) -> bool:
        """True when some symbols failed and were left out."""
        return bool(self.failures)

    def __repr__(self) -> str:
        extra = f", {len(self.failures)} failed symbol(s)" if self.failures else ""
        return (
            f"Ingestion({self.bundle}@{self.id}: {self.rows:,} rows, {self.n_assets} assets, mode={self.mode}, "
            f"{self.report.error_count} errors / {self.report.warning_count} warnings, "
            f"{self.report.rows_dropped} dropped{extra}, {self.duration_s:.2f}s)"
        )

    def _repr_html_(self) -> str:
        from rustybt._html import ingestion_html

        return ingestion_html(self)
