"""HTML views of pipelines and their results: the columns, screen, domain and term graph of a ``Pipeline``;
shape, column statistics and first rows of a result; the top and bottom of a cross-section.

The builders are duck-typed (they import nothing from :mod:`rustybt.pipeline`, which loads Numba).
"""

from __future__ import annotations

from typing import Any

from rustybt._html.templates import (
    MAX_ROWS,
    Markup,
    asset_text,
    cell_value,
    clip,
    code,
    details,
    fmt_int,
    fmt_num,
    fmt_range,
    fmt_ts,
    kv,
    note,
    page,
    table,
)

__all__ = ["pipeline_html", "pipeline_result_html", "ranking_html"]


# --- pipeline --------------------------------------------------------------------------------------------


def _term_text(term: Any) -> str:
    return clip(repr(term), 120)


def _pipeline_domain(pipeline: Any) -> Any:
    domain = getattr(pipeline, "domain", None)
    if callable(domain):  # rustybt's Pipeline.domain(default) resolves the domain
        try:
            domain = domain(None)
        except Exception:  # conflicting domains: the engine will say so when run
            return None
    return domain


def pipeline_html(pipeline: Any) -> str:
    """A zipline-style ``Pipeline``: its columns (name, kind, term, dtype), screen, domain and term graph."""
    columns = dict(getattr(pipeline, "columns", {}) or {})
    rows = []
    for name in list(columns)[:MAX_ROWS]:
        term = columns[name]
        rows.append((code(name), type(term).__name__, _term_text(term), str(getattr(term, "dtype", ""))))
    screen = getattr(pipeline, "screen", None)
    body = table(("column", "kind", "term", "dtype"), rows, total=len(columns), wrap=(2,))
    domain = _pipeline_domain(pipeline)
    body += kv(
        [
            ("screen", _term_text(screen) if screen is not None else "none (every asset alive)"),
            ("domain", _term_text(domain) if domain is not None else "from the terms, else the engine's"),
        ]
    )
    show_graph = getattr(pipeline, "show_graph", None)
    if callable(show_graph) and columns:
        try:
            svg = show_graph()
        except Exception as exc:  # a display must not fail on a graph problem
            svg = None
            body += note(f"graph unavailable: {clip(exc, 200)}")
        if isinstance(svg, str) and svg.lstrip().startswith("<svg"):
            body += details("Term graph", Markup(svg))
    n = len(columns)
    return page("pipeline", "Pipeline", body, subtitle=f"{n} column{'s' * (n != 1)}")


def pipeline_result_html(result: Any, *, head: int = 10) -> str:
    """A pipeline result: a pandas DataFrame indexed by (date, asset). Shape, column stats, first rows."""
    import numpy as np
    import pandas as pd

    index = result.index
    dates = index.get_level_values(0) if isinstance(index, pd.MultiIndex) else index
    n_dates = dates.nunique() if len(dates) else 0
    n_assets = index.get_level_values(1).nunique() if isinstance(index, pd.MultiIndex) and len(index) else 0
    summary = kv(
        [
            ("rows", fmt_int(len(result))),
            ("dates", f"{fmt_int(n_dates)} ({fmt_range(dates.min(), dates.max())})" if len(dates) else "0"),
            ("assets", fmt_int(n_assets)),
        ]
    )
    stats = []
    for name in list(result.columns)[:MAX_ROWS]:
        col = result[name]
        non_null = int(col.notna().sum())
        if pd.api.types.is_bool_dtype(col.dtype):
            extra = (f"{int(col.sum()):,} true", "", "", "")
        elif pd.api.types.is_numeric_dtype(col.dtype):
            values = col.to_numpy(dtype="float64", na_value=np.nan)
            finite = values[np.isfinite(values)]
            extra = tuple(fmt_num(f(finite)) if finite.size else "" for f in (np.mean, np.std, np.min, np.max))
        else:
            extra = (f"{col.nunique():,} distinct", "", "", "")
        stats.append((name, str(col.dtype), fmt_int(non_null), *extra))
    stats_table = table(
        ("column", "dtype", "non-null", "mean", "std", "min", "max"),
        stats,
        total=len(result.columns),
        numeric=(2, 3, 4, 5, 6),
    )
    first_rows = []
    for key, row in result.head(head).iterrows():
        date, asset = (key if isinstance(key, tuple) else (key, ""))[:2]
        first_rows.append((fmt_ts(date), asset_text(asset), *(cell_value(row[c]) for c in result.columns[:8])))
    preview = table(
        ("date", "asset", *map(str, result.columns[:8])),
        first_rows,
        total=len(result),
        numeric=range(2, 10),
        limit=head,
    )
    body = summary + stats_table + details("First rows", preview, open_=True)
    return page("pipeline-result", "Pipeline result", body, subtitle=f"{len(result.columns)} columns")


def ranking_html(column: str, date: Any, top: Any, bottom: Any, *, total: int) -> str:
    """Top and bottom assets of a cross-section (pandas Series indexed by asset)."""

    def rows(series: Any) -> list[tuple[str, str]]:
        return [(asset_text(a), cell_value(float(v))) for a, v in series.items()]

    body = details(f"Top {len(top)}", table(("asset", column), rows(top), numeric=(1,)), open_=True)
    body += details(f"Bottom {len(bottom)}", table(("asset", column), rows(bottom), numeric=(1,)), open_=True)
    return page("ranking", f"{column} on {fmt_ts(date)}", body, subtitle=f"{total:,} assets with a value")
