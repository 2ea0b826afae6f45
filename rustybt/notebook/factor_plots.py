"""The factor tear sheet's charts (plotly), drawn from :class:`rustybt.pipeline.analysis.FactorTearsheet`.

:func:`factor_tearsheet` is the notebook's one call: ``factor_tearsheet(result, "momentum", bundle)`` computes the
numbers (:func:`rustybt.pipeline.analysis.factor_tearsheet`) and shows the tables and every chart alphalens'
full tear sheet has: mean return by quantile with standard errors, cumulative return by quantile, the
top-minus-bottom spread with a one-standard-error band, the IC per date with its monthly means, turnover and rank
autocorrelation. Every figure carries ``layout.meta`` with its numbers, so tests read them without a browser.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rustybt.notebook import plots

__all__ = ["FactorTearsheetView", "factor_figures", "factor_tearsheet"]

_HEIGHT = 340
_MARGIN = {"l": 55, "r": 20, "t": 50, "b": 35}


def _layout(fig: Any, title: str, kind: str, **meta: Any) -> Any:
    fig.update_layout(
        title={"text": title},
        template=plots.template(),
        height=_HEIGHT,
        margin=_MARGIN,
        meta={"kind": kind, **meta},
    )
    return fig


def quantile_returns_bar(sheet: Any) -> Any:
    """Mean period-wise return (bps, demeaned) by quantile, one bar colour per period, with standard errors."""
    import plotly.graph_objects as go

    fig = go.Figure()
    mean, se = sheet.mean_return_by_quantile * 1e4, sheet.mean_return_std_error * 1e4
    for col in mean.columns:
        fig.add_trace(
            go.Bar(
                x=[f"Q{int(q)}" for q in mean.index],
                y=mean[col].to_numpy(),
                error_y={"type": "data", "array": se[col].to_numpy()},
                name=str(col),
            )
        )
    fig.update_layout(barmode="group", yaxis_title="bps per period")
    values = {str(c): [float(v) for v in mean[c]] for c in mean.columns}
    return _layout(fig, f"Mean period-wise return by {sheet.column} quantile", "factor_quantile_returns", bps=values)


def cumulative_by_quantile(sheet: Any) -> Any:
    """Growth of 1 in each quantile's basket (first period's returns, demeaned), one line per quantile."""
    import plotly.graph_objects as go

    cum = sheet.cumulative_by_quantile
    fig = go.Figure()
    colours = _diverging(len(cum.columns))
    for q, colour in zip(cum.columns, colours, strict=True):
        fig.add_trace(
            go.Scatter(x=plots._naive_dates(cum.index), y=cum[q].to_numpy(), name=f"Q{int(q)}", line={"color": colour})
        )
    last = {f"Q{int(q)}": float(cum[q].iloc[-1]) for q in cum.columns}
    return _layout(fig, f"Cumulative return by quantile ({sheet.periods[0]} period)", "factor_cumulative", last=last)


def spread_chart(sheet: Any, period: str | None = None) -> Any:
    """Top-minus-bottom spread per date (bps) with a one-standard-error band and its 22-date mean."""
    import plotly.graph_objects as go

    period = period or sheet.periods[0]
    spread = sheet.spread[period] * 1e4
    se = sheet.spread_std_error[period] * 1e4
    x = plots._naive_dates(spread.index)
    fig = go.Figure(
        [
            go.Scatter(x=x, y=(spread + se).to_numpy(), line={"width": 0}, showlegend=False, hoverinfo="skip"),
            go.Scatter(
                x=x, y=(spread - se).to_numpy(), fill="tonexty", line={"width": 0}, name="±1 std error",
                fillcolor="rgba(9,105,218,0.15)",
            ),
            go.Scatter(x=x, y=spread.to_numpy(), name="spread", line={"color": "#0969da", "width": 1}),
            go.Scatter(x=x, y=spread.rolling(22).mean().to_numpy(), name="22-date mean", line={"color": "#cf222e"}),
        ]
    )  # fmt: skip
    fig.update_layout(yaxis_title="bps")
    top, bottom = sheet.meta["top"], sheet.meta["bottom"]
    return _layout(
        fig, f"Top minus bottom quantile (Q{top} - Q{bottom}) mean return, {period}", "factor_spread",
        mean_bps=float(spread.mean()), period=period,
    )  # fmt: skip


def ic_chart(sheet: Any, period: str | None = None) -> Any:
    """Information coefficient per date with its 22-date mean."""
    import plotly.graph_objects as go

    period = period or sheet.periods[0]
    ic = sheet.ic[period]
    x = plots._naive_dates(ic.index)
    fig = go.Figure(
        [
            go.Bar(x=x, y=ic.to_numpy(), name="IC", marker={"color": "#0969da"}, opacity=0.5),
            go.Scatter(
                x=x, y=ic.rolling(22, min_periods=1).mean().to_numpy(), name="22-date mean",
                line={"color": "#cf222e"},
            ),
        ]
    )  # fmt: skip
    summary = sheet.ic_summary.loc[period]
    title = f"{period} forward return IC: mean {summary['IC Mean']:.3f}, std {summary['IC Std.']:.3f}"
    return _layout(fig, title, "factor_ic", period=period, mean=float(summary["IC Mean"]))


def ic_by_month_chart(sheet: Any) -> Any:
    """Mean IC per month (rows: years, columns: months) for the first period, as a heatmap."""
    import plotly.graph_objects as go

    period = sheet.periods[0]
    monthly = sheet.ic_by_month[period]
    idx = pd.DatetimeIndex(monthly.index)
    table = pd.DataFrame({"year": idx.year, "month": idx.month, "ic": monthly.to_numpy()}).pivot(
        index="year", columns="month", values="ic"
    )
    table = table.reindex(columns=range(1, 13))
    bound = float(np.nanmax(np.abs(table.to_numpy()))) if np.isfinite(table.to_numpy()).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
            y=[str(y) for y in table.index],
            zmin=-bound, zmax=bound, colorscale="RdBu", colorbar={"title": "IC"},
        )
    )  # fmt: skip
    return _layout(fig, f"Monthly mean IC ({period})", "factor_ic_by_month", months=int(monthly.notna().sum()))


def turnover_chart(sheet: Any) -> Any:
    """Mean turnover per quantile and period, and the mean factor-rank autocorrelation per period."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for col in sheet.turnover.columns:
        fig.add_trace(
            go.Bar(x=[f"Q{int(q)}" for q in sheet.turnover.index], y=sheet.turnover[col].to_numpy(), name=str(col))
        )
    auto = sheet.autocorrelation.mean()
    fig.update_layout(barmode="group", yaxis_title="share of names replaced", yaxis_range=[0, 1])
    title = "Mean turnover by quantile; rank autocorrelation " + ", ".join(f"{k}: {v:.2f}" for k, v in auto.items())
    return _layout(fig, title, "factor_turnover", autocorrelation={str(k): float(v) for k, v in auto.items()})


