"""Plotly charts of bundles and pipeline results.

Bars and coverage
    :func:`candlestick` (candles plus a volume panel, coarsened automatically so a long range stays at most
    ``max_candles`` candles) and :func:`coverage_heatmap` (assets x time, share of calendar bars present; gaps
    stand out in amber and red).
Pipeline results
    :func:`factor_timeseries`, :func:`factor_histogram` and :func:`quantile_returns` take a pandas DataFrame
    indexed by (date, asset), what ``engine.run_pipeline`` returns. Forward returns for :func:`quantile_returns`
    come from the bundle's adjusted closes through the :class:`~rustybt.data.readers.DataPortal`
    (:func:`forward_returns`).

Every function returns a ``plotly.graph_objects.Figure`` whose ``layout.meta`` says what it shows (bundle, symbol,
frequency, counts), so code and tests can check a figure without rendering it. Bad arguments raise
:class:`~rustybt.errors.InvalidArgument`, :class:`~rustybt.errors.SymbolNotFound` or
:class:`~rustybt.errors.NoDataForRange` with a message that says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import polars as pl

from rustybt._utils import to_utc
from rustybt.data.resolution import RESOLUTIONS, parse_resolution
from rustybt.errors import InvalidArgument, NoDataForRange, ResolutionError

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from rustybt.data.catalog.bundle import Bundle

__all__ = [
    "AUTO_TEMPLATE",
    "MAX_CANDLES",
    "candle_bars",
    "candlestick",
    "candlestick_figure",
    "corporate_actions",
    "coverage_heatmap",
    "factor_histogram",
    "factor_timeseries",
    "parse_date",
    "quantile_returns",
    "set_template",
    "template",
    "use_html_fallback",
]

#: Default upper bound of candles in one chart; longer ranges are resampled to a coarser resolution.
MAX_CANDLES = 2000
_UP, _DOWN = "#2da44e", "#cf222e"
_BANDS = (1 / 6, 1 / 2, 5 / 6)  # coverage heat map: the middle of the none / some missing / all colour bands
#: Template names :func:`set_template` accepts besides plotly's own: "auto" follows JupyterLab's theme.
AUTO_TEMPLATE = "auto"
_template_setting: str = os.environ.get("RUSTYBT_PLOTLY_TEMPLATE", AUTO_TEMPLATE)


def set_template(name: str | None) -> None:
    """Use plotly template ``name`` for every RustyBT chart (``"auto"`` or None: follow JupyterLab's theme).

    The same as ``%config RustyBTMagics.plotly_template = "plotly_dark"`` or ``RUSTYBT_PLOTLY_TEMPLATE``.
    """
    global _template_setting
    name = name or AUTO_TEMPLATE
    if name != AUTO_TEMPLATE:
        import plotly.io as pio

        if name not in pio.templates:
            raise InvalidArgument(f"unknown plotly template {name!r}; use auto or one of {', '.join(pio.templates)}")
    _template_setting = name


def _jupyterlab_dark() -> bool:
    """Whether the user's JupyterLab theme setting names a dark theme (the kernel cannot ask the browser)."""
    import json
    import re
    from pathlib import Path

    base = os.environ.get("JUPYTERLAB_SETTINGS_DIR") or str(Path.home() / ".jupyter" / "lab" / "user-settings")
    path = Path(base) / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    try:
        text = re.sub(r"^\s*//.*$", "", path.read_text(encoding="utf-8"), flags=re.M)  # the file allows comments
        theme = json.loads(text).get("theme", "")
    except (OSError, ValueError, AttributeError):
        return False
    return "dark" in str(theme).lower()


def template() -> str:
    """The plotly template of RustyBT's charts: the one set, else ``plotly_dark`` under a dark JupyterLab
    theme, else ``plotly_white``."""
    use_html_fallback()  # every chart builder asks for the template first: the one place to set this up
    if _template_setting != AUTO_TEMPLATE:
        return _template_setting
    return "plotly_dark" if _jupyterlab_dark() else "plotly_white"


def use_html_fallback() -> str:
    """Let plotly outputs carry an HTML rendering next to the plotly mimetype, so exported HTML and nbviewer show
    the charts (JupyterLab still uses the mimetype). Only plotly's plain Jupyter default is changed: a renderer
    the user chose (``PLOTLY_RENDERER``, ``pio.renderers.default = ...``) is kept. Returns the renderer in use."""
    import plotly.io as pio

    if not os.environ.get("PLOTLY_RENDERER") and pio.renderers.default == "plotly_mimetype":
        pio.renderers.default = "plotly_mimetype+notebook_connected"
    return pio.renderers.default


# --- arguments -------------------------------------------------------------------------------------------


def parse_date(value: Any, name: str = "date") -> pd.Timestamp | None:
    """A UTC timestamp from a date string, date, datetime or Timestamp; None stays None.

    Raises
    ------
    InvalidArgument
        The value is not a date; the message names the argument and shows the expected form.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise InvalidArgument(f"{name} {value!r} is not a date; write it as YYYY-MM-DD (e.g. 2014-06-09)") from None
    return to_utc(ts)


def _bundle_of(source: Any) -> Bundle:
    """A Bundle from a Bundle or a DataPortal."""
    bundle = getattr(source, "bundle", source)
    if not hasattr(bundle, "bars") or not hasattr(bundle, "asset_finder"):
        raise InvalidArgument(
            f"expected a Bundle or a DataPortal, got {type(source).__name__}; use catalog.bundle(NAME)"
        )
    return bundle


def _check_range(start: pd.Timestamp | None, end: pd.Timestamp | None) -> None:
    if start is not None and end is not None and start > end:
        raise InvalidArgument(f"start {start.date()} is after end {end.date()}; swap them")


# --- candles ---------------------------------------------------------------------------------------------


def candle_bars(
    source: Any,
    symbol: str,
    start: Any = None,
    end: Any = None,
    frequency: str | None = None,
    *,
    max_candles: int = MAX_CANDLES,
    adjusted: bool = True,
) -> tuple[pl.DataFrame, str]:
    """The bars :func:`candlestick` draws, and their resolution.

    ``adjusted`` (default): prices adjusted for the splits and dividends effective up to the last bar drawn (point
    in time as of the range's end, so a split inside the range is no cliff and nothing later leaks in); volume
    adjusted for splits. ``adjusted=False``: raw, as traded.

    With ``frequency=None`` the stored resolution is used unless the range holds more than ``max_candles`` bars;
    then the first coarser resolution (``5m``, ``15m`` ... ``1d``, ``1w``, ``1M``) that fits is used, resampled
    along the bundle's calendar. An explicit ``frequency`` is always honoured.

    Raises
    ------
    SymbolNotFound
        ``symbol`` is not in the bundle (the message lists close matches).
    NoDataForRange
        The asset has no bar between ``start`` and ``end``.
    InvalidArgument
        A bad date, or ``start`` after ``end``.
    ResolutionError
        ``frequency`` is finer than what the bundle stores.
    """
    bundle = _bundle_of(source)
    start_ts, end_ts = parse_date(start, "start"), parse_date(end, "end")
    _check_range(start_ts, end_ts)
    if max_candles < 10:
        raise InvalidArgument(f"max_candles must be at least 10, got {max_candles}")
    asset = bundle.asset_finder.lookup_symbol(symbol)
    bars = bundle.bars([asset], start=start_ts, end=end_ts, frequency=frequency)
    if bars.height == 0:
        span = f"{_day(asset.start_date)} .. {_day(asset.end_date)}" if asset.start_date is not None else "unknown"
        asked = f"{_day(start_ts) or 'the start'} .. {_day(end_ts) or 'the end'}"
        raise NoDataForRange(
            f"no {asset.symbol} bars in bundle {bundle.name!r} for {asked}; {asset.symbol} has bars over {span}. "
            "Pick dates inside that range."
        )
    if adjusted:
        bars = _adjust(bundle, asset.sid, bars)
    resolution = parse_resolution(frequency).name if frequency else bundle.resolution
    if frequency is None and bars.height > max_candles:
        stored = parse_resolution(bundle.resolution)
        from rustybt.data.resample import resample_bars

        base = bars.select("timestamp", "sid", "open", "high", "low", "close", "volume")
        for name in RESOLUTIONS:
            target = parse_resolution(name)
            if target <= stored:
                continue
            try:
                coarse = resample_bars(base, stored, target, calendar=bundle.calendar_name)
            except ResolutionError:
                continue  # not a whole multiple of the stored resolution
            resolution, bars = target.name, coarse.with_columns(pl.lit(asset.symbol).alias("symbol"))
            if coarse.height <= max_candles:
                break
        bars = bars.select("timestamp", "sid", "symbol", "open", "high", "low", "close", "volume")
    return bars, resolution


def _bar_ns(bars: pl.DataFrame) -> np.ndarray:
    return bars.get_column("timestamp").dt.replace_time_zone(None).cast(pl.Datetime("ns")).to_numpy().view("int64")


def _adjust(bundle: Any, sid: int, bars: pl.DataFrame) -> pl.DataFrame:
    """``bars`` adjusted as of their last bar: OHLC for every price event, volume for splits."""
    from rustybt.data.readers.adjustments import AdjustmentReader, backward_factors

    reader = AdjustmentReader(bundle)
    if not reader.has_events(sid) or bars.height == 0:
        return bars
    ts = _bar_ns(bars)
    end = ts.max()

    def factors(field: str) -> np.ndarray:
        events = reader.events(sid, field)
        known = events.effective_ns <= end  # announced by the range's end: nothing later leaks in
        return backward_factors(ts, events.effective_ns[known], events.ratios[known])

    price, volume = factors("close"), factors("volume")
    return bars.with_columns(
        *(pl.col(k) * pl.Series(price) for k in ("open", "high", "low", "close")),
        (pl.col("volume").cast(pl.Float64) * pl.Series(volume)).alias("volume"),
    )


def corporate_actions(source: Any, symbol: str, start: Any = None, end: Any = None) -> pl.DataFrame:
    """Splits and dividends of ``symbol`` effective in [start, end]: kind, effective_date, ratio, amount."""
    bundle = _bundle_of(source)
    asset = bundle.asset_finder.lookup_symbol(symbol)
    frame = bundle.adjustments().filter(pl.col("sid") == asset.sid)
    start_ts, end_ts = parse_date(start, "start"), parse_date(end, "end")
    if start_ts is not None:
        frame = frame.filter(pl.col("effective_date") >= start_ts.date())
    if end_ts is not None:
        frame = frame.filter(pl.col("effective_date") <= end_ts.date())
    return frame.select("kind", "effective_date", "ratio", "amount").sort("effective_date")


def _day(ts: Any) -> str:
    return "" if ts is None else str(pd.Timestamp(ts).date())


def _x(frame: pl.DataFrame) -> pd.DatetimeIndex:
    """Bar timestamps as naive UTC (plotly shows them as written)."""
    return pd.DatetimeIndex(frame.get_column("timestamp").to_numpy())


def candlestick(
    source: Any,
    symbol: str,
    start: Any = None,
    end: Any = None,
    frequency: str | None = None,
    *,
    max_candles: int = MAX_CANDLES,
    height: int = 520,
    adjusted: bool = True,
) -> go.Figure:
    """Candlestick chart of one asset with a volume panel below.

    Parameters
    ----------
    source
        A :class:`~rustybt.data.catalog.Bundle` or a :class:`~rustybt.data.readers.DataPortal`.
    symbol
        The asset's symbol.
    start, end
        Inclusive bounds (dates or timestamps, naive = UTC); default: the asset's whole history.
    frequency
        Bar resolution to draw (stored or coarser). Default: automatic, see :func:`candle_bars`.
    max_candles
        Upper bound of candles when ``frequency`` is automatic.

    adjusted
        Show prices adjusted as of the range's end (default) first; the chart's buttons switch to raw prices as
        traded (and back). Split and dividend dates are marked either way.

    ``layout.meta`` holds bundle, symbol, frequency, candles, whether the first view is adjusted, and the events.
    """
    bundle = _bundle_of(source)
    bars, resolution = candle_bars(bundle, symbol, start, end, frequency, max_candles=max_candles)
    raw, _ = candle_bars(bundle, symbol, start, end, frequency or resolution, max_candles=max_candles, adjusted=False)
    events = corporate_actions(bundle, symbol, _x(bars)[0], _x(bars)[-1])
    return candlestick_figure(bundle, bars, resolution, height=height, raw=raw, events=events, adjusted=adjusted)


def candlestick_figure(
    bundle: Any,
    bars: pl.DataFrame,
    resolution: str,
    *,
    height: int = 520,
    raw: pl.DataFrame | None = None,
    events: pl.DataFrame | None = None,
    adjusted: bool = True,
) -> go.Figure:
    """The figure of :func:`candlestick` from bars already loaded (e.g. by :func:`candle_bars`).

    ``bars`` are the adjusted bars (or the only view); ``raw`` adds the as-traded view behind two buttons, and
    ``events`` (:func:`corporate_actions`) marks split and dividend dates.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    bundle = _bundle_of(bundle)
    if bars.height == 0:
        raise NoDataForRange(f"no bars to draw from bundle {bundle.name!r}")
    x = _x(bars)
    o, h, low, c = (bars.get_column(k).to_numpy() for k in ("open", "high", "low", "close"))
    volume = bars.get_column("volume").to_numpy()
    up = np.where(np.nan_to_num(c) >= np.nan_to_num(o), _UP, _DOWN)
    sym = str(bars.get_column("symbol")[0])

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.03, row_heights=[0.75, 0.25])
    fig.add_trace(
        go.Candlestick(
            x=x,
            open=o,
            high=h,
            low=low,
            close=c,
            name=sym,
            increasing={"line": {"color": _UP}},
            decreasing={"line": {"color": _DOWN}},
        ),
        row=1,
        col=1,
    )
    fig.add_trace(go.Bar(x=x, y=volume, name="volume", marker={"color": up}, showlegend=False), row=2, col=1)
    views = 1
    adjusted_title = f"{sym} · {bundle.name} · {resolution} bars (adjusted as of {_day(x[-1])})"
    raw_title = f"{sym} · {bundle.name} · {resolution} bars (raw, as traded)"
    title = adjusted_title if adjusted else raw_title
    if raw is not None:
        views = 2
        rx = _x(raw)
        ro, rh, rl, rc = (raw.get_column(k).to_numpy() for k in ("open", "high", "low", "close"))
        fig.add_trace(
            go.Candlestick(
                x=rx, open=ro, high=rh, low=rl, close=rc, name=f"{sym} raw", visible=False,
                increasing={"line": {"color": _UP}}, decreasing={"line": {"color": _DOWN}},
            ),
            row=1,
            col=1,
        )  # fmt: skip
        fig.add_trace(
            go.Bar(x=rx, y=raw.get_column("volume").to_numpy(), name="volume raw", visible=False, showlegend=False,
                   marker={"color": np.where(np.nan_to_num(rc) >= np.nan_to_num(ro), _UP, _DOWN)}),
            row=2,
            col=1,
        )  # fmt: skip
    marked = _mark_events(fig, events, x, h)
    extra = [True] * marked
    if raw is not None:
        fig.update_layout(
            updatemenus=[
                {
                    "type": "buttons",
                    "direction": "right",
                    "x": 1.0,
                    "xanchor": "right",
                    "y": 1.08,
                    "yanchor": "bottom",
                    "showactive": True,
                    "active": 0 if adjusted else 1,
                    "buttons": [
                        {"label": "adjusted", "method": "update",
                         "args": [{"visible": [True, True, False, False, *extra]}, {"title.text": adjusted_title}]},
                        {"label": "raw", "method": "update",
                         "args": [{"visible": [False, False, True, True, *extra]}, {"title.text": raw_title}]},
                    ],
                }
            ]
        )  # fmt: skip
        if not adjusted:
            for i, vis in enumerate([False, False, True, True]):
                fig.data[i].visible = vis
            title = raw_title
    fig.update_layout(
        title={"text": title},
        template=template(),
        height=height,
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
        showlegend=False,
        xaxis_rangeslider_visible=False,
        meta={
            "kind": "candlestick",
            "bundle": bundle.name,
            "symbol": sym,
            "frequency": resolution,
            "stored": bundle.resolution,
            "candles": int(bars.height),
            "start": str(x[0]),
            "end": str(x[-1]),
            "adjusted": bool(adjusted),
            "views": views,
            "events": []
            if events is None
            else [
                {
                    "kind": k,
                    "date": str(d),
                    "ratio": float(r) if r is not None else None,
                    "amount": float(a) if a is not None else None,
                }
                for k, d, r, a in events.select("kind", "effective_date", "ratio", "amount").iter_rows()
            ],
        },
    )
    fig.update_yaxes(title_text="price", row=1, col=1)
    fig.update_yaxes(title_text="volume", row=2, col=1)
    breaks = _rangebreaks(bundle, resolution, x)
    if breaks:
        fig.update_xaxes(rangebreaks=breaks)
    return fig


def _mark_events(fig: Any, events: pl.DataFrame | None, x: pd.DatetimeIndex, high: np.ndarray) -> int:
    """Triangles above the bars on split and dividend dates (the first bar at or after each date); returns the
    number of traces added."""
    import plotly.graph_objects as go

    if events is None or events.height == 0 or len(x) == 0:
        return 0
    added = 0
    styles = {"split": ("#8250df", "split"), "dividend": ("#0969da", "dividend")}
    top = float(np.nanmax(high)) if np.isfinite(high).any() else 0.0
    for kind, (colour, label) in styles.items():
        rows = events.filter(pl.col("kind") == kind)
        if rows.height == 0:
            continue
        dates = pd.DatetimeIndex(rows.get_column("effective_date").cast(pl.Datetime("ns")).to_numpy())
        pos = np.clip(x.searchsorted(dates), 0, len(x) - 1)
        if kind == "split":
            text = [f"split {1 / r:.4g}:1" if r else "split" for r in rows.get_column("ratio").to_list()]
        else:
            text = [f"dividend {a:.4g}" if a is not None else "dividend" for a in rows.get_column("amount").to_list()]
        fig.add_trace(
            go.Scatter(
                x=x[pos], y=np.full(len(pos), top * 1.03), mode="markers", name=label, text=text,
                hovertemplate="%{text}<br>%{x|%Y-%m-%d}<extra></extra>",
                marker={"symbol": "triangle-down", "size": 9, "color": colour}, showlegend=False,
            ),
            row=1,
            col=1,
        )  # fmt: skip
        added += 1
    return added


def _rangebreaks(bundle: Any, resolution: str, x: pd.DatetimeIndex) -> list[dict[str, Any]]:
    """Hide weekends and holidays on daily charts of session calendars (no empty gaps between candles)."""
    if resolution != "1d" or bundle.calendar_name in ("24/7", "24/5") or len(x) < 2:
        return []
    from rustybt.calendars import sessions_in_range

    days = pd.date_range(x[0], x[-1], freq="D")
    sessions = sessions_in_range(bundle.calendar_name, x[0], x[-1])
    closed = days.difference(pd.DatetimeIndex(sessions))
    holidays = [str(d.date()) for d in closed if d.dayofweek < 5]
    breaks: list[dict[str, Any]] = [{"bounds": ["sat", "mon"]}]
    if holidays:
        breaks.append({"values": holidays})
    return breaks


# --- coverage --------------------------------------------------------------------------------------------

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


# --- pipeline results ------------------------------------------------------------------------------------


def _label(asset: Any) -> str:
    symbol = getattr(asset, "symbol", None)
    return str(symbol) if symbol is not None else str(asset)


def _naive_dates(values: Any) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(values)
    return idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx


def _match_assets(level: pd.Index, wanted: Sequence[Any]) -> list[Any]:
    """Index values of ``level`` for ``wanted`` (symbols, sids or assets), in the order given."""
    by_label = {_label(a).upper(): a for a in level}
    out = []
    for w in wanted:
        if isinstance(w, str):
            found = by_label.get(w.strip().upper())
        else:
            found = next((a for a in level if a == w), None)
        if found is None:
            raise InvalidArgument(
                f"asset {_label(w)!r} is not in the result; it holds {len(level)} assets, e.g. "
                f"{', '.join(_label(a) for a in list(level)[:8])}"
            )
        out.append(found)
    return out


def factor_timeseries(result: pd.DataFrame, column: str, assets: Sequence[Any] | None = None, *, max_assets: int = 10):
    """One line per asset: ``column`` over time. ``assets``: symbols, sids or assets (default: the first
    ``max_assets`` in the result)."""
    import plotly.graph_objects as go

    from rustybt.pipeline.analysis import factor_column  # a result exists, so the pipeline is loaded already

    series = factor_column(result, column)
    level = series.index.get_level_values(1).unique()
    chosen = _match_assets(level, assets) if assets is not None else list(level[:max_assets])
    fig = go.Figure()
    for asset in chosen:
        s = series.xs(asset, level=1)
        fig.add_trace(
            go.Scatter(x=_naive_dates(s.index), y=s.to_numpy(dtype="float64"), mode="lines", name=_label(asset))
        )
    fig.update_layout(
        title={"text": f"{column} of {', '.join(_label(a) for a in chosen[:4])}{' ...' if len(chosen) > 4 else ''}"},
        template=template(),
        height=380,
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
        meta={"kind": "factor_timeseries", "column": column, "assets": [_label(a) for a in chosen]},
    )
    return fig


def _cross_section(series: pd.Series, date: Any) -> tuple[pd.Series, pd.Timestamp]:
    dates = _naive_dates(series.index.get_level_values(0))
    unique = dates.unique().sort_values()
    if len(unique) == 0:
        raise NoDataForRange("the result is empty; run the pipeline over a range with data")
    if date is None:
        day = unique[-1]
    else:
        ts = parse_date(date, "date").tz_localize(None)
        if ts not in unique:
            raise InvalidArgument(
                f"date {ts.date()} is not in the result (it covers {unique[0].date()} .. {unique[-1].date()}, "
                f"{len(unique)} dates); pick one of its dates"
            )
        day = ts
    mask = np.asarray(dates == day)
    return series[mask].droplevel(0), day


def factor_histogram(result: pd.DataFrame, column: str, date: Any = None, *, bins: int = 40):
    """Histogram of ``column`` across assets on ``date`` (default: the last date of the result)."""
    import plotly.graph_objects as go

    from rustybt.pipeline.analysis import factor_column

    section, day = _cross_section(factor_column(result, column), date)
    values = section.to_numpy(dtype="float64", na_value=np.nan)
    finite = values[np.isfinite(values)]
    fig = go.Figure(go.Histogram(x=finite, nbinsx=bins, marker={"color": "#0969da"}, name=column))
    stats = f"n={finite.size}" + (f", mean={finite.mean():.4g}, std={finite.std():.4g}" if finite.size else "")
    fig.update_layout(
        title={"text": f"{column} on {day.date()} ({stats})"},
        template=template(),
        height=340,
        bargap=0.05,
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
        meta={"kind": "factor_histogram", "column": column, "date": str(day.date()), "n": int(finite.size)},
    )
    return fig


def quantile_returns(
    result: pd.DataFrame, column: str, bundle: Any, quantiles: int = 5, periods: Sequence[int] = (1, 5)
):
    """Grouped bars: mean forward return (in basis points) by factor quantile, one bar group per quantile and
    one colour per period. The numbers are :func:`rustybt.pipeline.analysis.quantile_returns_table`."""
    import plotly.graph_objects as go

    from rustybt.pipeline.analysis import quantile_returns_table

    table = quantile_returns_table(result, column, bundle, quantiles, periods)
    fig = go.Figure()
    for col in table.columns:
        fig.add_trace(go.Bar(x=[f"Q{q}" for q in table.index], y=table[col].to_numpy() * 1e4, name=f"{col} forward"))
    name = _bundle_of(bundle).name
    fig.update_layout(
        title={"text": f"Mean forward return by {column} quantile ({name}, adjusted closes)"},
        yaxis_title="basis points",
        barmode="group",
        template=template(),
        height=360,
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
        meta={
            "kind": "quantile_returns",
            "column": column,
            "bundle": name,
            "quantiles": int(quantiles),
            "periods": [str(c) for c in table.columns],
            "values_bps": {str(c): [float(v) * 1e4 for v in table[c]] for c in table.columns},
        },
    )
    return fig
