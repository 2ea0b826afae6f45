"""CacheManager: an in-memory LRU bounded in MiB plus an optional, checksummed disk cache.

The data portal and the pipeline loaders cache what they read (history windows, adjusted columns, whole frames)
under deterministic keys built by :meth:`CacheManager.make_key`.

Memory
    An LRU of numpy arrays, polars DataFrames/Series and pandas DataFrames/Series. Sizes are measured exactly
    (``ndarray.nbytes``, ``estimated_size()``, ``memory_usage(deep=True)``) and the sum never exceeds
    ``max_memory_mb`` (MiB, 2**20 bytes): least recently used entries are evicted first, and a value larger than the
    whole bound is not kept in memory at all.

Disk (optional)
    One file per entry under ``<disk_cache_path>/objects/``: Parquet for frames and series, ``.npy`` for arrays
    (written without pickle). Each file is written to a temporary name and moved into place with ``os.replace``;
    its SHA-256 and size are recorded in a SQLite index (``<disk_cache_path>/index.sqlite``), which several processes
    may share. Every read recomputes the checksum: a corrupted, truncated or missing file is discarded, logged at
    WARNING and reported as a miss, so the caller reads the source again. ``max_disk_mb`` optionally bounds the disk
    cache, evicting by last disk access (memory hits do not refresh it).

Values served from the cache are never the caller's own objects:

- numpy arrays are copied on :meth:`~CacheManager.put` and returned as **read-only** views
  (``flags.writeable`` is False and cannot be switched back); call ``.copy()`` to get a writable array;
- pandas objects are stored and returned as shallow copies, which copy-on-write (always on in pandas 3) turns into
  independent values: mutating what you got never changes what the cache holds;
- polars values are stored and returned as clones (cheap: the buffers are shared), so even polars' few in-place
  methods (``insert_column``, ``Series.scatter``...) on what you got do not reach the cache.

Configuration: ``max_memory_mb`` defaults to ``cache.max_size_mb`` (``RUSTYBT_CACHE_SIZE_MB``); the disk cache is
on when ``disk_cache_path`` is given or when the config enables it (``cache.disk_cache``, ``RUSTYBT_CACHE_DIR``);
``cache.enabled: false`` turns the whole cache into a pass-through.

The package, one job per module: :mod:`.keys` (deterministic keys), :mod:`.memory` (the LRU and what callers get
back), :mod:`.disk` (the checksummed files and their SQLite index), :mod:`.stats` (counters),
:mod:`.manager` (:class:`CacheManager`, the two stores behind one lock-safe API).
"""

from rustybt.data.cache.manager import CacheManager
from rustybt.data.cache.stats import CacheStats

__all__ = ["CacheManager", "CacheStats"]
