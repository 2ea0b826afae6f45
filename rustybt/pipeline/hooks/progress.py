"""A progress bar over a pipeline run (``tqdm.auto``: a widget in Jupyter, a text bar elsewhere)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd

from rustybt._progress import finish, progress_bar
from rustybt.pipeline.hooks.iface import PipelineHooks

__all__ = ["ProgressHooks"]


def _days(start: pd.Timestamp, end: pd.Timestamp) -> int:
    return (end - start).days + 1


class ProgressHooks(PipelineHooks):
    """Shows how much of a run is done, in percent: each chunk counts for its share of the run's dates and
    advances term by term, the chunk's dates shown beside the bar.

    The engine adds one to a run when its ``progress`` setting asks for a bar (see
    :meth:`~rustybt.pipeline.engine.SimplePipelineEngine.run_pipeline`); passing ``hooks=[ProgressHooks()]``
    shows one whatever that setting says.

    Parameters
    ----------
    leave
        Keep the finished bar on screen as a one-line summary (tqdm's ``leave``); default: in notebooks only.
    """

    def __init__(self, *, leave: bool | None = None) -> None:
        self.leave = leave
        self._bar: Any = None
        self._run_start: pd.Timestamp | None = None
        self._run_days = 1
        self._done = 0.0  # percent done when the current chunk started
        self._per_term = 0.0  # percent one term of the current chunk counts for

    @contextmanager
    def running_pipeline(self, pipeline: Any, start_date: pd.Timestamp, end_date: pd.Timestamp) -> Iterator[None]:
        self._run_start, self._run_days = start_date, max(_days(start_date, end_date), 1)
        self._done = 0.0
        bar_format = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]"
        self._bar = progress_bar(total=100.0, desc="pipeline", leave=self.leave, bar_format=bar_format)
        finished = False
        try:
            yield
            finished = True
        finally:
            if finished:
                finish(self._bar, f"pipeline {start_date.date()}..{end_date.date()} done")
            self._bar.close()
            self._bar = None

    @contextmanager
    def computing_chunk(self, terms: Sequence[Any], start_date: pd.Timestamp, end_date: pd.Timestamp) -> Iterator[None]:
        # done when the chunk ends: the share of the run's dates up to its end (100% at the last chunk)
        first = self._run_start if self._run_start is not None else start_date
        target = min(100.0, 100.0 * _days(first, end_date) / self._run_days)
        self._per_term = max(target - self._done, 0.0) / max(len(terms), 1)
        self._show(set_postfix_str=f"{start_date.date()}..{end_date.date()}")
        yield
        self._done = target
        self._show(n=target)  # terms already in the workspace were never computed: count them too

    @contextmanager
    def loading_terms(self, terms: Sequence[Any]) -> Iterator[None]:
        yield
        self._advance(len(terms))

    @contextmanager
    def computing_term(self, term: Any) -> Iterator[None]:
        yield
        self._advance(1)

    def _advance(self, n_terms: int) -> None:
        if self._bar is not None:
            self._bar.update(min(self._per_term * n_terms, 100.0 - self._bar.n))

    def _show(self, *, n: float | None = None, set_postfix_str: str | None = None) -> None:
        if self._bar is None:  # computing_chunk outside running_pipeline: nothing to show
            return
        if set_postfix_str is not None:
            self._bar.set_postfix_str(set_postfix_str, refresh=False)
        if n is not None:
            self._bar.n = n
        self._bar.refresh()
