"""Deterministic cache keys: a SHA-256 chain over a canonical, type-tagged text form of each key part."""

from __future__ import annotations

import datetime as _dt
import enum
import hashlib
import json
import math
import operator
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

__all__ = ["KEY_SEGMENT_HEX", "check_key", "make_key"]

KEY_SEGMENT_HEX = 16  # hex characters contributed by each key part (64 bits)
_KEY_DOMAIN = b"rustybt.cache.key/v1"


def make_key(*parts: Any) -> str:
    """``16 * len(parts)`` hex characters for ``parts`` (see :meth:`CacheManager.make_key`)."""
    if not parts:
        raise TypeError("CacheManager.make_key needs at least one part")
    state = hashlib.sha256(_KEY_DOMAIN).digest()
    segments = []
    for part in parts:
        state = hashlib.sha256(state + _canonical(part).encode("utf-8")).digest()
        segments.append(state.hex()[:KEY_SEGMENT_HEX])
    return "".join(segments)


def check_key(key: object) -> None:
    """Raise TypeError unless ``key`` is a string."""
    if not isinstance(key, str):
        raise TypeError(f"cache keys are strings (see CacheManager.make_key), got {type(key).__name__}")


def _canonical(obj: Any) -> str:
    """A canonical, process-independent text form of ``obj`` (type-tagged, so ``1``, ``1.0`` and ``"1"`` differ)."""
    if obj is None:
        return "N"
    if isinstance(obj, bool | np.bool_):
        return "T" if obj else "F"
    if isinstance(obj, enum.Enum):
        cls = type(obj)
        return f"E{json.dumps(cls.__module__ + '.' + cls.__qualname__)}:{_canonical(obj.value)}"
    if isinstance(obj, str):
        return "s" + json.dumps(obj)
    if isinstance(obj, bytes | bytearray | memoryview):
        return "b" + bytes(obj).hex()
    if isinstance(obj, int):
        return f"i{int(obj)}"
    if isinstance(obj, float | np.floating):
        value = float(obj)
        if math.isnan(value):
            return "fnan"
        return "f" + repr(value + 0.0)  # + 0.0 folds -0.0 into 0.0
    if isinstance(obj, Decimal):
        return "d" + str(obj)
    if isinstance(obj, _dt.datetime | _dt.date | np.datetime64):
        return _canonical_instant(obj)
    if isinstance(obj, _dt.timedelta | np.timedelta64):
        delta = pd.Timedelta(obj)
        return "NaT" if pd.isna(delta) else f"D{delta.as_unit('ns').value}"
    if isinstance(obj, PurePath):
        return "p" + json.dumps(obj.as_posix())
    if isinstance(obj, np.ndarray):
        if obj.ndim == 0:
            return _canonical(obj[()])
        # datetime64/timedelta64 elements stay numpy scalars (tolist() would give unit-dependent ints)
        return _canonical(list(obj) if obj.dtype.kind in "mM" else obj.tolist())
    if isinstance(obj, pd.Index | pd.Series):
        return _canonical(list(obj))
    if isinstance(obj, pl.Series):
        return _canonical(obj.to_list())
    if isinstance(obj, list | tuple | range):
        return "[" + ",".join(_canonical(x) for x in obj) + "]"
    if isinstance(obj, set | frozenset):
        return "{" + ",".join(sorted(_canonical(x) for x in obj)) + "}"
    if isinstance(obj, Mapping):
        return "<" + ",".join(sorted(f"{_canonical(k)}:{_canonical(v)}" for k, v in obj.items())) + ">"
    if hasattr(type(obj), "__index__"):  # numpy integers, Asset (its sid)
        return f"i{operator.index(obj)}"
    raise TypeError(
        f"CacheManager.make_key cannot use a {type(obj).__name__} ({obj!r:.60}); pass str, int, float, bool, None, "
        "dates/timestamps, Decimal, Path, enums, arrays or lists/tuples/sets/dicts of those"
    )


def _canonical_instant(obj: _dt.datetime | _dt.date | np.datetime64) -> str:
    """Instants as UTC nanoseconds: aware values are converted to UTC, naive values and dates are taken as UTC."""
    if not isinstance(obj, _dt.datetime | np.datetime64):  # a plain date: midnight of that day
        obj = _dt.datetime(obj.year, obj.month, obj.day)
    try:
        ts = pd.Timestamp(obj)
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        ts = None
    if ts is None:  # outside pandas' range: no other form of this instant can reach the integer branch below
        return "t" + obj.isoformat() if isinstance(obj, _dt.datetime) else "t" + str(obj)
    if pd.isna(ts):
        return "NaT"
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    try:
        return f"t{ts.as_unit('ns').value}"
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        return "t" + ts.isoformat()
