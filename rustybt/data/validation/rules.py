"""The checks, as polars expressions over the working frame (see :mod:`.frame`).

Row-level checks (schema, values, OHLC relations, duplicates, order, future, calendar) are boolean masks counted in
one pass; sequential checks (``price_jump``) look at the previous bar of the same symbol; volume spikes and
calendar gaps are computed as tables of their own.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from rustybt.data.schema import PRICE_COLUMNS, TIMESTAMP_DTYPE, VALUE_COLUMNS
from rustybt.data.validation.config import RULES, ValidationConfig
from rustybt.data.validation.frame import (
    _FILE,
    _ID,
    _IDX,
    _NS_PER_DAY,
    _ROW,
    _TS,
    _Calendar,
    _f,
    _fc,
    _raw,
)

#: Trailing window (bars) and the fewest prior bars needed for the volume-spike median.
VOLUME_WINDOW = 20
VOLUME_MIN_BARS = 5
# Above this many candidate rows, volume spikes use one rolling median over the frame instead of gathering.
_SPIKE_GATHER_LIMIT = 250_000


@dataclass
class _Check:
    """One vectorized check: a boolean mask plus the values to report for the rows it flags.

    ``prepare`` holds columns the values need that depend on neighbouring rows; they are computed on the
    whole frame before the flagged rows are picked out (only for checks that fired).
    """

    rule: str
    severity: str
    field: str | None
    mask: pl.Expr
    values: dict[str, pl.Expr]
    drops: bool  # an error that drops the row in lenient mode
    prepare: list[pl.Expr] = dataclasses.field(default_factory=list)


def _row_checks(
    id_col: str,
    raw_strings: Sequence[str],
    now: datetime,
    limit: datetime | None,
    *,
    lenient: bool,
    unsorted: bool,
    calendar: str | None,
) -> list[_Check]:
    checks: list[_Check] = []
    ts = pl.col(_TS)

    def add(rule: str, fld: str | None, mask: pl.Expr, values: dict[str, pl.Expr], severity: str = "") -> None:
        sev = severity or RULES[rule]
        checks.append(_Check(rule, sev, fld, mask, values, drops=sev == "error" and rule != "unsorted"))

    add("null_value", "timestamp", ts.is_null(), {"timestamp": pl.lit(None)})
    add("null_value", id_col, pl.col(_ID).is_null(), {id_col: pl.lit(None)})
    for col in VALUE_COLUMNS:
        if col in raw_strings:
            raw = pl.col(_raw(col))
            blank = raw.is_null() | (raw.str.strip_chars() == "")
            add("null_value", col, blank, {col: pl.lit(None)})
            add("not_numeric", col, ~blank & _fc(col).is_null(), {col: raw})
        else:
            add("null_value", col, _fc(col).is_null(), {col: pl.lit(None)})
    for col in VALUE_COLUMNS:
        add("nan_value", col, _fc(col).is_nan(), {col: pl.lit("NaN")})
        sign = pl.when(_fc(col) > 0).then(pl.lit("inf")).otherwise(pl.lit("-inf"))
        add("infinite_value", col, _fc(col).is_infinite(), {col: sign})
    fin = {c: _fc(c).is_finite() for c in VALUE_COLUMNS}
    for col in PRICE_COLUMNS:
        add("negative_price", col, fin[col] & (_fc(col) < 0), {col: _fc(col)})
    add("negative_volume", "volume", fin["volume"] & (_fc("volume") < 0), {"volume": _fc("volume")})
    for col in PRICE_COLUMNS:
        add("zero_price", col, _fc(col) == 0, {col: _fc(col)})

    o, h, lo, c = _fc("open"), _fc("high"), _fc("low"), _fc("close")
    add("high_below_low", "high", fin["high"] & fin["low"] & (h < lo), {"high": h, "low": lo})
    all_fin = fin["open"] & fin["high"] & fin["low"] & fin["close"]
    add(
        "high_below_open_close",
        "high",
        all_fin & (h < pl.max_horizontal(o, c)),
        {"open": o, "high": h, "close": c},
    )
    add(
        "low_above_open_close",
        "low",
        all_fin & (lo > pl.min_horizontal(o, c)),
        {"open": o, "low": lo, "close": c},
    )

    # duplicates: rows are ordered (id, timestamp, input order); a row followed by the same key is not the last
    nxt_same = (pl.col(_ID) == pl.col(_ID).shift(-1)) & (ts == ts.shift(-1))
    kept_pos = pl.when(~nxt_same.fill_null(False)).then(pl.int_range(pl.len())).backward_fill()
    add(
        "duplicate_timestamp",
        "timestamp",
        nxt_same,
        {"timestamp": ts, "kept_index": pl.col("__v_kept_idx"), "kept_row": pl.col("__v_kept_row")},
    )
    checks[-1].prepare = [
        pl.col(_IDX).gather(kept_pos).alias("__v_kept_idx"),
        pl.col(_ROW).gather(kept_pos).alias("__v_kept_row"),
    ]
    if unsorted:
        add(
            "unsorted",
            "timestamp",
            pl.col("__v_unsorted"),
            {"timestamp": ts, "previous_timestamp": pl.col("__v_prev_input_ts")},
            severity="warning" if lenient else "error",
        )
    if limit is not None:
        add(
            "future_timestamp",
            "timestamp",
            ts > pl.lit(limit).cast(TIMESTAMP_DTYPE),
            {"timestamp": ts, "now": pl.lit(now).cast(TIMESTAMP_DTYPE)},
        )
    if calendar is not None:
        add(
            "off_calendar",
            "timestamp",
            pl.col("__v_on_session").not_(),
            {"date": ts.dt.date(), "calendar": pl.lit(calendar)},
        )
    return checks


def _possible(checks: list[_Check], work: pl.DataFrame, raw_strings: Sequence[str], limit: datetime | None):
    """Drop the checks that the columns' statistics (one cheap pass) show cannot fire."""
    stats_exprs = [pl.col(_TS).null_count().alias("ts_nulls"), pl.col(_ID).null_count().alias("id_nulls")]
    stats_exprs.append(pl.col(_TS).max().alias("ts_max"))
    for col in VALUE_COLUMNS:
        stats_exprs += [
            _fc(col).null_count().alias(f"{col}_nulls"),
            _fc(col).is_nan().any().alias(f"{col}_nan"),
            _fc(col).min().alias(f"{col}_min"),
            _fc(col).max().alias(f"{col}_max"),
        ]
    st = work.select(stats_exprs).row(0, named=True)
    inf = math.inf

    def impossible(check: _Check) -> bool:
        rule, col = check.rule, check.field
        if rule == "null_value":
            return st.get(f"{col}_nulls", st["ts_nulls"] if col == "timestamp" else st["id_nulls"]) == 0
        if rule == "not_numeric":
            return st[f"{col}_nulls"] == 0
        if rule == "nan_value":
            return not st[f"{col}_nan"]
        lo, hi = st.get(f"{col}_min"), st.get(f"{col}_max")
        if rule == "infinite_value":
            return lo is not None and hi is not None and -inf < lo and hi < inf
        if rule in ("negative_price", "negative_volume"):
            return lo is None or lo >= 0
        if rule == "zero_price":
            return lo is None or lo > 0
        if rule == "future_timestamp":
            return st["ts_max"] is None or limit is None or st["ts_max"] <= limit
        return False

    return [c for c in checks if not impossible(c)]


