"""The backtest tear sheet (``BacktestResult.plot()``): plotly figures from a zipline-style perf DataFrame.

Panels: equity vs benchmark (both as growth of the starting capital), underwater drawdown, monthly returns heatmap,
gross/net leverage, and daily turnover (traded value / portfolio value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["monthly_returns", "tear_sheet", "turnover"]


def monthly_returns(perf: pd.DataFrame) -> pd.DataFrame:
    """Compounded returns per calendar month: rows are years, columns months 1..12."""
    r = perf["returns"].astype(float)
    index = r.index.tz_convert(None) if r.index.tz is not None else r.index
    r = pd.Series(r.to_numpy(), index=index)
    monthly = (1.0 + r).groupby([r.index.year, r.index.month]).prod() - 1.0
    table = monthly.unstack()
    return table.reindex(columns=range(1, 13))


def turnover(perf: pd.DataFrame) -> pd.Series:
    """Traded value of each session divided by that session's ending portfolio value."""
    traded = [sum(abs(t["amount"] * t["price"]) for t in txns) for txns in perf["transactions"]]
    return pd.Series(traded, index=perf.index, dtype=float) / perf["portfolio_value"].astype(float)


def tear_sheet(perf: pd.DataFrame):
    """One plotly figure with the five panels (import of plotly happens here, on first use)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=5,
        cols=1,
        shared_xaxes=False,
        vertical_spacing=0.05,
        row_heights=[0.3, 0.15, 0.25, 0.15, 0.15],
        subplot_titles=("Equity vs benchmark", "Drawdown", "Monthly returns (%)", "Leverage", "Turnover"),
    )
    x = perf.index
    start = float(perf["portfolio_value"].iloc[0] - perf["pnl"].iloc[0]) if len(perf) else 1.0
    equity = perf["portfolio_value"].astype(float)
    fig.add_trace(go.Scatter(x=x, y=equity, name="portfolio"), row=1, col=1)
    if "benchmark_period_return" in perf:
        bench = start * (1.0 + perf["benchmark_period_return"].astype(float).fillna(0.0))
        fig.add_trace(go.Scatter(x=x, y=bench, name="benchmark", line={"dash": "dot"}), row=1, col=1)
    peak = equity.cummax()
    fig.add_trace(go.Scatter(x=x, y=(equity / peak - 1.0) * 100, name="drawdown %", fill="tozeroy"), row=2, col=1)
    table = monthly_returns(perf)
    fig.add_trace(
        go.Heatmap(
            z=np.round(table.to_numpy() * 100, 2),
            x=[pd.Timestamp(2000, m, 1).strftime("%b") for m in table.columns],
            y=[str(y) for y in table.index],
            colorscale="RdYlGn",
            zmid=0,
            showscale=False,
            name="monthly %",
        ),
        row=3,
        col=1,
    )
    fig.add_trace(go.Scatter(x=x, y=perf["gross_leverage"], name="gross leverage"), row=4, col=1)
    fig.add_trace(go.Scatter(x=x, y=perf["net_leverage"], name="net leverage"), row=4, col=1)
    fig.add_trace(go.Bar(x=x, y=turnover(perf), name="turnover"), row=5, col=1)
    fig.update_layout(height=1100, showlegend=True, title="Backtest")
    return fig
