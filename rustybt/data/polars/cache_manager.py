"""``from rustybt.data.polars.cache_manager import CacheManager``: the reference documentation's spelling.

The same class as :class:`rustybt.data.cache.CacheManager`; ``CacheManager(max_memory_mb=..., disk_cache_path=...)``
bounds the memory LRU in MiB and turns the checksummed disk cache on under that directory.
"""

from rustybt.data.cache import CacheManager

__all__ = ["CacheManager"]
