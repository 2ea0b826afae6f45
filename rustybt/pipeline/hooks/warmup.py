"""The warm-up hook: Numba's one-time set-up and the loading of cached kernels, in a background thread started
when a run begins (:class:`WarmupHooks`, one of the engine's built-in speed-ups).

The first jitted call in a process makes Numba load its lowering registries: it imports its NumPy support
(``numba.np.arraymath``, which imports SciPy's BLAS bindings when SciPy is installed) and registers thousands of
implementations, about 0.3-0.5 s of Python work before the first kernel can even be fetched from the on-disk
cache. Nothing in it depends on the pipeline, so :func:`start` runs it in a daemon thread while the run's own
first steps (the calendar, the root mask and above all the loader's Parquet scan, which releases the GIL) go on.
The first kernel call then finds it done, or waits for it on Numba's compiler lock, which the set-up holds: the
same lock and the same ``refresh()`` call a Numba dispatcher uses itself before compiling or loading a kernel.

Then each kernel still costs 5-20 ms to load from Numba's disk cache on its first call, one after the other on
the main thread while the other core waits. So when a chunk begins the hook names its steps
(:func:`want`: the data sets it loads and its term types, in execution order), and the same thread loads, from
that cache, the kernels those steps called in earlier processes. Which kernels a step calls is learned by watching
it (:func:`observe`: the kernels Numba had to load or compile on demand during the step; what the chunk loads
outside any term, the output's gathers, goes under :data:`OUTPUT_STEP`) and kept by :func:`record` in
``<cache dir>/kernels/``. Only the kernels the step itself called count: when Numba compiles a kernel (the first
process after an install or a change), it also compiles every jitted helper the kernel calls, and those were
compiled into the kernel; loading them again from the cache would cost 5-20 ms each for nothing (with them, the
benchmark pipeline's first run loaded 79 kernels instead of 14 and took 1.5 s instead of 1.0 s). Loading goes
through the dispatcher's own ``compile(signature)`` under the compiler lock, so a kernel the main thread asks for
meanwhile is loaded once, and only kernels of the steps a run has are loaded. ``RUSTYBT_KERNEL_PRELOAD=0`` turns
the map off (the set-up still runs in the background).

While the set-up runs, placing bars would wait for it: :func:`setting_up` is the pricing loader's default
read-ahead test (the reader keeps reading years ahead meanwhile).
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import queue
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rustybt._cache_files import cache_subdir, write_atomically
from rustybt.pipeline.hooks.iface import PipelineHooks

__all__ = ["OUTPUT_STEP", "WarmupHooks", "observe", "record", "setting_up", "start", "step_of", "want"]

log = logging.getLogger(__name__)

# 3: steps are data sets and term classes (2: loader classes; 1 also listed helpers compiled into kernels)
_FORMAT = 3
#: at most this many kernel signatures per step are kept
MAX_PER_STEP = 16

_lock = threading.Lock()
_thread: threading.Thread | None = None
_set_up_done = threading.Event()
_requests: queue.Queue = queue.Queue()
_map: dict[str, list] | None = None  # step -> [(module, name, signature)], as on disk plus what this process learned
_on_disk: dict[str, list] | None = None  # what the file holds, as last read or written
_map_path: Path | None = None  # the file _map belongs to
_requested: set = set()  # entries already queued for loading
_stale: set = set()  # entries that failed to load: dropped from the map when it is next written
_dispatchers: tuple[int, list] = (-1, [])  # (len(sys.modules) when listed, cached dispatchers of rustybt modules)
_observing = threading.local()  # .stack: per open observe() block, the entries inner blocks already took

#: the step the kernels a chunk loads outside any load or term go under (the output's gathers)
OUTPUT_STEP = "rustybt.pipeline._output"


# --- the hook --------------------------------------------------------------------------------------------------
def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def step_of(term: Any) -> str:
    """What a term is to the kernel map: its class (the kernels it calls depend on little else); for a loaded
    column, its data set (which fixes the loader)."""
    dataset = getattr(term, "dataset", None)
    if dataset is not None:
        unspecialize = getattr(dataset, "unspecialize", None)
        return "load:" + _name(unspecialize() if unspecialize is not None else dataset)
    return _name(type(term))


class WarmupHooks(PipelineHooks):
    """Starts Numba's set-up in a background thread as a run begins; that thread then loads the kernels the
    chunk's steps called in earlier processes, and each step's on-demand kernels are noted for the next process
    (see the module's documentation)."""

    @contextmanager
    def running_pipeline(self, pipeline: Any, start_date: Any, end_date: Any) -> Iterator[None]:
        start()  # alongside the calendar, the root mask and the loader's read
        yield

    @contextmanager
    def computing_chunk(self, terms: Sequence[Any], start_date: Any, end_date: Any) -> Iterator[None]:
        want([*dict.fromkeys(step_of(t) for t in terms), OUTPUT_STEP])
        with observe(OUTPUT_STEP):
            yield
        record()

    @contextmanager
    def loading_terms(self, terms: Sequence[Any]) -> Iterator[None]:
        with observe(step_of(terms[0])):
            yield

    @contextmanager
    def computing_term(self, term: Any) -> Iterator[None]:
        with observe(step_of(term)):
            yield


# --- the background thread -------------------------------------------------------------------------------------
def _work() -> None:
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
    while True:
        module, name, signature = _requests.get()
        try:
            getattr(importlib.import_module(module), name).compile(signature)
        except Exception:  # a kernel renamed, removed or re-typed since the map was written: skip it, forget it
            log.debug("could not preload %s.%s%s", module, name, signature, exc_info=True)
            with _lock:
                _stale.add((module, name, signature))
        finally:
            _requests.task_done()


def start() -> threading.Thread:
    """Start Numba's set-up in a background thread (once per process), which then loads what :func:`want`
    asks for; returns that thread."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_work, name="rustybt-numba-setup", daemon=True)
            _thread.start()
        return _thread


def setting_up() -> bool:
    """True while the background set-up started by :func:`start` is still running: a kernel called now would
    wait for it (callers with other work to do, such as reading Parquet ahead, do that first)."""
    return _thread is not None and not _set_up_done.is_set()


def want(steps: Iterable[str]) -> None:
    """Queue, for the background thread, the kernels these steps called in earlier processes (in this order)."""
    if _path() is None:
        return
    with _lock:
        kernels = _kernel_map()
        for step in steps:
            for entry in kernels.get(step, ()):
                if entry not in _requested:
                    _requested.add(entry)
                    _requests.put(entry)
    start()


# --- learning which kernels a step calls -----------------------------------------------------------------------
def _cached_dispatchers() -> list:
    """RustyBT's module-level kernels that Numba caches on disk (listed again when modules were imported)."""
    global _dispatchers
    n_modules = len(sys.modules)
    if _dispatchers[0] == n_modules:
        return _dispatchers[1]
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
                found.append((module_name, name, obj))
    _dispatchers = (n_modules, found)
    return found


def _overload_counts() -> dict[int, int]:
    return {id(d): len(d.overloads) for _, _, d in _cached_dispatchers()}


class _Compilations:
    """The overloads Numba added while compiling a kernel, other than that kernel: the jitted helpers it calls,
    compiled into it (or loaded from the cache to type it). A step never calls those itself.

    Fed by Numba's ``numba:compile`` events, per thread. Compilations are rare (once per kernel and signature),
    and the overload counts taken at their start and end cost microseconds against their hundreds of ms.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self.helpers: set[tuple[int, tuple]] = set()  # (id(dispatcher), signature)

    def _state(self):
        local = self._local
        if not hasattr(local, "depth"):
            local.depth, local.top, local.before = 0, None, {}
        return local

    def started(self, data: dict) -> None:
        state = self._state()
        if state.depth == 0:
            state.top = (id(data["dispatcher"]), tuple(data["args"]))
            state.before = _overload_counts()
        state.depth += 1

    def ended(self) -> None:
        state = self._state()
        state.depth -= 1
        if state.depth:
            return
        after = _overload_counts()
        for _, _, dispatcher in _cached_dispatchers():
            start, stop = state.before.get(id(dispatcher), 0), after.get(id(dispatcher), 0)
            for sig in list(dispatcher.overloads)[start:stop]:
                if (id(dispatcher), tuple(sig)) != state.top:
                    self.helpers.add((id(dispatcher), tuple(sig)))


_compilations: _Compilations | None = None


def _watch_compilations() -> _Compilations:
    """The process's :class:`_Compilations`, fed by Numba's ``numba:compile`` events (registered once)."""
    global _compilations
    with _lock:
        if _compilations is None:
            from numba.core import event

            compilations = _Compilations()

            class _Listener(event.Listener):
                def on_start(self, e) -> None:
                    compilations.started(e.data)

                def on_end(self, e) -> None:
                    compilations.ended()

            event.register("numba:compile", _Listener())
            _compilations = compilations
    return _compilations


@contextmanager
def observe(step: str) -> Iterator[None]:
    """Note the kernels ``step`` called that Numba loaded or compiled on demand while the block ran (in a nested
    block, those of the innermost step only)."""
    if _path() is None:
        yield
        return
    helpers = _watch_compilations().helpers
    stack = _observing.__dict__.setdefault("stack", [])
    taken: set = set()  # what inner blocks noted
    stack.append(taken)
    before = _overload_counts()
    try:
        yield
    finally:
        stack.pop()
    after = _overload_counts()
    if after == before:  # nothing new: the common case, a few microseconds
        return
    with _lock:
        new = []
        for module, name, dispatcher in _cached_dispatchers():
            for sig in list(dispatcher.overloads)[before.get(id(dispatcher), 0) :]:
                entry = (module, name, tuple(sig))
                # not loaded by the background thread, nor brought in by compiling a kernel, nor an inner step's
                if entry not in _requested and (id(dispatcher), tuple(sig)) not in helpers and entry not in taken:
                    new.append(entry)
        for outer in stack:
            outer.update(new)
        if new:
            kernels = _kernel_map()
            known = kernels.setdefault(step, [])
            known.extend(e for e in new if e not in known)
            del known[:-MAX_PER_STEP]


# --- the file --------------------------------------------------------------------------------------------------
def _kernel_map() -> dict[str, list]:
    global _map, _map_path, _on_disk
    path = _path()
    if _map is None or path != _map_path:
        _on_disk = _read()
        _map = {step: list(entries) for step, entries in _on_disk.items()}
        _map_path = path
    return _map


def record() -> None:
    """Write the map of kernels each step called if this process learned something (a no-op otherwise)."""
    global _on_disk
    path = _path()
    if path is None:
        return
    with _lock:
        kernels = _kernel_map()
        if _stale:
            for entries in kernels.values():
                entries[:] = [e for e in entries if e not in _stale]
        if kernels == _on_disk:
            return
        snapshot = {step: list(entries) for step, entries in kernels.items()}
    content = {"format": _FORMAT, "kernels": snapshot}
    if not write_atomically(path, lambda f: pickle.dump(content, f, protocol=pickle.HIGHEST_PROTOCOL)):
        return
    with _lock:
        _on_disk = snapshot


def _read() -> dict[str, list]:
    path = _path()
    if path is None or not path.exists():
        return {}
    try:
        with path.open("rb") as f:
            content = pickle.load(f)  # our own file in the user's cache directory, as Numba's own index is
        kernels = content["kernels"] if content.get("format") == _FORMAT else None
        if isinstance(kernels, dict) and all(
            isinstance(entries, list) and all(isinstance(e, tuple) and len(e) == 3 for e in entries)
            for entries in kernels.values()
        ):
            return kernels
        log.debug("ignoring %s: unexpected content", path)
    except Exception:
        log.debug("ignoring unreadable kernel map %s", path, exc_info=True)
    return {}


def _path() -> Path | None:
    """The map's file, or None when turned off (resolved once per configuration: cheap on every step)."""
    env = os.environ
    key = tuple(env.get(k) for k in ("RUSTYBT_KERNEL_PRELOAD", "RUSTYBT_CONFIG", "RUSTYBT_CACHE_DIR", "HOME"))
    if key not in _paths:
        _paths[key] = _resolve_path()
    return _paths[key]


_paths: dict[tuple, Path | None] = {}


def _resolve_path() -> Path | None:
    root = cache_subdir("kernels", "RUSTYBT_KERNEL_PRELOAD")
    if root is None:
        return None
    import numba

    from rustybt import __version__

    python = f"{sys.version_info.major}{sys.version_info.minor}"
    return root / f"steps-rustybt{__version__}-numba{numba.__version__}-py{python}.pkl"
