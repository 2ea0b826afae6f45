"""The interface between the engine and its hooks (zipline-reloaded's ``PipelineHooks``).

A hook is an object whose four methods are context managers, entered by
:class:`~rustybt.pipeline.engine.SimplePipelineEngine` around the events of a run:

``running_pipeline(pipeline, start_date, end_date)``
    the whole of ``run_pipeline`` or ``run_chunked_pipeline`` (every chunk, the result frame);
``computing_chunk(terms, start_date, end_date)``
    the computation of one chunk (one per ``run_pipeline``): ``terms`` in execution order;
``loading_terms(terms)``
    one loader call (the loadable terms it fills at once);
``computing_term(term)``
    the computation of one computable term.

Subclass :class:`PipelineHooks` and override the methods you need: the others do nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd

__all__ = ["HOOK_METHODS", "PipelineHooks"]

#: the engine's events, in nesting order; every hook has these four context-manager methods
HOOK_METHODS = ("running_pipeline", "computing_chunk", "loading_terms", "computing_term")


class PipelineHooks:
    """Base class of pipeline hooks: four context managers that do nothing.

    Examples
    --------
    >>> import time
    >>> from contextlib import contextmanager
    >>> class TermTimes(PipelineHooks):
    ...     def __init__(self):
    ...         self.seconds = {}
    ...
    ...     @contextmanager
    ...     def computing_term(self, term):
    ...         t = time.perf_counter()
    ...         yield
    ...         self.seconds[term] = time.perf_counter() - t

    Pass it to a run with ``engine.run_pipeline(pipe, start, end, hooks=[TermTimes()])``.
    """

    @contextmanager
    def running_pipeline(self, pipeline: Any, start_date: pd.Timestamp, end_date: pd.Timestamp) -> Iterator[None]:
        """Entered around a whole ``run_pipeline`` / ``run_chunked_pipeline`` call.

        Parameters
        ----------
        pipeline
            The :class:`~rustybt.pipeline.Pipeline` being run.
        start_date, end_date
            First and last session of the run.
        """
        yield

    @contextmanager
    def computing_chunk(self, terms: Sequence[Any], start_date: pd.Timestamp, end_date: pd.Timestamp) -> Iterator[None]:
        """Entered around the computation of one chunk (the only one of an unchunked run).

        Parameters
        ----------
        terms
            The terms the chunk computes or loads, in execution order.
        start_date, end_date
            First and last session of the chunk (without lookback rows).
        """
        yield

    @contextmanager
    def loading_terms(self, terms: Sequence[Any]) -> Iterator[None]:
        """Entered around one loader call.

        Parameters
        ----------
        terms
            The loadable terms (bound columns) the call loads.
        """
        yield

    @contextmanager
    def computing_term(self, term: Any) -> Iterator[None]:
        """Entered around the computation of one term.

        Parameters
        ----------
        term
            The computable term.
        """
        yield
