"""The sentence each violation reads as: where (file, row, symbol, timestamp, field) and what."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = ["message"]


def _fmt_ts(ts: datetime | None) -> str:
    if ts is None:
        return "(no timestamp)"
    if ts.hour == ts.minute == ts.second == ts.microsecond == 0:
        return ts.date().isoformat()
    return ts.isoformat().replace("+00:00", "Z")


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and value.endswith("+00:00"):
        try:
            return _fmt_ts(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def message(rec: Mapping[str, Any], v: Mapping[str, Any]) -> str:
    """``rule [severity] at <where>: <what>`` for a violation row ``rec`` with its values ``v``."""
    rule, fld = rec["rule"], rec["field"]
    where = []
    if rec.get("file"):
        where.append(f"{rec['file']}" + (f" row {rec['row']}" if rec.get("row") is not None else ""))
    elif rec.get("row") is not None:
        where.append(f"row {rec['row']}")
    elif rec.get("index") is not None:
        where.append(f"frame index {rec['index']}")
    where.append(f"symbol {rec['symbol']}" if rec.get("symbol") is not None else "(no symbol)")
    where.append(_fmt_ts(rec.get("timestamp")))
    if fld:
        where.append(f"field {fld}")
    g = {k: _fmt_value(x) for k, x in v.items()}
    what: str
    if rule == "null_value":
        what = f"{fld} is missing (null or empty)"
    elif rule == "not_numeric":
        what = f"{fld} value {v.get(fld)!r} is not a number"
    elif rule == "nan_value":
        what = f"{fld} is NaN"
    elif rule == "infinite_value":
        what = f"{fld} is {v.get(fld)}"
    elif rule == "negative_price":
        what = f"{fld} price {g.get(fld)} is negative"
    elif rule == "negative_volume":
        what = f"volume {g.get('volume')} is negative"
    elif rule == "zero_price":
        what = f"{fld} price is zero"
    elif rule == "high_below_low":
        what = f"high {g.get('high')} is below low {g.get('low')}"
    elif rule == "high_below_open_close":
        what = f"high {g.get('high')} is below max(open {g.get('open')}, close {g.get('close')})"
    elif rule == "low_above_open_close":
        what = f"low {g.get('low')} is above min(open {g.get('open')}, close {g.get('close')})"
    elif rule == "duplicate_timestamp":
        kept_row = v.get("kept_row")
        later = f"row {kept_row}" if kept_row is not None else f"frame index {v.get('kept_index')}"
        what = f"duplicate bar: {later} has the same symbol and timestamp (lenient mode keeps that last one)"
    elif rule == "unsorted":
        what = f"timestamp goes back from {g.get('previous_timestamp')} (the symbol's previous row)"
    elif rule == "future_timestamp":
        what = f"timestamp is in the future (now is {g.get('now')})"
    elif rule == "off_calendar":
        what = f"{g.get('date')} is not a session of {v.get('calendar')}"
    elif rule == "calendar_gap":
        what = (
            f"no valid bar for {v.get('calendar')} session {g.get('session')} "
            f"({v.get('missing_sessions')} session(s) missing between the bars of {g.get('previous_bar')} "
            f"and {g.get('next_bar')})"
        )
    elif rule == "price_jump":
        ret = v.get("return")
        pct = f"{ret:+.1%}" if isinstance(ret, float) else "?"
        what = (
            f"close moved {pct} from {g.get('previous_close')} to {g.get('close')} "
            f"(threshold {v.get('threshold')}): an unadjusted split or a bad tick?"
        )
    elif rule == "volume_spike":
        vol, med = v.get("volume"), v.get("median_volume")
        numbers = isinstance(vol, int | float) and isinstance(med, int | float) and med
        ratio = f"{vol / med:.1f}x" if numbers else "?"
        what = f"volume {g.get('volume')} is {ratio} the median {g.get('median_volume')} of the previous bars"
    else:
        what = ", ".join(f"{k}={x}" for k, x in g.items())
    return f"{rule} [{rec['severity']}] at {', '.join(where)}: {what}"


# ---------------------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------------------
