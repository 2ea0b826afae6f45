"""Lazy imports of the optional packages the legacy readers need (the ``legacy`` extra)."""

from __future__ import annotations

import warnings
from types import ModuleType

from rustybt.data.legacy.errors import INSTALL_HINT, LegacyDependencyMissing

__all__ = ["import_bcolz", "import_h5py"]


def import_bcolz() -> ModuleType:
    """The ``bcolz`` module (from the ``bcolz-zipline`` distribution).

    Raises
    ------
    LegacyDependencyMissing
        bcolz is not installed; the message says how to install it.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import bcolz
    except ImportError as exc:
        raise LegacyDependencyMissing(
            f"reading zipline bcolz data needs the 'bcolz-zipline' package, which is not installed ({exc}). "
            f"Install it with: {INSTALL_HINT}"
        ) from exc
    return bcolz


def import_h5py() -> ModuleType:
    """The ``h5py`` module.

    Raises
    ------
    LegacyDependencyMissing
        h5py is not installed; the message says how to install it.
    """
    try:
        import h5py
    except ImportError as exc:
        raise LegacyDependencyMissing(
            f"reading zipline HDF5 daily bars needs the 'h5py' package, which is not installed ({exc}). "
            f"Install it with: {INSTALL_HINT}"
        ) from exc
    return h5py
