"""The memory side of the cache: an LRU bounded in bytes, and what a caller gets back for a stored value.

Values held are never the caller's own objects: numpy arrays are copied in and handed out as read-only views,
pandas values as copy-on-write shallow copies, polars values as clones.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

__all__ = ["MemoryLRU"]


def _kind(value: Any) -> str:
    if type(value) is np.ndarray:
        if value.dtype.hasobject:
            raise TypeError(
                "CacheManager does not cache numpy arrays of dtype object (their size cannot be measured and they "
                "cannot be stored without pickle); convert them to a typed array or a frame first"
            )
        return "numpy"
    if isinstance(value, pl.DataFrame):
        return "polars_frame"
    if isinstance(value, pl.Series):
        return "polars_series"
    if isinstance(value, pd.DataFrame):
        return "pandas_frame"
    if isinstance(value, pd.Series):
        return "pandas_series"
    raise TypeError(
        f"CacheManager caches numpy arrays, polars DataFrames/Series and pandas DataFrames/Series, "
        f"not {type(value).__module__}.{type(value).__qualname__}"
    )


def _nbytes(kind: str, value: Any) -> int:
    if kind == "numpy":
        return int(value.nbytes)
    if kind.startswith("polars"):
        return int(value.estimated_size())
    if kind == "pandas_frame":
        return int(value.memory_usage(index=True, deep=True).sum())
    return int(value.memory_usage(index=True, deep=True))


def _freeze(arr: np.ndarray) -> np.ndarray:
    """Make ``arr`` and the array owning its memory read-only, so no view of it can be made writable again."""
    owner = arr
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if owner.flags.owndata:
        owner.flags.writeable = False
    arr.flags.writeable = False
    return arr


def _private(kind: str, value: Any) -> Any:
    """The object the cache keeps: never one the caller can still mutate."""
    if kind == "numpy":
        return _freeze(np.array(value, order="K", copy=True))
    if kind.startswith("pandas"):
        return value.copy(deep=False)  # copy-on-write: an independent value from here on
    return value.clone()  # polars: shares the buffers, but in-place methods (insert_column, scatter) stay local


def _export(kind: str, stored: Any) -> Any:
    """What a caller receives for a stored value."""
    if kind == "numpy":
        view = stored.view()
        view.flags.writeable = False
        return view
    if kind.startswith("pandas"):
        return stored.copy(deep=False)
    return stored.clone()


@dataclass
class _Entry:
    value: Any
    kind: str
    nbytes: int


def _readonly_view(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


class MemoryLRU:
    """Entries bounded by their total exact size, least recently used out first.

    Not thread-safe: the :class:`~rustybt.data.cache.CacheManager` calls it under its lock.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def get(self, key: str) -> _Entry | None:
        """The entry under ``key`` (now the most recently used), or None."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def store(self, key: str, entry: _Entry) -> int:
        """Keep ``entry`` under ``key`` (replacing any older one); return how many entries were evicted for it.

        An entry larger than the whole bound is not kept (the older one is still dropped).
        """
        self.drop(key)
        if entry.nbytes > self.max_bytes:
            return 0
        evicted = 0
        while self._entries and self.nbytes + entry.nbytes > self.max_bytes:
            _, old = self._entries.popitem(last=False)
            self.nbytes -= old.nbytes
            evicted += 1
        self._entries[key] = entry
        self.nbytes += entry.nbytes
        return evicted

    def drop(self, key: str) -> bool:
        """Remove ``key``; True if it was held."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self.nbytes -= entry.nbytes
        return True

    def drop_prefix(self, prefix: str) -> set[str]:
        """Remove every key starting with ``prefix``; return those keys."""
        removed = {k for k in self._entries if k.startswith(prefix)}
        for k in removed:
            self.drop(k)
        return removed

    def clear(self) -> None:
        self._entries.clear()
        self.nbytes = 0

    def keys(self) -> set[str]:
        return set(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)
