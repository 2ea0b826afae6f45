"""HTML representations (``_repr_html_``) of RustyBT objects.

One stylesheet (``static/rustybt.css``, every rule scoped under ``.rbt``) is inlined once per output, and one
small set of template functions builds every view: :func:`_page` (the outer frame with the stylesheet),
:func:`_kv` (a label/value table), :func:`_table` (a bounded table) and :func:`_details` (a collapsible section).
Every value goes through :func:`html.escape`. Output is deterministic (no generated ids, no current time, no
memory addresses) and bounded: tables show at most :data:`MAX_ROWS` rows and say how many more there are.

The library objects call these builders lazily from their ``_repr_html_``, so importing RustyBT never imports
this module.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "MAX_ROWS",
    "HTMLView",
    "asset_html",
    "bars_caption_html",
    "bars_html",
    "bundle_html",
    "cache_html",
    "catalog_html",
    "continuous_future_html",
    "error_html",
    "ingestion_html",
    "pipeline_html",
    "pipeline_result_html",
    "ranking_html",
    "validation_report_html",
    "validation_summary_html",
    "verify_report_html",
]

#: Most rows any table shows; the rest are counted in a final "... N more" row.
MAX_ROWS = 20
#: Stored violation examples shown per validation rule.
EXAMPLES_PER_RULE = 3
#: Most validation rules listed with examples.
MAX_RULES = 20
_MAX_TEXT = 160  # longest free text (paths, term reprs) shown in a cell


# --- templates -------------------------------------------------------------------------------------------


class Markup(str):
    """A string that is already HTML (built by the templates below); never escaped again."""


def _e(value: Any) -> str:
    """Escape any value for HTML text and attributes."""
    if isinstance(value, Markup):
        return str(value)
    return html.escape("" if value is None else str(value), quote=True)


def _clip(text: Any, limit: int = _MAX_TEXT) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


@cache
def stylesheet() -> str:
    """The notebook stylesheet (``rustybt/notebook/static/rustybt.css``)."""
    return resources.files("rustybt.notebook").joinpath("static").joinpath("rustybt.css").read_text(encoding="utf-8")


def _page(kind: str, title: str, body: str, subtitle: str | None = None) -> str:
    """The outer frame of one output: the stylesheet once, a title, the body."""
    sub = f'<span class="rbt-sub">{_e(subtitle)}</span>' if subtitle else ""
    return (
        f'<div class="rbt rbt-{_e(kind)}"><style>{stylesheet()}</style>'
        f'<div class="rbt-title">{_e(title)}{sub}</div>{body}</div>'
    )


def _kv(rows: Iterable[tuple[str, Any]]) -> Markup:
    body = "".join(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>" for label, value in rows)
    return Markup(f'<table class="rbt-table rbt-kv"><tbody>{body}</tbody></table>')


def _table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    total: int | None = None,
    numeric: Iterable[int] = (),
    wrap: Iterable[int] = (),
    limit: int | None = None,
) -> Markup:
    """A table of at most ``limit`` (default :data:`MAX_ROWS`) rows; ``total`` rows exist in all."""
    limit = MAX_ROWS if limit is None else limit
    total = len(rows) if total is None else total
    shown = list(rows[:limit])
    num, wrp = set(numeric), set(wrap)
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)

    def cell(i: int, value: Any) -> str:
        cls = " ".join(c for c, on in (("rbt-num", i in num), ("rbt-wrap", i in wrp)) if on)
        return f'<td class="{cls}">{_e(value)}</td>' if cls else f"<td>{_e(value)}</td>"

    body = "".join("<tr>" + "".join(cell(i, v) for i, v in enumerate(r)) + "</tr>" for r in shown)
    if total > len(shown):
        body += f'<tr class="rbt-more"><td colspan="{len(columns)}">... {total - len(shown):,} more</td></tr>'
    return Markup(f'<table class="rbt-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def _details(summary: str, body: str, *, open_: bool = False) -> Markup:
    flag = " open" if open_ else ""
    return Markup(f"<details{flag}><summary>{_e(summary)}</summary>{body}</details>")


def _badge(text: str, level: str) -> Markup:
    """``level``: ok, warn, err or muted."""
    return Markup(f'<span class="rbt-badge rbt-{_e(level)}">{_e(text)}</span>')


def _note(text: str) -> Markup:
    return Markup(f'<div class="rbt-note">{_e(text)}</div>')


def _bar(fraction: float | None, label: str) -> Markup:
    """A small horizontal gauge (coverage) followed by ``label``."""
    if fraction is None or not math.isfinite(fraction):
        return Markup(_e(label))
    pct = max(0.0, min(1.0, fraction)) * 100
    gap = " rbt-gap" if fraction < 0.9995 else ""
    return Markup(
        f'<span class="rbt-track"><span class="rbt-fill{gap}" style="width:{pct:.1f}%"></span></span>{_e(label)}'
    )


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
        return _page("view", self.title, _kv(self.rows) + (_note(self.note) if self.note else ""))


# --- formatting ------------------------------------------------------------------------------------------


def fmt_int(n: Any) -> str:
    """``22165`` -> ``22,165`` (anything else as text)."""
    try:
        return f"{int(n):,}"
    except (TypeError, ValueError):
        return "" if n is None else str(n)


def fmt_bytes(n: Any) -> str:
    """Bytes in B, KiB, MiB or GiB."""
    try:
        value = float(n)
    except (TypeError, ValueError):
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


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
    a, b = fmt_ts(start), fmt_ts(end)
    return f"{a} .. {b}" if a or b else ""


def _quality_badge(errors: int, warnings: int, dropped: int) -> Markup:
    if errors:
        return _badge(f"{errors:,} error{'s' * (errors != 1)}", "err")
    parts = []
    if dropped:
        parts.append(f"{dropped:,} dropped")
    if warnings:
        parts.append(f"{warnings:,} warning{'s' * (warnings != 1)}")
    return _badge(", ".join(parts), "warn") if parts else _badge("ok", "ok")


# --- catalog ---------------------------------------------------------------------------------------------


def catalog_html(catalog: Any) -> str:
    """:class:`~rustybt.data.catalog.Catalog`: one row per bundle."""
    summary = catalog.summary()
    n = summary.height
    if n == 0:
        body = _note(
            "No bundles yet. Ingest the sample data with `%rustybt ingest sample` (or rustybt.sample.ingest_sample"
            "(catalog)), or register your own source with catalog.register(NAME, adapter=...)."
        )
    else:
        rows = []
        for r in summary.head(MAX_ROWS).iter_rows(named=True):
            ingested = r["ingestion"] is not None
            rows.append(
                (
                    r["bundle"],
                    r["resolution"],
                    r["calendar"],
                    fmt_int(r["assets"]) if ingested else "",
                    fmt_range(r["start"], r["end"]) if ingested else "not ingested",
                    fmt_int(r["rows"]) if ingested else "",
                    fmt_bytes(r["size_bytes"]) if ingested else "",
                    fmt_ts(r["last_ingest"]) if ingested else "",
                    _quality_badge(r["errors"], r["warnings"], r["dropped"]) if ingested else _badge("empty", "muted"),
                )
            )
        body = _table(
            ("bundle", "frequency", "calendar", "assets", "date range", "rows", "size", "last ingest", "quality"),
            rows,
            total=n,
            numeric=(3, 5, 6),
        )
    return _page("catalog", "Catalog", body, subtitle=f"{_clip(catalog.root)} · {n} bundle{'s' * (n != 1)}")


# --- bundle ----------------------------------------------------------------------------------------------


def _source_text(source: Mapping[str, Any]) -> str:
    params = source.get("params") or {}
    where = next((params[k] for k in ("csvdir", "paths", "path", "root", "exchange") if params.get(k)), None)
    if isinstance(where, list | tuple):
        where = f"{where[0]} (+{len(where) - 1} more)" if len(where) > 1 else (where[0] if where else None)
    return f"{source.get('adapter', '?')}: {_clip(where, 80)}" if where else str(source.get("adapter", "?"))


def _expected_bars(bundle: Any) -> tuple[Any, Any] | None:
    """Bar labels of the bundle's calendar over its range (int64 ns), for coverage; None if unavailable."""
    try:
        from rustybt.data.readers.grid import bar_labels

        labels = bar_labels(bundle.calendar_name, bundle.resolution, bundle.start, bundle.end)
        return labels.asi8, labels.tz
    except Exception:  # coverage is a nicety; a calendar problem must not break the repr
        return None


