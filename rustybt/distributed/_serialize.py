"""Pipelines as bytes for Dask workers.

Pipeline terms are memoized by ``__new__`` (one object per identity), so the default pickle protocol, which calls
``cls.__new__(cls)`` with no arguments, cannot rebuild them. This pickler writes each term as its class plus its
attributes and rebuilds it without ``__new__``; dataset columns and the engine's own root terms are looked up again
on the worker, so they stay the very objects the worker's engine and loaders know.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import cloudpickle

from rustybt.pipeline.data.dataset import BoundColumn
from rustybt.pipeline.pipeline import Pipeline
from rustybt.pipeline.term import AssetExists, InputDates, Term

__all__ = ["dumps_pipeline", "loads_pipeline"]


def _column(dataset, name: str):
    return getattr(dataset, name)


def _term(cls, state: dict[str, Any]):
    term = object.__new__(cls)
    term.__dict__.update(state)
    return term


class _PipelinePickler(cloudpickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, BoundColumn):
            return _column, (obj.dataset, obj.name)
        if type(obj) in (AssetExists, InputDates):  # singletons: the worker engine's root mask terms
            return type(obj), ()
        if isinstance(obj, Term):
            return _term, (type(obj), dict(obj.__dict__))
        return super().reducer_override(obj)


def dumps_pipeline(pipeline: Pipeline) -> bytes:
    """``pipeline`` as bytes that :func:`loads_pipeline` rebuilds in another process (user terms by value)."""
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"expected a Pipeline, got {type(pipeline).__name__}")
    buf = io.BytesIO()
    _PipelinePickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(pipeline)
    return buf.getvalue()


def loads_pipeline(data: bytes) -> Pipeline:
    """The pipeline written by :func:`dumps_pipeline`."""
    return pickle.loads(data)
