"""A dense float64 copy of a daily bundle's bars, kept in the cache directory for later processes.

A bundle stores exact decimals, one row per bar, in yearly Parquet files. Turning that into the (sessions x assets)
float64 arrays the pipeline computes on takes, per year, a decode, a cast to float and a placement pass: about
0.5 s of CPU for 3,000 assets over ten years, more than all of a pipeline's kernels. So the first read of a field
that covers at least half the bundle's sessions (:data:`MIN_COVER`) places *every* session and asset of the bundle
straight into a file, ``<cache dir>/bars/<bundle>-<catalog>/<ingestion>/<digest>/<field>.npy`` (NumPy's format,
F-ordered float64, NaN where no bar), and every later read in any process maps that file copy-on-write
(``np.load(..., mmap_mode="c")``) and slices it without copying: the pages come from the OS's file cache, shared by
all processes.

It is derived data, like Numba's own cache: deleting it at any time costs only the speed-up.

- Immutable source: an ingestion never changes (a new ingest is a new ingestion id). The digest in the path covers
  the ingestion's file checksums, its sessions (as the calendar gives them now) and its sids, so a changed calendar
  or a bundle rebuilt under the same id maps to another directory.
- Written atomically: a temporary file renamed into place, so a reader never maps half a file; an interrupted
  build leaves only a temporary file, removed by a later build.
- Arrays served from it are copy-on-write views: writing to one (the pipeline's loaders never do) changes only that
  process's pages, never the file. (Read-only arrays would be a different type to Numba: every kernel would be
  compiled again for them.)
- Checked: each field's CRC-32 is written beside it at build (``<field>.crc32``) and checked when a process first
  maps the field (a damaged or edited copy is logged, removed and rebuilt from the checked Parquet files; a copy
  without its checksum is rebuilt). ``Catalog.verify`` checks the copies of the ingestion too.
- ``RUSTYBT_BARS_CACHE=0`` turns it off; a field larger than :data:`MAX_BYTES` is never copied; a failure to write
  (full or read-only disk) is logged at DEBUG and the reader reads Parquet as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from rustybt._cache_files import replaced_atomically
from rustybt.data.catalog.derived import check_copies, copy_problem, crc_path, dense_root, safe_name
from rustybt.data.catalog.manifest import crc32_file

__all__ = ["MAX_BYTES", "MIN_COVER", "DenseBars", "check_copies", "for_bundle"]

log = logging.getLogger(__name__)

_FORMAT = 1
#: a field's copy is never larger than this (bytes)
MAX_BYTES = 4 << 30
#: a read builds the copy when it spans at least this share of the bundle's sessions (a small read of a long bundle
#: is cheaper from Parquet than a copy of everything)
MIN_COVER = 0.5
_STALE_TMP_S = 3600.0
#: np.load parses the file header with ast.literal_eval, which CPython 3.11 does not make thread-safe
#: ("AST constructor recursion depth mismatch" with readers in several threads): one header at a time
_LOAD_LOCK = threading.Lock()

#: fills F-ordered float64 arrays of shape (sessions, sids) with the fields' bars: ``fill(fields, outs)``
Placer = Callable[[Sequence[str], tuple], None]


class DenseBars:
    """The dense copy of one daily bundle ingestion's fields.

    Parameters
    ----------
    root
        The ingestion's directory under the cache directory (see :func:`for_bundle`).
    labels
        The bundle's session labels (int64 ns, ascending): the rows.
    sids
        The bundle's sids, ascending: the columns.
    place
        Fills arrays covering every label and sid from the bundle (the reader's own placement).
    live
        The ingestion ids the catalog still holds: a build removes the copies of the others (and the copies of
        this ingestion for an older calendar), so re-ingesting does not pile copies up in the cache.
    """

    def __init__(
        self,
        root: Path,
        labels: np.ndarray,
        sids: np.ndarray,
        place: Placer,
        live: Callable[[], set[str]] | None = None,
    ) -> None:
        self.labels = np.asarray(labels, dtype=np.int64)
        self._live = live
        self.sids = np.asarray(sids, dtype=np.int64)
        self._place = place
        self._root = root
        self._mapped: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @cached_property
    def directory(self) -> Path:
        """Where the fields' files are: one directory per content (see the module notes)."""
        digest = hashlib.blake2b(digest_size=8)
        digest.update(self.labels.tobytes())
        digest.update(self.sids.tobytes())
        return self._root / f"v{_FORMAT}-{digest.hexdigest()}"

    def arrays(self, fields: Sequence[str], labels: np.ndarray, sids: Sequence[int]) -> list[np.ndarray] | None:
        """``(len(labels), len(sids))`` arrays of ``fields``, or None when the copy cannot serve them (the
        labels are not a run of the bundle's, a sid is not the bundle's, or there is no copy and the read is too
        small to make one)."""
        n = len(labels)
        if n == 0 or len(self.labels) == 0 or len(sids) == 0:
            return None
        i0 = int(np.searchsorted(self.labels, labels[0]))
        if i0 + n > len(self.labels) or not np.array_equal(self.labels[i0 : i0 + n], labels):
            return None
        sids = np.asarray(sids, dtype=np.int64)
        cols = np.searchsorted(self.sids, sids)
        if (cols >= len(self.sids)).any() or not np.array_equal(self.sids[cols], sids):
            return None
        mapped = self._fields(fields, build=n >= MIN_COVER * len(self.labels))
        if mapped is None:
            return None
        rows = slice(i0, i0 + n)
        if len(cols) == len(self.sids) and (cols == np.arange(len(cols))).all():
            return [arr[rows] for arr in mapped]  # views of the mapped file: nothing copied
        return [np.asfortranarray(arr[rows][:, cols]) for arr in mapped]

    # --- the files -----------------------------------------------------------------------------------------------
    def _fields(self, fields: Sequence[str], build: bool) -> list[np.ndarray] | None:
        with self._lock:
            missing = [f for f in dict.fromkeys(fields) if f not in self._mapped and not self._map(f)]
            if missing:
                if not build or not self._build(missing):
                    return None
                if not all(self._map(f) for f in missing):
                    return None
            return [self._mapped[f] for f in fields]

    def _path(self, field: str) -> Path:
        return self.directory / f"{field}.npy"

    def _map(self, field: str) -> bool:
        path = self._path(field)
        problem = copy_problem(path)
        if problem == "missing":
            return False
        if problem:
            log.warning("dense bars %s: %s; removed, rebuilt from the bundle's Parquet files", path, problem)
            with contextlib.suppress(OSError):
                path.unlink()
            return False
        try:
            with _LOAD_LOCK:
                arr = np.load(path, mmap_mode="c", allow_pickle=False)
        except FileNotFoundError:
            return False
        except (OSError, ValueError):  # truncated or not NumPy's format: rebuilt over it
            log.debug("ignoring unreadable dense bars %s", path, exc_info=True)
            return False
        shape = (len(self.labels), len(self.sids))
        if arr.shape != shape or arr.dtype != np.float64 or not arr.flags.f_contiguous:
            log.debug("ignoring dense bars %s: %s %s, expected %s float64", path, arr.shape, arr.dtype, shape)
            return False
        self._mapped[field] = np.asarray(arr)  # a plain ndarray view of the (copy-on-write) map
        return True

    def _build(self, fields: list[str]) -> bool:
        shape = (len(self.labels), len(self.sids))
        if 8 * shape[0] * shape[1] > MAX_BYTES:
            return False
        directory = self.directory
        try:
            directory.mkdir(parents=True, exist_ok=True)
            _remove_stale_tmp(directory)
            self._remove_dead_copies()
            started = time.perf_counter()
            with contextlib.ExitStack() as files:  # every field's file renamed into place, or none
                tmps = [files.enter_context(replaced_atomically(self._path(field))) for field in fields]
                # placed straight into the files: no second copy of the arrays in memory
                outs = tuple(
                    np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float64, shape=shape, fortran_order=True)
                    for tmp in tmps
                )
                self._place(fields, outs)
                for out in outs:
                    out.flush()
                del outs
                for field, tmp in zip(fields, tmps, strict=True):  # the checksum lands before the copy it checks
                    with replaced_atomically(crc_path(self._path(field))) as crc_tmp:
                        crc_tmp.write_text(crc32_file(tmp))
            log.debug("dense bars %s of %s in %.2f s", fields, directory, time.perf_counter() - started)
            return True
        except OSError:  # a full or read-only disk costs only the speed-up
            log.debug("could not write dense bars under %s", directory, exc_info=True)
            return False

    def _remove_dead_copies(self) -> None:
        """Copies of ingestions the catalog no longer holds, and of this ingestion for other sessions or sids."""
        for other in self.directory.parent.iterdir():  # this ingestion's copies, one per (sessions, sids)
            if other != self.directory and other.is_dir():
                shutil.rmtree(other, ignore_errors=True)
        if self._live is None:
            return
        live = self._live()
        for ingestion in self._root.parent.iterdir():
            if ingestion != self._root and ingestion.is_dir() and ingestion.name.rsplit("-", 1)[0] not in live:
                shutil.rmtree(ingestion, ignore_errors=True)


def for_bundle(bundle, labels: np.ndarray, place: Placer) -> DenseBars | None:
    """The dense copy of ``bundle``'s daily bars, or None when turned off (``RUSTYBT_BARS_CACHE=0``)."""
    root = dense_root(bundle)
    if root is None:
        return None
    return DenseBars(
        root,
        labels,
        np.asarray(sorted(bundle.sids), dtype=np.int64),
        place,
        live=lambda: {safe_name(record.id) for record in bundle.ingestions()},
    )


def _remove_stale_tmp(directory: Path) -> None:
    """Temporary files an interrupted build left (older than an hour: a build in another process is not one)."""
    now = time.time()
    for tmp in directory.glob("*.tmp"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > _STALE_TMP_S:
                tmp.unlink()
