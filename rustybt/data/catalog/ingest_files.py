"""The file-system side of an atomic ingestion: the per-bundle lock, removal of leftover staging directories
(unknown ones go to ``.quarantine/``), fsync of the new ingestion, and Ctrl-C held off while cleaning up."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rustybt.data.catalog.layout import (
    bundle_dir,
)
from rustybt.errors import IngestionError

__all__ = ["bundle_lock", "remove_leftovers"]

log = logging.getLogger("rustybt.data.catalog.ingest")  # one logger for every step of an ingestion


@contextmanager
def bundle_lock(directory: Path, bundle: str) -> Iterator[None]:
    """Hold the bundle's ingestion lock (an advisory ``flock``; released if the process dies)."""
    directory.mkdir(parents=True, exist_ok=True)
    fh = open(directory / ".lock", "a+")  # noqa: SIM115 - held for the whole with-block
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestionError(f"another ingestion of bundle {bundle!r} is running; wait for it to finish") from None
        yield
    finally:
        fh.close()


def _remove_leftovers(directory: Path, known: set[str]) -> list[Path]:
    """Remove what killed ingestions left in ``.staging/`` (the catalog's own area; we hold the lock, nobody writes
    there), and move every other directory the catalog does not know into ``.quarantine/``: it may be a user's
    folder, or a real ingestion a restored older ``catalog.sqlite`` forgot. Nothing outside ``.staging/`` is ever
    deleted. Returns the quarantined paths (each logged as a warning)."""
    staging = directory / ".staging"
    if staging.exists():
        for leftover in staging.iterdir():
            log.info("removing unfinished ingestion %s", leftover)
            shutil.rmtree(leftover, ignore_errors=True)
    moved = []
    for child in sorted(directory.iterdir()):
        if child.is_dir() and not child.name.startswith(".") and child.name not in known:
            target = directory / ".quarantine" / child.name
            n = 1
            while target.exists():
                target, n = directory / ".quarantine" / f"{child.name}.{n}", n + 1
            target.parent.mkdir(exist_ok=True)
            os.replace(child, target)
            log.warning(
                "bundle directory %s is not an ingestion the catalog knows; moved to %s (nothing deleted: remove it "
                "yourself if you do not need it)",
                child,
                target,
            )
            moved.append(target)
    return moved


def remove_leftovers(root: Path, name: str, known: set[str]) -> list[Path]:
    """:func:`_remove_leftovers` under the bundle's lock (for ``Catalog.clean``); an ingestion running now keeps
    its staging directory (:class:`IngestionError`)."""
    directory = bundle_dir(root, name)
    if not directory.exists():
        return []
    with bundle_lock(directory, name):
        return _remove_leftovers(directory, known)


def _fsync_tree(directory: Path) -> None:
    """fsync every directory of a written ingestion (the files were fsynced as written) so the rename that
    publishes it cannot outlive its contents after a power loss."""
    for path in sorted((p for p in directory.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        _fsync_dir(path)
    _fsync_dir(directory)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _no_interrupt() -> Iterator[None]:
    """Hold off Ctrl-C while cleaning up after a failure (a second KeyboardInterrupt would leave the staging
    directory behind); a Ctrl-C pressed meanwhile is raised when the block ends."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(1))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt
