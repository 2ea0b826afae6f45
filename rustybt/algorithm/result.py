"""``BacktestResult``: the perf DataFrame of a run with a summary, an HTML view and the tear sheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rustybt.algorithm.metrics import summary_stats

__all__ = ["BacktestResult"]


class BacktestResult:
    """What :meth:`TradingAlgorithm.run` returns.

    Attributes
    ----------
    perf
        zipline's perf DataFrame (one row per session).
    """

    def __init__(self, perf: pd.DataFrame, algo: Any = None) -> None:
        self.perf = perf
        self.algo = algo

    @property
    def stats(self) -> dict[str, float]:
        """Whole-run statistics (empyrical-reloaded): total/annual return, volatility, Sharpe, Sortino, max
        drawdown, Calmar, final portfolio value."""
        return summary_stats(self.perf)

    @property
    def transactions(self) -> pd.DataFrame:
        """One row per fill: dt, symbol, sid, amount, price, order_id."""
        rows = [
            {
                "dt": t["dt"],
                "symbol": t["sid"].symbol,
                "sid": t["sid"].sid,
                "amount": t["amount"],
                "price": t["price"],
                "order_id": t["order_id"],
            }
            for txns in self.perf.get("transactions", [])
            for t in txns
        ]
        return pd.DataFrame(rows, columns=["dt", "symbol", "sid", "amount", "price", "order_id"])

    @property
    def positions(self) -> pd.DataFrame:
        """End-of-session positions: date, symbol, sid, amount, cost_basis, last_sale_price."""
        rows = [
            {
                "date": dt,
                "symbol": p["sid"].symbol,
                "sid": p["sid"].sid,
                "amount": p["amount"],
                "cost_basis": p["cost_basis"],
                "last_sale_price": p["last_sale_price"],
            }
            for dt, ps in zip(self.perf.index, self.perf.get("positions", []), strict=True)
            for p in ps
        ]
        return pd.DataFrame(rows, columns=["date", "symbol", "sid", "amount", "cost_basis", "last_sale_price"])

    def to_parquet(self, path: str | Path) -> Path:
        """Write the perf frame to Parquet: the list columns (orders, transactions, positions) as JSON text."""
        import json

        out = self.perf.copy()
        for col in ("orders", "transactions", "positions"):
            if col in out:
                out[col] = [json.dumps(v, default=_json_default) for v in out[col]]
        for col in out.columns:
            if out[col].dtype == object and col not in ("orders", "transactions", "positions"):
                out[col] = out[col].map(lambda v: v if v is None or isinstance(v, int | float | str) else str(v))
        path = Path(path)
        out.to_parquet(path)
        return path

    def plot(self):
        """The plotly tear sheet: equity vs benchmark, drawdown, monthly returns, exposure, turnover."""
        from rustybt import _tear_sheet  # the front door reaches the notebook layer (plotly lives only there)

        return _tear_sheet(self.perf)

    # --- display -----------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        if self.perf.empty:
            return "BacktestResult(empty)"
        s = self.stats
        sessions = self.algo._sim_sessions if self.algo is not None else self.perf.index
        first, last = sessions[0], sessions[-1]
        return (
            f"BacktestResult({first.date()}..{last.date()}, {len(self.perf)} sessions, "
            f"final value {s['final_portfolio_value']:,.2f}, total return {s['total_return']:.2%}, "
            f"sharpe {s['sharpe']:.2f}, max drawdown {s['max_drawdown']:.2%})"
        )

    def _repr_html_(self) -> str:
        from rustybt._html.templates import Markup, kv, note, page

        if self.perf.empty:
            return page("backtest", "BacktestResult", note("no sessions"))
        s = self.stats
        sessions = self.algo._sim_sessions if self.algo is not None else self.perf.index
        rows = [
            ("Period", f"{sessions[0].date()} .. {sessions[-1].date()} ({len(self.perf)} sessions)"),
            ("Final portfolio value", f"{s['final_portfolio_value']:,.2f}"),
            ("Total return", f"{s['total_return']:.2%}"),
            ("Annual return", f"{s['annual_return']:.2%}"),
            ("Annual volatility", f"{s['annual_volatility']:.2%}"),
            ("Sharpe", f"{s['sharpe']:.2f}"),
            ("Sortino", f"{s['sortino']:.2f}"),
            ("Max drawdown", f"{s['max_drawdown']:.2%}"),
            ("Transactions", f"{sum(len(t) for t in self.perf['transactions']):,}"),
        ]
        spark = Markup(_sparkline(self.perf["portfolio_value"].to_numpy(dtype=float)))
        return page("backtest", "BacktestResult", f"{spark}{kv(rows)}", subtitle="equity curve and summary")


def _sparkline(values: np.ndarray, width: int = 320, height: int = 60) -> str:
    """The equity curve as an inline SVG polyline."""
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return ""
    lo, hi = float(values.min()), float(values.max())
    span = hi - lo or 1.0
    xs = np.linspace(0, width, len(values))
    ys = height - (values - lo) / span * (height - 4) - 2
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return (
        f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='equity curve'><polyline fill='none' stroke='#1f77b4' stroke-width='1.5' "
        f"points='{points}'/></svg>"
    )


def _json_default(value: Any) -> Any:
    if hasattr(value, "sid") and hasattr(value, "symbol"):
        return value.symbol
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
