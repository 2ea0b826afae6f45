"""Every session's cumulative risk metric equals empyrical-reloaded's on the returns so far (what zipline calls)."""

from __future__ import annotations

import empyrical as ep
import numpy as np
import pytest

from rustybt.algorithm.metrics import risk_columns


@pytest.fixture
def returns():
    rng = np.random.default_rng(7)
    return rng.normal(0.0004, 0.012, 300), rng.normal(0.0003, 0.01, 300)


def _close(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    b = np.where(np.isfinite(b), b, np.nan)  # zipline reports non-finite statistics as None
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_each_row_matches_empyrical(returns):
    r, b = returns
    cols = risk_columns(r, b)
    rows = range(1, len(r) + 1)
    _close(cols["sharpe"], [ep.sharpe_ratio(r[:k]) for k in rows])
    _close(cols["sortino"], [ep.sortino_ratio(r[:k]) for k in rows])
    _close(cols["algo_volatility"], [ep.annual_volatility(r[:k]) for k in rows])
    _close(cols["max_drawdown"], [ep.max_drawdown(r[:k]) for k in rows])
    ab = [ep.alpha_beta_aligned(r[:k], b[:k]) for k in rows]
    _close(cols["alpha"][1:], [a for a, _ in ab][1:])
    _close(cols["beta"][1:], [x for _, x in ab][1:])
    _close(cols["algorithm_period_return"], np.cumprod(1 + r) - 1)


def test_zero_benchmark_gives_no_beta(returns):
    r, _ = returns
    cols = risk_columns(r, np.zeros_like(r))
    assert np.isnan(cols["beta"]).all()
    assert (cols["benchmark_period_return"] == 0).all()