def _coverage_rows(bundle: Any) -> tuple[list[tuple[Any, ...]], int]:
    import numpy as np
    import pandas as pd

    ranges = bundle.date_ranges
    total = ranges.height
    expected = _expected_bars(bundle)
    rows = []
    for r in ranges.head(MAX_ROWS).iter_rows(named=True):
        cover = None
        if expected is not None and r["start"] is not None and r["end"] is not None:
            labels = expected[0]
            lo = pd.Timestamp(r["start"]).tz_localize("UTC").value
            hi = pd.Timestamp(r["end"]).tz_localize("UTC").value
            n_expected = int(np.searchsorted(labels, hi, side="right") - np.searchsorted(labels, lo, side="left"))
            cover = (r["rows"] / n_expected) if n_expected else None
        label = f"{cover:.1%}" if cover is not None else ""
        rows.append(
            (
                r["symbol"],
                r["sid"],
                r["asset_class"],
                fmt_ts(r["start"]),
                fmt_ts(r["end"]),
                fmt_int(r["rows"]),
                _bar(cover, label),
            )
        )
    return rows, total


def _history_rows(bundle: Any) -> tuple[list[tuple[Any, ...]], int]:
    history = list(reversed(bundle.ingestions()))  # newest first
    rows = []
    for rec in history[:MAX_ROWS]:
        q = rec.quality or {}
        marker = "live" if rec.id == bundle.ingestion_id else ""
        rows.append(
            (
                rec.id,
                marker,
                fmt_ts(rec.created_at),
                rec.mode,
                fmt_int(rec.rows),
                fmt_int(rec.n_assets),
                f"{rec.duration_s:.2f} s",
                _quality_badge(q.get("error_count", 0), q.get("warning_count", 0), q.get("rows_dropped", 0)),
            )
        )
    return rows, len(history)


