"""The perf DataFrame: one row per session with zipline's column names and meanings.

Cumulative risk columns (``sharpe``, ``sortino``, ``max_drawdown``, ``algo_volatility``, ``alpha``, ``beta`` ...) are
zipline's: each session's value is the statistic of the daily returns up to that session, with the formulas of
empyrical-reloaded (the library zipline calls once per session). Here every session's value comes from one
vectorised pass of expanding sums; ``tests/algorithm/test_metrics.py`` checks each row against empyrical itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PERF_COLUMNS", "risk_columns", "summary_stats"]

PERF_COLUMNS = (
    "period_open",
    "period_close",
    "starting_exposure",
    "ending_exposure",
    "starting_value",
    "ending_value",
    "starting_cash",
    "ending_cash",
    "portfolio_value",
    "longs_count",
    "shorts_count",
    "long_value",
    "short_value",
    "long_exposure",
    "short_exposure",
    "gross_leverage",
    "net_leverage",
    "returns",
    "pnl",
    "capital_used",
    "orders",
    "transactions",
    "positions",
)

_ANN = 252.0


def _expanding_mean(x: np.ndarray) -> np.ndarray:
    return np.cumsum(x) / np.arange(1, len(x) + 1)


def _expanding_std(x: np.ndarray) -> np.ndarray:
    """Sample standard deviation (ddof=1) of ``x[:k]`` for every k; NaN for k < 2."""
    n = np.arange(1, len(x) + 1, dtype=float)
    d = x - (x[0] if len(x) else 0.0)  # shifted sums keep the difference of squares well conditioned
    s1 = np.cumsum(d)
    s2 = np.cumsum(d * d)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / n) / (n - 1)
    var[var < 0] = 0.0
    out = np.sqrt(var)
    out[n < 2] = np.nan
    return out


def risk_columns(returns: np.ndarray, benchmark: np.ndarray) -> dict[str, np.ndarray]:
    """zipline's cumulative risk metrics of daily ``returns`` vs daily ``benchmark`` returns, per session."""
    r = np.asarray(returns, dtype=float)
    b = np.asarray(benchmark, dtype=float)
    n = np.arange(1, len(r) + 1, dtype=float)
    mean = _expanding_mean(r)
    std = _expanding_std(r)
    with np.errstate(invalid="ignore", divide="ignore"):
        sharpe = mean / std * np.sqrt(_ANN)
        downside = np.sqrt(np.cumsum(np.minimum(r, 0.0) ** 2) / n) * np.sqrt(_ANN)
        sortino = mean * _ANN / downside
        sortino[n < 2] = np.nan
        algo_vol = std * np.sqrt(_ANN)
        cum = 100.0 * np.cumprod(1.0 + r)
        peak = np.fmax.accumulate(np.concatenate([[100.0], cum]))[1:]
        max_dd = np.minimum.accumulate((cum - peak) / peak)
        # alpha / beta as empyrical.alpha_beta_aligned on the first k sessions
        mb = _expanding_mean(b)
        cov = np.cumsum(b * r) / n - mb * mean
        var_b = np.cumsum(b * b) / n - mb * mb
        beta = np.where(var_b < 1e-30, np.nan, cov / var_b)
        alpha_mean = mean - beta * mb
        alpha = (1.0 + alpha_mean) ** _ANN - 1.0
        bench_vol = _expanding_std(b) * np.sqrt(_ANN)
    out = {
        "algorithm_period_return": np.cumprod(1.0 + r) - 1.0,
        "benchmark_period_return": np.cumprod(1.0 + b) - 1.0,
        "algo_volatility": algo_vol,
        "benchmark_volatility": bench_vol,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown": max_dd,
        "alpha": alpha,
        "beta": beta,
    }
    for values in out.values():  # zipline reports a statistic that is not finite as None
        values[~np.isfinite(values)] = np.nan
    return out


def summary_stats(perf: pd.DataFrame) -> dict[str, float]:
    """Whole-backtest statistics from empyrical-reloaded (total and annual return, volatility, Sharpe, Sortino,
    max drawdown, Calmar) plus the final portfolio value."""
    import empyrical as ep

    r = perf["returns"].astype(float).to_numpy()
    return {
        "total_return": float(ep.cum_returns_final(r)) if len(r) else 0.0,
        "annual_return": float(ep.annual_return(r)) if len(r) else 0.0,
        "annual_volatility": float(ep.annual_volatility(r)),
        "sharpe": float(ep.sharpe_ratio(r)),
        "sortino": float(ep.sortino_ratio(r)),
        "max_drawdown": float(ep.max_drawdown(r)),
        "calmar": float(ep.calmar_ratio(r)),
        "final_portfolio_value": float(perf["portfolio_value"].iloc[-1]) if len(perf) else float("nan"),
    }
