"""The dtypes pipeline terms may have, their default missing values and coercion rules (as zipline's)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rustybt.pipeline.errors import NoDefaultMissingValue

__all__ = [
    "CLASSIFIER_DTYPES",
    "FACTOR_DTYPES",
    "FILTER_DTYPES",
    "bool_dtype",
    "categorical_dtype",
    "coerce_to_dtype",
    "datetime64ns_dtype",
    "default_missing_value_for_dtype",
    "float64_dtype",
    "int64_dtype",
    "is_missing",
    "missing_key",
]

float64_dtype = np.dtype("float64")
int64_dtype = np.dtype("int64")
bool_dtype = np.dtype("bool")
datetime64ns_dtype = np.dtype("datetime64[ns]")
categorical_dtype = np.dtype(object)

FACTOR_DTYPES = frozenset([datetime64ns_dtype, float64_dtype, int64_dtype])
FILTER_DTYPES = frozenset([bool_dtype])
CLASSIFIER_DTYPES = frozenset([categorical_dtype, int64_dtype])
REPRESENTABLE_DTYPES = frozenset([float64_dtype, int64_dtype, bool_dtype, datetime64ns_dtype, categorical_dtype])

NaTns = np.datetime64("NaT", "ns")


def normalize_dtype(dtype: Any) -> np.dtype:
    """``np.dtype(dtype)`` with strings mapped to object and any datetime64 unit mapped to ``ns``."""
    dt = np.dtype(dtype)
    if dt.kind in "US":
        return categorical_dtype
    if dt.kind == "M":
        return datetime64ns_dtype
    return dt


def default_missing_value_for_dtype(dtype: np.dtype) -> Any:
    if dtype == float64_dtype:
        return np.nan
    if dtype == datetime64ns_dtype:
        return NaTns
    if dtype == bool_dtype:
        return False
    if dtype == categorical_dtype:
        return None
    raise NoDefaultMissingValue(
        f"No default missing value for dtype {dtype}: pass missing_value=... explicitly (e.g. -1 for int64)."
    )


def coerce_to_dtype(value: Any, dtype: np.dtype) -> Any:
    """``value`` cast with numpy's ``same_kind`` rule; strings/None only for object dtype. Raises TypeError."""
    if dtype == categorical_dtype:
        if value is not None and not isinstance(value, str | bytes):
            raise TypeError(f"String-dtype terms can only use str, bytes or None values, got {value!r}")
        return value
    try:
        return np.array([value]).astype(dtype, casting="same_kind")[0]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot represent {value!r} as {dtype}: {exc}") from None


def missing_key(value: Any) -> Any:
    """A hashable key for a missing value that treats all NaNs (and all NaTs) as equal."""
    if isinstance(value, float | np.floating) and np.isnan(value):
        return ("nan",)
    if isinstance(value, np.datetime64) and np.isnat(value):
        return ("nat",)
    return value


def is_missing(data: np.ndarray, missing_value: Any) -> np.ndarray:
    """Boolean array: where ``data`` equals ``missing_value`` (NaN/NaT aware)."""
    if data.dtype.kind == "f" and np.isnan(missing_value):
        return np.isnan(data)
    if data.dtype.kind == "M" and np.isnat(np.datetime64(missing_value, "ns")):
        return np.isnat(data)
    return data == missing_value
