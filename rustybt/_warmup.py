"""Numba's one-time set-up and the loading of cached kernels, started in the background when a run begins.

The first jitted call in a process makes Numba load its lowering registries: it imports its NumPy support
(``numba.np.arraymath``, which imports SciPy's BLAS bindings when SciPy is installed) and registers thousands of
implementations, about 0.3-0.5 s of Python work before the first kernel can even be fetched from the on-disk
cache. Nothing in it depends on the pipeline, so :func:`start` runs it in a daemon thread while the run's own
first steps (the calendar, the root mask and above all the loader's Parquet scan, which releases the GIL) go on.
The first kernel call then finds it done, or waits for it on Numba's compiler lock, which the set-up holds: the
same lock and the same ``refresh()`` call a Numba dispatcher uses itself before compiling or loading a kernel.

Then each kernel still costs 5-20 ms to load from Numba's disk cache on its first call, one after the other on
the main thread while the other core waits. So the same thread goes on to load, from that cache, the kernels the
previous process used: :func:`record` (called after every run) keeps their names and exact signatures in
``<cache dir>/kernels/``, and :func:`start` loads them while the loader reads Parquet. Loading goes through the
dispatcher's own ``compile(signature)``, under the compiler lock, so a kernel the main thread asks for meanwhile
is loaded once. ``RUSTYBT_KERNEL_PRELOAD=0`` turns the list off (the set-up still runs in the background).
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import sys
import tempfile
import threading
from pathlib import Path

__all__ = ["record", "setting_up", "start", "used_kernels"]

log = logging.getLogger(__name__)

#: at most this many signatures are kept (a long notebook session may have used many kernels; loading is cheap
#: but not free, and it competes with the run for the second core)
MAX_KERNELS = 96

_lock = threading.Lock()
_thread: threading.Thread | None = None
_set_up_done = threading.Event()
_recorded: list | None = None  # what the list on disk holds, as last read or written by this process


def _set_up() -> None:
    try:
        from numba.core.compiler_lock import global_compiler_lock
        from numba.core.registry import cpu_target

        with global_compiler_lock:
            cpu_target.target_context.refresh()
    except Exception:  # pragma: no cover - the first kernel call does the same work and reports any error
        log.debug("background Numba set-up failed; the first kernel call will do it", exc_info=True)
        return
    finally:
        _set_up_done.set()
    _preload()


def _preload() -> None:
    global _recorded
    entries = _read()
    with _lock:
        if _recorded is None:
            _recorded = entries
    for module, name, signature in entries:
        try:
            dispatcher = getattr(importlib.import_module(module), name)
            dispatcher.compile(signature)
        except Exception:  # a kernel renamed or removed since the list was written: skip it
            log.debug("could not preload %s.%s%s", module, name, signature, exc_info=True)


def start() -> threading.Thread:
    """Start Numba's set-up, then the preloading of the kernels last used, in a background thread (once per
    process); returns that thread."""
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


# --- the list of kernels used ----------------------------------------------------------------------------------
def used_kernels() -> list[tuple[str, str, tuple]]:
    """``(module, name, signature)`` of every signature this process has of RustyBT's module-level kernels that
    Numba caches on disk; the Parquet readers' kernels first (a run needs them first), then by module and name."""
    from numba.core.dispatcher import Dispatcher

    found = []
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("rustybt.") or module is None:
            continue
        for name, obj in list(vars(module).items()):
            if (
                isinstance(obj, Dispatcher)
                and obj.__module__ == module_name  # where it is defined, not where it is imported
                and type(obj._cache).__name__ != "NullCache"  # cache=True: only these load from disk
            ):
                found.extend((module_name, name, tuple(sig)) for sig in obj.signatures)
    found.sort(key=lambda e: (not e[0].startswith("rustybt.data."), e[0], e[1]))
    return found[:MAX_KERNELS]


def record() -> None:
    """Write the list of kernels used in this process if it changed (cheap when it did not)."""
    global _recorded
    path = _path()
    if path is None:
        return
    try:
        used = used_kernels()
    except Exception:  # pragma: no cover - never fail a run over a speed-up
        log.debug("could not list the kernels used", exc_info=True)
        return
    with _lock:
        if _recorded is None:
            _recorded = _read()
        if used == _recorded or not used:
            return
        _recorded = used
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(used, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:  # a read-only or full disk costs only the speed-up
        log.debug("could not write the list of kernels used to %s", path, exc_info=True)


def _read() -> list:
    path = _path()
    if path is None or not path.exists():
        return []
    try:
        with path.open("rb") as f:
            entries = pickle.load(f)  # our own file in the user's cache directory, as Numba's own index is
        if isinstance(entries, list) and all(isinstance(e, tuple) and len(e) == 3 for e in entries):
            return entries[:MAX_KERNELS]
        log.debug("ignoring %s: unexpected content", path)
    except Exception:
        log.debug("ignoring unreadable kernel list %s", path, exc_info=True)
    return []


def _path() -> Path | None:
    if os.environ.get("RUSTYBT_KERNEL_PRELOAD", "").strip().lower() in ("0", "false", "no"):
        return None
    try:
        import numba

        from rustybt import __version__
        from rustybt.config import load_config

        root = Path(load_config().cache.disk_cache_dir) / "kernels"
    except Exception:  # a broken config file is reported where the config is used, not here
        log.debug("no kernel list: the configuration could not be read", exc_info=True)
        return None
    python = f"{sys.version_info.major}{sys.version_info.minor}"
    return root / f"used-rustybt{__version__}-numba{numba.__version__}-py{python}.pkl"
