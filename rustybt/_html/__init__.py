"""HTML rendering for every ``_repr_html_`` in RustyBT: escaping, a small set of templates, one stylesheet, and
the views built from them.

This package sits with the foundations: it imports nothing from RustyBT's other layers (the builders read the
objects they are given, duck-typed) and never IPython, so any layer's ``_repr_html_`` calls it directly, and a
view looks the same whether or not ``%load_ext rustybt`` ran. :mod:`~rustybt._html.templates` holds the templates
and the value formatting, :mod:`~rustybt._html.data` the data layers' views, :mod:`~rustybt._html.pipeline` the
pipeline's.
"""

from __future__ import annotations

from rustybt._html.data import (
    EXAMPLES_PER_RULE,
    MAX_RULES,
    asset_html,
    bars_caption_html,
    bars_html,
    bundle_html,
    cache_html,
    catalog_html,
    continuous_future_html,
    error_html,
    ingestion_html,
    validation_report_html,
    validation_summary_html,
    verify_report_html,
)
from rustybt._html.pipeline import pipeline_html, pipeline_result_html, ranking_html
from rustybt._html.templates import (
    MAX_ROWS,
    HTMLView,
    Markup,
    badge,
    details,
    escape,
    fmt_int,
    fmt_range,
    fmt_ts,
    kv,
    note,
    page,
    stylesheet,
    table,
)

__all__ = [
    "EXAMPLES_PER_RULE",
    "MAX_ROWS",
    "MAX_RULES",
    "HTMLView",
    "Markup",
    "asset_html",
    "badge",
    "bars_caption_html",
    "bars_html",
    "bundle_html",
    "cache_html",
    "catalog_html",
    "continuous_future_html",
    "details",
    "error_html",
    "escape",
    "fmt_int",
    "fmt_range",
    "fmt_ts",
    "ingestion_html",
    "kv",
    "note",
    "page",
    "pipeline_html",
    "pipeline_result_html",
    "ranking_html",
    "stylesheet",
    "table",
    "validation_report_html",
    "validation_summary_html",
    "verify_report_html",
]