def _count(frame: pl.DataFrame, checks: Sequence[_Check]) -> list[int]:
    if not checks:
        return []
    row = frame.select([c.mask.fill_null(False).sum().alias(f"c{i}") for i, c in enumerate(checks)]).row(0)
    return [int(k or 0) for k in row]


def _same_prev() -> pl.Expr:
    return (pl.col(_ID) == pl.col(_ID).shift(1)).fill_null(False)


def _sequence_checks(config: ValidationConfig) -> list[_Check]:
    if config.max_abs_return is None:
        return []
    prev = pl.when(_same_prev()).then(_fc("close").shift(1))
    ret = _fc("close") / prev - 1
    return [
        _Check(
            "price_jump",
            "warning",
            "close",
            (prev > 0) & (ret.abs() > config.max_abs_return),
            {
                "previous_close": pl.col("__v_prev_close"),
                "close": _fc("close"),
                "return": _fc("close") / pl.col("__v_prev_close") - 1,
                "threshold": pl.lit(float(config.max_abs_return)),
            },
            drops=False,
            prepare=[prev.alias("__v_prev_close")],
        )
    ]


def _volume_spikes(good: pl.DataFrame, factor: float) -> pl.DataFrame:
    """Positions (in ``good``) of volume spikes, with the median each was compared to (columns ``p``, ``m``).

    A volume can only exceed ``factor`` times its window's median if it exceeds ``factor`` times the window's
    minimum, and a rolling minimum is cheap: the median is computed only for those candidates, by gathering
    their windows and taking the medians in one group-by. When the candidates are many (zero-volume bars make
    the minimum 0), one rolling median per symbol over the whole frame is cheaper.
    """
    vol = _fc("volume")
    pos = pl.int_range(pl.len(), dtype=pl.Int64)
    start = pl.when(~_same_prev()).then(pos).forward_fill()
    # a window reaching into the previous symbol only lowers the minimum: still a superset of the candidates
    window_min = vol.shift(1).rolling_min(VOLUME_WINDOW, min_samples=1)
    cand = good.select(
        pos.alias("p"), start.alias("s"), (vol > factor * window_min).fill_null(False).alias("c")
    ).filter(pl.col("c") & (pl.col("p") - pl.col("s") >= VOLUME_MIN_BARS))
    volumes = good.get_column(_f("volume"))
    if cand.height == 0:
        return pl.DataFrame(schema={"p": pl.Int64, "m": pl.Float64})
    if cand.height > _SPIKE_GATHER_LIMIT:
        median = vol.shift(1).rolling_median(VOLUME_WINDOW, min_samples=VOLUME_MIN_BARS).over(_ID)
        medians = good.select(pos.alias("p"), median.alias("m")).join(cand.select("p"), on="p", how="semi")
    else:
        w0 = pl.max_horizontal(pl.col("s"), pl.col("p") - VOLUME_WINDOW)
        windows = cand.select("p", pl.int_ranges(w0, "p").alias("j")).explode("j")
        medians = (
            windows.with_columns(volumes.gather(windows.get_column("j")).alias("v"))
            .group_by("p")
            .agg(pl.col("v").median().alias("m"))
            .sort("p")
        )
    current = volumes.gather(medians.get_column("p"))
    return medians.filter((pl.col("m") > 0) & (current > factor * pl.col("m")))


