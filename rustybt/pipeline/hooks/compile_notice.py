"""The "compiling kernels…" line: said once per process when a run makes Numba compile (an empty cache).

The first run after an install compiles every kernel it uses (later processes load them from Numba's on-disk
cache), which takes from seconds to minutes on a small machine; without a word it looks like a hang. Numba
announces each real compilation (a cache load is not one) with a ``numba:compile`` event; while a run is watched
(:func:`watching`, entered by the engine around every run), the first such event in the process writes one line to
standard error, as the progress bar does. ``RUSTYBT_PROGRESS=0`` silences it; it is also logged at INFO.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rustybt.config import env_flag

__all__ = ["MESSAGE", "watching"]

log = logging.getLogger(__name__)

MESSAGE = "rustybt: compiling kernels… (first use after install; later runs load them from Numba's cache)"

_lock = threading.Lock()
_said = False
_depth = 0
_listener = None


def _listener_class():
    from numba.core import event

    class _FirstCompile(event.Listener):
        def on_start(self, ev) -> None:
            _say()

        def on_end(self, ev) -> None:
            pass

    return _FirstCompile


def _say() -> None:
    global _said
    with _lock:
        if _said:
            return
        _said = True
    log.info(MESSAGE)
    if env_flag("RUSTYBT_PROGRESS") is not False:
        sys.stderr.write(MESSAGE + "\n")
        sys.stderr.flush()


@contextmanager
def watching() -> Iterator[None]:
    """Say :data:`MESSAGE` if Numba compiles anything while this is entered (once per process; nestable)."""
    global _depth, _listener
    if _said:
        yield
        return
    from numba.core import event

    with _lock:
        _depth += 1
        if _listener is None:
            _listener = _listener_class()()
            event.register("numba:compile", _listener)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _listener is not None:
                event.unregister("numba:compile", _listener)
                _listener = None
