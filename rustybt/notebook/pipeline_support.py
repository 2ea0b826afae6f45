"""What the notebook layer needs from :mod:`rustybt.pipeline`, in one place.

The ``%%rustybt pipeline`` cell magic reaches the pipeline package only through these functions, so the rest of the
notebook layer does not depend on its module layout. They import it when called: it loads Numba.
"""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd

from rustybt.errors import InvalidArgument, NoDataForRange

__all__ = ["PIPELINE_MODULES", "cell_namespace", "is_pipeline", "run"]

#: Modules whose public names are pre-imported into a ``%%rustybt pipeline`` cell.
PIPELINE_MODULES = (
    "rustybt.pipeline",
    "rustybt.pipeline.factors",
    "rustybt.pipeline.filters",
    "rustybt.pipeline.classifiers",
    "rustybt.pipeline.data",
)


def cell_namespace() -> dict[str, Any]:
    """Public names of :data:`PIPELINE_MODULES` (``Pipeline``, ``EquityPricing``, ``SimpleMovingAverage``...)."""
    namespace: dict[str, Any] = {}
    for name in PIPELINE_MODULES:
        module = importlib.import_module(name)
        namespace.update({attr: getattr(module, attr) for attr in module.__all__})
    return namespace


def is_pipeline(obj: Any) -> bool:
    """True if ``obj`` is a ``rustybt.pipeline.Pipeline``."""
    from rustybt.pipeline import Pipeline

    return isinstance(obj, Pipeline)


def run(
    pipe: Any,
    bundle: Any,
    *,
    start: Any = None,
    end: Any = None,
    chunksize: int | None = None,
    cache: Any = None,
) -> Any:
    """Run ``pipe`` over ``bundle`` from ``start`` to ``end`` (default: the bundle's first and last session).

    The engine is ``rustybt.pipeline.bundle_engine.shared_engine(bundle, cache=cache)`` (one kept per ingestion,
    as ``run_pipeline(..., bundle=...)`` uses); with ``chunksize``
    the run is ``engine.run_chunked_pipeline(pipe, start, end, chunksize)``, else ``engine.run_pipeline``.
    Returns the (date, asset)-indexed pandas DataFrame.
    """
    from rustybt.calendars import sessions_in_range
    from rustybt.notebook.plots import parse_date
    from rustybt.pipeline.bundle_engine import shared_engine

    start_ts = parse_date(start, "--start")
    end_ts = parse_date(end, "--end")
    start_ts = (start_ts if start_ts is not None else bundle.start).tz_localize(None).normalize()
    end_ts = (end_ts if end_ts is not None else bundle.end).tz_localize(None).normalize()
    if start_ts > end_ts:
        raise InvalidArgument(f"start {start_ts.date()} is after end {end_ts.date()}; swap them")
    sessions = sessions_in_range(bundle.calendar_name, start_ts, end_ts)  # snap to the sessions inside the range
    if len(sessions) == 0:
        raise NoDataForRange(
            f"no {bundle.calendar_name} session between {start_ts.date()} and {end_ts.date()}; widen the range"
        )
    start_ts, end_ts = pd.Timestamp(sessions[0]), pd.Timestamp(sessions[-1])
    if chunksize is not None and chunksize < 1:
        raise InvalidArgument(f"--chunksize must be a positive number of sessions, got {chunksize}")
    engine = shared_engine(bundle, cache=cache)  # kept per ingestion: the next cell reuses its loaded arrays
    if chunksize:
        return engine.run_chunked_pipeline(pipe, start_ts, end_ts, chunksize, progress=False)
    return engine.run_pipeline(pipe, start_ts, end_ts, progress=False)
