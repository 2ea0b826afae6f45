"""The factor tear sheet's tables (the charts are drawn by the notebook layer)."""

from __future__ import annotations

from typing import Any

from rustybt._html.templates import details, fmt_ts, kv, page, table

__all__ = ["factor_tearsheet_html"]


def _fmt(value: Any, digits: int = 3) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "NaN" if v != v else f"{v:.{digits}f}"


def _frame_table(frame: Any, index_name: str, digits: int = 3) -> Any:
    columns = [index_name, *map(str, frame.columns)]
    rows = [(str(i), *(_fmt(v, digits) for v in row)) for i, row in zip(frame.index, frame.to_numpy(), strict=True)]
    return table(columns, rows, numeric=range(1, len(columns)), limit=40)


def factor_tearsheet_html(sheet: Any) -> str:
    """Summary, returns table, IC summary, mean return by quantile, turnover of a FactorTearsheet."""
    fd = sheet.factor_data
    dates = fd.index.get_level_values("date")
    summary = kv(
        [
            ("rows", f"{len(fd):,}"),
            ("dates", f"{fmt_ts(dates.min())} .. {fmt_ts(dates.max())} ({dates.nunique():,})"),
            ("assets", f"{fd.index.get_level_values('asset').nunique():,}"),
            ("periods", ", ".join(sheet.periods)),
            ("quantiles", str(sheet.meta.get("quantiles"))),
        ]
    )
    ic = sheet.ic_summary
    body = summary
    body += details("Returns analysis", _frame_table(sheet.returns_table(), ""), open_=True)
    body += details("Information analysis", _frame_table(ic.T, ""), open_=True)
    body += details(
        "Mean period-wise return by quantile (bps)", _frame_table(sheet.mean_return_by_quantile * 1e4, "quantile", 2)
    )
    body += details("Mean turnover", _frame_table(sheet.turnover, "quantile"))
    body += details(
        "Mean factor rank autocorrelation", _frame_table(sheet.autocorrelation.mean().to_frame("mean"), "period")
    )
    return page("factor-tearsheet", f"Factor tear sheet: {sheet.column}", body, subtitle="alphalens semantics")
