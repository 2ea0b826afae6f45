"""LabelArray: string (categorical) pipeline data as integer codes into a table of categories.

``codes`` is an int64 array (``-1`` = missing) and ``categories`` a 1-D object array of unique, non-missing labels.
String classifiers compute with codes; string predicates (``startswith``, ``element_of``...) are evaluated once
per category and then looked up by code, so no Python runs per element.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LabelArray", "labelarray_where"]


def _is_missing_label(value: Any, missing_value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return missing_value is not None and value == missing_value


class LabelArray:
    """Categorical array of strings. Immutable by convention: operations return new arrays."""

    __slots__ = ("categories", "codes", "missing_value")

    def __init__(self, codes: np.ndarray, categories, missing_value: Any = None) -> None:
        self.codes = np.asarray(codes, dtype=np.int64)
        cats = np.empty(len(categories), dtype=object)
        cats[:] = list(categories)
        self.categories = cats
        self.missing_value = missing_value

    # --- construction -----------------------------------------------------------------------------------------------
    @classmethod
    def from_values(cls, values, missing_value: Any = None, order: str = "F") -> LabelArray:
        """Factorize an array of labels (``missing_value``, None and NaN are missing); categories sorted."""
        arr = np.asarray(values, dtype=object)
        flat = pd.Series(arr.reshape(-1), dtype=object)
        if missing_value is not None:
            flat = flat.mask(flat == missing_value)
        codes, uniques = pd.factorize(flat, sort=True, use_na_sentinel=True)
        cats = np.empty(len(uniques), dtype=object)
        cats[:] = list(uniques)
        codes = np.asarray(codes, dtype=np.int64)
        codes = codes.reshape(arr.shape)
        return cls(np.asarray(codes, order=order), cats, missing_value)

    # --- array protocol -------------------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.codes.shape

    @property
    def ndim(self) -> int:
        return self.codes.ndim

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(object)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, key):
        codes = self.codes[key]
        if np.ndim(codes) == 0:
            return self.missing_value if codes < 0 else self.categories[codes]
        return LabelArray(codes, self.categories, self.missing_value)

    def copy(self) -> LabelArray:
        return LabelArray(self.codes.copy(), self.categories.copy(), self.missing_value)

    def as_object_array(self) -> np.ndarray:
        """Plain object array of labels (``missing_value`` where missing)."""
        table = np.empty(len(self.categories) + 1, dtype=object)
        table[:-1] = self.categories
        table[-1] = self.missing_value
        return table[np.where(self.codes < 0, len(self.categories), self.codes)]

    def as_categorical(self) -> pd.Categorical:
        """1-D pandas Categorical (missing values are NaN)."""
        return pd.Categorical.from_codes(self.codes.ravel(), categories=pd.Index(list(self.categories)))

    def is_missing(self) -> np.ndarray:
        return self.codes < 0

    def not_missing(self) -> np.ndarray:
        return self.codes >= 0

    # --- comparisons and predicates -------------------------------------------------------------------------------
    def _code_of(self, label) -> int:
        hits = np.flatnonzero(self.categories == label) if len(self.categories) else np.empty(0, np.int64)
        return int(hits[0]) if hits.size else -2

    def __eq__(self, other):  # type: ignore[override]
        if isinstance(other, LabelArray):
            return self.as_object_array() == other.as_object_array()
        if _is_missing_label(other, self.missing_value):
            return self.is_missing()
        return self.codes == self._code_of(other)

    def __ne__(self, other):  # type: ignore[override]
        return ~(self == other) & self.not_missing()

    __hash__ = None  # type: ignore[assignment]

    def map_predicate(self, func: Callable[[Any], bool]) -> np.ndarray:
        """``func`` applied to each category, looked up per element; missing -> False."""
        table = np.zeros(len(self.categories) + 1, dtype=bool)
        table[:-1] = [bool(func(c)) for c in self.categories]
        return table[np.where(self.codes < 0, len(self.categories), self.codes)]

    def map(self, func: Callable[[Any], Any]) -> LabelArray:
        """Relabel each category with ``func`` (returning ``missing_value``/None makes it missing)."""
        new_labels = [func(c) for c in self.categories]
        for label in new_labels:
            if label is not None and label != self.missing_value and not isinstance(label, str | bytes):
                raise TypeError(f"relabeler must return strings or None, got {label!r}")
        keep = sorted({lbl for lbl in new_labels if not _is_missing_label(lbl, self.missing_value)})
        lookup = {c: i for i, c in enumerate(keep)}
        table = np.full(len(self.categories) + 1, -1, dtype=np.int64)
        for i, lbl in enumerate(new_labels):
            table[i] = lookup.get(lbl, -1) if not _is_missing_label(lbl, self.missing_value) else -1
        codes = table[np.where(self.codes < 0, len(self.categories), self.codes)]
        return LabelArray(np.asarray(codes, order="F"), keep, self.missing_value)

    def startswith(self, prefix: str) -> np.ndarray:
        return self.map_predicate(lambda s: s.startswith(prefix))

    def endswith(self, suffix: str) -> np.ndarray:
        return self.map_predicate(lambda s: s.endswith(suffix))

    def has_substring(self, substring: str) -> np.ndarray:
        return self.map_predicate(lambda s: substring in s)

    def matches(self, pattern) -> np.ndarray:
        regex = re.compile(pattern) if not isinstance(pattern, re.Pattern) else pattern
        return self.map_predicate(lambda s: regex.match(s) is not None)

    def element_of(self, choices) -> np.ndarray:
        choices = frozenset(choices)
        return self.map_predicate(lambda s: s in choices)

    def __repr__(self) -> str:
        return f"LabelArray(shape={self.shape}, categories={list(self.categories)[:10]})"


def labelarray_where(cond: np.ndarray, a: LabelArray, b: LabelArray) -> LabelArray:
    """Elementwise ``a if cond else b`` for two LabelArrays (categories merged)."""
    cats = sorted(set(a.categories) | set(b.categories))
    lookup = {c: i for i, c in enumerate(cats)}
    ta = np.array([lookup[c] for c in a.categories] + [-1], dtype=np.int64)
    tb = np.array([lookup[c] for c in b.categories] + [-1], dtype=np.int64)
    ca = ta[np.where(a.codes < 0, len(a.categories), a.codes)]
    cb = tb[np.where(b.codes < 0, len(b.categories), b.codes)]
    return LabelArray(np.asarray(np.where(cond, ca, cb), order="F"), cats, a.missing_value)
