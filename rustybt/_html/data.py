"""HTML views of the data layers' objects: catalog, bundle, asset, ingestion, validation and verify reports,
cache statistics, continuous futures, bars, errors.

Each builder takes the object duck-typed (it reads attributes, it imports nothing above the foundations), so the
objects' ``_repr_html_`` methods call these builders without an upward import, and the views look the same with or
without ``%load_ext rustybt``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rustybt._html.templates import (
    MAX_ROWS,
    Markup,
    badge,
    cell_value,
    clip,
    details,
    escape,
    fmt_int,
    fmt_range,
    fmt_ts,
    format_bytes,
    gauge,
    kv,
    note,
    page,
    quality_badge,
    table,
)

__all__ = [
    "EXAMPLES_PER_RULE",
    "MAX_RULES",
    "asset_html",
    "bars_caption_html",
    "bars_html",
    "bundle_html",
    "cache_html",
    "catalog_html",
    "continuous_future_html",
    "error_html",
    "ingestion_html",
    "validation_report_html",
    "validation_summary_html",
    "verify_report_html",
]

#: Stored violation examples shown per validation rule.
EXAMPLES_PER_RULE = 3
#: Most validation rules listed with examples.
MAX_RULES = 20


# --- catalog ---------------------------------------------------------------------------------------------


def catalog_html(catalog: Any) -> str:
    """:class:`~rustybt.data.catalog.Catalog`: one row per bundle."""
    summary = catalog.summary()
    n = summary.height
    if n == 0:
        body = note(
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
                    format_bytes(r["size_bytes"]) if ingested else "",
                    fmt_ts(r["last_ingest"]) if ingested else "",
                    quality_badge(r["errors"], r["warnings"], r["dropped"]) if ingested else badge("empty", "muted"),
                )
            )
        body = table(
            ("bundle", "frequency", "calendar", "assets", "date range", "rows", "size", "last ingest", "quality"),
            rows,
            total=n,
            numeric=(3, 5, 6),
        )
    return page("catalog", "Catalog", body, subtitle=f"{clip(catalog.root)} · {n} bundle{'s' * (n != 1)}")


# --- bundle ----------------------------------------------------------------------------------------------


def _source_text(source: Mapping[str, Any]) -> str:
    params = source.get("params") or {}
    where = next((params[k] for k in ("csvdir", "paths", "path", "root", "exchange") if params.get(k)), None)
    if isinstance(where, list | tuple):
        where = f"{where[0]} (+{len(where) - 1} more)" if len(where) > 1 else (where[0] if where else None)
    return f"{source.get('adapter', '?')}: {clip(where, 80)}" if where else str(source.get("adapter", "?"))


def _expected_bars(bundle: Any) -> tuple[Any, Any] | None:
    """Bar labels of the bundle's calendar over its range (int64 ns), for coverage; None if unavailable."""
    try:
        from rustybt.calendars import bar_labels

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
                gauge(cover, label),
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
                quality_badge(q.get("error_count", 0), q.get("warning_count", 0), q.get("rows_dropped", 0)),
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
    summary = kv(
        [
            ("source", _source_text(bundle.source)),
            ("calendar", bundle.calendar_name),
            ("frequency", f"{bundle.resolution} stored; coarser by resampling (e.g. {', '.join(coarser)})"),
            ("date range", fmt_range(bundle.start, bundle.end)),
            ("assets", fmt_int(len(bundle.assets))),
            ("rows", fmt_int(bundle.rows)),
            ("size on disk", format_bytes(bundle.size_bytes)),
            ("quality", quality_badge(q["errors"], q["warnings"], q["rows_dropped"])),
            ("adjustments", adj_text),
            ("ingestion", bundle.ingestion_id),
        ]
    )
    cov_rows, n_assets = _coverage_rows(bundle)
    coverage = table(
        ("symbol", "sid", "class", "first bar", "last bar", "bars", "coverage"),
        cov_rows,
        total=n_assets,
        numeric=(1, 5),
    )
    hist_rows, n_hist = _history_rows(bundle)
    history = table(
        ("ingestion", "", "created (UTC)", "mode", "rows", "assets", "took", "quality"),
        hist_rows,
        total=n_hist,
        numeric=(4, 5, 6),
    )
    body = (
        summary
        + details(f"Coverage ({n_assets} assets; share of calendar bars present)", coverage, open_=True)
        + details(f"Ingestion history ({n_hist})", history)
    )
    if q["errors"] or q["warnings"] or q["rows_dropped"]:
        body += details("Validation (stored examples)", _report_fragment(bundle.report))
    return page("bundle", f"Bundle {bundle.name}", body, subtitle=f"{bundle.resolution} · {bundle.calendar_name}")


