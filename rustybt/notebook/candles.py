"""Candlestick charts of a bundle's bars: the bars (coarsened to at most ``max_candles``), corporate-action
markers, raw-vs-adjusted panels and calendar gaps hidden from the time axis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import polars as pl

from rustybt.data.resolution import RESOLUTIONS, parse_resolution
from rustybt.errors import InvalidArgument, NoDataForRange, ResolutionError
from rustybt.notebook.chart_args import _bundle_of, _check_range, parse_date
from rustybt.notebook.theme import _DOWN, _UP, template

if TYPE_CHECKING:
    import plotly.graph_objects as go


__all__ = ["MAX_CANDLES", "candle_bars", "candlestick", "candlestick_figure", "corporate_actions"]

#: Default upper bound of candles in one chart; longer ranges are resampled to a coarser resolution.
MAX_CANDLES = 2000


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
