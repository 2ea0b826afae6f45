"""CacheManager (see :mod:`rustybt.data.cache.manager`)."""

from rustybt.data.cache.manager import CacheManager, CacheStats

__all__ = ["CacheManager", "CacheStats"]
