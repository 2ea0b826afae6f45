"""The reference documentation's import paths for the polars-based data layer.

``from rustybt.data.polars.cache_manager import CacheManager`` is the spelling the reference documentation uses;
the implementation lives in :mod:`rustybt.data.cache`.
"""

from rustybt.data.cache import CacheManager

__all__ = ["CacheManager"]