def bundle_html(bundle: Any) -> str:
    """:class:`~rustybt.data.catalog.Bundle`: summary, per-asset coverage, ingestion history, quality."""
    q = bundle.quality
    adjustments = bundle.adjustments()
    by_kind = adjustments.group_by("kind").len().sort("kind").rows()
    adj_text = ", ".join(f"{n:,} {kind}{'s' * (n != 1)}" for kind, n in by_kind) or "none"
    coarser = [f for f in ("1w", "1M") if f != bundle.resolution]
    summary = _kv(
        [
            ("source", _source_text(bundle.source)),
            ("calendar", bundle.calendar_name),
            ("frequency", f"{bundle.resolution} stored; coarser by resampling (e.g. {', '.join(coarser)})"),
            ("date range", fmt_range(bundle.start, bundle.end)),
            ("assets", fmt_int(len(bundle.assets))),
            ("rows", fmt_int(bundle.rows)),
            ("size on disk", fmt_bytes(bundle.size_bytes)),
            ("quality", _quality_badge(q["errors"], q["warnings"], q["rows_dropped"])),
            ("adjustments", adj_text),
            ("ingestion", bundle.ingestion_id),
        ]
    )
    cov_rows, n_assets = _coverage_rows(bundle)
    coverage = _table(
        ("symbol", "sid", "class", "first bar", "last bar", "bars", "coverage"),
        cov_rows,
        total=n_assets,
        numeric=(1, 5),
    )
    hist_rows, n_hist = _history_rows(bundle)
    history = _table(
        ("ingestion", "", "created (UTC)", "mode", "rows", "assets", "took", "quality"),
        hist_rows,
        total=n_hist,
        numeric=(4, 5, 6),
    )
    body = (
        summary
        + _details(f"Coverage ({n_assets} assets; share of calendar bars present)", coverage, open_=True)
        + _details(f"Ingestion history ({n_hist})", history)
    )
    if q["errors"] or q["warnings"] or q["rows_dropped"]:
        body += _details("Validation (stored examples)", _report_fragment(bundle.report))
    return _page("bundle", f"Bundle {bundle.name}", body, subtitle=f"{bundle.resolution} · {bundle.calendar_name}")


# --- assets ----------------------------------------------------------------------------------------------


def asset_html(asset: Any) -> str:
    """:class:`~rustybt.assets.Asset` (any subclass): its fields."""
    record = asset.to_record()
    rows = [("sid", asset.sid), ("symbol", asset.symbol), ("class", record.pop("asset_class", ""))]
    for key, value in record.items():
        if key in ("sid", "symbol") or value in (None, ""):
            continue
        rows.append((key.replace("_", " "), fmt_ts(value) if key.endswith("_date") else _clip(value)))
    return _page("asset", f"{type(asset).__name__} {asset.symbol}", _kv(rows), subtitle=f"sid {asset.sid}")


