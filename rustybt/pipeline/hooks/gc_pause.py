"""Python's cycle collector paused while a pipeline runs.

A pipeline run allocates few Python objects of its own, but the first run in a process also makes Numba set up
its registries (well over 100,000 long-lived objects). Python's collector counts them as new and starts full
collections that each walk every object of the process: about 80 ms apiece here, twice in a first run, finding
no garbage. The arrays a run frees go by reference counting, not by the collector, so nothing a run makes waits
for it. :func:`paused` switches automatic collection off for the length of a run (nested and concurrent runs
included) and back on afterwards if it was on; cyclic garbage made meanwhile is collected by the next automatic
collection after the run.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rustybt.pipeline.hooks.iface import PipelineHooks

__all__ = ["GCPauseHooks", "paused"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    """Automatic cycle collection off inside the block (restored when the outermost block exits)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


class GCPauseHooks(PipelineHooks):
    """Pauses automatic cycle collection for the length of each run (see :func:`paused`); one of the engine's
    built-in speed-ups."""

    @contextmanager
    def running_pipeline(self, pipeline: Any, start_date: Any, end_date: Any) -> Iterator[None]:
        with paused():
            yield
