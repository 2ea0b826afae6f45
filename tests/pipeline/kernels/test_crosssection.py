"""Cross-sectional kernels against scipy.stats.rankdata, pandas groupby transforms, pd.qcut and zipline's
row functions."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rustybt.pipeline.kernels import crosssection as cs

N_DATES = 30
N_ASSETS = 25


def _data(seed: int, decimals: int | None = None, nan_frac: float = 0.1):
    rng = np.random.default_rng(seed)
    data = rng.normal(0.0, 1.0, (N_DATES, N_ASSETS))
    if decimals is not None:
        data = np.round(data, decimals)
    data[rng.random(data.shape) < nan_frac] = np.nan
    data[3] = np.nan  # an all-NaN date
    mask = rng.random(data.shape) < 0.85
    mask[5] = False  # a fully masked date
    groups = rng.choice(np.array([-1, 0, 1, 2, 7]), size=data.shape, p=[0.08, 0.3, 0.3, 0.3, 0.02])
    return data, mask, groups


def _valid(data, mask, groups):
    valid = ~np.isnan(data)
    if mask is not None:
        valid &= mask
    if groups is not None:
        valid &= groups != -1
    return valid


def _grouped_frame(data, mask, groups, i):
    """The participating entries of row i as a frame (value, group) indexed by column."""
    valid = _valid(data, mask, groups)[i]
    cols = np.flatnonzero(valid)
    labels = groups[i, cols] if groups is not None else np.zeros(len(cols), dtype=np.int64)
    return pd.DataFrame({"v": data[i, cols], "g": labels}, index=cols)


def _assert_close(actual, expected):
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12, equal_nan=True)


# ---------------------------------------------------------------------------------------------------------------
# rank
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["ordinal", "average", "min", "max", "dense"])
@pytest.mark.parametrize("ascending", [True, False])
@pytest.mark.parametrize("use_mask", [False, True])
def test_rank_matches_scipy_rankdata(method, ascending, use_mask):
    data, mask, _ = _data(1, decimals=1)  # ties
    mask = mask if use_mask else None
    out = cs.rank(data, mask=mask, method=method, ascending=ascending)
    expected = np.full(data.shape, np.nan)
    valid = _valid(data, mask, None)
    for i in range(N_DATES):
        cols = np.flatnonzero(valid[i])
        if len(cols):
            vals = data[i, cols] if ascending else -data[i, cols]
            expected[i, cols] = stats.rankdata(vals, method=method)
    _assert_close(out, expected)
    assert out.flags.f_contiguous and out.dtype == np.float64


@pytest.mark.parametrize("method", ["ordinal", "average", "min", "max", "dense"])
@pytest.mark.parametrize("ascending", [True, False])
def test_grouped_rank_matches_pandas_groupby_rank(method, ascending):
    data, mask, groups = _data(2, decimals=1)
    out = cs.rank(data, mask=mask, groups=groups, method=method, ascending=ascending)
    pandas_method = "first" if method == "ordinal" else method
    expected = np.full(data.shape, np.nan)
    for i in range(N_DATES):
        frame = _grouped_frame(data, mask, groups, i)
        if len(frame):
            ranks = frame.groupby("g")["v"].rank(method=pandas_method, ascending=ascending)
            expected[i, ranks.index.to_numpy()] = ranks.to_numpy()
    _assert_close(out, expected)


def test_ordinal_rank_breaks_ties_by_column_order_both_directions():
    data = np.array([[2.0, 1.0, 2.0, np.nan, 1.0]])
    np.testing.assert_array_equal(cs.rank(data), [[3.0, 1.0, 4.0, np.nan, 2.0]])
    np.testing.assert_array_equal(cs.rank(data, ascending=False), [[1.0, 3.0, 2.0, np.nan, 4.0]])


def _scipy_ranks(data, method, ascending):
    """Each row's non-NaN values ranked by scipy.stats.rankdata (descending: ranks of the negated values)."""
    expected = np.full(data.shape, np.nan)
    for i in range(data.shape[0]):
        cols = np.flatnonzero(~np.isnan(data[i]))
        vals = data[i, cols] if ascending else -data[i, cols]
        expected[i, cols] = stats.rankdata(vals, method=method)
    return expected


