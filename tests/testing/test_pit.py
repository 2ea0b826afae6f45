"""rustybt.testing.pit: the brute-force point-in-time reference, checked by hand and kept independent of rustybt."""

from __future__ import annotations

import ast
import inspect

import numpy as np

from rustybt.testing import pit


def _adjustments(per_column: list[list[tuple[int, int, int, float, int]]]):
    """CSR arrays from (apply_row, first_row, last_row, value, op) entries per column."""
    offsets = np.cumsum([0] + [len(c) for c in per_column])
    rows = [e for column in per_column for e in column]
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
    return (
        offsets.astype(np.int64),
        np.array(cols[0], dtype=np.int64),
        np.array(cols[1], dtype=np.int64),
        np.array(cols[2], dtype=np.int64),
        np.array(cols[3], dtype=np.float64),
        np.array(cols[4], dtype=np.int64),
    )


def test_adjusted_as_of_applies_only_what_is_known_by_t():
    data = np.arange(1.0, 13.0).reshape(6, 2)  # column 0: 1 3 5 7 9 11, column 1: 2 4 6 8 10 12
    # column 0: a 2:1 split known from row 3 halves rows 0..2; column 1: +1 known from row 5 on rows 4..9 (clipped)
    # and an overwrite known from row 1 of rows -2..0 (clipped to row 0)
    adj = _adjustments([[(3, 0, 2, 0.5, 0)], [(1, -2, 0, 99.0, 2), (5, 4, 9, 1.0, 1)]])
    before = pit.adjusted_as_of(data, adj, 0)
    np.testing.assert_array_equal(before, data)
    at_3 = pit.adjusted_as_of(data, adj, 3)
    np.testing.assert_array_equal(at_3[:, 0], [0.5, 1.5, 2.5, 7, 9, 11])
    np.testing.assert_array_equal(at_3[:, 1], [99, 4, 6, 8, 10, 12])
    at_5 = pit.adjusted_as_of(data, adj, 5)
    np.testing.assert_array_equal(at_5[:, 1], [99, 4, 6, 8, 11, 13])
    np.testing.assert_array_equal(data[:, 0], [1, 3, 5, 7, 9, 11])  # the input is not modified


def test_point_in_time_reference_adjusts_each_window_as_of_its_last_day():
    data = np.array([[10.0], [10.0], [5.0], [5.0]])  # a 2:1 split before row 2, known from row 2
    adj = _adjustments([[(2, 0, 1, 0.5, 0)]])
    got = pit.point_in_time_reference(lambda w: w.mean(axis=0), data, adj, 2)
    # window ending on row 1 does not know the split yet; windows ending on rows 2 and 3 see it
    np.testing.assert_array_equal(got[:, 0], [10.0, 5.0, 5.0])


def test_make_adjustments_is_seeded_and_well_formed():
    a, b = pit.make_adjustments(3), pit.make_adjustments(3)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    offsets, apply_row, first_row, last_row, value, op = a
    assert len(offsets) == 11 and offsets[0] == 0 and np.all(np.diff(offsets) >= 0)
    assert len(apply_row) == len(first_row) == len(last_row) == len(value) == len(op) == offsets[-1]
    assert set(op.tolist()) <= {0, 1, 2}


def test_the_reference_imports_nothing_from_rustybt():
    tree = ast.parse(inspect.getsource(pit))
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.split(".")[0] == "rustybt"], imported