def factor_figures(sheet: Any) -> dict[str, Any]:
    """Every chart of the tear sheet, by name."""
    return {
        "quantile_returns": quantile_returns_bar(sheet),
        "cumulative": cumulative_by_quantile(sheet),
        "spread": spread_chart(sheet),
        "ic": ic_chart(sheet),
        "ic_by_month": ic_by_month_chart(sheet),
        "turnover": turnover_chart(sheet),
    }


def _diverging(n: int) -> list[str]:
    from plotly.colors import sample_colorscale

    # alphalens colours: the bottom quantile red, the top blue; grey, not white, between (visible on both themes)
    scale = [[0.0, "#b2182b"], [0.5, "#8c8c8c"], [1.0, "#2166ac"]]
    return sample_colorscale(scale, [i / max(n - 1, 1) for i in range(n)]) if n else []


class FactorTearsheetView:
    """The tables (HTML) and the charts of a tear sheet; displaying it shows all of them in order."""

    def __init__(self, sheet: Any) -> None:
        self.sheet = sheet
        self.figures = factor_figures(sheet)

    def items(self) -> list[Any]:
        """What it shows, in order: the tables (HTML) and each chart."""
        from IPython.display import HTML

        return [HTML(self.sheet._repr_html_()), *self.figures.values()]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for item in self.items():
            display(item)

    def __repr__(self) -> str:
        return f"FactorTearsheetView({self.sheet!r}, charts: {', '.join(self.figures)})"


def factor_tearsheet(result: pd.DataFrame, column: str, bundle: Any, **options: Any) -> FactorTearsheetView:
    """Analyse ``result[column]`` on ``bundle`` (:func:`rustybt.pipeline.analysis.factor_tearsheet`, same
    keywords) and return a view that shows the tables and every chart; ``.sheet`` holds the numbers."""
    from rustybt.pipeline.analysis import factor_tearsheet as compute

    return FactorTearsheetView(compute(result, column, plots._bundle_of(bundle), **options))
