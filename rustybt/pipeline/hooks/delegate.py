"""One hook that fans each event out to several."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager

from rustybt.pipeline.hooks.iface import HOOK_METHODS, PipelineHooks
from rustybt.pipeline.hooks.no import NoHooks

__all__ = ["DelegatingHooks"]


def _fan_out(name: str):
    @contextmanager
    def method(self, *args, **kwargs) -> Iterator[None]:
        # entered in order, exited in reverse (the first hook's context encloses the others')
        with ExitStack() as stack:
            for hook in self.hooks:
                stack.enter_context(getattr(hook, name)(*args, **kwargs))
            yield

    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(PipelineHooks, name).__doc__
    return method


class DelegatingHooks(PipelineHooks):
    """A hook entering the same event of each of ``hooks`` in turn (the first one outermost).

    ``DelegatingHooks([])`` is a :class:`~rustybt.pipeline.hooks.NoHooks` and ``DelegatingHooks([hook])`` is
    ``hook``: no layer of delegation for the common cases.

    Parameters
    ----------
    hooks
        The hooks to delegate to.
    """

    hooks: tuple[PipelineHooks, ...]

    def __new__(cls, hooks: Sequence[PipelineHooks]) -> PipelineHooks:
        hooks = tuple(hooks)
        for hook in hooks:
            missing = [name for name in HOOK_METHODS if not callable(getattr(hook, name, None))]
            if missing:
                raise TypeError(
                    f"{hook!r} is not a pipeline hook: it has no {', '.join(missing)} method(s) "
                    "(subclass rustybt.pipeline.hooks.PipelineHooks)"
                )
        if not hooks:
            return NoHooks()
        if len(hooks) == 1:
            return hooks[0]
        self = super().__new__(cls)
        self.hooks = hooks
        return self

    def __repr__(self) -> str:
        return f"DelegatingHooks({list(self.hooks)!r})"

    running_pipeline = _fan_out("running_pipeline")
    computing_chunk = _fan_out("computing_chunk")
    loading_terms = _fan_out("loading_terms")
    computing_term = _fan_out("computing_term")


del _fan_out
