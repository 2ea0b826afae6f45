"""A snapshot of a :class:`~rustybt.data.cache.CacheManager`'s counters and sizes."""

from __future__ import annotations

from dataclasses import dataclass

from rustybt._utils import format_bytes

__all__ = ["CacheStats"]


@dataclass(frozen=True)
class CacheStats:
    """A snapshot of a :class:`CacheManager`'s counters and sizes.

    Attributes
    ----------
    hits, misses
        Lookups (``get`` and ``get_or_compute``) answered from the cache, and not answered.
    memory_hits, disk_hits
        Hits split by where they were found (``hits == memory_hits + disk_hits``).
    evictions
        Entries dropped from memory to respect ``max_memory_bytes``.
    entries, memory_bytes, max_memory_bytes
        Entries held in memory, their exact size and the bound.
    disk_entries, disk_bytes
        Entries and bytes in the disk cache (0 without one).
    corrupt_discarded
        Disk entries whose checksum or content was wrong and that were deleted.
    max_disk_bytes
        Bound of the disk cache, or None when unbounded or absent.
    disk_evictions
        Disk entries dropped to respect ``max_disk_bytes``.
    """

    hits: int = 0
    misses: int = 0
    memory_hits: int = 0
    disk_hits: int = 0
    evictions: int = 0
    entries: int = 0
    memory_bytes: int = 0
    max_memory_bytes: int = 0
    disk_entries: int = 0
    disk_bytes: int = 0
    corrupt_discarded: int = 0
    max_disk_bytes: int | None = None
    disk_evictions: int = 0

    @property
    def hit_rate(self) -> float:
        """``hits / (hits + misses)``; 0.0 before the first lookup."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def rows(self) -> list[tuple[str, str]]:
        """The stats as (label, formatted value) pairs, in display order."""
        disk_bound = "unbounded" if self.max_disk_bytes is None else format_bytes(self.max_disk_bytes)
        return [
            ("hit rate", f"{self.hit_rate:.1%}"),
            ("hits", f"{self.hits:,} ({self.memory_hits:,} memory, {self.disk_hits:,} disk)"),
            ("misses", f"{self.misses:,}"),
            ("memory", f"{format_bytes(self.memory_bytes)} / {format_bytes(self.max_memory_bytes)}"),
            ("memory entries", f"{self.entries:,}"),
            ("evictions", f"{self.evictions:,}"),
            ("disk", f"{format_bytes(self.disk_bytes)} / {disk_bound}"),
            ("disk entries", f"{self.disk_entries:,}"),
            ("disk evictions", f"{self.disk_evictions:,}"),
            ("corrupt discarded", f"{self.corrupt_discarded:,}"),
        ]

    def __repr__(self) -> str:
        return (
            f"CacheStats(hit_rate={self.hit_rate:.1%}, hits={self.hits} (memory {self.memory_hits}, "
            f"disk {self.disk_hits}), misses={self.misses}, evictions={self.evictions}, entries={self.entries}, "
            f"memory={format_bytes(self.memory_bytes)}/{format_bytes(self.max_memory_bytes)}, "
            f"disk_entries={self.disk_entries}, disk={format_bytes(self.disk_bytes)}, "
            f"corrupt_discarded={self.corrupt_discarded})"
        )

    def _repr_html_(self) -> str:
        from rustybt._html import cache_html

        return cache_html(self)
