"""One exception hierarchy for RustyBT.

Every error a user can meet derives from :class:`RustyBTError`. Messages name the bundle, file, row, symbol or
field involved and say what to do about it.
"""

from __future__ import annotations

__all__ = [
    "AdapterError",
    "AuthenticationError",
    "BundleExists",
    "BundleNotFound",
    "CalendarError",
    "ConfigError",
    "CorruptDataError",
    "DataFormatError",
    "IngestionError",
    "IngestionNotFound",
    "InvalidBundleName",
    "LookaheadError",
    "NoDataAfterDate",
    "NoDataBeforeDate",
    "NoDataForRange",
    "NoDataForSid",
    "NoDataOnDate",
    "QuotaExceeded",
    "RateLimitError",
    "ResolutionError",
    "RustyBTError",
    "SidNotFound",
    "SymbolNotFound",
    "ValidationError",
]


class RustyBTError(Exception):
    """Root of every RustyBT error."""


class ConfigError(RustyBTError, ValueError):
    """A configuration value is invalid (the message names the key and the file)."""


class CalendarError(RustyBTError, ValueError):
    """An unknown trading calendar, or a date that cannot be placed on one."""


class ResolutionError(RustyBTError, ValueError):
    """An unknown bar resolution, or a resampling that cannot be done (e.g. coarse to fine)."""


# --- catalog -------------------------------------------------------------------------------------------------


class InvalidBundleName(RustyBTError, ValueError):
    """A bundle name that is empty, has path separators, ``..`` or other characters we refuse."""


class BundleNotFound(RustyBTError, KeyError):
    """No bundle of that name is registered in the catalog."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class BundleExists(RustyBTError, ValueError):
    """A bundle of that name already exists and overwriting was not asked for."""


class IngestionNotFound(RustyBTError, KeyError):
    """No ingestion with that id (or no ingestion at all) for the bundle."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class CorruptDataError(RustyBTError):
    """A stored file does not match the checksum recorded when it was written (damaged on disk, or edited).

    The message names the bundle, the ingestion and the file, and says to run ``rustybt verify`` and re-ingest.
    """


class IngestionError(RustyBTError):
    """An ingestion failed; the previous ingestion stays live and nothing partial is visible."""


class DataFormatError(RustyBTError, ValueError):
    """Input data that cannot be parsed (bad CSV, unknown date format, missing column...)."""


class ValidationError(RustyBTError, ValueError):
    """Bars failed validation in strict mode. ``report`` holds every violation."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


# --- assets and data access ------------------------------------------------------------------------------


class SymbolNotFound(RustyBTError, KeyError):
    """A symbol unknown to the asset finder or the data source."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SidNotFound(RustyBTError, KeyError):
    """An integer sid unknown to the asset finder."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NoDataForRange(RustyBTError, LookupError):
    """No bars exist in the requested date range."""


class NoDataOnDate(RustyBTError, LookupError):
    """The date is not a session of the reader's calendar, or outside its data."""


class NoDataBeforeDate(NoDataOnDate):
    """Asked for a date before the first bar the reader holds."""


class NoDataAfterDate(NoDataOnDate):
    """Asked for a date after the last bar the reader holds."""


class NoDataForSid(RustyBTError, LookupError):
    """The reader holds no bars for that sid."""


class LookaheadError(RustyBTError):
    """Data after the simulation clock was requested."""


# --- adapters --------------------------------------------------------------------------------------------


class AdapterError(RustyBTError):
    """A data source failed. ``vendor_message`` carries what the vendor said, when it said something."""

    def __init__(self, message: str, *, vendor_message: str | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.vendor_message = vendor_message
        self.source = source


class AuthenticationError(AdapterError):
    """Missing or rejected credentials. Never retried."""


class RateLimitError(AdapterError):
    """The vendor's rate limit was hit. ``reset_at`` (a UTC timestamp) says when it lifts, if known."""

    def __init__(self, message: str, *, reset_at: object | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.reset_at = reset_at


class QuotaExceeded(AdapterError):
    """A per-day or per-month quota is used up; retrying now does not help."""


class InvalidArgument(RustyBTError, ValueError):
    """An argument outside what the call accepts (unknown field, bar_count <= 0, ...)."""


__all__ += ["InvalidArgument"]


# --- strategy layer (backtests) --------------------------------------------------------------------------


class InvalidOrder(RustyBTError, ValueError):
    """An order the simulation refuses: a non-finite amount, an unknown asset, a bad limit or stop price."""


class CannotOrderDelistedAsset(InvalidOrder):
    """An order for an asset outside its trading dates (not yet listed, or stopped trading)."""


class TradingControlViolation(RustyBTError):
    """An order or the account broke a control set with ``set_long_only``, ``set_max_leverage`` ... ."""


class PipelineNotAttached(RustyBTError, KeyError):
    """``pipeline_output(name)`` for a name no ``attach_pipeline`` call registered."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class AlgorithmError(RustyBTError):
    """User code raised during a backtest; the message names the bar time and the user's file and line.
    The original exception is ``__cause__``."""

    def __init__(self, message: str, *, dt: object = None, location: str | None = None) -> None:
        super().__init__(message)
        self.dt = dt
        self.location = location


__all__ += ["AlgorithmError", "CannotOrderDelistedAsset", "InvalidOrder", "PipelineNotAttached"]
__all__ += ["TradingControlViolation"]
