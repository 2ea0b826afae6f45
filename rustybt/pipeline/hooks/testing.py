"""A hook that records every event, for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from rustybt.pipeline.hooks.iface import PipelineHooks

__all__ = ["Call", "TestingHooks"]


class Call(NamedTuple):
    """One entry of :attr:`TestingHooks.trace`: ``state`` is ``"enter"`` or ``"exit"``."""

    state: str
    method_name: str
    args: tuple


def _recording(name: str):
    @contextmanager
    def method(self, *args: Any) -> Iterator[None]:
        self.trace.append(Call("enter", name, args))
        yield
        self.trace.append(Call("exit", name, args))

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Record entering and leaving ``{name}``."
    return method


class TestingHooks(PipelineHooks):
    """Keeps a trace of the events a run entered and left, in order (zipline's ``TestingHooks``)."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.trace: list[Call] = []

    def clear(self) -> None:
        """Forget the trace."""
        self.trace = []

    running_pipeline = _recording("running_pipeline")
    computing_chunk = _recording("computing_chunk")
    loading_terms = _recording("loading_terms")
    computing_term = _recording("computing_term")


del _recording
