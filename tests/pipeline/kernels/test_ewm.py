"""EWMA / EWMSTD kernels against zipline's ``np.average`` formulas, and the decay-rate helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rustybt.pipeline.kernels._adjust import Adjustments, empty_adjustments
from rustybt.pipeline.kernels.ewm import (
    decay_rate_from_center_of_mass,
    decay_rate_from_halflife,
    decay_rate_from_span,
    ewm_kernel,
    ewma,
    ewmstd,
    exponential_weighted_moving_average,
    exponential_weighted_moving_std,
    exponential_weights,
)
from rustybt.pipeline.kernels.rolling import RESUM_PERIOD
from rustybt.testing.pit import make_adjustments, point_in_time_reference

WINDOWS = (1, 2, 5, 20)
DECAYS = (0.3, 0.9, 1.0)


def make_prices(seed: int, n: int = 90, m: int = 10) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.03, size=(n, m)), axis=0))
    x[rng.random((n, m)) < 0.03] = np.nan  # scattered NaNs: every window holding one is NaN
    x[: n // 3, 1] = np.nan  # leading NaNs
    x[:, 2] = np.nan  # never trades
    x[n // 4 : n // 4 + 25, 3] = np.nan  # long gap
    x[:, 4] = 7.25  # constant: EWMSTD exactly 0
    x[:, 5] = np.round(x[:, 5])  # repeated values
    x[:, 6] = rng.normal(0.0, 1.0, n)  # signed, NaN-free
    return x


# zipline-reloaded's formulas, verbatim
def zipline_weights(length, decay_rate):
    return np.full(length, decay_rate, np.float64) ** np.arange(length + 1, 1, -1)


def ref_ewma(decay_rate):
    def compute(data):
        return np.average(data, axis=0, weights=zipline_weights(len(data), decay_rate))

    return compute


def ref_ewmstd(decay_rate):
    def compute(data):
        weights = zipline_weights(len(data), decay_rate)
        mean = np.average(data, axis=0, weights=weights)
        variance = np.average((data - mean) ** 2, axis=0, weights=weights)
        squared_weight_sum = np.sum(weights) ** 2
        bias_correction = squared_weight_sum / (squared_weight_sum - np.sum(weights**2))
        return np.sqrt(variance * bias_correction)

    return compute


def assert_same(got, want, rtol=1e-9, atol=1e-9):
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


KERNELS = {"ewma": (ewma, ref_ewma), "ewmstd": (ewmstd, ref_ewmstd)}


@pytest.mark.parametrize("order", ["F", "C"])
@pytest.mark.parametrize("decay", DECAYS)
@pytest.mark.parametrize("wl", WINDOWS)
@pytest.mark.parametrize("name", list(KERNELS))
def test_matches_zipline_formula(name, wl, decay, order):
    fn, ref = KERNELS[name]
    x = make_prices(seed=wl)
    data = np.asfortranarray(x) if order == "F" else np.ascontiguousarray(x)
    got = fn(data, wl, decay)
    assert got.flags.f_contiguous
    if name == "ewmstd" and wl == 1:
        assert np.isnan(got).all()  # see test_ewmstd_of_window_length_one_is_nan
        return
    assert_same(got, point_in_time_reference(ref(decay), x, empty_adjustments(x.shape[1]), wl))


@pytest.mark.parametrize("decay", DECAYS)
@pytest.mark.parametrize("wl", WINDOWS)
@pytest.mark.parametrize("name", list(KERNELS))
def test_adjustments_are_point_in_time(name, wl, decay):
    fn, ref = KERNELS[name]
    x = make_prices(seed=30 + wl)
    adj = make_adjustments(seed=30 + wl)
    got = fn(x, wl, decay, adjustments=adj)
    if name == "ewmstd" and wl == 1:
        assert np.isnan(got).all()
        return
    assert_same(got, point_in_time_reference(ref(decay), x, adj, wl))


@pytest.mark.parametrize("name", list(KERNELS))
def test_infinities_follow_numpy(name):
    fn, ref = KERNELS[name]
    x = make_prices(seed=8)
    x[10, 6] = np.inf
    x[30, 6] = -np.inf
    x[31, 6] = np.inf
    x[50, 5] = np.inf
    assert_same(fn(x, 4, 0.8), point_in_time_reference(ref(0.8), x, empty_adjustments(x.shape[1]), 4))


def test_any_nan_in_the_window_gives_nan():
    x = np.arange(1.0, 11.0).reshape(10, 1)
    x[4, 0] = np.nan
    got = ewma(x, 3, 0.5)[:, 0]
    assert np.isnan(got[2:5]).all()  # windows [2, 5), [3, 6), [4, 7) hold row 4
    assert not np.isnan(got[:2]).any()
    assert not np.isnan(got[5:]).any()


def test_ewmstd_of_window_length_one_is_nan():
    """zipline's bias correction is sum(w)**2 / 0 = inf for one row; times a variance that is 0 or a rounding
    residue it gives NaN or inf depending on the rounding of np.average. The kernel always says NaN."""
    assert np.isnan(ewmstd(make_prices(seed=1), 1, 0.9)).all()
    with np.errstate(all="ignore"):
        zipline = ref_ewmstd(0.9)(make_prices(seed=1)[:1, [0, 6, 7, 8, 9]])
    assert np.all(np.isnan(zipline) | np.isinf(zipline))


def test_constant_window_has_zero_ewmstd():
    x = np.full((40, 2), 3.1)
    x[:, 1] = 1e6 + 0.1
    assert (ewmstd(x, 10, 0.7) == 0.0).all()


def test_long_series_precision():
    """The O(1) recurrence with re-summation every RESUM_PERIOD rows stays close to a direct np.average."""
    rng = np.random.default_rng(3)
    n, wl = 20 * RESUM_PERIOD, 30
    x = (1e6 + np.cumsum(rng.normal(0.0, 0.5, n)) + rng.normal(0.0, 1e-3, n)).reshape(n, 1)
    for decay in (0.97, 1.0):
        got_mean = ewma(x, wl, decay)[:, 0]
        got_std = ewmstd(x, wl, decay)[:, 0]
        rows = sorted({i * RESUM_PERIOD - 1 for i in range(1, n // RESUM_PERIOD)} | set(range(n - wl - 30, n - wl + 1)))
        w = decay ** np.arange(wl)[::-1]
        for i in rows:
            win = x[i : i + wl, 0]
            dev = win - win[-1]  # exact for these magnitudes: reference without cancellation
            mean = win[-1] + math.fsum((w * dev).tolist()) / math.fsum(w.tolist())
            assert abs(got_mean[i] - mean) <= 1e-15 * abs(mean) * 4
            want_std = ref_ewmstd(decay)(win.reshape(wl, 1))[0]
            assert abs(got_std[i] - want_std) <= 1e-10 * want_std


def test_raw_kernel_fills_preallocated_out():
    x = np.asfortranarray(make_prices(seed=2))
    adj = make_adjustments(seed=2)
    out = np.full((x.shape[0] - 4, x.shape[1]), -1.0, order="F")
    ewm_kernel(x, 5, Adjustments(*adj), out, 0.8, False)
    assert_same(out, exponential_weighted_moving_average(x, 5, 0.8, adjustments=adj), rtol=0, atol=0)


def test_read_only_input():
    x = np.asfortranarray(make_prices(seed=3))
    before = x.copy()
    x.flags.writeable = False
    adj = make_adjustments(seed=3)
    got = exponential_weighted_moving_std(x, 5, 0.8, adjustments=adj)
    np.testing.assert_array_equal(x, before)
    assert_same(got, exponential_weighted_moving_std(before, 5, 0.8, adjustments=adj), rtol=0, atol=0)


def test_aliases():
    assert ewma is exponential_weighted_moving_average
    assert ewmstd is exponential_weighted_moving_std


@pytest.mark.parametrize("decay", [0.0, -0.5, 1.5, float("nan")])
def test_decay_rate_must_be_in_unit_interval(decay):
    with pytest.raises(ValueError, match="decay_rate"):
        ewma(np.ones((5, 1)), 2, decay)


def test_exponential_weights_are_zipline_s():
    np.testing.assert_array_equal(exponential_weights(4, 0.5), [0.5**5, 0.5**4, 0.5**3, 0.5**2])


# ---- decay-rate helpers: zipline's from_span / from_halflife / from_center_of_mass ------------------------------


@pytest.mark.parametrize("span", [1.5, 2, 15, 30.0, 1e9])
def test_decay_rate_from_span(span):
    assert decay_rate_from_span(span) == 1.0 - (2.0 / (1.0 + span))


@pytest.mark.parametrize("span", [1, 0.5, 0, -3])
def test_span_must_exceed_one(span):
    with pytest.raises(ValueError, match="span"):
        decay_rate_from_span(span)


@pytest.mark.parametrize("halflife", [0.5, 1, 15, 100.0])
def test_decay_rate_from_halflife(halflife):
    assert decay_rate_from_halflife(halflife) == np.exp(np.log(0.5) / halflife)


@pytest.mark.parametrize("halflife", [0, -1.0])
def test_halflife_must_be_positive(halflife):
    with pytest.raises(ValueError, match="halflife"):
        decay_rate_from_halflife(halflife)


@pytest.mark.parametrize("com", [0.5, 1, 15, 100.0])
def test_decay_rate_from_center_of_mass(com):
    assert decay_rate_from_center_of_mass(com) == 1.0 - (1.0 / (1.0 + com))


@pytest.mark.parametrize("com", [0, -0.5, -3])
def test_center_of_mass_giving_no_valid_decay_is_rejected(com):
    with pytest.raises(ValueError, match="center_of_mass"):
        decay_rate_from_center_of_mass(com)


@pytest.mark.parametrize("helper", [decay_rate_from_span, decay_rate_from_halflife, decay_rate_from_center_of_mass])
def test_helpers_require_numbers(helper):
    with pytest.raises(TypeError, match="must be a number"):
        helper("15")


def test_helpers_match_pandas_ewm_weights():
    """span / halflife / com give the decay pandas uses (weights (1 - alpha) ** age)."""
    pd = pytest.importorskip("pandas")
    s = pd.Series(np.arange(1.0, 31.0))
    for kwargs, decay in (
        ({"span": 15}, decay_rate_from_span(15)),
        ({"halflife": 15}, decay_rate_from_halflife(15)),
        ({"com": 15}, decay_rate_from_center_of_mass(15)),
    ):
        want = s.ewm(adjust=True, **kwargs).mean().iloc[-1]
        got = ewma(s.to_numpy().reshape(30, 1), 30, decay)[-1, 0]
        assert got == pytest.approx(want, rel=1e-12)
