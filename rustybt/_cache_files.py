"""Small files kept under the cache directory to speed up later processes (calendar sessions).

They are hints, never data: a missing, unreadable or unwritable file costs only the speed-up, so every failure here
is logged at DEBUG and answered with ``None`` / ``False``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["cache_subdir", "replaced_atomically", "write_atomically"]

log = logging.getLogger(__name__)


def cache_subdir(name: str, switch: str) -> Path | None:
    """``<cache.disk_cache_dir>/<name>``, or None when the on/off environment variable ``switch`` (one of
    :data:`rustybt.config.SWITCHES`, read with :func:`rustybt.config.env_flag`) turns these files off or the
    configuration cannot be read."""
    from rustybt.config import env_flag, load_config

    if not env_flag(switch):
        return None

    try:
        return Path(load_config().cache.disk_cache_dir) / name
    except Exception:  # a broken config file is reported where the config is used, not here
        log.debug("no %s files: the configuration could not be read", name, exc_info=True)
        return None


@contextmanager
def replaced_atomically(path: Path) -> Iterator[Path]:
    """A new empty temporary file next to ``path`` (``<name>*.tmp``) for the block to write; renamed onto ``path``
    when the block ends without error (a reader never sees half a file), removed when it raises. ``path``'s
    directory must exist."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> bool:
    """Write ``path`` with ``write(file)`` via :func:`replaced_atomically`; False if the disk would not take it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replaced_atomically(path) as tmp, tmp.open("wb") as f:
            write(f)
    except OSError:  # a read-only or full disk costs only the speed-up
        log.debug("could not write %s", path, exc_info=True)
        return False
    return True
