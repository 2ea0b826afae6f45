"""Validation of bars on ingest: schema, OHLC relations, temporal consistency, outliers.

:func:`validate_bars` checks a frame in the adapter form (``timestamp``, ``symbol`` or ``sid``,
``open high low close volume`` as Float64, Decimal or decimal strings, optionally the provenance columns
``_source_file`` / ``_source_row``) and returns the rows to keep together with a :class:`ValidationReport`.

Everything runs as whole-frame polars expressions: no Python loop over rows, symbols or sessions. Per-symbol
sequences are computed on the frame sorted by (symbol, timestamp), where "the previous bar of the same
symbol" is a shift plus a symbol-boundary mask.

Rules; an error drops the row in lenient mode, a warning never drops anything:

=========================  ==========  =================================================================
rule                       severity    fires when
=========================  ==========  =================================================================
``null_value``             error       a timestamp, symbol or value is missing (an empty string too)
``not_numeric``            error       a string value does not parse as a number
``nan_value``              error       a value is NaN
``infinite_value``         error       a value is +/-inf
``negative_price``         error       open, high, low or close < 0
``negative_volume``        error       volume < 0
``zero_price``             warning     open, high, low or close == 0
``high_below_low``         error       high < low
``high_below_open_close``  error       high < max(open, close)
``low_above_open_close``   error       low > min(open, close)
``duplicate_timestamp``    error       a later input row has the same symbol and timestamp (lenient mode
                                       keeps the last occurrence)
``unsorted``               error /     the timestamp goes back from the previous input row of the symbol
                           warning     (a warning in lenient mode, which sorts)
``future_timestamp``       error       timestamp > now + ``future_tolerance``
``off_calendar``           warning     a daily bar on a date that is not a session of the calendar
``calendar_gap``           warning     a session without a bar between an asset's first and last daily bar
``price_jump``             warning     ``|close / previous close - 1| > max_abs_return``
``volume_spike``           warning     volume > ``volume_spike_factor`` x the median volume of the asset's
                                       previous 20 bars (at least 5 of them)
=========================  ==========  =================================================================

The sequential checks (``price_jump``, ``volume_spike``, ``calendar_gap``) look at the rows that pass every
row-level check, i.e. the rows lenient mode keeps, so one broken bar does not also show as a jump or a spike.

The package, one job per module:

- :mod:`.config`: :class:`ValidationConfig` (mode, thresholds, presets) and :data:`RULES`;
- :mod:`.frame`: the working frame (input checks, float values, UTC timestamps, sort order, calendar tables);
- :mod:`.rules`: the checks, as polars masks (row-level, sequential, volume spikes, calendar gaps);
- :mod:`.details`: the bounded violation rows of the checks that fired;
- :mod:`.report`: :class:`Violation` and :class:`ValidationReport`;
- :mod:`.messages`: the sentence each violation reads as;
- :mod:`.stages`: :func:`validate_bars`, the stages above run in order.
"""

from rustybt.data.validation.config import RULES, ValidationConfig
from rustybt.data.validation.report import ValidationReport, Violation
from rustybt.data.validation.stages import validate_bars

__all__ = [
    "RULES",
    "ValidationConfig",
    "ValidationReport",
    "Violation",
    "validate_bars",
]