# --- assets ----------------------------------------------------------------------------------------------


def asset_html(asset: Any) -> str:
    """:class:`~rustybt.assets.Asset` (any subclass): its fields."""
    record = asset.to_record()
    rows = [("sid", asset.sid), ("symbol", asset.symbol), ("class", record.pop("asset_class", ""))]
    for key, value in record.items():
        if key in ("sid", "symbol") or value in (None, ""):
            continue
        rows.append((key.replace("_", " "), fmt_ts(value) if key.endswith("_date") else clip(value)))
    return page("asset", f"{type(asset).__name__} {asset.symbol}", kv(rows), subtitle=f"sid {asset.sid}")


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
        ("quality", quality_badge(report.error_count, report.warning_count, report.rows_dropped)),
    ]
    body = kv(rows)
    if ingestion.failures:
        failed = sorted(ingestion.failures.items())
        body += details(
            f"{len(failed)} symbol(s) failed and were left out",
            table(("symbol", "error"), [(s, clip(m, 300)) for s, m in failed], wrap=(1,)),
            open_=True,
        )
    if len(report):
        body += details("Validation", _report_fragment(report), open_=True)
    return page("ingestion", f"Ingestion of {ingestion.bundle}", body, subtitle=ingestion.id)


def _report_fragment(report: Any) -> Markup:
    """Counts by severity and rule, then a few stored examples per rule (bounded)."""
    import polars as pl

    if not len(report):
        return note(f"No violations in {report.rows_checked:,} rows.")
    count_rows = []
    for severity in ("error", "warning"):
        for rule, n in report.counts(severity).items():
            count_rows.append((badge(severity, "err" if severity == "error" else "warn"), rule, fmt_int(n)))
    parts = [table(("severity", "rule", "count"), count_rows, numeric=(2,), limit=MAX_RULES)]
    frame = report.to_frame()
    if frame.height:
        head = frame.filter(pl.int_range(pl.len()).over("rule") < EXAMPLES_PER_RULE)
        head_counts = {(r, s): n for r, s, n in head.group_by("rule", "severity").len().iter_rows()}
        examples = type(report)(head, head_counts).by_rule()  # the same class: no import upward
        counts = report.counts()
        for rule in list(counts)[:MAX_RULES]:
            found = examples.get(rule, [])
            if not found:
                continue
            rows = [
                (v.symbol or "", fmt_ts(v.timestamp), v.field or "", _where(v.file, v.row), clip(v.message, 400))
                for v in found
            ]
            parts.append(
                details(
                    f"{rule}: {counts[rule]:,} (showing {len(rows)})",
                    table(("symbol", "timestamp", "field", "where", "message"), rows, total=counts[rule], wrap=(4,)),
                )
            )
    if report.truncated:
        parts.append(note("Details are truncated; the counts above are exact."))
    return Markup("".join(parts))


def _where(file: str | None, row: int | None) -> str:
    if not file:
        return ""
    name = str(file).replace("\\", "/").rsplit("/", 1)[-1]
    return f"{name}:{row}" if row is not None else name


def validation_report_html(report: Any) -> str:
    """:class:`~rustybt.data.validation.ValidationReport`: violations grouped by rule, bounded."""
    state = badge("ok", "ok") if report.ok else badge("failed", "err")
    rows = [
        ("state", state),
        ("mode", report.mode),
        ("rows checked", fmt_int(report.rows_checked)),
        ("rows dropped", fmt_int(report.rows_dropped)),
        ("errors", fmt_int(report.error_count)),
        ("warnings", fmt_int(report.warning_count)),
    ]
    return page("validation", "Validation report", kv(rows) + _report_fragment(report))


def verify_report_html(report: Any) -> str:
    """:class:`~rustybt.data.catalog.VerifyReport`: checksums of an ingestion's files."""
    state = badge("all files match", "ok") if report.ok else badge(f"{len(report.problems)} problem(s)", "err")
    body = kv(
        [
            ("bundle", report.bundle),
            ("ingestion", report.ingestion_id),
            ("files checked", fmt_int(report.files_checked)),
            ("state", state),
        ]
    )
    if report.problems:
        body += table(
            ("file", "problem", "detail"),
            [(p.path, p.problem, clip(p.detail, 300)) for p in report.problems],
            wrap=(2,),
        )
        body += note(f"Re-ingest the bundle (catalog.ingest({report.bundle!r})) to rebuild damaged files.")
    return page("verify", "Verify report", body, subtitle=f"{report.bundle}@{report.ingestion_id}")


# --- cache -----------------------------------------------------------------------------------------------


