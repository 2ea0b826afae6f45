"""Small helpers every layer shares: timestamps in UTC, byte counts for people, SQLite transactions, names a
package exports lazily.

This module sits at the bottom of the package (it imports nothing from ``rustybt``), so any layer may use it.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import pandas as pd

__all__ = ["format_bytes", "immediate_transaction", "lazy_exports", "to_utc", "to_utc_or_none"]


def to_utc(value: pd.Timestamp | str | Any, what: str | None = None) -> pd.Timestamp:
    """``value`` as a nanosecond ``pd.Timestamp`` in UTC; naive values are taken as UTC (documented everywhere).

    Parameters
    ----------
    value
        Anything ``pd.Timestamp`` reads: a timestamp, a datetime, an ISO string.
    what
        Names the argument in the error when ``value`` is not a date (e.g. ``"start"``). Without it the
        pandas error propagates unchanged.
    """
    if isinstance(value, pd.Timestamp) and value.tzinfo is UTC and value.unit == "ns":
        return value  # the hot path: already what callers want
    if what is None:
        ts = pd.Timestamp(value)
    else:
        from rustybt.errors import InvalidArgument  # errors.py is a foundation too; imported late to stay leaf

        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"{what}: cannot read {value!r} as a date or timestamp") from exc
        if ts is pd.NaT:
            raise InvalidArgument(f"{what}: cannot read {value!r} as a date or timestamp")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.as_unit("ns")


def to_utc_or_none(value: pd.Timestamp | str | Any | None, what: str | None = None) -> pd.Timestamp | None:
    """:func:`to_utc` of ``value``, with None (an open end of a range, "not given") kept as None."""
    return None if value is None else to_utc(value, what)


def format_bytes(n: Any) -> str:
    """A byte count in B, KiB, MiB or GiB (``""`` for something that is not a number)."""
    try:
        value = float(n)
    except (TypeError, ValueError):
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def immediate_transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` on an autocommit connection (``isolation_level=None``); any exception,
    KeyboardInterrupt included, rolls back. IMMEDIATE takes the write lock up front, so two writers never
    both read and then collide at commit."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's module ``__getattr__`` and ``__dir__`` (PEP 562) for names imported on first use.

    ``exports`` maps each exported name to the module defining it (absolute, or relative to ``package`` with a
    leading dot). The first access imports that module and keeps the value in the package's namespace, so later
    accesses are plain attribute lookups. Use in a package's ``__init__``::

        __getattr__, __dir__ = lazy_exports(__name__, {"DataPortal": ".data_portal"})
    """
    namespace = sys.modules[package].__dict__

    def module_getattr(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def module_dir() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return module_getattr, module_dir
