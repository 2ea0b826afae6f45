"""Lazy imports of the optional packages the legacy readers need (the ``legacy`` extra)."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

from rustybt.data.legacy.errors import INSTALL_HINT, LegacyDependencyMissing

__all__ = ["import_bcolz", "import_h5py"]


def import_bcolz() -> ModuleType:
    """The ``bcolz`` module (``bcolz-zipline``); :class:`LegacyDependencyMissing` saying how to install it if absent."""
    return _optional("bcolz", "bcolz-zipline", "zipline bcolz data")


def import_h5py() -> ModuleType:
    """The ``h5py`` module; :class:`LegacyDependencyMissing` saying how to install it if absent."""
    return _optional("h5py", "h5py", "zipline HDF5 daily bars")


def _optional(module: str, distribution: str, what: str) -> ModuleType:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # bcolz-zipline imports deprecated numpy names
            return importlib.import_module(module)
    except ImportError as exc:
        raise LegacyDependencyMissing(
            f"reading {what} needs the {distribution!r} package, which is not installed ({exc}). "
            f"Install it with: {INSTALL_HINT}"
        ) from exc