# --- ingestion and validation ----------------------------------------------------------------------------


def ingestion_html(ingestion: Any) -> str:
    """:class:`~rustybt.data.catalog.Ingestion`: what one ingest did, with its validation report."""
    report = ingestion.report
    rows: list[tuple[str, Any]] = [
        ("bundle", ingestion.bundle),
        ("ingestion", ingestion.id),
        ("mode", ingestion.mode),
        ("rows stored", fmt_int(ingestion.rows)),
        ("assets", fmt_int(ingestion.n_assets)),
    ]
    if ingestion.mode == "append":
        rows += [
            ("new rows", fmt_int(ingestion.new_rows)),
            ("replaced rows", fmt_int(ingestion.replaced_rows)),
            ("changed values", fmt_int(ingestion.changed_rows)),
        ]
    rows += [
        ("took", f"{ingestion.duration_s:.2f} s"),
        ("quality", _quality_badge(report.error_count, report.warning_count, report.rows_dropped)),
    ]
    body = _kv(rows)
    if ingestion.failures:
        failed = sorted(ingestion.failures.items())
        body += _details(
            f"{len(failed)} symbol(s) failed and were left out",
            _table(("symbol", "error"), [(s, _clip(m, 300)) for s, m in failed], wrap=(1,)),
            open_=True,
        )
    if len(report):
        body += _details("Validation", _report_fragment(report), open_=True)
    return _page("ingestion", f"Ingestion of {ingestion.bundle}", body, subtitle=ingestion.id)


def _report_fragment(report: Any) -> Markup:
    """Counts by severity and rule, then a few stored examples per rule (bounded)."""
    import polars as pl

    from rustybt.data.validation import ValidationReport

    if not len(report):
        return _note(f"No violations in {report.rows_checked:,} rows.")
    count_rows = []
    for severity in ("error", "warning"):
        for rule, n in report.counts(severity).items():
            count_rows.append((_badge(severity, "err" if severity == "error" else "warn"), rule, fmt_int(n)))
    parts = [_table(("severity", "rule", "count"), count_rows, numeric=(2,), limit=MAX_RULES)]
    frame = report.to_frame()
    if frame.height:
        head = frame.filter(pl.int_range(pl.len()).over("rule") < EXAMPLES_PER_RULE)
        head_counts = {(r, s): n for r, s, n in head.group_by("rule", "severity").len().iter_rows()}
        examples = ValidationReport(head, head_counts).by_rule()
        counts = report.counts()
        for rule in list(counts)[:MAX_RULES]:
            found = examples.get(rule, [])
            if not found:
                continue
            rows = [
                (v.symbol or "", fmt_ts(v.timestamp), v.field or "", _where(v.file, v.row), _clip(v.message, 400))
                for v in found
            ]
            parts.append(
                _details(
                    f"{rule}: {counts[rule]:,} (showing {len(rows)})",
                    _table(("symbol", "timestamp", "field", "where", "message"), rows, total=counts[rule], wrap=(4,)),
                )
            )
    if report.truncated:
        parts.append(_note("Details are truncated; the counts above are exact."))
    return Markup("".join(parts))


def _where(file: str | None, row: int | None) -> str:
    if not file:
        return ""
    name = str(file).replace("\\", "/").rsplit("/", 1)[-1]
    return f"{name}:{row}" if row is not None else name


def validation_report_html(report: Any) -> str:
    """:class:`~rustybt.data.validation.ValidationReport`: violations grouped by rule, bounded."""
    state = _badge("ok", "ok") if report.ok else _badge("failed", "err")
    rows = [
        ("state", state),
        ("mode", report.mode),
        ("rows checked", fmt_int(report.rows_checked)),
        ("rows dropped", fmt_int(report.rows_dropped)),
        ("errors", fmt_int(report.error_count)),
        ("warnings", fmt_int(report.warning_count)),
    ]
    return _page("validation", "Validation report", _kv(rows) + _report_fragment(report))


def verify_report_html(report: Any) -> str:
    """:class:`~rustybt.data.catalog.VerifyReport`: checksums of an ingestion's files."""
    state = _badge("all files match", "ok") if report.ok else _badge(f"{len(report.problems)} problem(s)", "err")
    body = _kv(
        [
            ("bundle", report.bundle),
            ("ingestion", report.ingestion_id),
            ("files checked", fmt_int(report.files_checked)),
            ("state", state),
        ]
    )
    if report.problems:
        body += _table(
            ("file", "problem", "detail"),
            [(p.path, p.problem, _clip(p.detail, 300)) for p in report.problems],
            wrap=(2,),
        )
        body += _note(f"Re-ingest the bundle (catalog.ingest({report.bundle!r})) to rebuild damaged files.")
    return _page("verify", "Verify report", body, subtitle=f"{report.bundle}@{report.ingestion_id}")