@pytest.mark.parametrize("method", ["ordinal", "average", "min", "max", "dense"])
@pytest.mark.parametrize("ascending", [True, False])
def test_rank_of_special_floats_matches_scipy(method, ascending):
    # the sort works on the floats' bit patterns: signed zeros, infinities, subnormals and mixed magnitudes
    # must still order (and tie) exactly as float comparisons do
    rng = np.random.default_rng(11)
    pool = np.array([0.0, -0.0, np.inf, -np.inf, 5e-324, -5e-324, 1e308, -1e308, 1.0, -1.0, 2.5, -2.5, 1e-300])
    data = rng.choice(pool, size=(40, 300))
    data[:, ::7] = rng.normal(0, 1e6, data[:, ::7].shape)
    data[rng.random(data.shape) < 0.05] = np.nan
    _assert_close(cs.rank(data, method=method, ascending=ascending), _scipy_ranks(data, method, ascending))


@pytest.mark.parametrize("method", ["ordinal", "average", "min", "max", "dense"])
@pytest.mark.parametrize("ascending", [True, False])
def test_rank_of_values_differing_in_the_last_bits_matches_scipy(method, ascending):
    # the sort orders the high 32 bits of each value first, then runs sharing them by the low bits: values a
    # few ulps apart form such runs, short ones (a handful of values) and long ones (hundreds), with exact ties
    rng = np.random.default_rng(12)
    data = np.empty((12, 900))
    for i in range(data.shape[0]):
        bases = rng.normal(0, 5, size=3 if i % 2 else 90)  # runs of about 300 or 10 values
        base = rng.choice(bases, size=data.shape[1])
        ulps = rng.integers(0, 40 if i % 4 < 2 else 400, size=data.shape[1])
        data[i] = base + ulps * np.spacing(base)
    data[:, ::11] = rng.normal(0, 10, data[:, ::11].shape)
    data[rng.random(data.shape) < 0.03] = np.nan
    _assert_close(cs.rank(data, method=method, ascending=ascending), _scipy_ranks(data, method, ascending))


def test_grouped_rank_with_sparse_large_labels_matches_pandas():
    data, mask, _ = _data(5, decimals=1)
    rng = np.random.default_rng(5)
    groups = rng.choice(np.array([-1, 3, 10**9, 2**40]), size=data.shape)
    out = cs.rank(data, mask=mask, groups=groups)
    expected = np.full(data.shape, np.nan)
    for i in range(N_DATES):
        frame = _grouped_frame(data, mask, groups, i)
        if len(frame):
            ranks = frame.groupby("g")["v"].rank(method="first")
            expected[i, ranks.index.to_numpy()] = ranks.to_numpy()
    _assert_close(out, expected)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("count", [-1, 0, 1, 3, 10, 24, 25, 40])
@pytest.mark.parametrize("use_mask", [False, True])
def test_top_bottom_matches_ordinal_rank_threshold(largest, count, use_mask):
    data, mask, _ = _data(9, decimals=0)  # few distinct values: many ties at the threshold
    data[7, :6] = [np.inf, -np.inf, -0.0, 0.0, np.inf, -np.inf]
    mask = mask if use_mask else None
    out = cs.top_bottom(data, count, mask=mask, largest=largest)
    expected = np.zeros(data.shape, dtype=bool)
    valid = _valid(data, mask, None)
    for i in range(N_DATES):
        cols = np.flatnonzero(valid[i])
        if len(cols):
            vals = -data[i, cols] if largest else data[i, cols]
            expected[i, cols] = stats.rankdata(vals, method="ordinal") <= count
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.bool_ and out.flags.f_contiguous


def test_rank_rejects_unknown_method():
    with pytest.raises(ValueError, match="unknown method"):
        cs.rank(np.zeros((2, 2)), method="first")


