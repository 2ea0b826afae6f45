"""Technical kernels against plain numpy references written from zipline-reloaded's factor formulas."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from rustybt.pipeline.kernels import technical as tk
from rustybt.testing.pit import adjusted_as_of as _adjusted_as_of

RTOL = 1e-9
ATOL = 1e-9


# ---------------------------------------------------------------------------------------------------------------
# data and adjustment helpers
# ---------------------------------------------------------------------------------------------------------------


def _ohlc(seed: int, n: int = 40, m: int = 6, nan_frac: float = 0.08, decimals: int | None = None):
    """Random close/high/low with scattered NaNs, a late-starting asset and an all-NaN stretch."""
    rng = np.random.default_rng(seed)
    close = 50.0 + rng.standard_normal((n, m)).cumsum(axis=0)
    high = close + np.abs(rng.standard_normal((n, m)))
    low = close - np.abs(rng.standard_normal((n, m)))
    if decimals is not None:
        close, high, low = (np.round(a, decimals) for a in (close, high, low))
    for a in (close, high, low):
        a[rng.random((n, m)) < nan_frac] = np.nan
        a[: n // 4, 0] = np.nan  # asset 0 starts late
        a[n // 2 : n // 2 + 6, 1] = np.nan  # asset 1 has a gap longer than small windows
    return close, high, low


def _adjustments(seed: int, n: int, m: int, max_per_col: int = 4):
    """Random CSR adjustments: mostly history-modifying, some ranges past the apply row, all three ops."""
    rng = np.random.default_rng(seed)
    cols = []
    for _ in range(m):
        rows = []
        for _ in range(int(rng.integers(0, max_per_col + 1))):
            apply_row = int(rng.integers(0, n + 2))
            first = int(rng.integers(-2, n))
            last = (
                int(rng.integers(first, n + 2))
                if rng.random() < 0.3
                else int(rng.integers(first, max(first, apply_row) + 1))
            )
            op = int(rng.integers(0, 3))
            if op == 0:
                value = float(rng.uniform(0.5, 1.5))
            elif op == 1:
                value = float(rng.normal())
            else:
                value = float(rng.uniform(40.0, 60.0)) if rng.random() < 0.85 else np.nan
            rows.append((apply_row, first, last, value, op))
        rows.sort(key=lambda r: r[0])
        cols.append(rows)
    offsets = np.zeros(m + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c) for c in cols])
    flat = [r for c in cols for r in c]
    app = np.array([r[0] for r in flat], dtype=np.int64)
    fst = np.array([r[1] for r in flat], dtype=np.int64)
    lst = np.array([r[2] for r in flat], dtype=np.int64)
    val = np.array([r[3] for r in flat], dtype=np.float64)
    op = np.array([r[4] for r in flat], dtype=np.int64)
    return offsets, app, fst, lst, val, op


def _brute_force(ref, arrays, adjs, wl):
    """Reference outputs: for each window end t, ``ref`` on windows of point-in-time adjusted arrays."""
    n = arrays[0].shape[0]
    rows = []
    for t in range(wl - 1, n):
        windows = []
        for a, adj in zip(arrays, adjs, strict=True):
            adjusted = _adjusted_as_of(a, adj, t) if adj is not None else a
            windows.append(adjusted[t - wl + 1 : t + 1])
        res = ref(*windows)
        rows.append(res if isinstance(res, tuple) else (res,))
    return tuple(np.array([r[k] for r in rows]) for k in range(len(rows[0])))


def _assert_close(actual, expected):
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, equal_nan=True)


def _nan_reduce(fn, w):
    """nan-aware reduction along axis 0 returning NaN (not raising / warning) on all-NaN columns."""
    out = np.full(w.shape[1], np.nan)
    ok = ~np.isnan(w).all(axis=0)
    if ok.any():
        out[ok] = fn(w[:, ok], axis=0)
    return out


# ---------------------------------------------------------------------------------------------------------------
# references, written from zipline's compute() bodies
# ---------------------------------------------------------------------------------------------------------------


def _ref_bollinger(k):
    def ref(close):
        difference = k * _nan_reduce(np.nanstd, close)
        middle = _nan_reduce(np.nanmean, close)
        return middle - difference, middle, middle + difference

    return ref


def _ref_aroon(low, high):
    wl = len(low)
    with np.errstate(invalid="ignore", divide="ignore"):
        down = 100.0 * _nan_reduce(np.nanargmin, low) / (wl - 1)
        up = 100.0 * _nan_reduce(np.nanargmax, high) / (wl - 1)
    return down, up


def _ref_stochastic(close, low, high):
    hh = _nan_reduce(np.nanmax, high)
    ll = _nan_reduce(np.nanmin, low)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((close[-1] - ll) / (hh - ll)) * 100


def _ref_ichimoku(tenkan_len, kijun_len, chikou_len):
    def ref(high, low, close):
        tenkan = (high[-tenkan_len:].max(axis=0) + low[-tenkan_len:].min(axis=0)) / 2
        kijun = (high[-kijun_len:].max(axis=0) + low[-kijun_len:].min(axis=0)) / 2
        span_a = (tenkan + kijun) / 2
        span_b = (high.max(axis=0) + low.min(axis=0)) / 2
        return tenkan, kijun, span_a, span_b, close[chikou_len]

    return ref


def _ref_true_range(high, low, close):
    stacked = np.dstack((high[1:] - low[1:], np.abs(high[1:] - close[:-1]), np.abs(low[1:] - close[:-1])))
    return _nan_reduce(np.nanmax, stacked[0].T)


def _exponential_weights(length, decay_rate):
    return np.full(length, decay_rate, np.float64) ** np.arange(length + 1, 1, -1)


def _ref_macd(fast, slow, signal):
    def ewma(data, length):
        decay_rate = 1.0 - (2.0 / (1.0 + length))
        return np.average(data, axis=1, weights=_exponential_weights(length, decay_rate))

    def rolling_window(a, length):
        return np.moveaxis(sliding_window_view(a, length, axis=0), -1, 1)  # (n_windows, length, n_assets)

    def ref(close):
        slow_ewma = ewma(rolling_window(close, slow), slow)
        fast_ewma = ewma(rolling_window(close, fast)[-signal:], fast)
        macd = fast_ewma - slow_ewma
        return ewma(macd.T, signal)

    return ref


# ---------------------------------------------------------------------------------------------------------------
# Bollinger Bands
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wl", [1, 2, 3, 4, 5, 9])
def test_bollinger_bands_matches_nanmean_nanstd(wl):
    close, _, _ = _ohlc(1)
    res = tk.bollinger_bands(close, wl, 2.0)
    expected = _brute_force(_ref_bollinger(2.0), [close], [None], wl)
    for actual, exp in zip(res, expected, strict=True):
        _assert_close(actual, exp)
    assert res.lower.flags.f_contiguous
    assert res.middle.shape == (close.shape[0] - wl + 1, close.shape[1])


@pytest.mark.parametrize("wl", [1, 2, 3, 4, 5])
def test_bollinger_bands_point_in_time_adjustments(wl):
    close, _, _ = _ohlc(2)
    adj = _adjustments(20 + wl, *close.shape)
    res = tk.bollinger_bands(close, wl, 1.5, adjustments=adj)
    expected = _brute_force(_ref_bollinger(1.5), [close], [adj], wl)
    for actual, exp in zip(res, expected, strict=True):
        _assert_close(actual, exp)


def test_bollinger_bands_long_series_resummation_stays_accurate():
    rng = np.random.default_rng(3)
    close = 1000.0 + rng.standard_normal((900, 3)).cumsum(axis=0)
    res = tk.bollinger_bands(close, 7, 2.0)
    expected = _brute_force(_ref_bollinger(2.0), [close], [None], 7)
    for actual, exp in zip(res, expected, strict=True):
        _assert_close(actual, exp)


# ---------------------------------------------------------------------------------------------------------------
# Aroon
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wl", [2, 3, 4, 5, 10])
def test_aroon_matches_nanargmin_nanargmax_with_ties(wl):
    _, high, low = _ohlc(4, decimals=0)  # rounding creates many ties: earliest occurrence wins
    res = tk.aroon(low, high, wl)
    expected = _brute_force(_ref_aroon, [low, high], [None, None], wl)
    _assert_close(res.down, expected[0])
    _assert_close(res.up, expected[1])


@pytest.mark.parametrize("wl", [1, 2, 3, 4, 5])
def test_aroon_point_in_time_adjustments(wl):
    _, high, low = _ohlc(5, decimals=1)
    la = _adjustments(50 + wl, *low.shape)
    ha = _adjustments(60 + wl, *high.shape)
    res = tk.aroon(low, high, wl, low_adjustments=la, high_adjustments=ha)
    expected = _brute_force(_ref_aroon, [low, high], [la, ha], wl)
    _assert_close(res.down, expected[0])
    _assert_close(res.up, expected[1])


def test_aroon_tie_rule_and_all_nan_window():
    low = np.array([[3.0], [1.0], [1.0], [2.0], [np.nan], [np.nan], [np.nan]])
    high = np.array([[5.0], [5.0], [4.0], [5.0], [np.nan], [np.nan], [np.nan]])
    res = tk.aroon(low, high, 3)
    # window rows 0..2: min 1.0 first at row 1 -> 50; max 5.0 first at row 0 -> 0
    assert res.down[0, 0] == 50.0
    assert res.up[0, 0] == 0.0
    # window rows 1..3: max 5.0 at rows 1 and 3 -> earliest (offset 0)
    assert res.up[1, 0] == 0.0
    assert np.isnan(res.down[-1, 0]) and np.isnan(res.up[-1, 0])


# ---------------------------------------------------------------------------------------------------------------
# Fast stochastic oscillator
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wl", [1, 2, 3, 5, 14])
def test_fast_stochastic_matches_reference(wl):
    close, high, low = _ohlc(6)
    out = tk.fast_stochastic_oscillator(close, low, high, wl)
    (expected,) = _brute_force(_ref_stochastic, [close, low, high], [None] * 3, wl)
    _assert_close(out, expected)


@pytest.mark.parametrize("wl", [1, 2, 3, 4, 5])
def test_fast_stochastic_point_in_time_adjustments(wl):
    close, high, low = _ohlc(7)
    adjs = [_adjustments(70 + wl + 10 * i, *close.shape) for i in range(3)]
    out = tk.fast_stochastic_oscillator(
        close, low, high, wl, close_adjustments=adjs[0], low_adjustments=adjs[1], high_adjustments=adjs[2]
    )
    (expected,) = _brute_force(_ref_stochastic, [close, low, high], adjs, wl)
    _assert_close(out, expected)


# ---------------------------------------------------------------------------------------------------------------
# Ichimoku
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wl", "tenkan", "kijun", "chikou"),
    [(52, 9, 26, 26), (10, 3, 5, 4), (5, 0, 5, 0), (4, 4, 0, 3), (1, 1, 0, 0), (7, 2, 7, 6)],
)
def test_ichimoku_matches_reference(wl, tenkan, kijun, chikou):
    close, high, low = _ohlc(8, n=70, nan_frac=0.03)
    res = tk.ichimoku_kinko_hyo(high, low, close, wl, tenkan, kijun, chikou)
    expected = _brute_force(_ref_ichimoku(tenkan, kijun, chikou), [high, low, close], [None] * 3, wl)
    assert res._fields == ("tenkan_sen", "kijun_sen", "senkou_span_a", "senkou_span_b", "chikou_span")
    for actual, exp in zip(res, expected, strict=True):
        _assert_close(actual, exp)


@pytest.mark.parametrize("wl", [1, 2, 3, 4, 5])
def test_ichimoku_point_in_time_adjustments(wl):
    close, high, low = _ohlc(9, nan_frac=0.04)
    adjs = [_adjustments(90 + wl + 10 * i, *close.shape) for i in range(3)]
    tenkan, kijun, chikou = max(1, wl - 2), 0, wl - 1
    res = tk.ichimoku_kinko_hyo(
        high,
        low,
        close,
        wl,
        tenkan,
        kijun,
        chikou,
        high_adjustments=adjs[0],
        low_adjustments=adjs[1],
        close_adjustments=adjs[2],
    )
    expected = _brute_force(_ref_ichimoku(tenkan, kijun, chikou), [high, low, close], adjs, wl)
    for actual, exp in zip(res, expected, strict=True):
        _assert_close(actual, exp)


def test_ichimoku_rejects_lengths_outside_window():
    close, high, low = _ohlc(10)
    with pytest.raises(ValueError, match="tenkan_sen_length"):
        tk.ichimoku_kinko_hyo(high, low, close, 5, tenkan_sen_length=6, kijun_sen_length=2, chikou_span_length=1)
    with pytest.raises(ValueError, match="chikou_span_length"):
        tk.ichimoku_kinko_hyo(high, low, close, 5, tenkan_sen_length=2, kijun_sen_length=2, chikou_span_length=5)


# ---------------------------------------------------------------------------------------------------------------
# True Range
# ---------------------------------------------------------------------------------------------------------------


def test_true_range_matches_reference():
    close, high, low = _ohlc(11, nan_frac=0.25)
    out = tk.true_range(high, low, close)
    (expected,) = _brute_force(_ref_true_range, [high, low, close], [None] * 3, 2)
    _assert_close(out, expected)
    assert out.shape == (close.shape[0] - 1, close.shape[1])


def test_true_range_point_in_time_adjustments():
    close, high, low = _ohlc(12)
    adjs = [_adjustments(120 + i, *close.shape, max_per_col=6) for i in range(3)]
    out = tk.true_range(high, low, close, high_adjustments=adjs[0], low_adjustments=adjs[1], close_adjustments=adjs[2])
    (expected,) = _brute_force(_ref_true_range, [high, low, close], adjs, 2)
    _assert_close(out, expected)


# ---------------------------------------------------------------------------------------------------------------
# MACD signal
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (2, 3, 2), (3, 5, 4), (2, 7, 3), (4, 6, 2)])
def test_macd_signal_matches_zipline_construction(fast, slow, signal):
    close, _, _ = _ohlc(13, n=160, nan_frac=0.01)
    wl = tk.macd_signal_window_length(slow, signal)
    assert wl == slow + signal - 1
    out = tk.macd_signal(close, fast, slow, signal)
    (expected,) = _brute_force(_ref_macd(fast, slow, signal), [close], [None], wl)
    _assert_close(out, expected)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(2, 3, 2), (2, 4, 2), (3, 4, 2), (2, 3, 3), (2, 6, 2)])
def test_macd_signal_point_in_time_adjustments(fast, slow, signal):
    close, _, _ = _ohlc(14, n=60, nan_frac=0.03)
    adj = _adjustments(140 + fast + slow + signal, *close.shape, max_per_col=6)
    wl = tk.macd_signal_window_length(slow, signal)
    out = tk.macd_signal(close, fast, slow, signal, adjustments=adj)
    (expected,) = _brute_force(_ref_macd(fast, slow, signal), [close], [adj], wl)
    _assert_close(out, expected)


def test_macd_signal_period_one_weights_only_newest_value():
    close, _, _ = _ohlc(15, n=30, nan_frac=0.0)
    out = tk.macd_signal(close, fast_period=1, slow_period=2, signal_period=1)
    # fast EWMA of length 1 is the close itself; slow decay 1/3 -> weights (1/3, 1) / (4/3)
    expected = close[1:] - (close[:-1] / 3.0 + close[1:]) * 0.75
    _assert_close(out, expected)


def test_macd_signal_validates_periods():
    close, _, _ = _ohlc(16)
    with pytest.raises(ValueError, match="slow_period must be greater"):
        tk.macd_signal(close, fast_period=5, slow_period=5, signal_period=2)
    with pytest.raises(ValueError, match="signal_period"):
        tk.macd_signal(close, fast_period=2, slow_period=5, signal_period=0)


# ---------------------------------------------------------------------------------------------------------------
# wrappers
# ---------------------------------------------------------------------------------------------------------------


def test_wrappers_reject_bad_shapes_and_short_data():
    close, high, low = _ohlc(17, n=10)
    with pytest.raises(ValueError, match="window_length"):
        tk.bollinger_bands(close, 11, 2.0)
    with pytest.raises(ValueError, match="2-D"):
        tk.bollinger_bands(close[:, 0], 3, 2.0)
    with pytest.raises(ValueError, match="one shape"):
        tk.aroon(low[:, :3], high, 3)
    with pytest.raises(ValueError, match="offsets"):
        tk.bollinger_bands(close, 3, 2.0, adjustments=_adjustments(1, 10, close.shape[1] + 1))


def test_kernel_accepts_c_ordered_input_through_wrapper():
    close, _, _ = _ohlc(18)
    a = tk.bollinger_bands(np.ascontiguousarray(close), 4, 2.0)
    b = tk.bollinger_bands(np.asfortranarray(close), 4, 2.0)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