def _gap_rows(good: pl.DataFrame, cal: _Calendar) -> pl.DataFrame:
    """One row per gap: the days of the bars on both sides and the session indices missing between them.

    With ``cum(d)`` the number of sessions on or before day ``d``, the sessions strictly between bars on days
    ``a < b`` have the indices ``cum(a) .. cum(b) - on(b) - 1``, whether or not ``a`` and ``b`` are sessions.
    """
    day = pl.col(_TS).cast(pl.Int64) // _NS_PER_DAY
    same = _same_prev()
    return (
        good.select(
            _ID,
            _FILE,
            day.alias("day"),
            cal.lookup(day, cal.cum).alias("cum"),
            cal.lookup(day, cal.on).cast(pl.Int64).alias("on"),
        )
        .filter(pl.col("cum").is_not_null())
        .with_columns(
            pl.when(same).then(pl.col("cum").shift(1)).alias("from"),
            pl.when(same).then(pl.col("day").shift(1)).alias("prev_day"),
            (pl.col("cum") - pl.col("on")).alias("to"),
        )
        .with_columns((pl.col("to") - pl.col("from")).alias("gap"))
        .filter(pl.col("gap") > 0)
        .select(_ID, _FILE, "prev_day", "day", "from", "to", "gap")
    )


# ---------------------------------------------------------------------------------------------------------
# details
# ---------------------------------------------------------------------------------------------------------
