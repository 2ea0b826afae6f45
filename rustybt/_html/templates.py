"""The small set of HTML templates every view is built from, the escaping rule and the one stylesheet.

:func:`page` is the outer frame of one output (the stylesheet once, a title, the body); :func:`kv` a label/value
table, :func:`table` a bounded table, :func:`details` a collapsible section, :func:`badge`, :func:`note` and
:func:`gauge` small inline pieces. Every value goes through :func:`escape` unless it is :class:`Markup` (HTML the
templates built). Output is deterministic (no generated ids, no current time, no memory addresses) and bounded:
tables show at most :data:`MAX_ROWS` rows and say how many more there are.

Nothing here imports IPython or any other layer of RustyBT except :mod:`rustybt._utils`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any

from rustybt._utils import format_bytes

__all__ = [
    "MAX_ROWS",
    "HTMLView",
    "Markup",
    "asset_text",
    "badge",
    "cell_value",
    "clip",
    "code",
    "details",
    "escape",
    "fmt_int",
    "fmt_num",
    "fmt_range",
    "fmt_ts",
    "format_bytes",
    "gauge",
    "kv",
    "note",
    "page",
    "quality_badge",
    "stylesheet",
    "table",
]

#: Most rows any table shows; the rest are counted in a final "... N more" row.
MAX_ROWS = 20
_MAX_TEXT = 160  # longest free text (paths, term reprs) shown in a cell


class Markup(str):
    """A string that is already HTML (built by the templates below); never escaped again."""


def escape(value: Any) -> str:
    """Escape any value for HTML text and attributes (:class:`Markup` passes through)."""
    if isinstance(value, Markup):
        return str(value)
    return html.escape("" if value is None else str(value), quote=True)


def clip(text: Any, limit: int = _MAX_TEXT) -> str:
    """``text`` shortened to ``limit`` characters (an ellipsis marks the cut)."""
    s = "" if text is None else str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


@cache
def stylesheet() -> str:
    """The one stylesheet (``rustybt/_html/rustybt.css``; every rule is scoped under ``.rbt``)."""
    return resources.files("rustybt._html").joinpath("rustybt.css").read_text(encoding="utf-8")


def page(kind: str, title: str, body: str, subtitle: str | None = None) -> str:
    """The outer frame of one output: the stylesheet once, a title, the body."""
    sub = f'<span class="rbt-sub">{escape(subtitle)}</span>' if subtitle else ""
    return (
        f'<div class="rbt rbt-{escape(kind)}"><style>{stylesheet()}</style>'
        f'<div class="rbt-title">{escape(title)}{sub}</div>{body}</div>'
    )


def kv(rows: Iterable[tuple[str, Any]]) -> Markup:
    """A label/value table."""
    body = "".join(f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in rows)
    return Markup(f'<table class="rbt-table rbt-kv"><tbody>{body}</tbody></table>')


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    total: int | None = None,
    numeric: Iterable[int] = (),
    wrap: Iterable[int] = (),
    limit: int | None = None,
) -> Markup:
    """A table of at most ``limit`` (default :data:`MAX_ROWS`) rows; ``total`` rows exist in all.

    ``numeric`` columns are right-aligned, ``wrap`` columns may wrap their text.
    """
    limit = MAX_ROWS if limit is None else limit
    total = len(rows) if total is None else total
    shown = list(rows[:limit])
    num, wrp = set(numeric), set(wrap)
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)

    def cell(i: int, value: Any) -> str:
        cls = " ".join(c for c, on in (("rbt-num", i in num), ("rbt-wrap", i in wrp)) if on)
        return f'<td class="{cls}">{escape(value)}</td>' if cls else f"<td>{escape(value)}</td>"

    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(r)) + "</tr>" for r in shown)
    if total > len(shown):
        body += f'<tr class="rbt-more"><td colspan="{len(columns)}">... {total - len(shown):,} more</td></tr>'
    return Markup(f'<table class="rbt-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def details(summary: str, body: str, *, open_: bool = False) -> Markup:
    """A collapsible section (``<details>``); ``body`` is HTML."""
    flag = " open" if open_ else ""
    return Markup(f"<details{flag}><summary>{escape(summary)}</summary>{body}</details>")


def badge(text: str, level: str) -> Markup:
    """A coloured label; ``level``: ok, warn, err or muted."""
    return Markup(f'<span class="rbt-badge rbt-{escape(level)}">{escape(text)}</span>')


def note(text: str) -> Markup:
    """A muted paragraph (hints, what to do next)."""
    return Markup(f'<div class="rbt-note">{escape(text)}</div>')


def code(text: Any) -> Markup:
    """``text`` in a ``<code>`` element (names, expressions)."""
    return Markup(f"<code>{escape(text)}</code>")


def gauge(fraction: float | None, label: str) -> Markup:
    """A small horizontal gauge (e.g. coverage) followed by ``label``."""
    if fraction is None or not math.isfinite(fraction):
        return Markup(escape(label))
    pct = max(0.0, min(1.0, fraction)) * 100
    gap = " rbt-gap" if fraction < 0.9995 else ""
    return Markup(
        f'<span class="rbt-track"><span class="rbt-fill{gap}" style="width:{pct:.1f}%"></span></span>{escape(label)}'
    )


def quality_badge(errors: int, warnings: int, dropped: int) -> Markup:
    """``ok``, the warning/dropped counts, or the error count, as a badge."""
    if errors:
        return badge(f"{errors:,} error{'s' * (errors != 1)}", "err")
    parts = []
    if dropped:
        parts.append(f"{dropped:,} dropped")
    if warnings:
        parts.append(f"{warnings:,} warning{'s' * (warnings != 1)}")
    return badge(", ".join(parts), "warn") if parts else badge("ok", "ok")


class HTMLView:
    """A titled label/value view (what ``%rustybt config`` returns): text repr and HTML repr."""

    def __init__(self, title: str, rows: Sequence[tuple[str, Any]], note: str | None = None) -> None:
        self.title = title
        self.rows = [(str(k), v) for k, v in rows]
        self.note = note

    def __repr__(self) -> str:
        width = max((len(k) for k, _ in self.rows), default=0)
        lines = [self.title] + [f"  {k:<{width}}  {v}" for k, v in self.rows]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return page("view", self.title, kv(self.rows) + (note(self.note) if self.note else ""))


# --- value formatting ------------------------------------------------------------------------------------


def fmt_int(n: Any) -> str:
    """``22165`` -> ``22,165`` (anything else as text)."""
    try:
        return f"{int(n):,}"
    except (TypeError, ValueError):
        return "" if n is None else str(n)


def fmt_ts(value: Any) -> str:
    """A timestamp as a date when it is midnight, else ``YYYY-MM-DD HH:MM[:SS]`` (UTC)."""
    if value is None or value == "":
        return ""
    import pandas as pd

    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if ts is pd.NaT:
        return ""
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    if ts == ts.normalize():
        return str(ts.date())
    return ts.strftime("%Y-%m-%d %H:%M:%S" if ts.second else "%Y-%m-%d %H:%M")


def fmt_range(start: Any, end: Any) -> str:
    """``start .. end`` with :func:`fmt_ts` on each end."""
    a, b = fmt_ts(start), fmt_ts(end)
    return f"{a} .. {b}" if a or b else ""


def fmt_num(value: float | None) -> str:
    """A float with six significant digits; empty for a missing or infinite value."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.6g}"


def cell_value(value: Any) -> str:
    """One cell of a data table: floats to six significant digits (NaN shown), other values clipped."""
    if isinstance(value, float):
        return fmt_num(value) if math.isfinite(value) else "NaN"
    return clip(value, 40)


def asset_text(value: Any) -> str:
    """An asset by its symbol (anything else as text)."""
    symbol = getattr(value, "symbol", None)
    return str(symbol) if symbol is not None else str(value)
