"""Hooks: objects the pipeline engine enters around a run's events (zipline-reloaded's ``pipeline.hooks``).

A hook has four context-manager methods (:class:`PipelineHooks`): ``running_pipeline``, ``computing_chunk``,
``loading_terms`` and ``computing_term``. Users pass their own with ``run_pipeline(..., hooks=[...])``. The
engine's speed-ups are hooks too, each in its own module and each testable alone:

- :class:`GCPauseHooks` pauses Python's cycle collector during a run;
- :class:`WarmupHooks` runs Numba's one-time set-up in a background thread while the run starts;
- :class:`ProgressHooks` shows a ``tqdm.auto`` progress bar (added when a run's ``progress`` setting asks).
"""

from __future__ import annotations

from rustybt.pipeline.hooks.delegate import DelegatingHooks
from rustybt.pipeline.hooks.gc_pause import GCPauseHooks
from rustybt.pipeline.hooks.iface import HOOK_METHODS, PipelineHooks
from rustybt.pipeline.hooks.no import NoHooks
from rustybt.pipeline.hooks.progress import ProgressHooks
from rustybt.pipeline.hooks.testing import TestingHooks
from rustybt.pipeline.hooks.warmup import WarmupHooks

__all__ = [
    "HOOK_METHODS",
    "DelegatingHooks",
    "GCPauseHooks",
    "NoHooks",
    "PipelineHooks",
    "ProgressHooks",
    "TestingHooks",
    "WarmupHooks",
    "builtin_speedups",
]


def builtin_speedups() -> tuple[PipelineHooks, ...]:
    """The hooks every engine enters by default, outermost first: the collector pause (which then also covers
    the set-up's allocations), then the background warm-up."""
    return (GCPauseHooks(), WarmupHooks())