# --- cache -----------------------------------------------------------------------------------------------


def cache_html(cache: Any) -> str:
    """A :class:`~rustybt.data.cache.CacheManager` or its :class:`~rustybt.data.cache.CacheStats`."""
    stats = cache.stats if hasattr(cache, "stats") and not hasattr(cache, "rows") else cache
    subtitle = None
    if hasattr(cache, "enabled"):
        path = getattr(cache, "disk_cache_path", None)
        subtitle = "disabled" if not cache.enabled else (f"disk {_clip(path, 80)}" if path else "memory only")
    return _page("cache", "Cache", _kv(stats.rows()), subtitle=subtitle)


# --- continuous futures ---------------------------------------------------------------------------------


def continuous_future_html(future: Any) -> str:
    """A :class:`~rustybt.data.readers.ContinuousFuture`: chain, roll and adjustment style, rolls."""
    chain = list(future.chain)
    bundle = future.portal.bundle
    body = _kv(
        [
            ("root symbol", future.root_symbol),
            ("offset", future.offset),
            ("roll", future.roll),
            ("adjustment", future.adjustment if future.adjustment is not None else "none (raw stitched prices)"),
            ("bundle", f"{bundle.name} @ {bundle.ingestion_id}"),
        ]
    )
    rows = [
        (f.symbol, f.sid, fmt_ts(f.expiration_date), fmt_ts(f.auto_close_date), _cell_value(f.multiplier))
        for f in chain[:MAX_ROWS]
    ]
    body += _details(
        f"Chain ({len(chain)} contracts)",
        _table(("contract", "sid", "expiration", "auto close", "multiplier"), rows, total=len(chain), numeric=(1, 4)),
        open_=True,
    )
    try:
        rolls = future.roll_dates()
    except Exception as exc:  # a display must not fail (e.g. a clock set before the first session)
        body += _note(f"rolls unavailable: {_clip(exc, 200)}")
    else:
        roll_rows = [(fmt_ts(day), old.symbol, new.symbol) for day, old, new in rolls[:MAX_ROWS]]
        body += _details(
            f"Rolls ({len(rolls)})", _table(("session", "from", "to"), roll_rows, total=len(rolls)), open_=True
        )
    return _page(
        "continuous-future", f"Continuous future {future.root_symbol}", body, subtitle=f"offset {future.offset}"
    )


# --- errors ----------------------------------------------------------------------------------------------


def error_html(title: str, message: str, hint: str | None = None) -> str:
    """A short error box: what went wrong, and what to do."""
    body = f'<div class="rbt-error-box">{_e(message)}</div>' + (_note(hint) if hint else "")
    return _page("error", title, body)


# --- pipeline --------------------------------------------------------------------------------------------


