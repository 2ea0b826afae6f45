"""Derived copies of a bundle's data kept outside the catalog (the readers' dense float64 copy of daily bars) and
their checksums: where they live and whether they are intact, so that ``Catalog.verify`` can check them without
importing the readers that build them (see :mod:`rustybt.data.readers._dense`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from rustybt._cache_files import cache_subdir
from rustybt.data.catalog.manifest import crc32_file

__all__ = ["check_copies", "copy_problem", "crc_path", "dense_root", "safe_name"]


def safe_name(name: str) -> str:
    """``name`` with every character but letters, digits, ``-``, ``_`` and ``.`` replaced: a directory name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))


def dense_root(bundle) -> Path | None:
    """Directory of the dense copies of ``bundle``'s pinned ingestion (None when turned off with
    ``RUSTYBT_BARS_CACHE=0``): one per catalog, bundle, ingestion and file checksums."""
    root = cache_subdir("bars", "RUSTYBT_BARS_CACHE")
    if root is None:
        return None
    checksums = hashlib.blake2b(digest_size=8)
    for entry in sorted(bundle.manifest.files, key=lambda e: e.path):
        checksums.update(f"{entry.path}:{entry.sha256};".encode())
    # one directory per catalog and bundle (catalogs in other places may hold bundles of the same name)
    catalog = hashlib.blake2b(str(Path(bundle.path).parent.resolve()).encode(), digest_size=6).hexdigest()
    return root / f"{safe_name(bundle.name)}-{catalog}" / f"{safe_name(bundle.ingestion_id)}-{checksums.hexdigest()}"


def crc_path(path: Path) -> Path:
    return path.with_suffix(".crc32")


def copy_problem(path: Path) -> str:
    """The empty string when the copy at ``path`` matches its recorded CRC-32, else what is wrong ("missing": no
    copy at all)."""
    try:
        expected = crc_path(path).read_text().strip()
    except FileNotFoundError:
        return "missing" if not path.exists() else "no checksum recorded"
    except OSError as exc:
        return f"checksum unreadable ({exc})"
    try:
        actual = crc32_file(path)
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"unreadable ({exc})"
    return "" if actual == expected else "damaged: its checksum differs from the one recorded when it was built"


def check_copies(bundle) -> list[tuple[str, str]]:
    """(file, problem) for every dense copy of ``bundle``'s pinned ingestion in the cache that does not match its
    recorded checksum (for ``Catalog.verify``; nothing is changed)."""
    root = dense_root(bundle)
    if root is None or not root.is_dir():
        return []
    problems = []
    for path in sorted(root.glob("*/*.npy")):
        problem = copy_problem(path)
        if problem and problem != "missing":
            problems.append((str(path), problem))
    return problems