# ---------------------------------------------------------------------------------------------------------------
# demean / zscore
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("grouped", [False, True])
@pytest.mark.parametrize("use_mask", [False, True])
def test_demean_and_zscore_match_pandas_groupby_transform(grouped, use_mask):
    data, mask, groups = _data(3)
    mask = mask if use_mask else None
    groups = groups if grouped else None
    dm = cs.demean(data, mask=mask, groups=groups)
    zs = cs.zscore(data, mask=mask, groups=groups)
    exp_dm = np.full(data.shape, np.nan)
    exp_zs = np.full(data.shape, np.nan)
    for i in range(N_DATES):
        frame = _grouped_frame(data, mask, groups, i)
        if not len(frame):
            continue
        by = frame.groupby("g")["v"]
        d = by.transform(lambda s: s - s.mean())
        with np.errstate(invalid="ignore", divide="ignore"):
            z = by.transform(lambda s: (s - s.mean()) / s.std(ddof=0))
        exp_dm[i, d.index.to_numpy()] = d.to_numpy()
        exp_zs[i, z.index.to_numpy()] = z.to_numpy()
    _assert_close(dm, exp_dm)
    _assert_close(zs, exp_zs)


def test_zipline_demean_docstring_example():
    f = np.array([[1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 1.0], [2.0, 3.0, 4.0, 1.5], [2.5, 3.5, 1.0, 2.0]])
    c = np.array([[1, 1, 2, 2]] * 4)
    m = ~np.eye(4, dtype=bool)
    expected = np.array(
        [[np.nan, 0.0, -0.5, 0.5], [0.0, np.nan, 1.25, -1.25], [-0.5, 0.5, np.nan, 0.0], [-0.5, 0.5, 0.0, np.nan]]
    )
    _assert_close(cs.demean(f, mask=m, groups=c), expected)


def test_zscore_of_single_member_group_is_nan():
    data = np.array([[1.0, 2.0, 3.0]])
    out = cs.zscore(data, groups=np.array([[0, 0, 1]]))
    assert np.isnan(out[0, 2])
    _assert_close(out[0, :2], np.array([-1.0, 1.0]))


# ---------------------------------------------------------------------------------------------------------------
# winsorize
# ---------------------------------------------------------------------------------------------------------------


def _zipline_winsorize(row, min_percentile, max_percentile):
    """zipline.pipeline.factors.factor.winsorize, verbatim in behaviour."""
    a = row.copy()
    nan_count = np.isnan(row).sum()
    nonnan_count = a.size - nan_count
    idx = a.argsort()
    if min_percentile > 0:
        lower_cutoff = int(min_percentile * nonnan_count)
        a[idx[:lower_cutoff]] = a[idx[lower_cutoff]]
    if max_percentile < 1:
        upper_cutoff = math.ceil(nonnan_count * max_percentile)
        if upper_cutoff < nonnan_count:
            start_of_nans = (-nan_count) if nan_count else None
            a[idx[upper_cutoff:start_of_nans]] = a[idx[upper_cutoff - 1]]
    return a


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (0.1, 0.9), (0.25, 0.75), (0.0, 0.5), (0.5, 1.0), (0.3, 0.31)])
@pytest.mark.parametrize("grouped", [False, True])
def test_winsorize_matches_zipline_row_function(lo, hi, grouped):
    data, mask, groups = _data(4, decimals=1)
    groups = groups if grouped else None
    out = cs.winsorize(data, lo, hi, mask=mask, groups=groups)
    # GroupedRowTransform: labels are -1 where masked; each label's entries (NaNs included) go through the row
    # function; -1 labels output NaN.
    labels = np.where(mask, groups if grouped else 0, -1)
    expected = np.full(data.shape, np.nan)
    for i in range(N_DATES):
        for label in np.unique(labels[i]):
            if label == -1:
                continue
            locs = labels[i] == label
            expected[i, locs] = _zipline_winsorize(data[i, locs], lo, hi)
    _assert_close(out, expected)


