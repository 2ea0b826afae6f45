"""Small files kept under the cache directory to speed up later processes (calendar sessions, the kernel map).

They are hints, never data: a missing, unreadable or unwritable file costs only the speed-up, so every failure here
is logged at DEBUG and answered with ``None`` / ``False``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["cache_subdir", "write_atomically"]

log = logging.getLogger(__name__)

_OFF = ("0", "false", "no")


def cache_subdir(name: str, switch: str) -> Path | None:
    """``<cache.disk_cache_dir>/<name>``, or None when the environment variable ``switch`` turns these files off
    (``0``, ``false``, ``no``) or the configuration cannot be read."""
    if os.environ.get(switch, "").strip().lower() in _OFF:
        return None
    from rustybt.config import load_config

    try:
        return Path(load_config().cache.disk_cache_dir) / name
    except Exception:  # a broken config file is reported where the config is used, not here
        log.debug("no %s files: the configuration could not be read", name, exc_info=True)
        return None


def write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> bool:
    """Write ``path`` with ``write(file)`` via a temporary file and a rename (a reader never sees half a file);
    False if the disk would not take it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:  # a read-only or full disk costs only the speed-up
        log.debug("could not write %s", path, exc_info=True)
        return False
    return True