def cache_html(cache: Any) -> str:
    """A :class:`~rustybt.data.cache.CacheManager` or its :class:`~rustybt.data.cache.CacheStats`."""
    stats = cache.stats if hasattr(cache, "stats") and not hasattr(cache, "rows") else cache
    subtitle = None
    if hasattr(cache, "enabled"):
        path = getattr(cache, "disk_cache_path", None)
        subtitle = "disabled" if not cache.enabled else (f"disk {clip(path, 80)}" if path else "memory only")
    return page("cache", "Cache", kv(stats.rows()), subtitle=subtitle)


# --- continuous futures ---------------------------------------------------------------------------------


def continuous_future_html(future: Any) -> str:
    """A :class:`~rustybt.data.readers.ContinuousFuture`: chain, roll and adjustment style, rolls."""
    chain = list(future.chain)
    bundle = future.portal.bundle
    body = kv(
        [
            ("root symbol", future.root_symbol),
            ("offset", future.offset),
            ("roll", future.roll),
            ("adjustment", future.adjustment if future.adjustment is not None else "none (raw stitched prices)"),
            ("bundle", f"{bundle.name} @ {bundle.ingestion_id}"),
            ("contracts", clip(f"{len(chain)}: {', '.join(f.symbol for f in chain)}")),
        ]
    )
    rows = [
        (f.symbol, f.sid, fmt_ts(f.expiration_date), fmt_ts(f.auto_close_date), cell_value(f.multiplier))
        for f in chain[:MAX_ROWS]
    ]
    body += details(
        f"Chain ({len(chain)} contracts)",
        table(("contract", "sid", "expiration", "auto close", "multiplier"), rows, total=len(chain), numeric=(1, 4)),
        open_=True,
    )
    try:
        rolls = future.roll_dates()
    except Exception as exc:  # a display must not fail (e.g. a clock set before the first session)
        body += note(f"rolls unavailable: {clip(exc, 200)}")
    else:
        roll_rows = [(fmt_ts(day), old.symbol, new.symbol) for day, old, new in rolls[:MAX_ROWS]]
        body += details(
            f"Rolls ({len(rolls)})", table(("session", "from", "to"), roll_rows, total=len(rolls)), open_=True
        )
    return page(
        "continuous-future", f"Continuous future {future.root_symbol}", body, subtitle=f"offset {future.offset}"
    )


# --- errors ----------------------------------------------------------------------------------------------


def error_html(title: str, message: str, hint: str | None = None) -> str:
    """A short error box: what went wrong, and what to do."""
    body = f'<div class="rbt-error-box">{escape(message)}</div>' + (note(hint) if hint else "")
    return page("error", title, body)


# --- browser views ---------------------------------------------------------------------------------------


def bars_caption_html(bundle: str, symbol: str, resolution: str, n: int) -> str:
    """One line saying what the browser shows."""
    return page("caption", f"{symbol} · {bundle}", "", subtitle=f"{n:,} {resolution} bars")


def bars_html(bars: Any, *, limit: int = 15) -> str:
    """A polars bar frame (timestamp, open, high, low, close, volume): the first ``limit`` bars."""
    cols = ("timestamp", "open", "high", "low", "close", "volume")
    rows = [
        (fmt_ts(r["timestamp"]), *(cell_value(r[c]) for c in cols[1:])) for r in bars.head(limit).iter_rows(named=True)
    ]
    return page(
        "bars",
        "Bars",
        table(cols, rows, total=bars.height, numeric=range(1, 6), limit=limit),
        subtitle=f"{bars.height:,} bars",
    )


def validation_summary_html(report: Any, symbol: str | None = None) -> str:
    """A bundle's validation counts, and the stored examples of ``symbol``'s violations."""
    import polars as pl

    q = quality_badge(report.error_count, report.warning_count, report.rows_dropped)
    body = kv([("bundle quality", q), ("rows checked", fmt_int(report.rows_checked))])
    counts = [(rule, fmt_int(n)) for rule, n in list(report.counts().items())[:MAX_RULES]]
    if counts:
        body += table(("rule", "count (bundle)"), counts, numeric=(1,))
    if symbol is not None:
        frame = report.to_frame().filter(pl.col("symbol") == symbol).head(MAX_ROWS)
        if frame.height:
            head_counts = {(r, s): n for r, s, n in frame.group_by("rule", "severity").len().iter_rows()}
            found = type(report)(frame, head_counts).first(MAX_ROWS)
            rows = [(v.rule, v.severity, fmt_ts(v.timestamp), clip(v.message, 300)) for v in found]
            body += details(
                f"{symbol}: {len(rows)} stored example(s)",
                table(("rule", "severity", "timestamp", "message"), rows, wrap=(3,)),
                open_=True,
            )
        else:
            body += note(f"No stored violation example names {symbol}.")
    return page("quality", "Validation", body)
