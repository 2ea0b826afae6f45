"""The warm-up hook: Numba's one-time set-up in a background thread started when a run begins
(:class:`WarmupHooks`, one of the engine's built-in speed-ups).

The first jitted call in a process makes Numba load its lowering registries: it imports its NumPy support
(``numba.np.arraymath``, which imports SciPy's BLAS bindings when SciPy is installed) and registers thousands of
implementations, about 0.3-0.5 s of Python work before the first kernel can even be fetched from the on-disk
cache. Nothing in it depends on the pipeline, so :func:`start` runs it in a daemon thread while the run's own
first steps (the calendar, the root mask and above all the loader's Parquet scan, which releases the GIL) go on.
The first kernel call then finds it done, or waits for it on Numba's compiler lock, which the set-up holds: the
same lock and the same ``refresh()`` call a Numba dispatcher uses itself before compiling or loading a kernel.

While the set-up runs, placing bars would wait for it: :func:`setting_up` is the pricing loader's default
read-ahead test (the reader keeps reading years ahead meanwhile).

An earlier version also kept a map of the kernels each step of a run called and had this thread load them from
Numba's cache in the next process. Measured against having none (alternating fresh processes, see
docs/pipeline.md), it did not pay for its 250 lines by a clear margin, and was removed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rustybt.pipeline.hooks.iface import PipelineHooks

__all__ = ["WarmupHooks", "setting_up", "start"]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None
_set_up_done = threading.Event()


def _set_up() -> None:
    try:
        from numba.core.compiler_lock import global_compiler_lock
        from numba.core.registry import cpu_target

        with global_compiler_lock:
            cpu_target.target_context.refresh()
    except Exception:  # pragma: no cover - the first kernel call does the same work and reports any error
        log.debug("background Numba set-up failed; the first kernel call will do it", exc_info=True)
    finally:
        _set_up_done.set()


def start() -> threading.Thread:
    """Start Numba's set-up in a background thread (once per process); returns that thread."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_set_up, name="rustybt-numba-setup", daemon=True)
            _thread.start()
        return _thread


def setting_up() -> bool:
    """True while the background set-up started by :func:`start` is still running: a kernel called now would
    wait for it (callers with other work to do, such as reading Parquet ahead, do that first)."""
    return _thread is not None and not _set_up_done.is_set()


class WarmupHooks(PipelineHooks):
    """Starts Numba's set-up in a background thread as a run begins (see the module's documentation)."""

    @contextmanager
    def running_pipeline(self, pipeline: Any, start_date: Any, end_date: Any) -> Iterator[None]:
        start()  # alongside the calendar, the root mask and the loader's read
        yield
