"""Numba's one-time set-up, started in the background when a run begins.

The first jitted call in a process makes Numba load its lowering registries: it imports its NumPy support
(``numba.np.arraymath``, which imports SciPy's BLAS bindings when SciPy is installed) and registers thousands of
implementations, about 0.3-0.5 s of Python work before the first kernel can even be fetched from the on-disk
cache. Nothing in it depends on the pipeline, so :func:`start` runs it in a daemon thread while the run's own
first steps (the calendar, the root mask and above all the loader's Parquet scan, which releases the GIL) go on.
The first kernel call then finds it done, or waits for it on Numba's compiler lock, which the set-up holds: the
same lock and the same ``refresh()`` call a Numba dispatcher uses itself before compiling or loading a kernel.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["start"]

log = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None


def _set_up() -> None:
    try:
        from numba.core.compiler_lock import global_compiler_lock
        from numba.core.registry import cpu_target

        with global_compiler_lock:
            cpu_target.target_context.refresh()
    except Exception:  # pragma: no cover - the first kernel call does the same work and reports any error
        log.debug("background Numba set-up failed; the first kernel call will do it", exc_info=True)


def start() -> threading.Thread:
    """Start Numba's set-up in a background thread (once per process); returns that thread."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_set_up, name="rustybt-numba-setup", daemon=True)
            _thread.start()
        return _thread
