"""The coverage heat map: assets x time, the share of calendar bars present."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from rustybt.errors import InvalidArgument
from rustybt.notebook.chart_args import _bundle_of
from rustybt.notebook.theme import _DOWN, _UP, template

__all__ = ["coverage_heatmap"]

_BANDS = (1 / 6, 1 / 2, 5 / 6)  # coverage heat map: the middle of the none / some missing / all colour bands
_BUCKETS = (("1d", "day"), ("1w", "week"), ("1mo", "month"), ("3mo", "quarter"), ("1y", "year"))


def coverage_heatmap(bundle: Any, *, bucket: str | None = None, max_buckets: int = 160, max_assets: int = 60):
    """Assets x time heat map of the share of calendar bars present; gaps in amber (partial) and red (none).

    Parameters
    ----------
    bundle
        A :class:`~rustybt.data.catalog.Bundle` (or a DataPortal).
    bucket
        ``"day"``, ``"week"``, ``"month"``, ``"quarter"`` or ``"year"``; default: the finest with at most
        ``max_buckets`` columns.
    max_assets
        Most assets (rows) drawn, by symbol; ``layout.meta["assets_shown"]`` says how many were.

    Cells before an asset's first bar or after its last are blank (the asset did not exist); inside its life a
    cell below 100 % is a gap. ``layout.meta["gaps"]`` counts missing bars per symbol.
    """
    import plotly.graph_objects as go

    from rustybt.calendars import bar_labels

    bundle = _bundle_of(bundle)
    labels = bar_labels(bundle.calendar_name, bundle.resolution, bundle.start, bundle.end)
    label_ns = labels.asi8
    keys = {name: every for every, name in _BUCKETS}
    if bucket is not None and bucket not in keys:
        raise InvalidArgument(f"bucket {bucket!r} is not one of {', '.join(keys)}")
    lab = pl.Series("ts", label_ns).cast(pl.Datetime("ns"))
    chosen = bucket
    if chosen is None:
        chosen = "year"
        for every, name in _BUCKETS:
            if lab.dt.truncate(every).n_unique() <= max_buckets:
                chosen = name
                break
    every = keys[chosen]
    label_bucket = lab.dt.truncate(every)
    edges = label_bucket.unique(maintain_order=True)  # sorted: labels are sorted
    edge_ns = edges.dt.epoch("ns").to_numpy()
    # index in `labels` where each bucket starts / ends
    first_idx = np.searchsorted(label_ns, edge_ns, side="left")
    last_idx = np.append(first_idx[1:], len(label_ns))

    ranges = bundle.date_ranges.sort("symbol")
    n_all = ranges.height
    ranges = ranges.head(max_assets)
    sids = ranges.get_column("sid").to_list()
    symbols = ranges.get_column("symbol").to_list()
    a_lo = np.searchsorted(label_ns, _ns(ranges.get_column("start")), side="left")
    a_hi = np.searchsorted(label_ns, _ns(ranges.get_column("end")), side="right")
    expected = np.clip(
        np.minimum(last_idx[None, :], a_hi[:, None]) - np.maximum(first_idx[None, :], a_lo[:, None]), 0, None
    )

    present = np.zeros_like(expected)
    counts = (
        bundle.scan()
        .filter(pl.col("sid").is_in(sids))
        .select("sid", pl.col("timestamp").dt.replace_time_zone(None).dt.truncate(every).alias("bucket"))
        .group_by("sid", "bucket")
        .len()
        .collect()
    )
    row_of = {sid: i for i, sid in enumerate(sids)}
    if counts.height:
        cols = np.searchsorted(edge_ns, counts.get_column("bucket").dt.epoch("ns").to_numpy())
        rows = np.array([row_of[s] for s in counts.get_column("sid").to_list()])
        ok = cols < len(edge_ns)
        np.add.at(present, (rows[ok], cols[ok]), counts.get_column("len").to_numpy()[ok])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(expected > 0, np.minimum(present / np.maximum(expected, 1), 1.0), np.nan)
    gaps = {sym: int(g) for sym, g in zip(symbols, np.clip(expected - present, 0, None).sum(axis=1), strict=True) if g}

    x = pd.DatetimeIndex(edge_ns.view("datetime64[ns]"))
    custom = np.dstack([present, expected, share * 100])
    # three colour bands with a labelled colour bar: a continuous scale made full coverage look amber on the bar
    band = np.where(share >= 1.0, _BANDS[2], np.where(share > 0, _BANDS[1], _BANDS[0]))
    band = np.where(np.isnan(share), np.nan, band)
    fig = go.Figure(
        go.Heatmap(
            z=band,
            x=x,
            y=symbols,
            customdata=custom,
            zmin=0,
            zmax=1,
            colorscale=[
                [0.0, _DOWN],
                [1 / 3, _DOWN],
                [1 / 3, "#d4a72c"],
                [2 / 3, "#d4a72c"],
                [2 / 3, _UP],
                [1.0, _UP],
            ],
            colorbar={
                "title": {"text": "bars present"},
                "tickvals": list(_BANDS),
                "ticktext": ["none", "some missing", "all"],
            },
            hovertemplate="%{y} · %{x|%Y-%m-%d}<br>%{customdata[0]} of %{customdata[1]} bars "
            "(%{customdata[2]:.0f} %)<extra></extra>",
            xgap=1,
            ygap=1,
        )
    )
    shown = f" (first {len(symbols)} of {n_all} assets)" if n_all > len(symbols) else ""
    fig.update_layout(
        title={"text": f"Coverage of {bundle.name} by {chosen}{shown}"},
        template=template(),
        height=max(260, 18 * len(symbols) + 120),
        margin={"l": 80, "r": 20, "t": 50, "b": 30},
        yaxis={"autorange": "reversed", "type": "category"},
        meta={
            "kind": "coverage",
            "bundle": bundle.name,
            "bucket": chosen,
            "buckets": len(edge_ns),
            "assets": n_all,
            "assets_shown": len(symbols),
            "gaps": gaps,
        },
    )
    return fig


def _ns(series: pl.Series) -> np.ndarray:
    """A naive (UTC) datetime column as int64 ns."""
    return series.cast(pl.Datetime("ns")).dt.epoch("ns").to_numpy()
