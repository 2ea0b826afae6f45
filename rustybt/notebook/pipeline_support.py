"""What the notebook layer needs from :mod:`rustybt.pipeline`, in one place.

The ``%%rustybt pipeline`` cell magic reaches the pipeline package only through these functions, so the rest of the
notebook layer does not depend on its module layout. They import it when called: it loads Numba.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import pandas as pd

from rustybt.errors import InvalidArgument, NoDataForRange, RustyBTError

__all__ = ["PIPELINE_MODULES", "available", "cell_namespace", "is_pipeline", "run"]

log = logging.getLogger(__name__)

#: Modules whose public names are pre-imported into a ``%%rustybt pipeline`` cell.
PIPELINE_MODULES = (
    "rustybt.pipeline",
    "rustybt.pipeline.factors",
    "rustybt.pipeline.filters",
    "rustybt.pipeline.classifiers",
    "rustybt.pipeline.data",
)


def _pipeline_class() -> type | None:
    try:
        module = importlib.import_module("rustybt.pipeline")
    except Exception as exc:  # missing, or broken while it is being written: the notebook layer carries on
        log.warning("rustybt.pipeline cannot be imported (%s: %s)", type(exc).__name__, exc)
        return None
    return getattr(module, "Pipeline", None)


def available() -> bool:
    """True when :mod:`rustybt.pipeline` provides ``Pipeline`` and an engine."""
    return _pipeline_class() is not None


def _missing() -> RustyBTError:
    return RustyBTError(
        "the pipeline package (rustybt.pipeline) is not available in this install: it has no Pipeline class yet"
    )


def cell_namespace() -> dict[str, Any]:
    """Public names of :data:`PIPELINE_MODULES` (``Pipeline``, ``EquityPricing``, ``SimpleMovingAverage``...);
    empty when the pipeline package is not available."""
    if not available():
        return {}
    namespace: dict[str, Any] = {}
    for name in PIPELINE_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        public = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for attr in public:
            if hasattr(module, attr):
                namespace[attr] = getattr(module, attr)
    return namespace


def is_pipeline(obj: Any) -> bool:
    """True if ``obj`` is a ``rustybt.pipeline.Pipeline``."""
    cls = _pipeline_class()
    return cls is not None and isinstance(obj, cls)


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

    The engine is ``rustybt.pipeline.bundle_engine.engine_for_bundle(bundle, cache=cache)``; with ``chunksize``
    the run is ``engine.run_chunked_pipeline(pipe, start, end, chunksize)``, else ``engine.run_pipeline``.
    Returns the (date, asset)-indexed pandas DataFrame.
    """
    if not available():
        raise _missing()
    from rustybt.notebook.plots import parse_date
    from rustybt.pipeline.bundle_engine import engine_for_bundle

    start_ts = parse_date(start, "--start")
    end_ts = parse_date(end, "--end")
    start_ts = (start_ts if start_ts is not None else bundle.start).tz_localize(None).normalize()
    end_ts = (end_ts if end_ts is not None else bundle.end).tz_localize(None).normalize()
    if start_ts > end_ts:
        raise InvalidArgument(f"start {start_ts.date()} is after end {end_ts.date()}; swap them")
    from rustybt.calendars import sessions_in_range

    sessions = sessions_in_range(bundle.calendar_name, start_ts, end_ts)  # snap to the sessions inside the range
    if len(sessions) == 0:
        raise NoDataForRange(
            f"no {bundle.calendar_name} session between {start_ts.date()} and {end_ts.date()}; widen the range"
        )
    start_ts, end_ts = pd.Timestamp(sessions[0]), pd.Timestamp(sessions[-1])
    if chunksize is not None and chunksize < 1:
        raise InvalidArgument(f"--chunksize must be a positive number of sessions, got {chunksize}")
    engine = engine_for_bundle(bundle, cache=cache, progress=False)
    if chunksize:
        return engine.run_chunked_pipeline(pipe, start_ts, end_ts, chunksize)
    return engine.run_pipeline(pipe, start_ts, end_ts)