def test_winsorize_zipline_docstring_example():
    price = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(cs.winsorize(price, 0.25, 0.75), [[2.0, 2.0, 3.0, 4.0, 5.0, 5.0]])
    np.testing.assert_array_equal(cs.winsorize(price, 0.5, 1.0), [[4.0, 4.0, 4.0, 4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(cs.winsorize(price, 0.0, 0.5), [[1.0, 2.0, 3.0, 3.0, 3.0, 3.0]])


def test_winsorize_validates_percentiles():
    with pytest.raises(ValueError, match="min_percentile"):
        cs.winsorize(np.zeros((2, 2)), 0.6, 0.5)


# ---------------------------------------------------------------------------------------------------------------
# quantiles
# ---------------------------------------------------------------------------------------------------------------


def _qcut_or_none(values, bins):
    try:
        return pd.qcut(values, bins, labels=False)
    except ValueError:  # pandas refuses repeated bin edges
        return None


@pytest.mark.parametrize("bins", [1, 2, 3, 4, 5, 10])
@pytest.mark.parametrize("use_mask", [False, True])
def test_quantiles_match_pd_qcut_per_row(bins, use_mask):
    data, mask, _ = _data(5)
    mask = mask if use_mask else None
    out = cs.quantiles(data, bins, mask=mask)
    assert out.dtype == np.int64
    valid = _valid(data, mask, None)
    checked = 0
    for i in range(N_DATES):
        cols = np.flatnonzero(valid[i])
        np.testing.assert_array_equal(out[i, ~valid[i]], -1)
        if not len(cols):
            continue
        expected = _qcut_or_none(data[i, cols], bins)
        if expected is not None:
            np.testing.assert_array_equal(out[i, cols], expected)
            checked += 1
    assert checked >= N_DATES - 2


def test_quantiles_match_pd_qcut_on_whole_row_with_nans_like_zipline():
    """zipline's Quantiles runs qcut on the full row with masked entries set to NaN."""
    data, mask, _ = _data(6)
    out = cs.quantiles(data, 5, mask=mask)
    for i in range(N_DATES):
        row = np.where(mask[i], data[i], np.nan)
        if np.isnan(row).all():
            continue
        expected = pd.qcut(row, 5, labels=False)
        np.testing.assert_array_equal(out[i], np.where(np.isnan(expected), -1, expected).astype(np.int64))


@pytest.mark.parametrize("bins", [2, 3, 4, 7])
def test_grouped_quantiles_match_pd_qcut_per_group(bins):
    data, mask, groups = _data(7)
    out = cs.quantiles(data, bins, mask=mask, groups=groups)
    valid = _valid(data, mask, groups)
    for i in range(N_DATES):
        np.testing.assert_array_equal(out[i, ~valid[i]], -1)
        frame = _grouped_frame(data, mask, groups, i)
        for _, part in frame.groupby("g")["v"]:
            expected = _qcut_or_none(part.to_numpy(), bins)
            if expected is not None:
                np.testing.assert_array_equal(out[i, part.index.to_numpy()], expected)


def test_quantiles_edge_values_use_right_closed_bins():
    # 0..10: edges of 4 bins at 0, 2.5, 5, 7.5, 10 -> 5 lands in bin 1 (right-closed), 0 in bin 0
    row = np.arange(11, dtype=np.float64)[None, :]
    np.testing.assert_array_equal(cs.quantiles(row, 4), pd.qcut(row[0], 4, labels=False)[None, :])
    # probabilities such as 0.3 that pandas rounds up: 10 points, edge exactly on a data point
    row = np.arange(11, dtype=np.float64)[None, :] * 1.7
    np.testing.assert_array_equal(cs.quantiles(row, 10), pd.qcut(row[0], 10, labels=False)[None, :])


# ---------------------------------------------------------------------------------------------------------------
# daily summaries
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "fn"),
    [
        ("mean", np.nanmean),
        ("stddev", np.nanstd),
        ("max", np.nanmax),
        ("min", np.nanmin),
        ("median", np.nanmedian),
        ("sum", np.nansum),
        ("notnull_count", lambda a, axis: (~np.isnan(a)).sum(axis=axis).astype(np.float64)),
    ],
)
@pytest.mark.parametrize("use_mask", [False, True])
def test_daily_summary_matches_nan_functions(how, fn, use_mask):
    data, mask, _ = _data(8)
    masked = np.where(mask, data, np.nan) if use_mask else data
    out = cs.daily_summary(data, how, mask=mask if use_mask else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = fn(masked, axis=1)
    assert out.shape == (N_DATES,)
    _assert_close(out, expected)


def test_inputs_are_validated():
    with pytest.raises(ValueError, match="unknown summary"):
        cs.daily_summary(np.zeros((2, 2)), "var")
    with pytest.raises(ValueError, match="mask must be a boolean"):
        cs.demean(np.zeros((2, 2)), mask=np.ones((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="groups must be an integer"):
        cs.demean(np.zeros((2, 2)), groups=np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="bins"):
        cs.quantiles(np.zeros((2, 2)), 0)
