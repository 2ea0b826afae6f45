"""Errors raised by the pipeline API.

Every class derives from :class:`rustybt.errors.RustyBTError` and from the builtin exception zipline raises in the
same situation (``TypeError``, ``ValueError``...), so code written against zipline's exceptions keeps working.
"""

from __future__ import annotations

from rustybt.errors import RustyBTError

__all__ = [
    "AmbiguousDomain",
    "BadBinaryOperator",
    "BadPercentileBounds",
    "CustomTermComputeError",
    "CyclicDependency",
    "DTypeNotSpecified",
    "IncompatibleTerms",
    "InvalidOutputName",
    "NoDefaultMissingValue",
    "NoFurtherDataError",
    "NonExistentAssetInTimeFrame",
    "NonPipelineInputs",
    "NonSliceableTerm",
    "NonWindowSafeInput",
    "NotDType",
    "PipelineError",
    "TermInputsNotSpecified",
    "TermOutputsEmpty",
    "UnknownColumn",
    "UnknownRankMethod",
    "UnsupportedDType",
    "UnsupportedDataType",
    "UnsupportedPipelineOutput",
    "WindowLengthNotPositive",
    "WindowLengthNotSpecified",
]


class PipelineError(RustyBTError):
    """Base class of pipeline errors."""


class WindowLengthNotSpecified(PipelineError, ValueError):
    def __init__(self, termname: str) -> None:
        super().__init__(f"{termname} requires a window_length, but no window_length was passed.")


class WindowLengthNotPositive(PipelineError, ValueError):
    def __init__(self, termname: str, window_length) -> None:
        super().__init__(f"{termname} expected a window_length greater than 0, got {window_length!r}.")


class TermInputsNotSpecified(PipelineError, ValueError):
    def __init__(self, termname: str) -> None:
        super().__init__(f"{termname} requires inputs, but no inputs list was passed.")


class TermOutputsEmpty(PipelineError, ValueError):
    def __init__(self, termname: str) -> None:
        super().__init__(f"{termname} requires at least one output when passed an outputs argument.")


class InvalidOutputName(PipelineError, ValueError):
    def __init__(self, output_name: str, termname: str, disallowed_names) -> None:
        super().__init__(
            f"{output_name!r} cannot be used as an output name for {termname}. Output names cannot start with an "
            f"underscore or be contained in the following list: {', '.join(disallowed_names)}."
        )


class NonWindowSafeInput(PipelineError, ValueError):
    def __init__(self, parent, child) -> None:
        super().__init__(
            f"Can't compute windowed expression {parent!r} with windowed input {child!r}: {type(child).__name__} "
            "is not window-safe (its values are not comparable across days, e.g. raw prices that later get "
            "split-adjusted). Use a window-safe input such as a BoundColumn, Returns, or the result of "
            ".rank()/.zscore(), or use window_length=1."
        )


class NonPipelineInputs(PipelineError, TypeError):
    def __init__(self, termname: str, inputs) -> None:
        kinds = ", ".join(sorted({type(i).__name__ for i in inputs}))
        super().__init__(
            f"Unexpected input types in {termname}. Inputs to Pipeline expressions must be Filters, Factors, "
            f"Classifiers, or BoundColumns.\nGot the following type(s) instead: {kinds}"
        )


class NonSliceableTerm(PipelineError, TypeError):
    def __init__(self, term) -> None:
        super().__init__(f"Taking slices of {term!r} is not currently supported (slice its .latest instead).")


class DTypeNotSpecified(PipelineError, TypeError):
    def __init__(self, termname: str) -> None:
        super().__init__(f"{termname} requires a dtype, but no dtype was passed.")


class NotDType(PipelineError, TypeError):
    def __init__(self, termname: str, dtype) -> None:
        super().__init__(f"{termname} expected a numpy dtype object for a dtype, but got {dtype!r} instead.")


class UnsupportedDType(PipelineError, TypeError):
    def __init__(self, termname: str, dtype) -> None:
        super().__init__(
            f"Failed to construct {termname}: pipeline terms of dtype {dtype} are not supported. "
            "Use float64, int64, bool, datetime64[ns] or object (strings)."
        )


class UnsupportedDataType(PipelineError, TypeError):
    def __init__(self, typename: str, dtype, hint: str = "") -> None:
        msg = f"{typename} instances with dtype {dtype} are not supported."
        if hint:
            msg += " " + hint
        super().__init__(msg)


class NoDefaultMissingValue(PipelineError, ValueError):
    """A dtype without a natural missing value (int64) was used without ``missing_value``."""


class BadPercentileBounds(PipelineError, ValueError):
    def __init__(self, min_percentile, max_percentile, upper_bound) -> None:
        super().__init__(
            f"Percentile bounds must fall between 0.0 and {upper_bound}, and min must be less than max.\n"
            f"Inputs were min={min_percentile}, max={max_percentile}."
        )


class UnknownRankMethod(PipelineError, ValueError):
    def __init__(self, method, choices) -> None:
        super().__init__(f"Unknown ranking method: {method!r}. `method` must be one of {sorted(choices)}")


class IncompatibleTerms(PipelineError, ValueError):
    def __init__(self, term_1, term_2) -> None:
        super().__init__(
            f"{term_1!r} and {term_2!r} must have the same mask in order to compute correlations and "
            "regressions asset-wise."
        )


class NonExistentAssetInTimeFrame(PipelineError, ValueError):
    def __init__(self, asset, start_date, end_date) -> None:
        super().__init__(
            f"The target asset {asset!r} does not exist for the entire timeframe between {start_date} and {end_date}."
        )


class UnsupportedPipelineOutput(PipelineError, ValueError):
    def __init__(self, column_name: str, term) -> None:
        super().__init__(
            f"Cannot add column {column_name!r} with term {term!r}. Adding slices or single-column-output terms "
            "as pipeline columns is not currently supported."
        )


class BadBinaryOperator(PipelineError, TypeError):
    def __init__(self, op: str, left, right) -> None:
        super().__init__(f"Can't compute {type(left).__name__} {op} {type(right).__name__}")


class AmbiguousDomain(PipelineError, ValueError):
    def __init__(self, domains) -> None:
        self.domains = list(domains)
        lines = "\n".join(f"  - {d!r}" for d in self.domains)
        super().__init__(f"Found terms with conflicting domains:\n{lines}")


class CyclicDependency(PipelineError, ValueError):
    pass


class NoFurtherDataError(PipelineError, ValueError):
    """The requested dates need more history (lookback) than the calendar or the data provide."""

    @classmethod
    def from_lookback_window(cls, first_date, lookback_start, lookback_length, available) -> NoFurtherDataError:
        missing = lookback_length - available
        return cls(
            "Insufficient data to compute Pipeline: the lookback window of the pipeline needs "
            f"{lookback_length} sessions before {_date(lookback_start)}, but the calendar only has {available} "
            f"({missing} session{'s' if missing != 1 else ''} missing; earliest known session is "
            f"{_date(first_date)}). Start the pipeline later or shorten its windows."
        )


class UnknownColumn(PipelineError, KeyError):
    """No loader can serve a requested column."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CustomTermComputeError(PipelineError, RuntimeError):
    """A user-defined ``compute`` failed; the message names the term and the date."""


def _date(ts) -> str:
    try:
        return str(ts.date())
    except AttributeError:
        return str(ts)
