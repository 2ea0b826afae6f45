"""Filters smoothing other filters over a trailing window (to control turnover)."""

from __future__ import annotations

import numpy as np

from rustybt.pipeline._kernels import rolling_true_count
from rustybt.pipeline.filters.filter import CustomFilter

__all__ = ["All", "Any", "AtLeastN"]


class _WindowCountFilter(CustomFilter):
    def _threshold(self, counts: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _vectorized_compute(self, windows, dates, assets, mask):
        aa = windows[0]
        if aa.has_adjustments or aa.categories is not None:
            return self._compute_python(windows, dates, assets, mask)
        counts = rolling_true_count(aa.data.astype(bool), self.window_length)
        return np.asfortranarray(self._threshold(counts) & mask)


class All(_WindowCountFilter):
    """True where the input filter was True on each of the last ``window_length`` days."""

    def compute(self, today, assets, out, arg):
        out[:] = arg.sum(axis=0) == self.window_length

    def _threshold(self, counts):
        return counts == self.window_length

    _vectorized_compute = _WindowCountFilter._vectorized_compute


class Any(_WindowCountFilter):
    """True where the input filter was True on at least one of the last ``window_length`` days."""

    def compute(self, today, assets, out, arg):
        out[:] = arg.sum(axis=0) > 0

    def _threshold(self, counts):
        return counts > 0

    _vectorized_compute = _WindowCountFilter._vectorized_compute


class AtLeastN(_WindowCountFilter):
    """True where the input filter was True on at least ``N`` of the last ``window_length`` days."""

    params = ("N",)

    def compute(self, today, assets, out, arg, N):
        out[:] = arg.sum(axis=0) >= N

    def _threshold(self, counts):
        return counts >= self.params["N"]

    _vectorized_compute = _WindowCountFilter._vectorized_compute
