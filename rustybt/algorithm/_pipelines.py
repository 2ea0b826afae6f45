"""Pipelines in a backtest: ``attach_pipeline`` and ``pipeline_output``, run in chunks of sessions and sliced
per session."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rustybt.errors import InvalidArgument, PipelineNotAttached

__all__ = ["PipelineMixin"]

_PIPELINE_CHUNK = 252


class PipelineMixin:
    """zipline's pipeline methods; one engine per algorithm, built on first use."""

    def attach_pipeline(self, pipeline, name: str, chunks: Any = None, eager: bool = True):
        """Register ``pipeline`` under ``name``; :meth:`pipeline_output` gives its rows for the current session."""
        if name in self._pipelines:
            raise InvalidArgument(f"a pipeline named {name!r} is already attached")
        self._pipelines[name] = pipeline
        return pipeline

    def pipeline_output(self, name: str) -> pd.DataFrame:
        """The attached pipeline's rows for the current session, indexed by asset (zipline: the row for day D
        holds what was known at D's open)."""
        if name not in self._pipelines:
            known = ", ".join(repr(n) for n in self._pipelines) or "none"
            raise PipelineNotAttached(
                f"no pipeline named {name!r} was attached (attached: {known}); "
                f"call attach_pipeline(pipeline, {name!r}) in initialize()"
            )
        k = self.data.session_ix
        cached = self._pipeline_frames.get(name)
        if cached is None or not cached[0] <= k < cached[1]:
            cached = self._run_pipeline_chunk(name, k)
            self._pipeline_frames[name] = cached
        _lo, _hi, frame, slices = cached
        sl = slices.get(k)
        if sl is None:
            return frame.iloc[0:0]
        return frame.iloc[sl[0] : sl[1]]

    def _run_pipeline_chunk(self, name: str, k: int):
        from rustybt.pipeline.bundle_engine import engine_for_bundle

        engine = getattr(self, "_pipeline_engine", None)
        if engine is None:
            engine = self._pipeline_engine = engine_for_bundle(self.bundle)
        hi = min(k + _PIPELINE_CHUNK, len(self._sim_sessions))
        start, end = self._sim_sessions[k], self._sim_sessions[hi - 1]
        frame = engine.run_pipeline(self._pipelines[name], start, end)
        dates = frame.index.get_level_values(0)
        dates = (
            pd.DatetimeIndex(dates).tz_convert(None)
            if getattr(dates, "tz", None) is not None
            else pd.DatetimeIndex(dates)
        )
        pos = self._sim_sessions.get_indexer(dates)
        slices: dict[int, tuple[int, int]] = {}
        if len(pos):
            change = np.flatnonzero(np.diff(pos)) + 1
            starts = np.concatenate([[0], change])
            stops = np.concatenate([change, [len(pos)]])
            for s0, s1 in zip(starts, stops, strict=True):
                slices[int(pos[s0])] = (int(s0), int(s1))
        # indexed by asset alone once per chunk: a session's rows are then a cheap positional slice
        return k, hi, frame.droplevel(0), slices