def _term_text(term: Any) -> str:
    return _clip(repr(term), 120)


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
        rows.append((name, type(term).__name__, _term_text(term), str(getattr(term, "dtype", ""))))
    screen = getattr(pipeline, "screen", None)
    body = _table(("column", "kind", "term", "dtype"), rows, total=len(columns), wrap=(2,))
    domain = _pipeline_domain(pipeline)
    body += _kv(
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
            body += _note(f"graph unavailable: {_clip(exc, 200)}")
        if isinstance(svg, str) and svg.lstrip().startswith("<svg"):
            body += _details("Term graph", Markup(svg))
    n = len(columns)
    return _page("pipeline", "Pipeline", body, subtitle=f"{n} column{'s' * (n != 1)}")


def _asset_text(value: Any) -> str:
    symbol = getattr(value, "symbol", None)
    return str(symbol) if symbol is not None else str(value)


def pipeline_result_html(result: Any, *, head: int = 10) -> str:
    """A pipeline result: a pandas DataFrame indexed by (date, asset). Shape, column stats, first rows."""
    import numpy as np
    import pandas as pd

    index = result.index
    dates = index.get_level_values(0) if isinstance(index, pd.MultiIndex) else index
    n_dates = dates.nunique() if len(dates) else 0
    n_assets = index.get_level_values(1).nunique() if isinstance(index, pd.MultiIndex) and len(index) else 0
    summary = _kv(
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
            extra = tuple(_num(f(finite)) if finite.size else "" for f in (np.mean, np.std, np.min, np.max))
        else:
            extra = (f"{col.nunique():,} distinct", "", "", "")
        stats.append((name, str(col.dtype), fmt_int(non_null), *extra))
    table = _table(
        ("column", "dtype", "non-null", "mean", "std", "min", "max"),
        stats,
        total=len(result.columns),
        numeric=(2, 3, 4, 5, 6),
    )
    first_rows = []
    for key, row in result.head(head).iterrows():
        date, asset = (key if isinstance(key, tuple) else (key, ""))[:2]
        first_rows.append((fmt_ts(date), _asset_text(asset), *(_cell_value(row[c]) for c in result.columns[:8])))
    preview = _table(
        ("date", "asset", *map(str, result.columns[:8])),
        first_rows,
        total=len(result),
        numeric=range(2, 10),
        limit=head,
    )
    body = summary + table + _details("First rows", preview, open_=True)
    return _page("pipeline-result", "Pipeline result", body, subtitle=f"{len(result.columns)} columns")


def _num(value: float) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.6g}"


def _cell_value(value: Any) -> str:
    if isinstance(value, float):
        return _num(value) if math.isfinite(value) else "NaN"
    return _clip(value, 40)


# --- browser views ---------------------------------------------------------------------------------------


def bars_caption_html(bundle: str, symbol: str, resolution: str, n: int) -> str:
    """One line saying what the browser shows."""
    return _page("caption", f"{symbol} · {bundle}", "", subtitle=f"{n:,} {resolution} bars")


def bars_html(bars: Any, *, limit: int = 15) -> str:
    """A polars bar frame (timestamp, open, high, low, close, volume): the first ``limit`` bars."""
    cols = ("timestamp", "open", "high", "low", "close", "volume")
    rows = [
        (fmt_ts(r["timestamp"]), *(_cell_value(r[c]) for c in cols[1:])) for r in bars.head(limit).iter_rows(named=True)
    ]
    return _page(
        "bars",
        "Bars",
        _table(cols, rows, total=bars.height, numeric=range(1, 6), limit=limit),
        subtitle=f"{bars.height:,} bars",
    )


def validation_summary_html(report: Any, symbol: str | None = None) -> str:
    """A bundle's validation counts, and the stored examples of ``symbol``'s violations."""
    import polars as pl

    from rustybt.data.validation import ValidationReport

    q = _quality_badge(report.error_count, report.warning_count, report.rows_dropped)
    body = _kv([("bundle quality", q), ("rows checked", fmt_int(report.rows_checked))])
    counts = [(rule, fmt_int(n)) for rule, n in list(report.counts().items())[:MAX_RULES]]
    if counts:
        body += _table(("rule", "count (bundle)"), counts, numeric=(1,))
    if symbol is not None:
        frame = report.to_frame().filter(pl.col("symbol") == symbol).head(MAX_ROWS)
        if frame.height:
            head_counts = {(r, s): n for r, s, n in frame.group_by("rule", "severity").len().iter_rows()}
            found = ValidationReport(frame, head_counts).first(MAX_ROWS)
            rows = [(v.rule, v.severity, fmt_ts(v.timestamp), _clip(v.message, 300)) for v in found]
            body += _details(
                f"{symbol}: {len(rows)} stored example(s)",
                _table(("rule", "severity", "timestamp", "message"), rows, wrap=(3,)),
                open_=True,
            )
        else:
            body += _note(f"No stored violation example names {symbol}.")
    return _page("quality", "Validation", body)


def ranking_html(column: str, date: Any, top: Any, bottom: Any, *, total: int) -> str:
    """Top and bottom assets of a cross-section (pandas Series indexed by asset)."""

    def rows(series: Any) -> list[tuple[str, str]]:
        return [(_asset_text(a), _cell_value(float(v))) for a, v in series.items()]

    body = _details(f"Top {len(top)}", _table(("asset", column), rows(top), numeric=(1,)), open_=True)
    body += _details(f"Bottom {len(bottom)}", _table(("asset", column), rows(bottom), numeric=(1,)), open_=True)
    return _page("ranking", f"{column} on {fmt_ts(date)}", body, subtitle=f"{total:,} assets with a value")
