"""The hooks of a run that has none."""

from __future__ import annotations

from rustybt.pipeline.hooks.iface import PipelineHooks

__all__ = ["NoHooks"]


class NoHooks(PipelineHooks):
    """Hooks that do nothing (what the engine uses when a run has none)."""
